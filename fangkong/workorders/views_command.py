"""Command views: orders of a subtree, the 日清日结 board and its export, bulk dispatch
from a registry list, a cadre's hand on one order (reassign, verify, cancel), and the
escalation delays."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.exports import export_response
from fangkong.core.paging import CappedPaginator
from fangkong.org.access import require_top, requires
from fangkong.org.models import Jurisdiction, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, holds_at_a_root
from fangkong.org.selectors import node_or_top_for_user, team_for_user
from fangkong.workorders import escalation, selectors, services
from fangkong.workorders.dispatch import DispatchError
from fangkong.workorders.forms import DispatchForm, ManageForm, OrderFilterForm, RuleFormSet
from fangkong.workorders.kinds import KINDS
from fangkong.workorders.models import EscalationRule

# A single dispatch from a list creates at most this many orders.
DISPATCH_CAP = 20_000


def _node(request: HttpRequest, perm: Perm) -> Jurisdiction:
    """The node asked for (?node=CODE), or the top of the user's scope."""
    return node_or_top_for_user(request.user, request.GET.get("node", "").strip(), perm)


@require_GET
@requires(Perm.ORDERS_VIEW)
def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET or None)
    filters = selectors.OrderFilters()
    if form.is_valid():
        d = form.cleaned_data
        filters = selectors.OrderFilters(kind=d["kind"], status=d["status"], node=d["node"])
    if request.GET.get("overdue") == "1":
        filters.status = "overdue"
    orders = selectors.order_list(request_user(request), filters, timezone.now())
    page = CappedPaginator(orders, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workorders/order_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "now": timezone.now(),
            "kinds": {k: str(v.label) for k, v in KINDS.items()},
        },
    )


@require_GET
@requires(Perm.ORDERS_VIEW)
def board(request: HttpRequest) -> HttpResponse:
    node = _node(request, Perm.ORDERS_VIEW)
    kind = request.GET.get("kind", "")
    data = selectors.board(node, timezone.now(), kind if kind in KINDS else "")
    return render(
        request,
        "workorders/board.html",
        {
            "board": data,
            "kind": kind,
            "kind_labels": {k: str(v.label) for k, v in KINDS.items()},
            "can_export": has_perm(request.user, Perm.DATA_EXPORT, node.path),
            "can_edit_rules": has_perm(request.user, Perm.RULES_MANAGE),
        },
    )


@require_GET
@requires(Perm.DATA_EXPORT)
def board_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    node = _node(request, Perm.ORDERS_VIEW)
    if not has_perm(request.user, Perm.DATA_EXPORT, node.path):
        raise PermissionDenied
    kind = request.GET.get("kind", "")
    data = selectors.board(node, timezone.now(), kind if kind in KINDS else "")
    header = [_("Jurisdiction"), _("Code"), _("Type"), _("Done today"), _("Open"), _("Overdue")]
    rows: list[list[Any]] = [
        [
            row.node.name,
            row.node.code,
            str(KINDS[k].label) if k in KINDS else k,
            cell.get("done", 0),
            cell.get("open", 0),
            cell.get("overdue", 0),
        ]
        for row in data.rows
        for k, cell in sorted(row.cells.items())
    ]
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_repr=_("work-order board"),
        jurisdiction_path=node.path,
        detail={"format": fmt, "kind": kind},
    )
    return export_response(fmt, f"orders-board-{node.code}", header, rows)


@require_http_methods(["GET", "POST"])
@requires(Perm.ORDERS_DISPATCH, writes=("POST",))
def dispatch_from_list(request: HttpRequest) -> HttpResponse:
    """One order per person (or household) of a registry list, in one action."""
    from fangkong.people.filters import filters_for_record, person_filters

    user = request_user(request)
    person_form, filters = person_filters(request)
    persons = _persons(user, filters)
    total = persons.count()
    form = DispatchForm(request.POST or None, initial={"batch": uuid.uuid4()})
    if request.method == "POST" and form.is_valid():
        try:
            if filters.refused:  # a lapsed search: not "everyone" instead
                raise ValidationError([str(e) for e in person_form.errors.get("q", [])])
            orders = services.orders_create(
                kind=form.cleaned_data["kind"],
                subjects=_subjects(persons, form.cleaned_data["per"]),
                actor=user,
                strategy=form.strategy_value,
                team=_team(user, form.cleaned_data["team"]),
                person=selectors.staff_user_for(user, form.cleaned_data["person"] or ""),
                due_at=form.due_at(),
                priority=form.cleaned_data["priority"],
                title=form.cleaned_data["title"],
                source=_source(filters_for_record(filters)),
                batch=form.cleaned_data["batch"],
            )
        except (DispatchError, ValidationError) as e:
            form.add_error(None, " ".join(e.messages) if isinstance(e, ValidationError) else str(e))
        else:
            new = {o.pk: o for o in orders if not o.merged}
            unassigned = sum(1 for o in new.values() if o.assignee_id is None)
            messages.success(
                request,
                _(
                    "%(n)d work orders dispatched; %(u)d found nobody to "
                    "take them and wait for a cadre."
                )
                % {"n": len(new), "u": unassigned},
            )
            merged = len({o.pk for o in orders if o.merged})
            if merged:
                messages.info(
                    request,
                    _(
                        "%(n)d already had the same work open; their open orders were "
                        "kept and none was made twice."
                    )
                    % {"n": merged},
                )
            return redirect("workorders:order_list")
    return render(
        request,
        "workorders/dispatch.html",
        {"form": form, "total": total, "cap": DISPATCH_CAP, "query": request.GET.urlencode()},
    )


