"""Tracing API: cases (list, read, open), a case's contacts (list, declare one), finding
them and putting them under control. Writes are idempotent: a person has one open case
(opening it again returns it), a contact is on a case's list once, finding and
controlling again make nothing twice (and the Idempotency-Key replays a retried
request)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import referenced
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter, object_for_user
from fangkong.org.roles import Perm
from fangkong.people.models import Person
from fangkong.screening.selectors import pushed_list_for_user
from fangkong.tracing import cases, companion, interview, selectors
from fangkong.tracing.models import Case, Contact, Stay

router = ScopedRouter(tags=["tracing"])


class TracingCaseOut(Schema):
    id: Id
    person: str
    node: str
    kind: str
    onset_on: date | None
    sampled_on: date | None
    source: str
    status: str
    isolated_at: datetime
    contacts_found_at: datetime | None
    contacts: Count

    @classmethod
    def of(cls, c: Case) -> TracingCaseOut:
        return cls(
            id=c.pk,
            person=c.shown_name,
            node=c.jurisdiction.code,
            kind=c.kind,
            onset_on=c.onset_on,
            sampled_on=c.sampled_on,
            source=c.source,
            status=c.status,
            isolated_at=c.isolated_at,
            contacts_found_at=c.contacts_found_at,
            contacts=Contact.objects.filter(case=c).count(),
        )


class TracingCaseIn(Schema):
    person_id: Id
    kind: Annotated[str, Field(max_length=20)] = "confirmed"
    onset_on: date | None = None
    sampled_on: date | None = None
    source: Annotated[str, Field(max_length=20)] = "manual"


class TracingContactOut(Schema):
    id: Id
    name: str
    phone: str
    degree: Count
    via_id: Id | None
    how: str
    reason: str
    place: str | None
    t_in: datetime | None
    t_out: datetime | None
    overlap_minutes: Count | None
    last_exposure_on: date
    status: str
    control_order_id: Id | None
    work_order_id: Id | None
    note: str

    @classmethod
    def of(cls, c: Contact) -> TracingContactOut:
        return cls(
            id=c.pk,
            name=c.shown_name,
            phone=c.shown_phone,
            degree=c.degree,
            via_id=c.via_id,
            how=c.how,
            reason=c.reason,
            place=c.place.name if c.place else None,
            t_in=c.t_in,
            t_out=c.t_out,
            overlap_minutes=c.overlap_minutes,
            last_exposure_on=c.last_exposure_on,
            status=c.status,
            control_order_id=c.order_id,
            work_order_id=c.work_order_id,
            note=c.note,
        )


class TracingDeclareIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=cases.REASON_MAX)]
    last_exposure_on: Annotated[date | None, Field(description="today when not given")] = None
    person_id: Id | None = None
    name: Annotated[str, Field(max_length=40)] = ""
    phone: Annotated[str, Field(max_length=20)] = ""


class TracingFoundOut(Schema):
    household: Count
    colocation: Count
    secondary: Count
    scans: Count
    contacts: list[TracingContactOut]


class TracingControlledOut(Schema):
    controlled: list[Id]
    to_find: list[Id]
    not_placed: list[Id]


def _person(user: object, person_id: int) -> Person:
    found: Person = object_for_user(
        Person.objects.select_related("jurisdiction", "household"),
        user,
        Perm.TRACING_MANAGE,
        pk=person_id,
    )
    return found


@router.read("/cases", perm=Perm.TRACING_VIEW, response=list[TracingCaseOut])
def list_cases(request: HttpRequest) -> list[TracingCaseOut]:
    return [TracingCaseOut.of(c) for c in selectors.cases_visible(request.user)[:200]]


@router.read("/cases/{case_id}", perm=Perm.TRACING_VIEW, response=TracingCaseOut)
def get_case(request: HttpRequest, case_id: Id) -> TracingCaseOut:
    return TracingCaseOut.of(selectors.case_for_user(request.user, case_id))


@router.write(
    "/cases", perm=Perm.TRACING_MANAGE, response={200: TracingCaseOut, 201: TracingCaseOut}
)
def open_case(request: HttpRequest, body: TracingCaseIn) -> tuple[int, TracingCaseOut]:
    """The person's open case: 201 when opened now, 200 when they had one."""
    user = request_user(request)
    person = referenced("person_id", lambda: _person(user, body.person_id))
    case, new = cases.case_open(
        person=person,
        kind=body.kind,
        onset_on=body.onset_on,
        sampled_on=body.sampled_on,
        source=body.source,
        actor=user,
    )
    return (201 if new else 200), TracingCaseOut.of(case)


@router.read("/cases/{case_id}/contacts", perm=Perm.TRACING_VIEW, response=list[TracingContactOut])
def list_contacts(request: HttpRequest, case_id: Id) -> list[TracingContactOut]:
    case = selectors.case_for_user(request.user, case_id)
    return [TracingContactOut.of(c) for c in selectors.contacts_of(case)[:2000]]


