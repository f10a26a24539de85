"""Zones API: places (list, add, derive a village's from the registry), zones (list, one,
by hand, delineated around a place), a zone's lift conditions and its lift. Objects in
the path go through their accessors in the auth step (before the body is parsed) with
the permission the operation needs; objects named in the body through `referenced`."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import referenced
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.policy.models import Edition
from fangkong.zones import selectors
from fangkong.zones.models import Place, Zone
from fangkong.zones.places import place_add, places_derive
from fangkong.zones.rules import lift_conditions, zone_lift
from fangkong.zones.services import zone_create, zones_delineate

router = ScopedRouter(tags=["zones"])

Code = Annotated[str, Field(max_length=40)]
Name = Annotated[str, Field(min_length=1, max_length=60)]
Reason = Annotated[str, Field(min_length=1, max_length=1000)]


class PlaceOut(Schema):
    id: Id
    kind: str
    name: str
    village: str
    parent_id: Id | None

    @classmethod
    def of(cls, p: Place) -> PlaceOut:
        return cls(
            id=p.pk, kind=p.kind, name=p.name, village=p.jurisdiction.code, parent_id=p.parent_id
        )


class PlaceIn(Schema):
    name: Name
    village: Code = Field("", description="A compound's village (its code)")
    parent_id: Id | None = Field(None, description="A building's compound, a unit's building")


class DeriveIn(Schema):
    village: Code


class DeriveOut(Schema):
    places: Count
    households: Count
    skipped: Count


class ZoneOut(Schema):
    id: Id
    name: str
    kind: str
    kind_name: str
    edition: str
    node: str
    status: str
    starts_on: date
    last_positive_on: date | None
    lifted_on: date | None
    version: Count

    @classmethod
    def of(cls, z: Zone) -> ZoneOut:
        return cls(
            id=z.pk,
            name=z.name,
            kind=z.kind.code,
            kind_name=z.kind.name,
            edition=z.kind.edition.key,
            node=z.jurisdiction.code,
            status=z.status,
            starts_on=z.starts_on,
            last_positive_on=z.last_positive_on,
            lifted_on=z.lifted_on,
            version=z.version,
        )


class ZoneIn(Schema):
    edition: Annotated[str, Field(max_length=40, description="Edition key, e.g. nat-8")]
    kind: Annotated[str, Field(max_length=20, description="Kind code, e.g. sealed")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    reason: Reason
    places: Annotated[list[Id], Field(max_length=200)] = []
    nodes: Annotated[list[Code], Field(max_length=200)] = []


class DelineateIn(Schema):
    reason: Reason
    edition: Annotated[str, Field(max_length=40)] = Field("", description="Blank: in force")


class ConditionOut(Schema):
    key: str
    label: str
    met: bool
    detail: str


class LiftIn(Schema):
    version: Count


def _place(perm: Perm):  # type: ignore[no-untyped-def]
    def check(user: object, kwargs: dict[str, object]) -> object:
        return selectors.place_for_user(user, int(str(kwargs["place_id"])), write=perm)

    return check


def _zone(perm: Perm):  # type: ignore[no-untyped-def]
    def check(user: object, kwargs: dict[str, object]) -> object:
        return selectors.zone_for_user(user, int(str(kwargs["zone_id"])), write=perm)

    return check


@router.read("/places", perm=Perm.ZONES_VIEW, response=list[PlaceOut])
def list_places(request: HttpRequest) -> list[PlaceOut]:
    return [PlaceOut.of(p) for p in selectors.places_visible(request.user)[:1000]]


@router.write("/places", perm=Perm.ZONES_MANAGE, response={201: PlaceOut})
def add_place(request: HttpRequest, body: PlaceIn) -> tuple[int, PlaceOut]:
    user = request_user(request)
    parent = (
        referenced(
            "parent_id",
            lambda: selectors.place_for_user(user, body.parent_id or 0, write=Perm.ZONES_MANAGE),
        )
        if body.parent_id
        else None
    )
    village = (
        referenced(
            "village",
            lambda: jurisdiction_for_user(user, body.village, write=Perm.ZONES_MANAGE),
        )
        if body.village and parent is None
        else None
    )
    made = place_add(actor=user, name=body.name, village=village, parent=parent)
    return 201, PlaceOut.of(made)


@router.write("/places/derive", perm=Perm.ZONES_MANAGE, response=DeriveOut)
def derive_places(request: HttpRequest, body: DeriveIn) -> DeriveOut:
    user = request_user(request)
    village = referenced(
        "village", lambda: jurisdiction_for_user(user, body.village, write=Perm.ZONES_MANAGE)
    )
    made = places_derive(actor=user, village=village)
    return DeriveOut(places=made.places, households=made.households, skipped=made.skipped)


@router.read("/places/{place_id}", perm=Perm.ZONES_VIEW, response=PlaceOut)
def get_place(request: HttpRequest, place_id: Id) -> PlaceOut:
    return PlaceOut.of(selectors.place_for_user(request.user, place_id))


@router.write(
    "/places/{place_id}/delineate",
    perm=Perm.ZONES_MANAGE,
    assignee=_place(Perm.ZONES_MANAGE),
    response={201: list[ZoneOut]},
)
def delineate(request: HttpRequest, place_id: Id, body: DelineateIn) -> tuple[int, list[ZoneOut]]:
    place = selectors.place_for_user(request.user, place_id, write=Perm.ZONES_MANAGE)
    edition = referenced("edition", lambda: _edition(body.edition)) if body.edition else None
    made = zones_delineate(
        actor=request_user(request),
        place=place,
        reason=body.reason,
        edition=edition,
    )
    return 201, [ZoneOut.of(z) for z in made]


def _edition(key: str) -> Edition:
    from django.http import Http404

    found = Edition.objects.filter(key=key, scope=None).first()
    if found is None:
        raise Http404
    return found


@router.read("/zones", perm=Perm.ZONES_VIEW, response=list[ZoneOut])
def list_zones(request: HttpRequest) -> list[ZoneOut]:
    found = selectors.zones_visible(request.user).select_related("kind__edition")[:500]
    return [ZoneOut.of(z) for z in found]


@router.write("/zones", perm=Perm.ZONES_MANAGE, response={201: ZoneOut})
def create_zone(request: HttpRequest, body: ZoneIn) -> tuple[int, ZoneOut]:
    user = request_user(request)
    kind = referenced("kind", lambda: selectors.kind_by_code(body.edition, body.kind))
    places = [
        referenced("places", partial(selectors.place_for_user, user, i, write=Perm.ZONES_MANAGE))
        for i in body.places
    ]
    nodes = [
        referenced("nodes", partial(jurisdiction_for_user, user, c, write=Perm.ZONES_MANAGE))
        for c in body.nodes
    ]
    made = zone_create(
        actor=user,
        kind=kind,
        name=body.name,
        reason=body.reason,
        places=places,
        nodes=nodes,
    )
    return 201, ZoneOut.of(made)


@router.read("/zones/{zone_id}", perm=Perm.ZONES_VIEW, response=ZoneOut)
def get_zone(request: HttpRequest, zone_id: Id) -> ZoneOut:
    return ZoneOut.of(selectors.zone_for_user(request.user, zone_id))


@router.read("/zones/{zone_id}/lift", perm=Perm.ZONES_VIEW, response=list[ConditionOut])
def get_lift_conditions(request: HttpRequest, zone_id: Id) -> list[ConditionOut]:
    zone = selectors.zone_for_user(request.user, zone_id)
    return [
        ConditionOut(key=c.key, label=c.label, met=c.met, detail=c.detail)
        for c in lift_conditions(zone)
    ]


@router.write(
    "/zones/{zone_id}/lift",
    perm=Perm.ZONES_LIFT,
    assignee=_zone(Perm.ZONES_LIFT),
    response=ZoneOut,
)
def lift_zone(request: HttpRequest, zone_id: Id, body: LiftIn) -> ZoneOut:
    zone = selectors.zone_for_user(request.user, zone_id, write=Perm.ZONES_LIFT)
    lifted = zone_lift(
        zone_id=zone.pk,
        actor=request_user(request),
        expected_version=body.version,
    )
    return ZoneOut.of(lifted)
