"""The retention page: how long each kind of record is kept, the end of the epidemic's
control, what a purge would take now, and the last purge reports."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from fangkong.accounts.selectors import request_user
from fangkong.org.access import require_top, requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import holds_at_a_root
from fangkong.retention import selectors, services
from fangkong.retention.forms import RetentionForm
from fangkong.retention.kinds import describe
from fangkong.retention.models import RecordKind


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",), writes_at="top")
def retention_rules(request: HttpRequest) -> HttpResponse:
    """Read by every manager of rules; changed only from the top of the tree, since the
    periods serve every town and a purge cannot be undone."""
    editable = holds_at_a_root(request.user, Perm.RULES_MANAGE)
    days = services.periods()
    initial: dict[str, object] = {f"days_{k.value}": v for k, v in days.items()}
    initial["ended_on"] = services.purpose().ended_on
    form = RetentionForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require_top(request.user, Perm.RULES_MANAGE)
        if form.is_valid():
            try:
                changed = services.rules_save(
                    actor=request_user(request),
                    days=form.days(),
                    ended_on=form.cleaned_data["ended_on"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    name = field if field == "ended_on" else f"days_{field}"
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("Saved.") if changed else _("Nothing changed."))
                return redirect("retention:rules")
    plan = services.purge_plan() if request.GET.get("plan") == "1" else None
    rows = [
        {
            "field": form[f"days_{kind.value}"],
            "label": kind.label,
            "counts_from": describe(kind).counts_from,
            "action": describe(kind).action,
            "due": plan.get(kind.value) if plan is not None else None,
        }
        for kind in RecordKind
    ]
    return render(
        request,
        "retention/rules.html",
        {
            "form": form,
            "rows": rows,
            "editable": editable,
            "plan": plan,
            "runs": selectors.recent_runs(),
        },
        status=400 if form.is_bound else 200,
    )