@router.write(
    "/cases/{case_id}/contacts",
    perm=Perm.TRACING_MANAGE,
    response={200: TracingContactOut, 201: TracingContactOut},
)
def declare_contact(
    request: HttpRequest, case_id: Id, body: TracingDeclareIn
) -> tuple[int, TracingContactOut]:
    user = request_user(request)
    case = selectors.case_for_user(user, case_id, write=True)
    person = (
        referenced("person_id", lambda: _person(user, body.person_id or 0))
        if body.person_id
        else None
    )
    contact, new = cases.contact_declare(
        case=case,
        actor=user,
        reason=body.reason,
        last_exposure_on=body.last_exposure_on or timezone.localdate(),
        person=person,
        name=body.name,
        phone=body.phone,
    )
    return (201 if new else 200), TracingContactOut.of(contact)


@router.write("/cases/{case_id}/find", perm=Perm.TRACING_MANAGE, response=TracingFoundOut)
def find_contacts(request: HttpRequest, case_id: Id) -> TracingFoundOut:
    user = request_user(request)
    case = selectors.case_for_user(user, case_id, write=True)
    found = cases.contacts_find(case=case, actor=user)
    return TracingFoundOut(
        household=found.household,
        colocation=found.colocation,
        secondary=found.secondary,
        scans=found.scans,
        contacts=[TracingContactOut.of(c) for c in found.new],
    )


@router.write("/cases/{case_id}/control", perm=Perm.TRACING_MANAGE, response=TracingControlledOut)
def control_contacts(request: HttpRequest, case_id: Id) -> TracingControlledOut:
    user = request_user(request)
    case = selectors.case_for_user(user, case_id, write=True)
    done = cases.contacts_control(case=case, actor=user)
    return TracingControlledOut(
        controlled=[c.pk for c in done.controlled],
        to_find=[c.pk for c in done.to_find],
        not_placed=[c.pk for c in done.not_placed],
    )


class TracingStayOut(Schema):
    id: Id
    place_id: Id | None
    where: str
    started_at: datetime
    ended_at: datetime
    note: str

    @classmethod
    def of(cls, s: Stay) -> TracingStayOut:
        return cls(
            id=s.pk,
            place_id=s.place_id,
            where=s.where,
            started_at=s.started_at,
            ended_at=s.ended_at,
            note=s.note,
        )


class TracingStayIn(Schema):
    place_code: Annotated[str, Field(max_length=16, description="the place's code")] = ""
    address: Annotated[str, Field(max_length=interview.ADDRESS_MAX)] = ""
    # Required, and checked by the service (an error on the field), so that a body
    # without them still reaches the case's accessor first.
    started_at: datetime | None = None
    ended_at: datetime | None = None
    note: Annotated[str, Field(max_length=interview.NOTE_MAX)] = ""


class TracingScanOut(Schema):
    place: str
    at: datetime


class TracingCheckedOut(Schema):
    post: str
    at: datetime
    direction: str
    outcome: str


class TracingRecordOut(Schema):
    """The case's places and times: its scans, the checkpoint log and the interview."""

    scans: list[TracingScanOut]
    checkpoints: list[TracingCheckedOut]
    declared: list[TracingStayOut]


@router.read("/cases/{case_id}/record", perm=Perm.TRACING_VIEW, response=TracingRecordOut)
def case_record(request: HttpRequest, case_id: Id) -> TracingRecordOut:
    case = selectors.case_for_user(request.user, case_id)
    return TracingRecordOut(
        scans=[TracingScanOut(place=v.place.name, at=v.at) for v in selectors.record(case)],
        checkpoints=[
            TracingCheckedOut(post=c.post, at=c.at, direction=c.direction, outcome=c.outcome)
            for c in selectors.checkpoint_record(case)
        ],
        declared=[TracingStayOut.of(s) for s in interview.stays_of(case)],
    )


@router.write(
    "/cases/{case_id}/stays",
    perm=Perm.TRACING_MANAGE,
    response={200: TracingStayOut, 201: TracingStayOut},
)
def record_stay(
    request: HttpRequest, case_id: Id, body: TracingStayIn
) -> tuple[int, TracingStayOut]:
    """A place and time from the interview: 201 when recorded now, 200 when the same
    place and times were on the record already."""
    user = request_user(request)
    case = selectors.case_for_user(user, case_id, write=True)
    stay, new = interview.stay_record(
        case=case,
        actor=user,
        place=interview.place_of_code(body.place_code),
        address=body.address,
        started_at=body.started_at,
        ended_at=body.ended_at,
        note=body.note,
    )
    return (201 if new else 200), TracingStayOut.of(stay)


class TracingCompanionIn(Schema):
    list_id: Id


class TracingLinkedOut(Schema):
    matched: Count
    unmatched: Count
    already: Count
    contacts: list[TracingContactOut]


@router.write("/cases/{case_id}/companion", perm=Perm.TRACING_MANAGE, response=TracingLinkedOut)
def link_companion(request: HttpRequest, case_id: Id, body: TracingCompanionIn) -> TracingLinkedOut:
    """A pushed 时空伴随 list's rows as the case's contacts; linking it again adds none."""
    user = request_user(request)
    case = selectors.case_for_user(user, case_id, write=True)
    pushed = referenced(
        "list_id", lambda: pushed_list_for_user(user, body.list_id, Perm.TRACING_MANAGE)
    )
    linked = companion.companion_link(case=case, pushed=pushed, actor=user)
    return TracingLinkedOut(
        matched=linked.matched,
        unmatched=linked.unmatched,
        already=linked.already,
        contacts=[TracingContactOut.of(c) for c in linked.new],
    )
