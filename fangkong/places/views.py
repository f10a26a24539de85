"""Places pages (thin): the places with today's scans, one place with its code, poster,
inspections, findings, penalties and (by its group) an enterprise's logs or a venue's
closure; the manager's own places; the inspection behind a scanned code; findings,
patrol routes and gatherings."""

from __future__ import annotations

import uuid
from typing import Any, cast

import segno
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.core.forms import add_validation_errors
from fangkong.org.access import requires, signed_in
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.places import selectors, services
from fangkong.places.forms import (
    ActForm,
    CommitmentForm,
    DisinfectionForm,
    GatheringForm,
    GoodsForm,
    InspectionForm,
    PenaltyForm,
    PlaceForm,
    RouteForm,
)
from fangkong.places.models import Group


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = choices


def _nodes(user: Any, perm: Perm) -> list[Jurisdiction]:
    return list(
        Jurisdiction.objects.visible_to(user, perm)
        .filter(level__in=(Level.TOWN, Level.VILLAGE, Level.GRID))
        .order_by("path")[:500]
    )


def _node(user: Any, perm: Perm, code: str) -> Jurisdiction | None:
    return Jurisdiction.objects.visible_to(user, perm).filter(code=code).first()


@require_GET
@requires(Perm.PLACES_VIEW)
def place_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    places = list(selectors.places_visible(user)[:500])
    today = selectors.scans_today_of([p.pk for p in places])
    return render(
        request,
        "places/places.html",
        {
            "places": [(p, today.get(p.pk, 0)) for p in places],
            "counts": selectors.counts(user),
            "may_manage": has_perm(user, Perm.PLACES_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PLACES_MANAGE, writes=("POST",), writes_at="own")
def place_new(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    form = PlaceForm(request.POST or None)
    _choices(form, "node", [(n.code, n.name) for n in _nodes(user, Perm.PLACES_MANAGE)])
    _choices(form, "category", [(c.pk, c.name) for c in selectors.categories()])
    staff = list(selectors.staff_managers(user)[:500])
    _choices(
        form,
        "manager_staff",
        [("", "—"), *((p.pk, f"{p.name}（{p.jurisdiction.name}）") for p in staff)],
    )
    if request.method == "POST" and form.is_valid():
        node = _node(user, Perm.PLACES_MANAGE, form.cleaned_data["node"])
        category = selectors.category(form.cleaned_data["category"])
        if node is None or category is None:
            form.add_error("node", _("No such node in your jurisdiction."))
        else:
            data = form.cleaned_data
            try:
                place = services.place_create(
                    actor=user,
                    jurisdiction=node,
                    category=category,
                    name=data["name"],
                    address=data["address"],
                    owner=data["owner"],
                    manager_user=next(
                        (p.user for p in staff if p.pk == data["manager_staff"]), None
                    ),
                    manager_name=data["manager_name"],
                    manager_phone=data["manager_phone"],
                    workforce=data["workforce"],
                )
            except ValidationError as e:
                add_validation_errors(form, e, rename={"manager_user": "manager_staff"})
            else:
                messages.success(request, _("The place is registered; print its code."))
                return redirect("places:place", venue_id=place.pk)
    return render(request, "places/place_new.html", {"form": form})


@require_GET
@requires(Perm.PLACES_VIEW)
def place_detail(request: HttpRequest, venue_id: int) -> HttpResponse:
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id)
    path = place.jurisdiction.path
    group = place.category.group
    today = timezone.localdate()
    context: dict[str, Any] = {
        "place": place,
        "today": selectors.scans_today(place),
        "inspections": list(selectors.inspections_of(place)),
        "findings": list(place.findings.select_related("item").order_by("-id")[:50]),
        "penalties": list(place.penalties.order_by("-decided_at")[:50]),
        "may_manage": has_perm(user, Perm.PLACES_MANAGE, path),
        "may_patrol": has_perm(user, Perm.PLACES_PATROL, path),
        "enterprise": group == Group.ENTERPRISE,
        "religious": group == Group.RELIGIOUS,
        "penalty_form": PenaltyForm(),
        "act_form": ActForm(),
    }
    if group == Group.ENTERPRISE:
        context.update(
            disinfections=list(place.disinfections.order_by("-day")[:14]),
            goods=list(place.goods_checks.order_by("-day")[:14]),
            disinfection_form=DisinfectionForm(initial={"day": today}),
            goods_form=GoodsForm(initial={"day": today}),
            commitment_form=CommitmentForm(initial={"signed_on": today}),
        )
    if group == Group.RELIGIOUS:
        context["gatherings"] = list(place.gatherings.order_by("-on")[:20])
    return render(request, "places/place.html", context)


@require_GET
@requires(Perm.PLACES_VIEW)
def place_poster(request: HttpRequest, venue_id: int) -> HttpResponse:
    """An A4 poster with the place code: screening's poster machinery (segno, one
    stylesheet), a place's words."""
    place = selectors.place_for_user(request.user, venue_id)
    url = request.build_absolute_uri(reverse("scan:scan", args=[place.code]))
    qr = segno.make(url, error="m").svg_inline(scale=8, dark="#000", omitsize=True)
    return render(request, "places/poster.html", {"place": place, "url": url, "qr": qr})


@require_POST
@requires(Perm.PLACES_MANAGE, writes=("POST",))
def place_act(request: HttpRequest, venue_id: int) -> HttpResponse:
    """Close (the closure order), reopen, or note that the responsible person was told."""
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id, write=Perm.PLACES_MANAGE)
    form = ActForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed."))
        return redirect("places:place", venue_id=place.pk)
    action = form.cleaned_data["action"]
    try:
        if action == "close":
            services.place_close(actor=user, place_id=place.pk, reason=form.cleaned_data["reason"])
        elif action == "reopen":
            services.place_reopen(actor=user, place_id=place.pk)
        else:
            services.place_contacted(actor=user, place_id=place.pk)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("Saved."))
    return redirect("places:place", venue_id=place.pk)


