"""Sweep pages: organise a sweep, its live coverage and the households not yet reached,
and the grid worker's visit form (one row per household member)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.core.paging import CappedPaginator
from fangkong.org.access import assignee_or, requires
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import top_node
from fangkong.people.models import Person
from fangkong.screening import selectors
from fangkong.screening import sweeps as svc
from fangkong.screening.forms import SweepForm
from fangkong.screening.models import SweepVisit, VisitOutcome
from fangkong.workorders import selectors as order_selectors
from fangkong.workorders import services as order_services


def _sweeps(user: User) -> Any:
    return selectors.sweeps_visible(user)


@require_GET
@requires(Perm.ORDERS_VIEW)
def sweep_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    rows = []
    for sweep in _sweeps(user).select_related("jurisdiction")[:50]:
        visits = SweepVisit.objects.visible_to(user, Perm.ORDERS_VIEW).filter(sweep=sweep)
        rows.append((sweep, svc.coverage(sweep, visits)[1]))
    return render(
        request,
        "screening/sweeps.html",
        {
            "rows": rows,
            "can_create": has_perm(user, Perm.ORDERS_DISPATCH),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ORDERS_DISPATCH, writes=("POST",))
def sweep_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    nodes = list(
        Jurisdiction.objects.visible_to(user, Perm.ORDERS_DISPATCH)
        .filter(level__in=(Level.VILLAGE, Level.GRID))
        .order_by("path")
    )
    form = SweepForm(
        request.POST or None,
        nodes=nodes,
        initial={"starts_on": timezone.localdate(), "ends_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        organiser = top_node(user, Perm.ORDERS_DISPATCH)
        if organiser is None:
            raise Http404
        try:
            sweep = svc.sweep_create(
                actor=user,
                organiser=organiser,
                name=d["name"],
                scope=form.scope_nodes(),
                starts_on=d["starts_on"],
                ends_on=d["ends_on"],
                questions=form.build_questions(),
                arrival_days=d["arrival_days"],
            )
        except ValidationError as e:
            for field, errs in e.message_dict.items():
                form.add_error(field if field in form.fields else None, errs)
        else:
            messages.success(
                request, _("The sweep is on: every household is a visit order for its grid worker.")
            )
            return redirect("screening:sweep", sweep_id=sweep.pk)
    return render(
        request, "screening/sweep_new.html", {"form": form}, status=400 if form.is_bound else 200
    )


@require_GET
@requires(Perm.ORDERS_VIEW)
def sweep_detail(request: HttpRequest, sweep_id: int) -> HttpResponse:
    user = request_user(request)
    sweep = selectors.sweep_for_user(user, sweep_id)
    visits = SweepVisit.objects.visible_to(user, Perm.ORDERS_VIEW).filter(sweep=sweep)
    covers_village = (
        Jurisdiction.objects.visible_to(user, Perm.ORDERS_VIEW).filter(level=Level.VILLAGE).exists()
    )
    top = Level.VILLAGE if covers_village else Level.GRID
    by_level, total = svc.coverage(sweep, visits, (top, Level.GRID))
    rows, grid_rows = by_level[top], by_level[Level.GRID]
    show = request.GET.get("show", "not_reached")
    wanted = VisitOutcome.NOBODY_HOME if show == "revisit" else VisitOutcome.NOT_REACHED
    waiting = visits.filter(outcome=wanted).select_related("household", "jurisdiction", "order")
    page = CappedPaginator(waiting.order_by("jurisdiction_id", "household_id"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "screening/sweep_detail.html",
        {
            "sweep": sweep,
            "rows": rows,
            "grid_rows": grid_rows,
            "total": total,
            "page": page,
            "show": show,
        },
    )


def _visit_context(request: HttpRequest, order_id: int, **extra: Any) -> dict[str, Any]:
    user = request_user(request)
    order = order_selectors.order_for_user(user, order_id)
    visit = svc.visit_for(order)
    if visit is None:
        # Not a sweep's order: say so and point to the order itself.
        return {"order": order, "not_sweep": True}
    members = list(Person.objects.filter(household=visit.household).order_by("id"))
    raw = extra.get("raw", {})
    errors = extra.get("errors", {})

    def field(prefix: str, q: dict[str, Any]) -> dict[str, Any]:
        name = f"{prefix}_{q['key']}"
        return {"q": q, "name": name, "value": raw.get(name, ""), "error": errors.get(name, "")}

    person_qs = [q for q in visit.sweep.questions if q["per"] == "person"]
    household_qs = [q for q in visit.sweep.questions if q["per"] == "household"]
    return {
        "order": order,
        "visit": visit,
        "sweep": visit.sweep,
        "members": [(p, [field(f"p{p.pk}", q) for q in person_qs]) for p in members],
        "household_fields": [field("h", q) for q in household_qs],
        "outcomes": list(svc.OUTCOME_LABELS.items()),
        "client_id": uuid.uuid4(),
        "is_mine": order.assignee_id == user.pk,
        "errors": errors,
    } | {k: v for k, v in extra.items() if k not in ("raw",)}


@require_GET
@assignee_or(Perm.ORDERS_VIEW)
def sweep_visit(request: HttpRequest, order_id: int) -> HttpResponse:
    return render(request, "screening/sweep_visit.html", _visit_context(request, order_id))


@require_POST
@assignee_or(None, writes=("POST",))
def sweep_visit_save(request: HttpRequest, order_id: int) -> HttpResponse:
    user = request_user(request)
    order = order_selectors.order_for_user(user, order_id, write=order_selectors.ASSIGNEE)
    try:
        client_id = uuid.UUID(request.POST.get("client_id", ""))
        version = int(request.POST.get("version", ""))
    except ValueError:
        return HttpResponse(_("The form is incomplete; reload the page."), status=400)
    try:
        svc.visit_record(
            actor=user,
            order=order,
            outcome=request.POST.get("outcome", ""),
            raw=request.POST,
            client_id=client_id,
            expected_version=version,
        )
    except ValidationError as e:
        errors = e.message_dict if hasattr(e, "error_dict") else {"__all__": e.messages}
        flat = {k: " ".join(v) for k, v in errors.items()}
        context = _visit_context(request, order_id, raw=request.POST, errors=flat)
        return render(request, "screening/sweep_visit.html", context, status=400)
    except order_services.Conflict as e:
        messages.error(request, str(e))
        return redirect("workorders:task", order_id=order.pk)
    messages.success(request, _("Visit saved."))
    return redirect("workorders:my_tasks")


__all__ = ["sweep_detail", "sweep_list", "sweep_new", "sweep_visit", "sweep_visit_save"]
