"""Control API: isolation sites (rooms, staff, the site's daily count), transfers (made,
left and received at both ends) and an order's 四包一 team. Scoped like the pages: each
object in the path through its accessor, checked before the body is read; each object a
body names through its accessor too (outside the caller's area: 422 on that field).
Writes take an Idempotency-Key like every write of the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import HttpError

from fangkong.accounts.selectors import request_user
from fangkong.control import selectors, services, sites, transfers
from fangkong.control.models import (
    ControlOrder,
    IsolationRoom,
    IsolationSite,
    RoomState,
    SiteKind,
    Transfer,
)
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page, referenced
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name
from fangkong.org.access import Guard, ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user, staff_for_user
from fangkong.workorders.services import Conflict

router = ScopedRouter(tags=["control"])

Version = Annotated[int, Field(ge=0, le=2_000_000_000)]
Beds = Annotated[int, Field(ge=1, le=20)]
RoomNumber = Annotated[str, Field(min_length=1, max_length=20)]


def _conflict() -> HttpError:
    return HttpError(409, _("Someone changed this first. Reload it."))


def _guard(load: Callable[[Any, dict[str, Any]], object]) -> Guard:
    """A guard for `router.write(assignee=...)`: the object named in the path, with the
    right to change it at its node, before the body is parsed (404 for missing, not
    yours or not yours to change: one answer)."""

    def guard(user: object, kwargs: dict[str, object]) -> object:
        try:
            return load(user, kwargs)
        except PermissionDenied:
            raise Http404 from None

    return guard


_site_guard = _guard(lambda u, kw: selectors.site_for_user(u, int(str(kw["site_id"])), write=True))
_room_guard = _guard(lambda u, kw: selectors.room_for_user(u, int(str(kw["room_id"])), write=True))
_transfer_guard = _guard(
    lambda u, kw: selectors.transfer_for_user(u, int(str(kw["transfer_id"])), write=True)
)
_order_guard = _guard(
    lambda u, kw: selectors.control_order_for_user(
        u, int(str(kw["control_id"])), write=Perm.CONTROL_MANAGE
    )
)


# Sites ----------------------------------------------------------------------------------


class ControlRoomIn(Schema):
    number: RoomNumber
    capacity: Beds = 1


class ControlRoomOut(Schema):
    id: Id
    number: str
    capacity: Count
    state: str
    people: Count
    version: Count

    @classmethod
    def of(cls, room: IsolationRoom) -> ControlRoomOut:
        return cls(
            id=room.pk,
            number=room.number,
            capacity=room.capacity,
            state=room.state,
            people=int(getattr(room, "people", 0) or 0),
            version=room.version,
        )


class ControlSiteIn(Schema):
    node: Annotated[str, Field(min_length=1, max_length=40, description="Code of the node")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: SiteKind
    address: Annotated[str, Field(max_length=200)] = ""
    rooms: Annotated[list[ControlRoomIn], Field(max_length=500)] = []


class ControlSiteEditIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: SiteKind
    address: Annotated[str, Field(max_length=200)] = ""


class ControlSiteOut(Schema):
    id: Id
    name: str
    kind: str
    node: str
    address: str
    rooms: Count
    beds: Count


class ControlSiteDayOut(Schema):
    day: date
    people: Count
    beds: Count
    arrived: Count
    released: Count
    in_transit: Count
    free_rooms: Count
    cleaning_rooms: Count
    alarms: Count
    checks_missing: Count


class ControlSiteDetailOut(ControlSiteOut):
    room_list: list[ControlRoomOut]
    staff: list[Id]
    today: ControlSiteDayOut


def _site_out(site: IsolationSite) -> ControlSiteOut:
    return ControlSiteOut(
        id=site.pk,
        name=site.name,
        kind=site.kind,
        node=site.jurisdiction.code,
        address=site.address,
        rooms=int(getattr(site, "room_count", 0) or 0),
        beds=int(getattr(site, "beds", 0) or 0),
    )


def _site_detail(site: IsolationSite) -> ControlSiteDetailOut:
    rooms = selectors.site_rooms(site)
    day = selectors.site_day(site, timezone.localdate())
    return ControlSiteDetailOut(
        id=site.pk,
        name=site.name,
        kind=site.kind,
        node=site.jurisdiction.code,
        address=site.address,
        rooms=len(rooms),
        beds=sum(r.capacity for r in rooms),
        room_list=[ControlRoomOut.of(r) for r in rooms],
        staff=sorted(site.staff.values_list("pk", flat=True)),
        today=ControlSiteDayOut(
            day=day.day,
            people=day.people,
            beds=day.beds,
            arrived=day.arrived,
            released=day.released,
            in_transit=day.in_transit,
            free_rooms=day.free_rooms,
            cleaning_rooms=day.cleaning_rooms,
            alarms=day.alarms,
            checks_missing=day.checks_missing,
        ),
    )


@router.read("/sites", perm=Perm.CONTROL_VIEW, response=Page[ControlSiteOut])
def list_sites(
    request: HttpRequest, cursor: Cursor = "", limit: Limit = 50
) -> Page[ControlSiteOut]:
    rows, after = cursor_page(selectors.sites_visible(request.user), cursor=cursor, limit=limit)
    return Page[ControlSiteOut](items=[_site_out(s) for s in rows], next_cursor=after)


@router.write("/sites", perm=Perm.CONTROL_MANAGE, response=ControlSiteDetailOut)
def create_site(request: HttpRequest, body: ControlSiteIn) -> ControlSiteDetailOut:
    node = referenced(
        "node",
        lambda: jurisdiction_for_user(
            request.user, body.node, Perm.CONTROL_VIEW, write=Perm.CONTROL_MANAGE
        ),
    )
    site = sites.site_create(
        actor=request_user(request),
        jurisdiction=node,
        name=body.name,
        kind=body.kind,
        address=body.address,
        rooms=[(r.number, r.capacity) for r in body.rooms],
    )
    return _site_detail(site)


@router.read("/sites/{site_id}", perm=Perm.CONTROL_VIEW, response=ControlSiteDetailOut)
def get_site(request: HttpRequest, site_id: Id) -> ControlSiteDetailOut:
    return _site_detail(selectors.site_for_user(request.user, site_id))


@router.write(
    "/sites/{site_id}",
    perm=Perm.CONTROL_MANAGE,
    assignee=_site_guard,
    response=ControlSiteDetailOut,
)
def edit_site(request: HttpRequest, site_id: Id, body: ControlSiteEditIn) -> ControlSiteDetailOut:
    site = selectors.site_for_user(request.user, site_id, write=True)
    sites.site_update(
        actor=request_user(request),
        site=site,
        name=body.name,
        kind=body.kind,
        address=body.address,
    )
    return _site_detail(site)


@router.write(
    "/sites/{site_id}/rooms",
    perm=Perm.CONTROL_MANAGE,
    assignee=_site_guard,
    response=ControlRoomOut,
)
def add_room(request: HttpRequest, site_id: Id, body: ControlRoomIn) -> ControlRoomOut:
    site = selectors.site_for_user(request.user, site_id, write=True)
    room = sites.room_add(
        actor=request_user(request),
        site=site,
        number=body.number,
        capacity=body.capacity,
    )
    return ControlRoomOut.of(room)


class ControlRoomEditIn(Schema):
    capacity: Beds
    state: RoomState
    version: Version


@router.write(
    "/rooms/{room_id}", perm=Perm.CONTROL_MANAGE, assignee=_room_guard, response=ControlRoomOut
)
def edit_room(request: HttpRequest, room_id: Id, body: ControlRoomEditIn) -> ControlRoomOut:
    room = selectors.room_for_user(request.user, room_id, write=True)
    try:
        done = sites.room_update(
            actor=request_user(request),
            room=room,
            capacity=body.capacity,
            state=body.state,
            expected_version=body.version,
        )
    except Conflict:
        raise _conflict() from None
    done.people = sites.occupants(done)  # type: ignore[attr-defined]
    return ControlRoomOut.of(done)


class ControlSiteStaffIn(Schema):
    staff: Annotated[list[Id], Field(max_length=300)]


@router.write(
    "/sites/{site_id}/staff",
    perm=Perm.CONTROL_MANAGE,
    method="PUT",
    assignee=_site_guard,
    response=ControlSiteDetailOut,
)
def set_site_staff(
    request: HttpRequest, site_id: Id, body: ControlSiteStaffIn
) -> ControlSiteDetailOut:
    site = selectors.site_for_user(request.user, site_id, write=True)
    picked = [
        referenced("staff", partial(staff_for_user, request_user(request), pk))
        for pk in dict.fromkeys(body.staff)
    ]
    sites.site_staff_set(actor=request_user(request), site=site, staff=picked)
    return _site_detail(site)


# Transfers ------------------------------------------------------------------------------


class ControlPassengerOut(Schema):
    person: str = Field(description="Masked name")
    order: Id | None
    room: str


class ControlTransferOut(Schema):
    id: Id
    status: str
    pickup: str
    destination: Id
    vehicle: str
    driver: str
    departed_at: datetime | None
    received_at: datetime | None
    version: Count
    passengers: list[ControlPassengerOut]

    @classmethod
    def of(cls, t: Transfer) -> ControlTransferOut:
        return cls(
            id=t.pk,
            status=t.status,
            pickup=t.pickup,
            destination=t.destination_id,
            vehicle=t.vehicle,
            driver=t.driver,
            departed_at=t.departed_at,
            received_at=t.received_at,
            version=t.version,
            passengers=[
                ControlPassengerOut(
                    person=mask_name(p.person.name),
                    order=p.order_id,
                    room=p.room.number if p.room else "",
                )
                for p in selectors.passengers_of(t)
            ],
        )


class ControlTransferIn(Schema):
    pickup: Annotated[str, Field(min_length=1, max_length=200)]
    destination: Id = Field(description="Isolation site")
    vehicle: Annotated[str, Field(min_length=1, max_length=20)]
    driver: Annotated[str, Field(min_length=1, max_length=50)]
    escort: Id = Field(description="Staff member (with an account) who escorts")
    passengers: Annotated[list[Id], Field(max_length=60, description="Control orders")]


class ControlVersionIn(Schema):
    version: Version


@router.read("/transfers", perm=Perm.CONTROL_VIEW, response=Page[ControlTransferOut])
def list_transfers(
    request: HttpRequest, cursor: Cursor = "", limit: Limit = 50
) -> Page[ControlTransferOut]:
    rows, after = cursor_page(selectors.transfers_visible(request.user), cursor=cursor, limit=limit)
    return Page[ControlTransferOut](
        items=[ControlTransferOut.of(t) for t in rows], next_cursor=after
    )


@router.write("/transfers", perm=Perm.CONTROL_MANAGE, response=ControlTransferOut)
def create_transfer(request: HttpRequest, body: ControlTransferIn) -> ControlTransferOut:
    user = request_user(request)
    destination = referenced("destination", lambda: selectors.site_for_user(user, body.destination))
    escort = referenced("escort", lambda: staff_for_user(user, body.escort))
    orders: list[ControlOrder] = []
    for pk in dict.fromkeys(body.passengers):
        try:
            orders.append(
                referenced(
                    "passengers",
                    lambda pk=pk: selectors.control_order_for_user(  # type: ignore[misc]
                        user, pk, write=Perm.CONTROL_MANAGE
                    ),
                )
            )
        except PermissionDenied:
            raise HttpError(403, _("You may not move this person.")) from None
    transfer = transfers.transfer_plan(
        actor=user,
        orders=orders,
        pickup=body.pickup,
        destination=destination,
        vehicle=body.vehicle,
        driver=body.driver,
        escort=escort,
    )
    return ControlTransferOut.of(transfer)


@router.read("/transfers/{transfer_id}", perm=Perm.CONTROL_VIEW, response=ControlTransferOut)
def get_transfer(request: HttpRequest, transfer_id: Id) -> ControlTransferOut:
    return ControlTransferOut.of(selectors.transfer_for_user(request.user, transfer_id))


def _confirm(request: HttpRequest, transfer_id: Id, version: int, confirm: object) -> Transfer:
    transfer = selectors.transfer_for_user(request.user, transfer_id)
    try:
        return confirm(  # type: ignore[operator, no-any-return]
            transfer_id=transfer.pk, actor=request.user, expected_version=version
        )
    except Conflict:
        raise _conflict() from None


@router.write(
    "/transfers/{transfer_id}/depart",
    perm=Perm.CONTROL_MANAGE,
    assignee=_transfer_guard,
    response=ControlTransferOut,
)
def depart_transfer(
    request: HttpRequest, transfer_id: Id, body: ControlVersionIn
) -> ControlTransferOut:
    """The escort (or the command) confirms the passengers are on board and leaving."""
    done = _confirm(request, transfer_id, body.version, transfers.transfer_depart)
    return ControlTransferOut.of(done)


@router.write(
    "/transfers/{transfer_id}/receive",
    perm=Perm.CONTROL_MANAGE,
    assignee=_transfer_guard,
    response=ControlTransferOut,
)
def receive_transfer(
    request: HttpRequest, transfer_id: Id, body: ControlVersionIn
) -> ControlTransferOut:
    """The receiving site confirms every passenger arrived (never the escort)."""
    done = _confirm(request, transfer_id, body.version, transfers.transfer_receive)
    return ControlTransferOut.of(done)


# The order's team -------------------------------------------------------------------------


class ControlTeamIn(Schema):
    version: Version
    cadre: Id | None = None
    grid_worker: Id | None = None
    doctor: Id | None = None
    police: Id | None = None


class ControlTeamOut(Schema):
    id: Id
    version: Count
    cadre: Id | None
    grid_worker: Id | None
    doctor: Id | None
    police: Id | None


@router.write(
    "/orders/{control_id}/team",
    perm=Perm.CONTROL_MANAGE,
    method="PUT",
    assignee=_order_guard,
    response=ControlTeamOut,
)
def set_team(request: HttpRequest, control_id: Id, body: ControlTeamIn) -> ControlTeamOut:
    """Name the order's 四包一 (cadre, grid worker, doctor, police): staff the caller
    sees, working at, above or below the order's node; omitted or null is nobody."""
    order = selectors.control_order_for_user(request.user, control_id, write=Perm.CONTROL_MANAGE)
    team = {
        role: referenced(role, partial(staff_for_user, request_user(request), pk))
        if pk is not None
        else None
        for role, pk in (
            ("cadre", body.cadre),
            ("grid_worker", body.grid_worker),
            ("doctor", body.doctor),
            ("police", body.police),
        )
    }
    try:
        done = services.team_set(
            order_id=order.pk,
            actor=request_user(request),
            expected_version=body.version,
            team=team,
        )
    except Conflict:
        raise _conflict() from None
    return ControlTeamOut(
        id=done.pk,
        version=done.version,
        cadre=done.cadre_id,
        grid_worker=done.grid_worker_id,
        doctor=done.doctor_id,
        police=done.police_id,
    )
