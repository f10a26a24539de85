"""Checkpoints API: posts, the log's sync (the phone page's queue posts here; each
record once by its client id), a post's log and counts per hour, its roster, check-in,
the hand-over and its acknowledgement. Every operation on a post or a shift loads it
through its accessor before the body is parsed for writes."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema

from fangkong.accounts.selectors import request_user
from fangkong.checkpoints import rosters, selectors, services
from fangkong.checkpoints.models import Post, Shift
from fangkong.core.api_kit import SyncStatus, referenced, sync_status
from fangkong.core.bounds import Count, Id
from fangkong.org.access import Guard, ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user, staff_for_user

router = ScopedRouter(tags=["checkpoints"])

Code = Annotated[str, Field(max_length=40)]
Short = Annotated[str, Field(max_length=60)]


class CheckpointPostOut(Schema):
    id: Id
    name: str
    kind: str
    node: str
    lat: Decimal | None
    lng: Decimal | None
    all_day: bool
    opens_at: time | None
    closes_at: time | None
    open_levels: list[Annotated[int, Field(ge=1, le=4)]]
    active: bool

    @classmethod
    def of(cls, p: Post) -> CheckpointPostOut:
        return cls(
            id=p.pk,
            name=p.name,
            kind=p.kind,
            node=p.jurisdiction.code,
            lat=p.lat,
            lng=p.lng,
            all_day=p.all_day,
            opens_at=p.opens_at,
            closes_at=p.closes_at,
            open_levels=list(p.open_levels),
            active=p.active,
        )


class CheckpointPostIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    kind: Literal["road", "expressway", "landing", "gate"]
    node: Code = Field(description="Code of the node the post stands in")
    lat: Annotated[Decimal, Field(ge=-90, le=90, max_digits=9, decimal_places=6)] | None = None
    lng: Annotated[Decimal, Field(ge=-180, le=180, max_digits=9, decimal_places=6)] | None = None
    all_day: bool = True
    opens_at: time | None = None
    closes_at: time | None = None
    open_levels: Annotated[list[Annotated[int, Field(ge=1, le=4)]], Field(max_length=4)] = []
    active: bool = True


def _post_guard(perm: Perm) -> Guard:
    def check(user: object, kwargs: dict[str, object]) -> object:
        return selectors.post_for_user(user, int(str(kwargs["post_id"])), write=perm)

    return check


def _shift_guard(perm: Perm) -> Guard:
    def check(user: object, kwargs: dict[str, object]) -> object:
        return selectors.shift_for_user(user, int(str(kwargs["shift_id"])), write=perm)

    return check


def _post_data(request: HttpRequest, body: CheckpointPostIn) -> services.PostData:
    user = request_user(request)
    node = referenced(
        "node", lambda: jurisdiction_for_user(user, body.node, write=Perm.CHECKPOINTS_MANAGE)
    )
    return services.PostData(
        name=body.name,
        kind=body.kind,
        jurisdiction=node,
        lat=body.lat,
        lng=body.lng,
        all_day=body.all_day,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        open_levels=list(body.open_levels),
        active=body.active,
    )


@router.read("/posts", perm=Perm.CHECKPOINTS_VIEW, response=list[CheckpointPostOut])
def list_posts(request: HttpRequest) -> list[CheckpointPostOut]:
    return [CheckpointPostOut.of(p) for p in selectors.posts_visible(request.user)[:500]]


@router.write("/posts", perm=Perm.CHECKPOINTS_MANAGE, response={201: CheckpointPostOut})
def create_post(request: HttpRequest, body: CheckpointPostIn) -> tuple[int, CheckpointPostOut]:
    data = _post_data(request, body)
    post = services.post_save(actor=request_user(request), data=data)
    return 201, CheckpointPostOut.of(post)


@router.read("/posts/{post_id}", perm=Perm.CHECKPOINTS_VIEW, response=CheckpointPostOut)
def get_post(request: HttpRequest, post_id: Id) -> CheckpointPostOut:
    return CheckpointPostOut.of(selectors.post_for_user(request.user, post_id))


@router.write(
    "/posts/{post_id}",
    method="PUT",
    perm=Perm.CHECKPOINTS_MANAGE,
    assignee=_post_guard(Perm.CHECKPOINTS_MANAGE),
    response=CheckpointPostOut,
)
def update_post(request: HttpRequest, post_id: Id, body: CheckpointPostIn) -> CheckpointPostOut:
    user = request_user(request)
    post = selectors.post_for_user(user, post_id, write=Perm.CHECKPOINTS_MANAGE)
    data = _post_data(request, body)
    data.leader = post.leader
    return CheckpointPostOut.of(services.post_save(actor=user, data=data, post=post))


class CheckpointArrivalIn(Schema):
    name: Annotated[str, Field(max_length=30)]
    id_number: Annotated[str, Field(max_length=20)]
    phone: Annotated[str, Field(max_length=20)] = ""
    origin_code: Annotated[str, Field(max_length=12, description="Division code left from")]
    left_on: date
    destination_node: Code = Field(description="Code of the village or grid headed to")
    address: Annotated[str, Field(max_length=200)] = ""


class CheckpointRecordIn(Schema):
    client_id: uuid.UUID
    at: datetime
    mode: Literal["car", "boat", "foot"]
    outcome: Literal["pass", "turned_back", "tested", "transfer", "registered"]
    plate: Annotated[str, Field(max_length=20)] = ""
    occupants: Annotated[int, Field(ge=0, le=60)] = 1
    origin: Short = ""
    destination: Short = ""
    colour: Literal["green", "yellow", "red", "none"] = "green"
    trip_card: bool = True
    temperature: Annotated[Decimal, Field(ge=30, le=45, max_digits=3, decimal_places=1)] | None = (
        None
    )
    arrival: CheckpointArrivalIn | None = None


class CheckpointSyncIn(Schema):
    records: Annotated[list[CheckpointRecordIn], Field(min_length=1, max_length=500)]


class CheckpointAnswerOut(Schema):
    client_id: uuid.UUID
    status: SyncStatus
    error: str
    entry_id: Id | None
    report_code: str
    waiting_transfer: bool


class CheckpointSyncOut(Schema):
    recorded: Count
    answers: list[CheckpointAnswerOut]


def _record(r: CheckpointRecordIn) -> services.Record:
    a = r.arrival
    return services.Record(
        client_id=r.client_id,
        at=r.at if timezone.is_aware(r.at) else timezone.make_aware(r.at),
        mode=r.mode,
        outcome=r.outcome,
        plate=r.plate,
        occupants=r.occupants,
        origin=r.origin,
        destination=r.destination,
        colour=r.colour,
        trip_card=r.trip_card,
        temperature=r.temperature,
        arrival=services.Arrival(
            name=a.name,
            id_number=a.id_number,
            phone=a.phone,
            origin_code=a.origin_code,
            left_on=a.left_on,
            destination_node=a.destination_node,
            address=a.address,
        )
        if a is not None
        else None,
    )


@router.write(
    "/posts/{post_id}/entries",
    perm=Perm.CHECKPOINTS_LOG,
    assignee=_post_guard(Perm.CHECKPOINTS_LOG),
    response=CheckpointSyncOut,
)
def sync_entries(request: HttpRequest, post_id: Id, body: CheckpointSyncIn) -> CheckpointSyncOut:
    """Log records from a phone's queue (or a feed): each answered on its own, recorded
    once however often it is sent (its client id)."""
    user = request_user(request)
    post = selectors.post_for_user(user, post_id, write=Perm.CHECKPOINTS_LOG)
    done = services.entries_sync(post=post, records=[_record(r) for r in body.records], actor=user)
    return CheckpointSyncOut(
        recorded=done.recorded,
        answers=[
            CheckpointAnswerOut(
                client_id=a.client_id,
                status=sync_status(a.status),
                error=a.error,
                entry_id=a.entry_id,
                report_code=a.report_code,
                waiting_transfer=a.waiting_transfer,
            )
            for a in done.answers
        ],
    )


class CheckpointEntryOut(Schema):
    id: Id
    at: datetime
    mode: str
    plate: str
    occupants: Count
    origin: str
    destination: str
    colour: str
    trip_card: bool
    temperature: Decimal | None
    outcome: str
    report_code: str
    waiting_transfer: bool


@router.read(
    "/posts/{post_id}/entries", perm=Perm.CHECKPOINTS_VIEW, response=list[CheckpointEntryOut]
)
def list_entries(
    request: HttpRequest, post_id: Id, day: Annotated[date | None, Query()] = None
) -> list[CheckpointEntryOut]:
    post = selectors.post_for_user(request.user, post_id)
    found = selectors.entries_of(post, day or timezone.localdate())[:2000]
    return [
        CheckpointEntryOut(
            id=e.pk,
            at=e.at,
            mode=e.mode,
            plate=e.plate,
            occupants=e.occupants,
            origin=e.origin,
            destination=e.destination,
            colour=e.colour,
            trip_card=e.trip_card,
            temperature=e.temperature,
            outcome=e.outcome,
            report_code=e.report.code if e.report else "",
            waiting_transfer=e.waiting_transfer,
        )
        for e in found
    ]


class CheckpointCountsOut(Schema):
    vehicles: Count
    people: Count
    turned_back: Count
    tested: Count
    registered: Count
    transfer: Count


class CheckpointDayOut(Schema):
    post: Id
    day: date
    total: CheckpointCountsOut
    hours: list[CheckpointCountsOut] = Field(description="24 local hours, 0 to 23")


def _counts(c: selectors.Counts) -> CheckpointCountsOut:
    return CheckpointCountsOut(**c.__dict__)


@router.read("/posts/{post_id}/counts", perm=Perm.CHECKPOINTS_VIEW, response=CheckpointDayOut)
def post_counts(
    request: HttpRequest, post_id: Id, day: Annotated[date | None, Query()] = None
) -> CheckpointDayOut:
    post = selectors.post_for_user(request.user, post_id)
    day = day or timezone.localdate()
    (row,) = selectors.counts_by_hour([post], day)
    return CheckpointDayOut(
        post=post.pk, day=day, total=_counts(row.total), hours=[_counts(h) for h in row.hours]
    )


class CheckpointShiftOut(Schema):
    id: Id
    post: Id
    starts_at: datetime
    ends_at: datetime
    crew: list[str]
    checked_in: Count
    handover_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, s: Shift) -> CheckpointShiftOut:
        crew = list(s.crew.all())
        return cls(
            id=s.pk,
            post=s.post_id,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            crew=[m.staff.name for m in crew],
            checked_in=sum(1 for m in crew if m.checked_in_at),
            handover_at=s.handover_at,
            acknowledged_at=s.acknowledged_at,
        )


class CheckpointShiftsIn(Schema):
    day: date
    hours: Annotated[int, Field(ge=1, le=24)] = 8
    starts: Annotated[list[time], Field(min_length=1, max_length=24)]
    crews: Annotated[list[Annotated[list[Id], Field(max_length=50)]], Field(max_length=24)] = Field(
        description="Staff ids per shift, in the order of `starts`"
    )


@router.read(
    "/posts/{post_id}/shifts", perm=Perm.CHECKPOINTS_VIEW, response=list[CheckpointShiftOut]
)
def list_shifts(
    request: HttpRequest, post_id: Id, day: Annotated[date | None, Query()] = None
) -> list[CheckpointShiftOut]:
    post = selectors.post_for_user(request.user, post_id)
    start, end = selectors.day_bounds(day or timezone.localdate())
    found = selectors.shifts_of(post, start, end + (end - start))
    return [CheckpointShiftOut.of(s) for s in found]


@router.write(
    "/posts/{post_id}/shifts",
    perm=Perm.CHECKPOINTS_MANAGE,
    assignee=_post_guard(Perm.CHECKPOINTS_MANAGE),
    response={201: list[CheckpointShiftOut]},
)
def plan_shifts(
    request: HttpRequest, post_id: Id, body: CheckpointShiftsIn
) -> tuple[int, list[CheckpointShiftOut]]:
    """Shifts of a day with their crews (again with the same starts: crews are added)."""
    user = request_user(request)
    post = selectors.post_for_user(user, post_id, write=Perm.CHECKPOINTS_MANAGE)
    crews = [
        [referenced("crews", partial(staff_for_user, user, i)) for i in ids] for ids in body.crews
    ]
    made = rosters.shifts_plan(
        actor=user, post=post, day=body.day, starts=body.starts, hours=body.hours, crews=crews
    )
    return 201, [CheckpointShiftOut.of(s) for s in made]


class CheckpointHandoverIn(Schema):
    note: Annotated[str, Field(max_length=rosters.NOTE_MAX)] = ""


class CheckpointHandoverOut(Schema):
    shift: Id
    note: str
    open_items: Count
    handover_at: datetime | None
    acknowledged_at: datetime | None


def _handover(s: Shift) -> CheckpointHandoverOut:
    return CheckpointHandoverOut(
        shift=s.pk,
        note=s.handover_note,
        open_items=len(s.handover_open),
        handover_at=s.handover_at,
        acknowledged_at=s.acknowledged_at,
    )


@router.write(
    "/shifts/{shift_id}/handover",
    perm=Perm.CHECKPOINTS_LOG,
    assignee=_shift_guard(Perm.CHECKPOINTS_LOG),
    response=CheckpointHandoverOut,
)
def write_handover(
    request: HttpRequest, shift_id: Id, body: CheckpointHandoverIn
) -> CheckpointHandoverOut:
    """The outgoing shift's note for the next shift (answered with the next shift)."""
    user = request_user(request)
    shift = selectors.shift_for_user(user, shift_id, write=Perm.CHECKPOINTS_LOG)
    return _handover(rosters.handover_write(actor=user, shift=shift, note=body.note))


