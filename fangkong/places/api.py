"""Places API: places (list, register, one, today's scans), inspections by the place
code with their findings, penalties, an enterprise's disinfection log and goods checks,
findings, patrol routes and gatherings. Objects in the path go through their accessors
in the auth step; objects named in the body through `referenced`. Inspections are
idempotent by their client id; logs are one per place and day (kind)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial
from typing import Annotated

from django.http import Http404, HttpRequest
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import referenced
from fangkong.core.bounds import Count, Id
from fangkong.org.access import Guard, ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.places import selectors, services
from fangkong.places.models import Finding, Gathering, GatheringKind, GoodsKind, PenaltyKind, Place
from fangkong.places.models import PlaceCategory as Category

router = ScopedRouter(tags=["places"])

Code = Annotated[str, Field(max_length=40)]
Short = Annotated[str, Field(max_length=200)]


class VenueOut(Schema):
    id: Id
    name: str
    category: str
    node: str
    status: str
    code: str
    owner: str
    manager: str

    @classmethod
    def of(cls, p: Place) -> VenueOut:
        return cls(
            id=p.pk,
            name=p.name,
            category=p.category.code,
            node=p.jurisdiction.code,
            status=p.status,
            code=p.code,
            owner=p.owner,
            manager=p.manager_shown,
        )


class VenueIn(Schema):
    node: Code
    category: Annotated[str, Field(max_length=30)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    address: Short = ""
    owner: Annotated[str, Field(max_length=100)] = ""
    manager_staff_id: Id | None = Field(
        None, description="A staff member of the place's town with an account, as manager"
    )
    manager_name: Annotated[str, Field(max_length=60)] = ""
    manager_phone: Annotated[str, Field(max_length=20)] = ""
    workforce: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class VenueTodayOut(Schema):
    id: Id
    day: date
    scans: Count


class VenueInspectionIn(Schema):
    code: Annotated[str, Field(max_length=16, description="The place code, as scanned")]
    client_id: uuid.UUID
    answers: dict[Annotated[str, Field(max_length=30)], Annotated[str, Field(max_length=4)]] = {}
    notes: dict[Annotated[str, Field(max_length=30)], Annotated[str, Field(max_length=500)]] = {}
    deadline_days: Annotated[int, Field(ge=1, le=30)] = 3


class VenueFindingOut(Schema):
    id: Id
    place_id: Id
    item: str
    note: str
    deadline: datetime
    status: str
    order_id: Id | None

    @classmethod
    def of(cls, f: Finding) -> VenueFindingOut:
        return cls(
            id=f.pk,
            place_id=f.place_id,
            item=f.item.code,
            note=f.note,
            deadline=f.deadline,
            status=f.status,
            order_id=f.order_id,
        )


class VenueInspectionOut(Schema):
    id: Id
    created: bool
    findings: list[VenueFindingOut]


class VenuePenaltyIn(Schema):
    kind: PenaltyKind
    fine_yuan: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    note: Annotated[str, Field(max_length=300)] = ""


class VenuePenaltyOut(Schema):
    id: Id
    kind: str
    fine_yuan: Count


class VenueDisinfectionIn(Schema):
    day: date
    areas: Annotated[str, Field(min_length=1, max_length=200)]
    done_by: Annotated[str, Field(min_length=1, max_length=60)]


class VenueGoodsCheckIn(Schema):
    day: date
    kind: GoodsKind
    batches: Annotated[int, Field(ge=0, le=100_000)]
    sampled: Annotated[int, Field(ge=0, le=100_000)]
    all_negative: bool
    disinfected: bool


class VenueLogOut(Schema):
    id: Id
    day: date


class PatrolRouteOut(Schema):
    id: Id
    name: str
    node: str
    every_days: Count
    places: list[Id]


class PatrolRouteIn(Schema):
    node: Code
    name: Annotated[str, Field(min_length=1, max_length=100)]
    every_days: Annotated[int, Field(ge=1, le=90)] = 1
    places: Annotated[list[Id], Field(max_length=200)] = []


class GatheringRegisteredOut(Schema):
    id: Id
    kind: str
    on: date
    node: str
    expected: Count
    level: Count
    decision: str
    max_people: Count

    @classmethod
    def of(cls, g: Gathering) -> GatheringRegisteredOut:
        return cls(
            id=g.pk,
            kind=g.kind,
            on=g.on,
            node=g.jurisdiction.code,
            expected=g.expected,
            level=g.level,
            decision=g.decision,
            max_people=g.max_people,
        )


class GatheringRegisterIn(Schema):
    node: Code
    kind: GatheringKind
    on: date
    organiser: Annotated[str, Field(min_length=1, max_length=60)]
    expected: Annotated[int, Field(ge=1, le=100_000)]
    place_id: Id | None = None


def _venue(perm: Perm) -> Guard:
    def check(user: object, kwargs: dict[str, object]) -> object:
        return selectors.place_for_user(user, int(str(kwargs["venue_id"])), write=perm)

    return check


def _category(code: str) -> Category:
    found = Category.objects.filter(code=code).first()
    if found is None:
        raise Http404
    return found


@router.read("/places", perm=Perm.PLACES_VIEW, response=list[VenueOut])
def list_venues(request: HttpRequest) -> list[VenueOut]:
    return [VenueOut.of(p) for p in selectors.places_visible(request.user)[:1000]]


@router.write("/places", perm=Perm.PLACES_MANAGE, response={201: VenueOut})
def add_venue(request: HttpRequest, body: VenueIn) -> tuple[int, VenueOut]:
    user = request_user(request)
    node = referenced(
        "node", lambda: jurisdiction_for_user(user, body.node, write=Perm.PLACES_MANAGE)
    )
    category = referenced("category", lambda: _category(body.category))
    manager = (
        referenced(
            "manager_staff_id",
            lambda: selectors.staff_manager_for_user(user, body.manager_staff_id or 0),
        )
        if body.manager_staff_id
        else None
    )
    made = services.place_create(
        actor=user,
        jurisdiction=node,
        category=category,
        name=body.name,
        address=body.address,
        owner=body.owner,
        manager_user=manager.user if manager else None,
        manager_name=body.manager_name,
        manager_phone=body.manager_phone,
        workforce=body.workforce,
    )
    return 201, VenueOut.of(made)


@router.read("/places/{venue_id}", perm=Perm.PLACES_VIEW, response=VenueOut)
def get_venue(request: HttpRequest, venue_id: Id) -> VenueOut:
    return VenueOut.of(selectors.place_for_user(request.user, venue_id))


@router.read("/places/{venue_id}/today", perm=Perm.PLACES_VIEW, response=VenueTodayOut)
def venue_today(request: HttpRequest, venue_id: Id) -> VenueTodayOut:
    from django.utils import timezone

    place = selectors.place_for_user(request.user, venue_id)
    return VenueTodayOut(id=place.pk, day=timezone.localdate(), scans=selectors.scans_today(place))


@router.write(
    "/places/{venue_id}/inspections",
    perm=Perm.PLACES_PATROL,
    assignee=_venue(Perm.PLACES_PATROL),
    response={201: VenueInspectionOut, 200: VenueInspectionOut},
)
def inspect_venue(
    request: HttpRequest, venue_id: Id, body: VenueInspectionIn
) -> tuple[int, VenueInspectionOut]:
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id, write=Perm.PLACES_PATROL)
    made = services.inspection_record(
        actor=user,
        place=place,
        code=body.code,
        answers=body.answers,
        notes=body.notes,
        client_id=body.client_id,
        deadline_days=body.deadline_days,
    )
    out = VenueInspectionOut(
        id=made.inspection.pk,
        created=made.created,
        findings=[VenueFindingOut.of(f) for f in made.findings],
    )
    return (201 if made.created else 200), out


@router.write(
    "/places/{venue_id}/penalties",
    perm=Perm.PLACES_PATROL,
    assignee=_venue(Perm.PLACES_PATROL),
    response={201: VenuePenaltyOut},
)
def penalise_venue(
    request: HttpRequest, venue_id: Id, body: VenuePenaltyIn
) -> tuple[int, VenuePenaltyOut]:
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id, write=Perm.PLACES_PATROL)
    made = services.penalty_record(
        actor=user, place=place, kind=body.kind, fine_yuan=body.fine_yuan, note=body.note
    )
    return 201, VenuePenaltyOut(id=made.pk, kind=made.kind, fine_yuan=made.fine_yuan)


@router.write(
    "/places/{venue_id}/disinfections",
    perm=Perm.PLACES_MANAGE,
    assignee=_venue(Perm.PLACES_MANAGE),
    response=VenueLogOut,
)
def log_disinfection(request: HttpRequest, venue_id: Id, body: VenueDisinfectionIn) -> VenueLogOut:
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id, write=Perm.PLACES_MANAGE)
    made = services.disinfection_record(
        actor=user, place=place, day=body.day, areas=body.areas, done_by=body.done_by
    )
    return VenueLogOut(id=made.pk, day=made.day)


@router.write(
    "/places/{venue_id}/goods-checks",
    perm=Perm.PLACES_MANAGE,
    assignee=_venue(Perm.PLACES_MANAGE),
    response=VenueLogOut,
)
def log_goods_check(request: HttpRequest, venue_id: Id, body: VenueGoodsCheckIn) -> VenueLogOut:
    user = request_user(request)
    place = selectors.place_for_user(user, venue_id, write=Perm.PLACES_MANAGE)
    made = services.goods_check_record(
        actor=user,
        place=place,
        day=body.day,
        kind=body.kind,
        batches=body.batches,
        sampled=body.sampled,
        all_negative=body.all_negative,
        disinfected=body.disinfected,
    )
    return VenueLogOut(id=made.pk, day=made.day)


@router.read("/findings", perm=Perm.PLACES_VIEW, response=list[VenueFindingOut])
def list_findings(request: HttpRequest) -> list[VenueFindingOut]:
    return [VenueFindingOut.of(f) for f in selectors.findings_visible(request.user)[:1000]]


@router.read("/routes", perm=Perm.PLACES_VIEW, response=list[PatrolRouteOut])
def list_routes(request: HttpRequest) -> list[PatrolRouteOut]:
    routes = selectors.routes_visible(request.user).prefetch_related("places")[:500]
    return [
        PatrolRouteOut(
            id=r.pk,
            name=r.name,
            node=r.jurisdiction.code,
            every_days=r.every_days,
            places=[p.pk for p in r.places.all()],
        )
        for r in routes
    ]


@router.write("/routes", perm=Perm.PLACES_MANAGE, response={201: PatrolRouteOut})
def add_route(request: HttpRequest, body: PatrolRouteIn) -> tuple[int, PatrolRouteOut]:
    user = request_user(request)
    node = referenced(
        "node", lambda: jurisdiction_for_user(user, body.node, write=Perm.PLACES_MANAGE)
    )
    places = [
        referenced("places", partial(selectors.place_for_user, user, i, write=Perm.PLACES_MANAGE))
        for i in body.places
    ]
    made = services.route_create(
        actor=user, jurisdiction=node, name=body.name, places=places, every_days=body.every_days
    )
    return 201, PatrolRouteOut(
        id=made.pk,
        name=made.name,
        node=node.code,
        every_days=made.every_days,
        places=[p.pk for p in places],
    )


@router.read("/gatherings", perm=Perm.PLACES_VIEW, response=list[GatheringRegisteredOut])
def list_gatherings(request: HttpRequest) -> list[GatheringRegisteredOut]:
    return [GatheringRegisteredOut.of(g) for g in selectors.gatherings_visible(request.user)[:1000]]


@router.write("/gatherings", perm=Perm.PLACES_MANAGE, response={201: GatheringRegisteredOut})
def add_gathering(
    request: HttpRequest, body: GatheringRegisterIn
) -> tuple[int, GatheringRegisteredOut]:
    user = request_user(request)
    node = referenced(
        "node", lambda: jurisdiction_for_user(user, body.node, write=Perm.PLACES_MANAGE)
    )
    place = (
        referenced("place_id", lambda: selectors.place_for_user(user, body.place_id or 0))
        if body.place_id
        else None
    )
    made = services.gathering_register(
        actor=user,
        jurisdiction=node,
        kind=body.kind,
        on=body.on,
        organiser=body.organiser,
        expected=body.expected,
        place=place,
    )
    return 201, GatheringRegisteredOut.of(made)