@require_POST
@requires(Perm.PLACES_MANAGE, writes=("POST",))
def place_log(request: HttpRequest, venue_id: int) -> HttpResponse:
    """An enterprise's disinfection log, goods check or commitment letter."""
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id, write=Perm.PLACES_MANAGE)
    what = request.POST.get("log", "")
    form: forms.Form
    try:
        if what == "disinfection":
            form = DisinfectionForm(request.POST)
            if form.is_valid():
                services.disinfection_record(actor=user, place=place, **form.cleaned_data)
        elif what == "goods":
            form = GoodsForm(request.POST)
            if form.is_valid():
                services.goods_check_record(actor=user, place=place, **form.cleaned_data)
        else:
            form = CommitmentForm(request.POST)
            if form.is_valid():
                services.commitment_sign(actor=user, place_id=place.pk, **form.cleaned_data)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        if form.is_valid():
            messages.success(request, _("Saved."))
        else:
            messages.error(request, " ".join(str(m) for m in form.errors.values()))
    return redirect("places:place", venue_id=place.pk)


@require_POST
@requires(Perm.PLACES_PATROL, writes=("POST",))
def place_penalty(request: HttpRequest, venue_id: int) -> HttpResponse:
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id, write=Perm.PLACES_PATROL)
    form = PenaltyForm(request.POST)
    if form.is_valid():
        try:
            services.penalty_record(
                actor=user,
                place=place,
                kind=form.cleaned_data["kind"],
                fine_yuan=form.cleaned_data["fine_yuan"] or 0,
                note=form.cleaned_data["note"],
            )
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        else:
            messages.success(request, _("The penalty is recorded."))
    return redirect("places:place", venue_id=place.pk)