def _source(record: dict[str, Any]) -> str:
    """What the list was, for the orders' source: a searched ID number or phone masked."""
    return "people:" + "&".join(f"{k}={v}" for k, v in record.items() if k != "q_hash")[:70]


def _persons(user: User, filters: Any) -> Any:
    from fangkong.people import selectors as people

    return people.person_list(user, filters, today=timezone.localdate())


def _subjects(persons: Any, per: str) -> list[services.Subject]:
    from django.contrib.contenttypes.models import ContentType

    from fangkong.people.models import Household, Person

    rows = persons.select_related("jurisdiction", "household")[: DISPATCH_CAP + 1]
    rows = list(rows)
    if len(rows) > DISPATCH_CAP:
        raise ValidationError(
            _("A dispatch takes at most %(n)d persons; narrow the list.") % {"n": DISPATCH_CAP}
        )
    if per == "household":
        ct = ContentType.objects.get_for_model(Household)
        seen: dict[int, services.Subject] = {}
        for p in rows:
            if p.household_id and p.household_id not in seen:
                seen[p.household_id] = services.Subject(
                    p.jurisdiction, p.household.address, ct.pk, p.household_id
                )
        return list(seen.values())
    ct = ContentType.objects.get_for_model(Person)
    return [services.Subject(p.jurisdiction, p.name, ct.pk, p.pk) for p in rows]


def _team(user: User, team_id: int | None) -> Team | None:
    if not team_id:
        return None
    return team_for_user(user, team_id, Perm.ORDERS_DISPATCH)


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",), writes_at="top")
def escalation_rules(request: HttpRequest) -> HttpResponse:
    """The escalation delays: who hears of an overdue order, after how many hours. They
    serve every town, so they are changed from the top of the tree."""
    editable = holds_at_a_root(request.user, Perm.RULES_MANAGE)
    if request.method == "POST":
        require_top(request.user, Perm.RULES_MANAGE)
        formset = RuleFormSet(request.POST)
        if formset.is_valid():
            escalation.rules_replace(actor=request_user(request), rows=formset.rows())  # type: ignore[attr-defined]
            messages.success(request, _("Saved."))
            return redirect("workorders:escalation_rules")
    else:
        formset = RuleFormSet(
            initial=[
                {"hours_overdue": r.hours_overdue, "notify_role": r.notify_role}
                for r in EscalationRule.objects.all()
            ]
        )
    status = 400 if formset.is_bound else 200
    return render(
        request,
        "workorders/escalation_rules.html",
        {"formset": formset, "editable": editable},
        status=status,
    )


@require_POST
@requires(Perm.ORDERS_DISPATCH, writes=("POST",))
def order_manage(request: HttpRequest, order_id: int) -> HttpResponse:
    user = request_user(request)
    order = selectors.order_for_user(user, order_id, write=Perm.ORDERS_DISPATCH)
    form = ManageForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("The form is incomplete; reload the page."), status=400)
    d = form.cleaned_data
    action, reason, version = d["action"], d["reason"], d["version"]
    try:
        if action == "reassign":
            assignee = selectors.staff_user_for(user, d["assignee"] or "")
            if assignee is None:
                raise ValidationError(
                    {"assignee": _("No staff member with this user name or phone in your area.")}
                )
            services.order_reassign(
                order_id=order.pk,
                actor=user,
                assignee=assignee,
                reason=reason,
                expected_version=version,
            )
        elif action == "cancel":
            services.order_cancel(
                order_id=order.pk, actor=user, reason=reason, expected_version=version
            )
        else:
            services.order_verify(
                order_id=order.pk,
                actor=user,
                accept=action == "verify",
                note=reason,
                expected_version=version,
            )
    except (ValidationError, services.Conflict) as e:
        messages.error(request, " ".join(e.messages) if isinstance(e, ValidationError) else str(e))
    else:
        messages.success(request, _("Saved."))
    return redirect("workorders:task", order_id=order.pk)
