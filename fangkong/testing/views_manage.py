"""Testing pages of the command post and the testing managers: a new round, a round's
sampling points, boxes scanned out at a point and in at the lab, and the one tap that
sends the not-tested to their grid workers. Thin: every round through its accessor,
every write through a service."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.core.forms import add_validation_errors
from fangkong.org.access import requires
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.testing import boxes, chase, rounds, selectors
from fangkong.testing.forms import BoxForm, PointForm, RoundForm


@require_http_methods(["GET", "POST"])
@requires(Perm.TESTING_MANAGE, writes=("POST",))
def round_new(request: HttpRequest) -> HttpResponse:
    """A round organised at a town the user manages, over the town or some villages."""
    user = request.user
    towns = selectors.manage_towns(user)
    form = RoundForm(request.POST or None)
    node = request.POST.get("node", "")[:40] or (towns[0].code if towns else "")
    chosen = set(request.POST.getlist("scope")) if request.method == "POST" else set()
    context = {
        "form": form,
        "towns": towns,
        "node": node,
        "scope": selectors.scope_choices(towns),
        "chosen": chosen,
    }
    if request.method != "POST":
        return render(request, "testing/round_form.html", context)
    if not form.is_valid():
        return render(request, "testing/round_form.html", context, status=400)
    town = next((t for t in towns if t.code == node), None)
    if town is None:
        form.add_error(None, _("Choose the town that organises the round."))
        return render(request, "testing/round_form.html", context, status=400)
    scope = [
        jurisdiction_for_user(user, code[:40], Perm.TESTING_MANAGE) for code in sorted(chosen)[:200]
    ]
    data = form.cleaned_data
    try:
        made = rounds.round_create(
            actor=cast(User, user),
            jurisdiction=town,
            name=data["name"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            pool_size=data["pool_size"],
            scope=scope,
            min_age_years=data["min_age_years"],
            recall_hours=data["recall_hours"],
            hold_days=data["hold_days"],
        )
    except ValidationError as e:
        add_validation_errors(form, e)
        return render(request, "testing/round_form.html", context, status=400)
    messages.success(request, _("The round is open. Add its sampling points."))
    return redirect("testing:points", round_id=made.pk)


@require_http_methods(["GET", "POST"])
@requires(Perm.TESTING_MANAGE, writes=("POST",))
def points(request: HttpRequest, round_id: int) -> HttpResponse:
    """A round's sampling points (hours, capacity, staff), and a form for one more."""
    user = request.user
    round_ = selectors.round_for_user(user, round_id, Perm.TESTING_MANAGE)
    staff = list(selectors.point_staff_choices(user, round_)[:300])
    form = PointForm(
        request.POST or None,
        staff=[(s.pk, f"{s.name} · {s.jurisdiction.name}") for s in staff],
    )
    nodes = selectors.point_nodes(round_)
    node = request.POST.get("node", "")[:40] or (nodes[0].code if nodes else "")
    context = {
        "round": round_,
        "points": selectors.points_of(round_),
        "form": form,
        "nodes": nodes,
        "node": node,
    }
    if request.method != "POST":
        return render(request, "testing/points.html", context)
    if not form.is_valid():
        return render(request, "testing/points.html", context, status=400)
    where = next((n for n in nodes if n.code == node), None)
    if where is None:
        form.add_error(None, _("The point must stand inside the round's scope."))
        return render(request, "testing/points.html", context, status=400)
    chosen = set(form.cleaned_data["staff"])
    data = form.cleaned_data
    try:
        rounds.point_create(
            actor=cast(User, user),
            round_=round_,
            jurisdiction=where,
            name=data["name"],
            address=data["address"],
            opens_at=data["opens_at"],
            closes_at=data["closes_at"],
            capacity=data["capacity"],
            staff=[s.user for s in staff if s.pk in chosen and s.user is not None],
        )
    except ValidationError as e:
        add_validation_errors(form, e, rename={"jurisdiction": "__all__"})
        return render(request, "testing/points.html", context, status=400)
    messages.success(request, _("Sampling point added."))
    return redirect("testing:points", round_id=round_.pk)


def _box_page(request: HttpRequest, round_id: int, perm: Perm, *, out: bool) -> HttpResponse:
    user = request_user(request)
    round_ = selectors.round_for_user(user, round_id, perm)
    point_list = list(round_.points.order_by("name")) if out else []
    form = BoxForm(
        request.POST or None,
        points=[(p.pk, p.name) for p in point_list] if out else None,
        initial={"point": point_list[0].pk} if len(point_list) == 1 else None,
    )
    context: dict[str, object] = {
        "round": round_,
        "form": form,
        "out": out,
        "boxes": selectors.boxes_of(round_)[:100],
    }
    if request.method != "POST":
        return render(request, "testing/boxes.html", context)
    if not form.is_valid():
        return render(request, "testing/boxes.html", context, status=400)
    data = form.cleaned_data
    try:
        if out:
            point = next((p for p in point_list if p.pk == data.get("point")), None)
            box = boxes.box_out(
                round_=round_,
                code=data["code"],
                barcodes=data["barcodes"],
                actor=user,
                point=point,
            )
            n = len(data["barcodes"])
            messages.success(
                request,
                ngettext(
                    "Box %(code)s scanned out with %(n)d tube.",
                    "Box %(code)s scanned out with %(n)d tubes.",
                    n,
                )
                % {"code": box.code, "n": n},
            )
            return redirect("testing:boxes_out", round_id=round_.pk)
        differ = boxes.box_in(
            round_=round_, code=data["code"], barcodes=data["barcodes"], actor=user
        )
    except ValidationError as e:
        add_validation_errors(form, e)
        return render(request, "testing/boxes.html", context, status=400)
    context["scanned_in"] = data["code"].strip()
    context["differ"] = differ
    context["form"] = BoxForm()
    return render(request, "testing/boxes.html", context)


@require_http_methods(["GET", "POST"])
@requires(Perm.TESTING_SAMPLE, writes=("POST",))
def boxes_out(request: HttpRequest, round_id: int) -> HttpResponse:
    """The point packs closed tubes into a box and scans it out."""
    return _box_page(request, round_id, Perm.TESTING_SAMPLE, out=True)


@require_http_methods(["GET", "POST"])
@requires(Perm.TESTING_RESULTS, writes=("POST",))
def boxes_in(request: HttpRequest, round_id: int) -> HttpResponse:
    """The lab scans a box in with the tubes found in it; differences are shown."""
    return _box_page(request, round_id, Perm.TESTING_RESULTS, out=False)


@require_POST
@requires(Perm.ORDERS_DISPATCH, writes=("POST",))
def chase_send(request: HttpRequest, round_id: int) -> HttpResponse:
    """One tap: a work order per not-tested resident of the node, to their grid worker.
    A second tap sends nothing new (their orders are still open)."""
    user = request_user(request)
    round_ = selectors.round_for_user(user, round_id, Perm.TESTING_VIEW)
    code = request.POST.get("node", "")[:40]
    node = next((n for n in selectors.chase_nodes(user, round_) if n.code == code), None)
    if node is None:
        messages.error(request, _("Choose where to chase the not-tested."))
        return redirect("testing:round", round_id=round_.pk)
    orders = chase.chase_not_tested(round_=round_, node=node, actor=user)
    fresh = sum(1 for o in orders if not getattr(o, "merged", False))
    messages.success(
        request,
        _("%(node)s: %(new)d work orders sent to the grid workers; %(open)d were already open.")
        % {"node": node.name, "new": fresh, "open": len(orders) - fresh},
    )
    return redirect("testing:round", round_id=round_.pk)