@require_GET
@signed_in
def my_places(request: HttpRequest) -> HttpResponse:
    """The places this staff user manages, with today's scans."""
    places = list(selectors.managed_by(request.user))
    today = selectors.scans_today_of([p.pk for p in places])
    return render(
        request, "places/mine.html", {"places": [(p, today.get(p.pk, 0)) for p in places]}
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PLACES_PATROL, writes=("POST",))
def inspect(request: HttpRequest, place_code: str) -> HttpResponseBase:
    """The checklist of a place whose code the inspector just scanned (the code in the
    address is the proof of presence)."""
    user = request_user(request)
    place = selectors.place_by_code_for_user(user, place_code, write=Perm.PLACES_PATROL)
    items = services.checklist_for(place)
    form = InspectionForm(request.POST or None, items=items, initial={"client_id": uuid.uuid4()})
    if request.method == "POST" and form.is_valid():
        try:
            result = services.inspection_record(
                actor=user,
                place=place,
                code=place_code,
                answers=form.answers(),
                notes=form.notes(),
                client_id=form.cleaned_data["client_id"],
                deadline_days=form.cleaned_data["deadline_days"],
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            if result.findings:
                messages.warning(
                    request,
                    _("%(n)d findings: rectification orders are in your tasks.")
                    % {"n": len(result.findings)},
                )
            else:
                messages.success(request, _("Inspected: nothing to rectify."))
            return redirect("places:place", venue_id=place.pk)
    return render(request, "places/inspect.html", {"place": place, "form": form})


@require_GET
@requires(Perm.PLACES_VIEW)
def finding_list(request: HttpRequest) -> HttpResponse:
    findings = list(selectors.findings_visible(request.user).order_by("-id")[:300])
    return render(request, "places/findings.html", {"findings": findings})


@require_GET
@requires(Perm.PLACES_VIEW)
def route_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    return render(
        request,
        "places/routes.html",
        {
            "routes": list(selectors.routes_visible(user)[:200]),
            "may_manage": has_perm(user, Perm.PLACES_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PLACES_MANAGE, writes=("POST",), writes_at="own")
def route_new(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    form = RouteForm(request.POST or None)
    _choices(form, "node", [(n.code, n.name) for n in _nodes(user, Perm.PLACES_MANAGE)])
    places = list(selectors.places_visible(user, Perm.PLACES_MANAGE)[:500])
    _choices(form, "places", [(p.pk, f"{p.jurisdiction.name} {p.name}") for p in places])
    if request.method == "POST" and form.is_valid():
        node = _node(user, Perm.PLACES_MANAGE, form.cleaned_data["node"])
        chosen = [p for p in places if p.pk in set(form.cleaned_data["places"])]
        if node is None:
            form.add_error("node", _("No such node in your jurisdiction."))
        else:
            try:
                route = services.route_create(
                    actor=user,
                    jurisdiction=node,
                    name=form.cleaned_data["name"],
                    places=chosen,
                    every_days=form.cleaned_data["every_days"],
                )
            except ValidationError as e:
                add_validation_errors(form, e)
            else:
                return redirect("places:route", route_id=route.pk)
    return render(request, "places/form.html", {"form": form, "title": _("New patrol route")})


@require_GET
@requires(Perm.PLACES_VIEW)
def route_detail(request: HttpRequest, route_id: int) -> HttpResponse:
    route = selectors.route_for_user(request.user, route_id)
    return render(
        request,
        "places/route.html",
        {"route": route, "stops": selectors.route_places(route)},
    )


@require_GET
@requires(Perm.PLACES_VIEW)
def gathering_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    return render(
        request,
        "places/gatherings.html",
        {
            "gatherings": list(selectors.gatherings_visible(user)[:300]),
            "may_manage": has_perm(user, Perm.PLACES_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PLACES_MANAGE, writes=("POST",), writes_at="own")
def gathering_new(request: HttpRequest) -> HttpResponseBase:
    """A wedding, funeral or temple fair, decided by the rule of the response level."""
    user = request_user(request)
    form = GatheringForm(request.POST or None, initial={"on": timezone.localdate()})
    _choices(form, "node", [(n.code, n.name) for n in _nodes(user, Perm.PLACES_MANAGE)])
    if request.method == "POST" and form.is_valid():
        node = _node(user, Perm.PLACES_MANAGE, form.cleaned_data["node"])
        if node is None:
            form.add_error("node", _("No such node in your jurisdiction."))
        else:
            data = form.cleaned_data
            try:
                g = services.gathering_register(
                    actor=user,
                    jurisdiction=node,
                    kind=data["kind"],
                    on=data["on"],
                    organiser=data["organiser"],
                    expected=data["expected"],
                )
            except ValidationError as e:
                add_validation_errors(form, e)
            else:
                messages.success(
                    request, _("Registered: %(decision)s.") % {"decision": g.get_decision_display()}
                )
                return redirect("places:gatherings")
    return render(request, "places/form.html", {"form": form, "title": _("Register a gathering")})
