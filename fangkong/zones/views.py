"""Zone pages (thin: the services decide, the selectors read): the zones with the map of
the town and counts by kind, a zone with its residents' measures and its lift proposal,
the lift, zones by hand; the places people live in, added by hand or derived from the
registry, and zones delineated around a case's place."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.accounts.selectors import request_user
from fangkong.core.forms import add_validation_errors
from fangkong.org.access import requires
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, has_perm, scope_paths, subtree_q
from fangkong.policy.models import Edition
from fangkong.zones import maps, selectors
from fangkong.zones.forms import DelineateForm, LiftForm, PlaceForm, VillageForm, ZoneForm
from fangkong.zones.models import Place, ZoneStatus
from fangkong.zones.places import place_add, places_derive
from fangkong.zones.rules import lift_conditions, zone_lift
from fangkong.zones.services import zone_create, zones_delineate


def _nodes(user: Any, perm: Perm, levels: tuple[int, ...]) -> list[Jurisdiction]:
    """Nodes of these levels in the user's `perm` scope, and those the user works under
    (a grid worker's village)."""
    q = Q(pk__in=[])
    for root in scope_paths(user, perm):
        q |= subtree_q("path", root) | Q(path__in=ancestor_paths(root))
    return list(Jurisdiction.objects.filter(q, level__in=levels).order_by("path"))


@require_GET
@requires(Perm.ZONES_VIEW)
def zone_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    zones = list(selectors.zones_visible(user)[:300])
    active = [z for z in zones if z.status == ZoneStatus.ACTIVE]
    residents = selectors.zone_counts(active)
    villages = _nodes(user, Perm.ZONES_VIEW, (Level.VILLAGE,))
    ranks: dict[int, tuple[int, int]] = {}
    for v in villages:
        inside = [z for z in active if z.jurisdiction.path.startswith(v.path)]
        ranks[v.pk] = (max((z.kind.rank for z in inside), default=0), len(inside))
    shapes = maps.shapes(villages, ranks)
    return render(
        request,
        "zones/zones.html",
        {
            "zones": [(z, residents.get(z.pk)) for z in zones],
            "by_kind": selectors.counts_by_kind(active, residents),
            "shapes": shapes,
            "map_w": maps.WIDTH,
            "map_h": maps.height_for(shapes),
            "may_manage": has_perm(user, Perm.ZONES_MANAGE),
        },
    )


@require_GET
@requires(Perm.ZONES_VIEW)
def zone_detail(request: HttpRequest, zone_id: int) -> HttpResponse:
    zone = selectors.zone_for_user(request.user, zone_id)
    return render(
        request,
        "zones/zone.html",
        {
            "zone": zone,
            "places": list(zone.places.all()),
            "nodes": list(zone.nodes.all()),
            "residents": selectors.residents(zone).count(),
            "ordered": zone.measures.exclude(order_id=None).count(),
            "unplaced": zone.measures.filter(order_id=None).count(),
            "conditions": lift_conditions(zone) if zone.status == ZoneStatus.ACTIVE else [],
            "events": list(zone.events.order_by("-id")[:50]),
            "may_lift": has_perm(request.user, Perm.ZONES_LIFT, zone.jurisdiction.path),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ZONES_LIFT, writes=("POST",))
def zone_lift_page(request: HttpRequest, zone_id: int) -> HttpResponseBase:
    zone = selectors.zone_for_user(request.user, zone_id, write=Perm.ZONES_LIFT)
    form = LiftForm(request.POST or None, initial={"version": zone.version})
    if request.method == "POST" and form.is_valid():
        try:
            zone_lift(
                zone_id=zone.pk,
                actor=request_user(request),
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("The zone is lifted."))
            return redirect("zones:zone", zone_id=zone.pk)
    return render(
        request,
        "zones/lift.html",
        {
            "zone": zone,
            "form": form,
            "conditions": lift_conditions(zone) if zone.status == ZoneStatus.ACTIVE else [],
        },
    )


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = choices


def _kind_choices() -> list[tuple[int, str]]:
    return [(k.pk, f"{k.edition.name} · {k.name}") for k in selectors.all_kinds()]


@require_http_methods(["GET", "POST"])
@requires(Perm.ZONES_MANAGE, writes=("POST",), writes_at="own")
def zone_new(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    places = list(
        Place.objects.visible_to(user, Perm.ZONES_MANAGE).select_related("jurisdiction")[:500]
    )
    nodes = _nodes(user, Perm.ZONES_MANAGE, (Level.VILLAGE, Level.GRID))
    nodes = [n for n in nodes if has_perm(user, Perm.ZONES_MANAGE, n.path)]
    form = ZoneForm(request.POST or None)
    _choices(form, "kind", _kind_choices())
    _choices(form, "places", [(p.pk, f"{p.jurisdiction.name} {p.name}") for p in places])
    _choices(form, "nodes", [(n.code, n.name) for n in nodes])
    if request.method == "POST" and form.is_valid():
        by_id = {p.pk: p for p in places}
        by_code = {n.code: n for n in nodes}
        kind = selectors.all_kinds().filter(pk=form.cleaned_data["kind"]).first()
        try:
            if kind is None:
                raise ValidationError({"kind": _("Unknown kind of zone.")})
            zone = zone_create(
                actor=user,
                kind=kind,
                name=form.cleaned_data["name"],
                reason=form.cleaned_data["reason"],
                places=[by_id[i] for i in form.cleaned_data["places"]],
                nodes=[by_code[c] for c in form.cleaned_data["nodes"]],
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            return redirect("zones:zone", zone_id=zone.pk)
    return render(request, "zones/zone_form.html", {"form": form})


@require_GET
@requires(Perm.ZONES_VIEW)
def place_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    places = list(selectors.places_visible(user).filter(parent=None)[:300])
    return render(
        request,
        "zones/places.html",
        {"places": places, "may_manage": has_perm(user, Perm.ZONES_MANAGE)},
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ZONES_MANAGE, writes=("POST",), writes_at="own")
def place_new(request: HttpRequest) -> HttpResponseBase:
    """A compound of a village by hand, or the village's places from the registry."""
    user = request_user(request)
    villages = [
        v
        for v in _nodes(user, Perm.ZONES_MANAGE, (Level.VILLAGE,))
        if has_perm(user, Perm.ZONES_MANAGE, v.path)
    ]
    form = VillageForm(request.POST or None, initial={"action": "add"})
    _choices(form, "village", [(v.code, v.name) for v in villages])
    if request.method == "POST" and form.is_valid():
        village = next(v for v in villages if v.code == form.cleaned_data["village"])
        try:
            if form.cleaned_data["action"] == "derive":
                made = places_derive(actor=user, village=village)
                messages.success(
                    request,
                    _(
                        "%(places)d places added, %(households)d households placed, "
                        "%(skipped)d addresses name no compound."
                    )
                    % {
                        "places": made.places,
                        "households": made.households,
                        "skipped": made.skipped,
                    },
                )
                return redirect("zones:places")
            place = place_add(
                actor=user,
                village=village,
                name=form.cleaned_data["name"],
            )
        except ValidationError as e:
            add_validation_errors(form, e, rename={"village": "village"})
        else:
            return redirect("zones:place", place_id=place.pk)
    return render(request, "zones/place_form.html", {"form": form, "parent": None})


@require_GET
@requires(Perm.ZONES_VIEW)
def place_detail(request: HttpRequest, place_id: int) -> HttpResponse:
    place = selectors.place_for_user(request.user, place_id)
    return render(
        request,
        "zones/place.html",
        {
            "place": place,
            "chain": selectors.place_chain(place),
            "children": list(place.children.order_by("name")),
            "households": selectors.households_in(place),
            "zones": list(place.zones.filter(status=ZoneStatus.ACTIVE).select_related("kind")),
            "may_manage": has_perm(request.user, Perm.ZONES_MANAGE, place.jurisdiction.path),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ZONES_MANAGE, writes=("POST",))
def place_child(request: HttpRequest, place_id: int) -> HttpResponseBase:
    parent = selectors.place_for_user(request.user, place_id, write=Perm.ZONES_MANAGE)
    form = PlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            place = place_add(
                actor=request_user(request),
                parent=parent,
                name=form.cleaned_data["name"],
            )
        except ValidationError as e:
            add_validation_errors(form, e, rename={"parent": "name"})
        else:
            return redirect("zones:place", place_id=place.pk)
    return render(request, "zones/place_form.html", {"form": form, "parent": parent})


@require_http_methods(["GET", "POST"])
@requires(Perm.ZONES_MANAGE, writes=("POST",))
def place_delineate(request: HttpRequest, place_id: int) -> HttpResponseBase:
    """The edition's zones around a case's place (the building sealed, ...)."""
    place = selectors.place_for_user(request.user, place_id, write=Perm.ZONES_MANAGE)
    editions = list(Edition.objects.filter(scope=None).order_by("-effective_from"))
    form = DelineateForm(request.POST or None)
    _choices(
        form,
        "edition",
        [
            ("", _("The edition in force")),
            *((e.pk, e.name) for e in editions),
        ],
    )
    kinds = selectors.kinds_for(place.jurisdiction, timezone.localdate())
    if request.method == "POST" and form.is_valid():
        edition = next((e for e in editions if e.pk == form.cleaned_data["edition"]), None)
        try:
            made = zones_delineate(
                actor=request_user(request),
                place=place,
                reason=form.cleaned_data["reason"],
                edition=edition,
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("%(n)d zones delineated.") % {"n": len(made)})
            return redirect("zones:zones")
    return render(request, "zones/delineate.html", {"place": place, "form": form, "kinds": kinds})
