"""Showing personal data in clear: the one path for single records and for exports.

Unmasking needs the pii.unmask permission at the record's node and a stated purpose,
and always leaves an audit record; exports come out clear only for rows under the
user's unmask scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.masking import mask_name
from fangkong.core.purpose import (
    clean_purpose,
    normalise_purpose,
    purpose_error,
    purpose_is_words,
)
from fangkong.org.access import require_perm_at
from fangkong.org.forms import UnmaskForm
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, scope_paths


def audit_unmasking(
    request: HttpRequest,
    *,
    obj: models.Model,
    name: str,
    path: str,
    purpose: str,
    fields: list[str],
    via: str = "page",
) -> None:
    """Record one unmasking. The purpose is checked again here, so no path can show
    personal data in clear with an empty or meaningless purpose."""
    audit_record(
        action=AuditAction.VIEW_PII,
        request=request,
        obj=obj,
        object_repr=mask_name(name),
        jurisdiction_path=path,
        purpose=clean_purpose(purpose),
        detail={"fields": fields, "via": via},
    )


def unmask_view(
    request: HttpRequest,
    *,
    obj: models.Model,
    name: str,
    path: str,
    fields: list[str],
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """Validate the purpose, audit, and render `template#unmasked` (or `#unmask` with the
    form's errors)."""
    require_perm_at(request.user, Perm.PII_UNMASK, path)
    form = UnmaskForm(request.POST)
    if not form.is_valid():
        return render(request, f"{template}#unmask", context | {"form": form}, status=400)
    audit_unmasking(
        request, obj=obj, name=name, path=path, purpose=form.cleaned_data["purpose"], fields=fields
    )
    return render(request, f"{template}#unmasked", context)


@dataclass(frozen=True)
class ExportUnmask:
    unmask: bool = False
    purpose: str = ""
    clear_paths: list[str] = field(default_factory=list)


def export_unmask(request: HttpRequest) -> ExportUnmask | None:
    """What an export request asks for; None when it asks to unmask without the
    permission or without a purpose in words (the caller refuses the export)."""
    purpose = normalise_purpose(request.GET.get("purpose", ""))
    if request.GET.get("unmask") != "1":
        return ExportUnmask(purpose=purpose)
    if not purpose_is_words(purpose) or not has_perm(request.user, Perm.PII_UNMASK):
        return None
    return ExportUnmask(True, purpose, scope_paths(request.user, Perm.PII_UNMASK))


def is_under(path: str, roots: Iterable[str]) -> bool:
    return any(path.startswith(root) for root in roots)


def refused_export() -> HttpResponse:
    return HttpResponse(
        _("Unmasked exports need the unmask permission and a stated purpose.")
        + " "
        + purpose_error(),
        status=400,
    )