@router.write(
    "/shifts/{shift_id}/acknowledge",
    perm=Perm.CHECKPOINTS_LOG,
    assignee=_shift_guard(Perm.CHECKPOINTS_LOG),
    response=CheckpointHandoverOut,
)
def acknowledge_handover(request: HttpRequest, shift_id: Id) -> CheckpointHandoverOut:
    user = request_user(request)
    shift = selectors.shift_for_user(user, shift_id, write=Perm.CHECKPOINTS_LOG)
    return _handover(rosters.handover_acknowledge(actor=user, shift=shift))


class CheckpointCheckInOut(Schema):
    shift: Id
    checked_in_at: datetime | None


@router.write(
    "/shifts/{shift_id}/checkin",
    perm=Perm.CHECKPOINTS_LOG,
    assignee=_shift_guard(Perm.CHECKPOINTS_LOG),
    response=CheckpointCheckInOut,
)
def check_in(request: HttpRequest, shift_id: Id) -> CheckpointCheckInOut:
    user = request_user(request)
    shift = selectors.shift_for_user(user, shift_id, write=Perm.CHECKPOINTS_LOG)
    member = rosters.check_in(actor=user, shift=shift)
    return CheckpointCheckInOut(shift=shift.pk, checked_in_at=member.checked_in_at)


