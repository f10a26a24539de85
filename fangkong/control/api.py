"""Control API: orders under control (cursor pages, masked names), an order with its
tests, checks by staff, releases, sites and the people in transit. Scoped like the
pages: every operation on an order loads it through its accessor."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import HttpError

from fangkong.accounts.selectors import request_user
from fangkong.control import checks, release, selectors
from fangkong.control.models import ControlOrder, OrderType
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm
from fangkong.workorders.services import Conflict

router = ScopedRouter(tags=["control"])

Temperature = Annotated[Decimal, Field(ge=Decimal("34.0"), le=Decimal("43.0"), decimal_places=1)]


DayNumber = Annotated[int, Field(ge=0, le=400)]


class ControlOrderOut(Schema):
    id: Id
    person: str = Field(description="Masked name")
    node: str
    type: str
    status: str
    starts_on: date
    ends_on: date
    day: DayNumber  # day N of the period today
    days: DayNumber
    version: Count

    @classmethod
    def of(cls, order: ControlOrder, today: date) -> ControlOrderOut:
        return cls(
            id=order.pk,
            person=mask_name(order.person.name),
            node=order.jurisdiction.code,
            type=order.type,
            status=order.status,
            starts_on=order.starts_on,
            ends_on=order.ends_on,
            day=max(order.day_number(today), 0),
            days=order.days,
            version=order.version,
        )


class ControlTestOut(Schema):
    day: DayNumber
    on: date
    result: str


class ControlOrderDetailOut(ControlOrderOut):
    room: str
    reason: str
    tests: list[ControlTestOut]
    checks_today: Count
    release_blockers: list[str]


@router.read("/orders", perm=Perm.CONTROL_VIEW, response=Page[ControlOrderOut])
def list_orders(
    request: HttpRequest, cursor: Cursor = "", limit: Limit = 50, type: OrderType | None = None
) -> Page[ControlOrderOut]:
    today = timezone.localdate()
    rows, after = cursor_page(
        selectors.under_control(request.user, today=today, type=type or ""),
        cursor=cursor,
        limit=limit,
    )
    return Page[ControlOrderOut](
        items=[ControlOrderOut.of(o, today) for o in rows], next_cursor=after
    )


@router.read("/orders/{control_id}", perm=Perm.CONTROL_VIEW, response=ControlOrderDetailOut)
def get_order(request: HttpRequest, control_id: Id) -> ControlOrderDetailOut:
    order = selectors.control_order_for_user(request.user, control_id)
    today = timezone.localdate()
    return ControlOrderDetailOut(
        **ControlOrderOut.of(order, today).dict(),
        room=str(order.room) if order.room else "",
        reason=order.reason,
        tests=[ControlTestOut(day=t.day, on=t.on, result=t.result) for t in order.tests.all()],
        checks_today=order.checks.filter(day=today).count(),
        release_blockers=release.release_blockers(order, today),
    )


class ControlCheckIn(Schema):
    temperature: Temperature
    symptoms: Annotated[list[str], Field(max_length=10)] = []
    note: Annotated[str, Field(max_length=200)] = ""
    client_id: uuid.UUID


class ControlCheckOut(Schema):
    id: Id
    created: bool
    alarm: bool


def _may_record(user: object, kwargs: dict[str, object]) -> object:
    """Runs before the body is parsed: nobody learns from a validation error about an
    order they may not record checks for (one answer, 404, for missing and not yours)."""
    try:
        return selectors.control_order_for_user(
            user, int(str(kwargs["control_id"])), write=Perm.CONTROL_MANAGE
        )
    except PermissionDenied:
        raise Http404 from None


@router.write(
    "/orders/{control_id}/checks",
    perm=Perm.CONTROL_MANAGE,
    assignee=_may_record,
    response=ControlCheckOut,
)
def record_check(request: HttpRequest, control_id: Id, body: ControlCheckIn) -> ControlCheckOut:
    order = selectors.control_order_for_user(request.user, control_id, write=Perm.CONTROL_MANAGE)
    check, created = checks.check_record(
        order=order,
        temperature=body.temperature,
        symptoms=body.symptoms,
        note=body.note,
        client_id=body.client_id,
        actor=request_user(request),
    )
    return ControlCheckOut(id=check.pk, created=created, alarm=check.alarm)


class ControlReleaseIn(Schema):
    version: Annotated[int, Field(ge=0, le=2_000_000_000)]


@router.write("/orders/{control_id}/release", perm=Perm.CONTROL_RELEASE, response=ControlOrderOut)
def release_order(request: HttpRequest, control_id: Id, body: ControlReleaseIn) -> ControlOrderOut:
    order = selectors.control_order_for_user(request.user, control_id, write=Perm.CONTROL_RELEASE)
    try:
        done = release.order_release(
            order_id=order.pk,
            actor=request_user(request),
            expected_version=body.version,
        )
    except Conflict:
        raise HttpError(409, _("Someone changed this order first. Reload it.")) from None
    return ControlOrderOut.of(done, timezone.localdate())


class ControlInTransitOut(Schema):
    transfer: Id
    person: str
    vehicle: str
    destination: str
    departed_at: str


@router.read("/in-transit", perm=Perm.CONTROL_VIEW, response=list[ControlInTransitOut])
def list_in_transit(request: HttpRequest) -> list[ControlInTransitOut]:
    return [
        ControlInTransitOut(
            transfer=p.transfer_id,
            person=mask_name(p.person.name),
            vehicle=p.transfer.vehicle,
            destination=p.transfer.destination.name,
            departed_at=p.transfer.departed_at.isoformat() if p.transfer.departed_at else "",
        )
        for p in selectors.in_transit_for(request.user)[:500]
    ]
