"""The county's assist rules: kinds of request, green-channel groups, store items."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from fangkong.accounts.selectors import request_user
from fangkong.assist import settings as assist_settings
from fangkong.assist.forms import GreenFormSet, ItemFormSet, KindFormSet
from fangkong.org.access import require_top, requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import holds_at_a_root


def _filled(form: Any) -> bool:
    return bool(form.cleaned_data) and not form.cleaned_data.get("DELETE")


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",), writes_at="top")
def assist_settings_page(request: HttpRequest) -> HttpResponse:
    """Read by every manager of rules; changed from the top of the tree, since they
    serve every town."""
    editable = holds_at_a_root(request.user, Perm.RULES_MANAGE)
    now = assist_settings.current()
    data = request.POST if request.method == "POST" else None
    kinds = KindFormSet(data, prefix="kinds", initial=[asdict(k) for k in now.kinds])
    green = GreenFormSet(data, prefix="green", initial=[asdict(g) for g in now.green])
    items = ItemFormSet(data, prefix="items", initial=[asdict(i) for i in now.items])
    # An item's code names it in every store's ledger: fixed once it exists.
    for form in items.forms[: len(now.items)]:
        form.fields["code"].disabled = True
    errors: list[str] = []
    if request.method == "POST":
        require_top(request.user, Perm.RULES_MANAGE)
        if kinds.is_valid() and green.is_valid() and items.is_valid():
            try:
                assist_settings.settings_save(
                    actor=request_user(request),
                    kinds=[assist_settings.KindRow(**f.cleaned_data) for f in kinds],
                    green=[
                        assist_settings.GreenRow(
                            f.cleaned_data["tag"], f.cleaned_data["target_minutes"]
                        )
                        for f in green
                        if _filled(f)
                    ],
                    items=[assist_settings.ItemRow(**f.cleaned_data) for f in items if _filled(f)],
                )
            except ValidationError as e:
                errors = [m for ms in e.message_dict.values() for m in ms]
            else:
                messages.success(request, _("Saved."))
                return redirect("assist:settings")
    bound = request.method == "POST"
    return render(
        request,
        "assist/settings.html",
        {"kinds": kinds, "green": green, "items": items, "errors": errors, "editable": editable},
        status=400 if bound else 200,
    )
