"""Writing audit records: the one function every audited action calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.core.exports import export_response


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: AuditAction,
    request: HttpRequest | None = None,
    actor: Any = None,
    actor_name: str = "",
    obj: models.Model | None = None,
    object_repr: str = "",
    jurisdiction_path: str = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one record. `object_repr` must already be masked: the log is not a leak."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if actor is not None and not jurisdiction_path:
        from fangkong.org.scoping import grants_of

        grants = grants_of(actor)
        jurisdiction_path = grants[0].path if grants else ""
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        ip=client_ip(request),
        action=action,
        object_type=(f"{obj._meta.app_label}.{obj._meta.model_name}" if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=object_repr[:200],
        jurisdiction_path=jurisdiction_path,
        purpose=purpose[:300],
        detail=detail or {},
    )


@transaction.atomic
def audit_redact(*, events: Iterable[AuditEvent], redact: Callable[[dict[str, Any]], Any]) -> int:
    """Rewrite the `detail` of these records through `redact`; nothing else changes.

    The one exception to the append-only log, for the retention purge: a record of a
    search or an export may hold a purged person's keyed hash (`term_for_record`), and
    PIPL Art. 47 asks for that person's data to go. Who did what, when, and why stays.
    On PostgreSQL the trigger lets an UPDATE through only inside a transaction that
    sets `fangkong.audit_redaction` and only when every other column is unchanged."""
    changed = 0
    _declare_redaction(True)
    for event in events:
        detail = redact(event.detail)
        if detail != event.detail:
            changed += AuditEvent.objects.filter(pk=event.pk)._redact_detail(detail)
    # SET LOCAL lasts to the end of the outermost transaction: withdraw it at once. (On
    # an error the atomic block rolls back to its savepoint, which withdraws it too.)
    _declare_redaction(False)
    return changed


def _declare_redaction(on: bool) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('fangkong.audit_redaction', %s, true)", ["on" if on else "off"]
            )


def export_audited(
    request: HttpRequest,
    *,
    fmt: str,
    basename: str,
    header: Sequence[str],
    body: Iterable[Sequence[Any]],
    what: str,
    jurisdiction_path: str = "",
    **detail: Any,
) -> HttpResponseBase:
    """A list leaving the system: the audit record, then the file through the one
    spreadsheet writer. `what` names the list, masked like every `object_repr`."""
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_repr=what,
        jurisdiction_path=jurisdiction_path,
        detail={"format": fmt, **detail},
    )
    return export_response(fmt, basename, header, body)
