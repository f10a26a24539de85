"""Households' requests API: the area's requests, one entered by staff (idempotent by
its client id), one request, its hand-over, and the response times by village and kind."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Schema

from fangkong.accounts.selectors import request_user
from fangkong.assist import selectors
from fangkong.assist import settings as assist_settings
from fangkong.assist.models import HelpRequest
from fangkong.assist.services import DETAIL_MAX, request_create, request_handover
from fangkong.core.api_kit import referenced
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm

router = ScopedRouter(tags=["assist"])


class AssistRequestOut(Schema):
    id: Id
    person: str  # masked
    node: str
    kind: str
    green: bool
    channel: str
    status: str
    created_at: datetime
    due_at: datetime
    served_at: datetime | None
    handover: str
    handover_at: datetime | None

    @classmethod
    def of(cls, r: HelpRequest) -> AssistRequestOut:
        return cls(
            id=r.pk,
            person=mask_name(r.person.name),
            node=r.jurisdiction.code,
            kind=r.kind.code,
            green=r.green,
            channel=r.channel,
            status=r.status,
            created_at=r.created_at,
            due_at=r.due_at,
            served_at=r.served_at,
            handover=r.handover,
            handover_at=r.handover_at,
        )


class AssistRequestIn(Schema):
    person_id: Id
    kind: Annotated[str, Field(max_length=20, description="supplies, medicine, dialysis, ...")]
    channel: Literal["phone", "door"]
    detail: Annotated[str, Field(max_length=DETAIL_MAX)] = ""
    client_id: uuid.UUID


class AssistHandoverIn(Schema):
    to: Literal["120", "hospital"]
    note: Annotated[str, Field(max_length=200)] = ""


class AssistLateOut(Schema):
    request_id: Id
    name: str
    minutes_late: Count
    answered: bool


class AssistTimesOut(Schema):
    village: str
    kind: str
    green: bool
    asked: Count
    answered: Count
    median_minutes: float | None
    p90_minutes: float | None
    late: list[AssistLateOut]


@router.read("/requests", perm=Perm.ASSIST_VIEW, response=list[AssistRequestOut])
def list_requests(request: HttpRequest) -> list[AssistRequestOut]:
    found = selectors.requests_visible(request.user).order_by("status", "due_at", "id")[:500]
    return [AssistRequestOut.of(r) for r in found]


@router.write("/requests", perm=Perm.ASSIST_ENTER, response={201: AssistRequestOut})
def create_request(request: HttpRequest, body: AssistRequestIn) -> tuple[int, AssistRequestOut]:
    user = request_user(request)
    person = referenced("person_id", lambda: selectors.asker_for_user(user, body.person_id))
    kind = referenced("kind", lambda: selectors.kind_by_code(body.kind))
    req, _new = request_create(
        person=person,
        kind=kind,
        channel=body.channel,
        detail=body.detail,
        client_id=body.client_id,
        actor=user,
    )
    return 201, AssistRequestOut.of(req)


@router.read("/requests/{request_id}", perm=Perm.ASSIST_VIEW, response=AssistRequestOut)
def get_request(request: HttpRequest, request_id: Id) -> AssistRequestOut:
    return AssistRequestOut.of(selectors.request_for_user(request.user, request_id))


def _guard(user: object, kwargs: dict[str, object]) -> object:
    return selectors.request_for_user(user, int(str(kwargs["request_id"])), write=True)


@router.write(
    "/requests/{request_id}/handover",
    perm=Perm.ASSIST_ENTER,
    assignee=_guard,
    response=AssistRequestOut,
)
def handover(request: HttpRequest, request_id: Id, body: AssistHandoverIn) -> AssistRequestOut:
    req = selectors.request_for_user(request.user, request_id, write=True)
    done = request_handover(
        request_id=req.pk,
        to=body.to,
        note=body.note,
        actor=request_user(request),
    )
    return AssistRequestOut.of(done)


class TimesQuery(Schema):
    days: Annotated[int, Field(ge=1, le=90)] = 7


@router.read("/times", perm=Perm.ASSIST_VIEW, response=list[AssistTimesOut])
def times(request: HttpRequest, query: Query[TimesQuery]) -> list[AssistTimesOut]:
    since = timezone.now() - timedelta(days=query.days)
    return [
        AssistTimesOut(
            village=t.village,
            kind=t.kind,
            green=t.green,
            asked=t.asked,
            answered=t.answered,
            median_minutes=t.median,
            p90_minutes=t.p90,
            late=[
                AssistLateOut(
                    request_id=x.request_id,
                    name=x.name,
                    minutes_late=x.minutes_late,
                    answered=x.answered,
                )
                for x in t.late
            ],
        )
        for t in selectors.response_times(request.user, since)
    ]


class AssistKindSetting(Schema):
    id: Id
    name: Annotated[str, Field(max_length=40)]
    green: bool
    target_minutes: Annotated[int, Field(ge=1, le=10080)]


class AssistGreenSetting(Schema):
    tag: Annotated[str, Field(max_length=20)]
    target_minutes: Annotated[int, Field(ge=1, le=10080)]


class AssistItemSetting(Schema):
    code: Annotated[str, Field(max_length=20)]
    name: Annotated[str, Field(max_length=40)]
    unit: Annotated[str, Field(max_length=10)]
    per_package: Annotated[int, Field(ge=0, le=100)]
    per_meal: Annotated[int, Field(ge=0, le=100)]


class AssistSettingsBody(Schema):
    """Every kind of request may be listed (those left out keep their settings), the
    green-channel groups are the list given, items are added or changed."""

    kinds: Annotated[list[AssistKindSetting], Field(max_length=100)]
    green: Annotated[list[AssistGreenSetting], Field(max_length=100)]
    items: Annotated[list[AssistItemSetting], Field(max_length=200)]

    @classmethod
    def of(cls, s: assist_settings.Settings) -> AssistSettingsBody:
        return cls(
            kinds=[AssistKindSetting(**asdict(k)) for k in s.kinds],
            green=[AssistGreenSetting(**asdict(g)) for g in s.green],
            items=[AssistItemSetting(**asdict(i)) for i in s.items],
        )


@router.read("/settings", perm=Perm.ASSIST_VIEW, response=AssistSettingsBody)
def get_settings(request: HttpRequest) -> AssistSettingsBody:
    return AssistSettingsBody.of(assist_settings.current())


@router.write(
    "/settings",
    perm=Perm.RULES_MANAGE,
    method="PUT",
    writes_at="top",
    response=AssistSettingsBody,
)
def put_settings(request: HttpRequest, body: AssistSettingsBody) -> AssistSettingsBody:
    """Changed from the top of the tree only (they serve every town); all or nothing,
    the bad row named."""
    return AssistSettingsBody.of(
        assist_settings.settings_save(
            actor=request_user(request),
            kinds=[assist_settings.KindRow(**k.dict()) for k in body.kinds],
            green=[assist_settings.GreenRow(**g.dict()) for g in body.green],
            items=[assist_settings.ItemRow(**i.dict()) for i in body.items],
        )
    )
