"""Emergency response API: plans (read, add a step, a town's copy), activation (live or
drill), the live timeline, a step done, closing, the caller's own arrival, the levels
and the level at a node with its switch. Writes are idempotent: a step done twice, an
arrival tapped twice, a switch to the level in force change nothing (and the
Idempotency-Key replays a retried request)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import SyncStatus, referenced, sync_recorded, sync_status
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.response import selectors, services
from fangkong.response.models import Activation, Plan

router = ScopedRouter(tags=["response"])


class ResponsePlanStepOut(Schema):
    id: Id
    position: Count
    title: str
    owner: str
    group: str | None
    role: str
    minutes: Count


class ResponsePlanOut(Schema):
    id: Id
    code: str
    name: str
    node: str | None
    assemble_minutes: Count
    groups: list[str]
    steps: list[ResponsePlanStepOut]

    @classmethod
    def of(cls, p: Plan) -> ResponsePlanOut:
        return cls(
            id=p.pk,
            code=p.code,
            name=p.name,
            node=p.jurisdiction.code if p.jurisdiction else None,
            assemble_minutes=p.assemble_minutes,
            groups=[g.name for g in p.groups.all()],
            steps=[
                ResponsePlanStepOut(
                    id=s.pk,
                    position=s.position,
                    title=s.title,
                    owner=s.owner_label,
                    group=s.group.code if s.group else None,
                    role=s.role,
                    minutes=s.minutes,
                )
                for s in p.steps.select_related("group")
            ],
        )


class ResponseStepIn(Schema):
    title: Annotated[str, Field(max_length=services.TITLE_MAX)]
    minutes: Annotated[int, Field(ge=1, le=services.STEP_MINUTES_MAX)]
    group: Annotated[str, Field(max_length=40, description="a group code of the plan")] = ""
    role: Annotated[str, Field(max_length=20, description="or the owner's role")] = ""


class ResponseCopyIn(Schema):
    plan_id: Id


class ResponseActivateIn(Schema):
    event: Annotated[str, Field(min_length=1, max_length=services.EVENT_MAX)]
    drill: bool = False


class ResponseStepLineOut(Schema):
    position: Count
    title: str
    owner: str
    minutes: Count
    due_at: datetime
    done_at: datetime | None
    state: str
    work_order_id: Id | None


class ResponseArrivalOut(Schema):
    name: str
    group: str
    arrived_at: datetime | None
    state: str


class ResponseActivationOut(Schema):
    id: Id
    plan_id: Id
    node: str
    event: str
    drill: bool
    status: str
    started_at: datetime
    assemble_by: datetime
    closed_at: datetime | None
    steps: list[ResponseStepLineOut]
    arrivals: list[ResponseArrivalOut]

    @classmethod
    def of(cls, a: Activation) -> ResponseActivationOut:
        line = selectors.timeline(a)
        return cls(
            id=a.pk,
            plan_id=a.plan_id,
            node=a.jurisdiction.code,
            event=a.event,
            drill=a.drill,
            status=a.status,
            started_at=a.started_at,
            assemble_by=a.assemble_by,
            closed_at=a.closed_at,
            steps=[ResponseStepLineOut(**s.__dict__) for s in line.steps],
            arrivals=[ResponseArrivalOut(**x.__dict__) for x in line.arrivals],
        )


class ResponseActivationBrief(Schema):
    id: Id
    plan: str
    node: str
    drill: bool
    status: str
    started_at: datetime


class ResponseStepDoneIn(Schema):
    position: Annotated[int, Field(ge=1, le=10_000)]


class ResponseArriveIn(Schema):
    activation_id: Id


class ResponseArrivedOut(Schema):
    activation_id: Id
    arrived_at: datetime | None
    on_time: bool
    new: bool


class ResponseLevelOut(Schema):
    code: str
    name: str
    rank: Count
    config: dict[str, Any]


class ResponseLevelChangeOut(Schema):
    at: datetime
    from_level: str | None
    to_level: str
    reason: str


class ResponseLevelAtOut(Schema):
    node: str
    level: str | None
    set_at: str | None
    since: datetime | None
    config: dict[str, Any]
    history: list[ResponseLevelChangeOut]


class ResponseLevelSwitchIn(Schema):
    level: Annotated[str, Field(max_length=20)]
    reason: Annotated[str, Field(min_length=1, max_length=services.REASON_MAX)]


@router.read("/plans", perm=Perm.RESPONSE_VIEW, response=list[ResponsePlanOut])
def list_plans(request: HttpRequest) -> list[ResponsePlanOut]:
    return [ResponsePlanOut.of(p) for p in selectors.plans_visible(request.user)[:100]]


@router.read("/plans/{plan_id}", perm=Perm.RESPONSE_VIEW, response=ResponsePlanOut)
def get_plan(request: HttpRequest, plan_id: Id) -> ResponsePlanOut:
    return ResponsePlanOut.of(selectors.plan_for_user(request.user, plan_id))


@router.write("/plans/{plan_id}/steps", perm=Perm.RESPONSE_MANAGE, response={201: ResponsePlanOut})
def add_step(
    request: HttpRequest, plan_id: Id, body: ResponseStepIn
) -> tuple[int, ResponsePlanOut]:
    user = request_user(request)
    plan = selectors.plan_for_user(user, plan_id, write=True)
    services.step_save(
        actor=user,
        plan=plan,
        title=body.title,
        minutes=body.minutes,
        group_code=body.group,
        role=body.role,
    )
    return 201, ResponsePlanOut.of(plan)


@router.write("/copies", perm=Perm.RESPONSE_MANAGE, response={200: ResponsePlanOut})
def copy_plan(request: HttpRequest, body: ResponseCopyIn) -> ResponsePlanOut:
    """The caller's town's own copy of a plan (copying again returns the first copy)."""
    user = request_user(request)
    plan = referenced("plan_id", lambda: selectors.plan_for_user(user, body.plan_id))
    node = referenced("plan_id", lambda: _own_node(user))
    copy, _new = services.plan_copy(actor=user, plan=plan, node=node)
    return ResponsePlanOut.of(copy)


def _own_node(user: Any) -> Any:
    from django.http import Http404

    node = selectors.own_plan_node(user)
    if node is None:
        raise Http404
    return node


@router.write(
    "/plans/{plan_id}/activations",
    perm=Perm.RESPONSE_MANAGE,
    response={201: ResponseActivationOut},
)
def activate(
    request: HttpRequest, plan_id: Id, body: ResponseActivateIn
) -> tuple[int, ResponseActivationOut]:
    user = request_user(request)
    plan = selectors.plan_for_user(user, plan_id, write=True)
    node = referenced("plan_id", lambda: _activation_node(user, plan))
    act = services.activate(actor=user, plan=plan, node=node, event=body.event, drill=body.drill)
    return 201, ResponseActivationOut.of(act)


def _activation_node(user: Any, plan: Plan) -> Any:
    from django.http import Http404

    node = selectors.activation_node(user, plan)
    if node is None:
        raise Http404
    return node


@router.read("/activations", perm=Perm.RESPONSE_VIEW, response=list[ResponseActivationBrief])
def list_activations(request: HttpRequest) -> list[ResponseActivationBrief]:
    return [
        ResponseActivationBrief(
            id=a.pk,
            plan=a.plan.name,
            node=a.jurisdiction.code,
            drill=a.drill,
            status=a.status,
            started_at=a.started_at,
        )
        for a in selectors.activations_visible(request.user)[:200]
    ]


@router.read(
    "/activations/{activation_id}", perm=Perm.RESPONSE_VIEW, response=ResponseActivationOut
)
def get_activation(request: HttpRequest, activation_id: Id) -> ResponseActivationOut:
    return ResponseActivationOut.of(selectors.activation_for_user(request.user, activation_id))


@router.write(
    "/activations/{activation_id}/done",
    perm=Perm.RESPONSE_MANAGE,
    response=ResponseActivationOut,
)
def step_done(
    request: HttpRequest, activation_id: Id, body: ResponseStepDoneIn
) -> ResponseActivationOut:
    user = request_user(request)
    act = selectors.activation_for_user(user, activation_id, write=True)
    services.step_done(actor=user, activation=act, position=body.position)
    return ResponseActivationOut.of(act)


@router.write(
    "/activations/{activation_id}/close",
    perm=Perm.RESPONSE_MANAGE,
    response=ResponseActivationOut,
)
def close(request: HttpRequest, activation_id: Id) -> ResponseActivationOut:
    user = request_user(request)
    act = selectors.activation_for_user(user, activation_id, write=True)
    closed, _changed = services.activation_close(actor=user, activation=act)
    return ResponseActivationOut.of(closed)


@router.write("/arrivals", perm=None, response=ResponseArrivedOut)
def arrive(request: HttpRequest, body: ResponseArriveIn) -> ResponseArrivedOut:
    """The caller reports for duty to an activation that called them."""
    user = request_user(request)
    callout = referenced("activation_id", lambda: selectors.callout_of(user, body.activation_id))
    done, new = services.arrive(actor=user, callout=callout)
    return ResponseArrivedOut(
        activation_id=done.activation_id,
        arrived_at=done.arrived_at,
        on_time=done.arrived_at is not None and done.arrived_at <= done.activation.assemble_by,
        new=new,
    )


class ResponseArrivalRecordIn(Schema):
    client_id: uuid.UUID
    callout_id: Id
    tapped_at: datetime | None = None
    # A label the phone shows while queued; not used here.
    label: Annotated[str, Field(max_length=120)] = ""


class ResponseArrivalSyncIn(Schema):
    records: Annotated[list[ResponseArrivalRecordIn], Field(min_length=1, max_length=100)]


class ResponseArrivalAnswerOut(Schema):
    client_id: uuid.UUID
    status: SyncStatus
    error: str
    arrived_at: datetime | None
    on_time: bool


class ResponseArrivalSyncOut(Schema):
    recorded: Count
    answers: list[ResponseArrivalAnswerOut]


@router.write("/arrivals/sync", perm=None, response=ResponseArrivalSyncOut)
def sync_arrivals(request: HttpRequest, body: ResponseArrivalSyncIn) -> ResponseArrivalSyncOut:
    """Taps of "I'm here" kept on a phone without a connection (ADR 0020): each recorded
    at the time it was tapped, once however often it is sent."""
    user = request_user(request)
    calls = selectors.callouts_of(user, [r.callout_id for r in body.records])
    answers = services.arrivals_sync(
        actor=user,
        records=[(r.client_id, calls.get(r.callout_id), r.tapped_at) for r in body.records],
    )
    return ResponseArrivalSyncOut(
        recorded=sync_recorded(answers),
        answers=[
            ResponseArrivalAnswerOut(
                client_id=a.client_id,
                status=sync_status(a.status),
                error=a.error,
                arrived_at=a.arrived_at,
                on_time=a.on_time,
            )
            for a in answers
        ],
    )


@router.read("/levels", perm=Perm.RESPONSE_VIEW, response=list[ResponseLevelOut])
def list_levels(request: HttpRequest) -> list[ResponseLevelOut]:
    return [
        ResponseLevelOut(code=lv.code, name=lv.name, rank=lv.rank, config=lv.config)
        for lv in selectors.levels()
    ]


def _level_at(user: Any, node: Any) -> ResponseLevelAtOut:
    state = selectors.level_at(node)
    return ResponseLevelAtOut(
        node=node.code,
        level=state.level.code if state.level else None,
        set_at=state.set_at.code if state.set_at else None,
        since=state.since,
        config=state.config,
        history=[
            ResponseLevelChangeOut(
                at=h.at,
                from_level=h.from_level.code if h.from_level else None,
                to_level=h.to_level.code,
                reason=h.reason,
            )
            for h in selectors.level_history(user, node)
        ],
    )


@router.read("/nodes/{code}/level", perm=Perm.RESPONSE_VIEW, response=ResponseLevelAtOut)
def level_at(request: HttpRequest, code: str) -> ResponseLevelAtOut:
    user = request_user(request)
    return _level_at(user, jurisdiction_for_user(user, code, Perm.RESPONSE_VIEW))


@router.write("/nodes/{code}/level", perm=Perm.RESPONSE_MANAGE, response=ResponseLevelAtOut)
def switch_level(
    request: HttpRequest, code: str, body: ResponseLevelSwitchIn
) -> ResponseLevelAtOut:
    user = request_user(request)
    node = jurisdiction_for_user(user, code, Perm.RESPONSE_VIEW, write=Perm.RESPONSE_MANAGE)
    level = referenced("level", lambda: selectors.level_by_code(body.level))
    services.level_switch(actor=user, node=node, level=level, reason=body.reason)
    return _level_at(user, node)