class CheckpointToTransferIn(Schema):
    entry_id: Id
    site_id: Id = Field(description="The isolation site the transfer goes to")
    escort_staff_id: Id = Field(description="A staff member of the post's town with an account")
    vehicle: Annotated[str, Field(min_length=1, max_length=20)]
    driver: Annotated[str, Field(min_length=1, max_length=40)]


class CheckpointToTransferOut(Schema):
    entry_id: Id
    transfer_id: Id


@router.write(
    "/posts/{post_id}/transfers", perm=Perm.CONTROL_MANAGE, response=CheckpointToTransferOut
)
def hand_to_transfer(
    request: HttpRequest, post_id: Id, body: CheckpointToTransferIn
) -> CheckpointToTransferOut:
    """Hand an arrival waiting at the post to a control transfer (control.manage at the
    post's town). Sending it again answers with the transfer already made."""
    from fangkong.control import selectors as control_selectors

    user = request_user(request)
    post = selectors.post_for_user(user, post_id)
    entry = referenced(
        "entry_id",
        lambda: selectors.entry_for_user(user, body.entry_id),
    )
    if entry.post_id != post.pk:
        raise ValidationError({"entry_id": [_("Not an entry of this post.")]})
    if entry.transfer_id is not None:
        return CheckpointToTransferOut(entry_id=entry.pk, transfer_id=entry.transfer_id)
    site = referenced("site_id", lambda: control_selectors.site_for_user(user, body.site_id))
    escort = (
        selectors.staff_for_roster(user, post)
        .filter(pk=body.escort_staff_id, user__isnull=False)
        .select_related("user")
        .first()
    )
    if escort is None or escort.user is None:
        raise ValidationError({"escort_staff_id": [_("Not found in your area.")]})
    transfer = services.entry_to_transfer(
        actor=user,
        entry=entry,
        destination=site,
        vehicle=body.vehicle,
        driver=body.driver,
        escort=escort.user,
    )
    return CheckpointToTransferOut(entry_id=entry.pk, transfer_id=transfer.pk)
