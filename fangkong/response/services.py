"""Writes of emergency response: plans and their steps, a town's copy of a shipped plan,
an activation (live or drill) forming its groups, calling and notifying everyone and
starting every step's timer, the arrival (到岗) of whoever was called, a step done,
closing an activation, and switching the response level at a node. Every write is
atomic, checks the permission at its node and leaves its audit record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.api_kit import CLOCK_SKEW, queued_time_ok
from fangkong.notify.services import deliver, notice_send, routes
from fangkong.org.access import require_top
from fangkong.org.models import Jurisdiction, Level, Team
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.response import hooks
from fangkong.response.kinds import STEP_KIND
from fangkong.response.models import (
    Activation,
    ActivationStatus,
    ActivationStep,
    Callout,
    FormedGroup,
    LevelChange,
    Plan,
    PlanGroup,
    PlanStep,
    ResponseLevel,
)
from fangkong.workorders.dispatch import DispatchError, Strategy
from fangkong.workorders.models import OPEN_STATUSES, Priority, WorkOrder
from fangkong.workorders.services import Subject, order_cancel, orders_create

EVENT_MAX = 500
TITLE_MAX = 200
REASON_MAX = 300
# A step is due within a week of activation at most; the assembly within a day.
STEP_MINUTES_MAX = 7 * 24 * 60
ASSEMBLE_MINUTES_MAX = 24 * 60
PEACE = "peace"


def _audit(
    obj: Any, actor: User | None, action: AuditAction, what: str, path: str, **detail: Any
) -> None:
    audit_record(
        action=action,
        actor=actor,
        obj=obj,
        object_repr=what[:200],
        jurisdiction_path=path,
        detail=detail,
    )


def _require_plan_write(actor: User, plan: Plan) -> None:
    """A town's plan: response.manage at its node; a shipped one: at the top."""
    if plan.jurisdiction is None:
        require_top(actor, Perm.RESPONSE_MANAGE)
    elif not has_perm(actor, Perm.RESPONSE_MANAGE, plan.jurisdiction.path):
        raise PermissionDenied


def _plan_path(plan: Plan) -> str:
    return plan.jurisdiction.path if plan.jurisdiction else ""


# Plans -------------------------------------------------------------------------------


def _clean_step(
    plan: Plan, title: str, minutes: int, group_code: str, role: str
) -> tuple[str, PlanGroup | None]:
    title = " ".join(title.split())
    if not title:
        raise ValidationError({"title": _("A step needs a title.")})
    if len(title) > TITLE_MAX:
        raise ValidationError({"title": _("At most %(n)d characters, please.") % {"n": TITLE_MAX}})
    if not 1 <= minutes <= STEP_MINUTES_MAX:
        raise ValidationError(
            {
                "minutes": _("A deadline is 1 to %(n)d minutes after activation.")
                % {"n": STEP_MINUTES_MAX}
            }
        )
    group = None
    if group_code:
        group = plan.groups.filter(code=group_code).first()
        if group is None:
            raise ValidationError(
                {"group": _("The plan has no group %(code)s.") % {"code": group_code}}
            )
    if role and role not in Role.values:
        raise ValidationError({"role": _("Unknown role %(role)s.") % {"role": role}})
    if group is None and not role:
        raise ValidationError({"group": _("A step needs an owner: a group or a role.")})
    return title, group


@transaction.atomic
def step_save(
    *,
    actor: User,
    plan: Plan,
    title: str,
    minutes: int,
    group_code: str = "",
    role: str = "",
    step: PlanStep | None = None,
) -> PlanStep:
    """Add a step to the plan, or change `step` (one of the plan's)."""
    _require_plan_write(actor, plan)
    if step is not None and step.plan_id != plan.pk:
        raise ValidationError({"step": _("The step is not one of this plan's.")})
    title, group = _clean_step(plan, title, minutes, group_code, role)
    if step is None:
        last = plan.steps.order_by("-position").values_list("position", flat=True).first()
        step = PlanStep(plan=plan, position=(last or 0) + 1)
    step.title, step.minutes, step.group, step.role = title, minutes, group, role
    step.save()
    plan.save(update_fields=["updated_at"])
    _audit(step, actor, AuditAction.UPDATE, f"plan {plan.pk} step: {title}", _plan_path(plan))
    return step


@transaction.atomic
def step_delete(*, actor: User, plan: Plan, step_id: int) -> bool:
    _require_plan_write(actor, plan)
    step = plan.steps.filter(pk=step_id).first()
    if step is None:
        return False
    title = step.title
    step.delete()
    _audit(plan, actor, AuditAction.DELETE, f"plan {plan.pk} step: {title}", _plan_path(plan))
    return True


@transaction.atomic
def plan_update(*, actor: User, plan: Plan, name: str, assemble_minutes: int) -> Plan:
    _require_plan_write(actor, plan)
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise ValidationError({"name": _("A plan needs a name of at most 120 characters.")})
    if not 1 <= assemble_minutes <= ASSEMBLE_MINUTES_MAX:
        raise ValidationError(
            {
                "assemble_minutes": _("Assembly is 1 to %(n)d minutes after activation.")
                % {"n": ASSEMBLE_MINUTES_MAX}
            }
        )
    plan.name, plan.assemble_minutes = name, assemble_minutes
    plan.save()
    _audit(plan, actor, AuditAction.UPDATE, f"plan {plan.pk}: {name}", _plan_path(plan))
    return plan


@transaction.atomic
def plan_copy(*, actor: User, plan: Plan, node: Jurisdiction) -> tuple[Plan, bool]:
    """A town's own copy of a plan (to adapt a shipped one); copying again returns the
    copy made first."""
    if not has_perm(actor, Perm.RESPONSE_MANAGE, node.path):
        raise PermissionDenied
    if node.level not in (Level.COUNTY, Level.TOWN):
        raise ValidationError({"node": _("Plans are kept by a town or a county.")})
    found = Plan.objects.filter(jurisdiction=node, code=plan.code).first()
    if found is not None:
        return found, False
    copy = Plan.objects.create(
        code=plan.code,
        name=plan.name,
        jurisdiction=node,
        description=plan.description,
        assemble_minutes=plan.assemble_minutes,
    )
    groups = {}
    for g in plan.groups.all():
        groups[g.pk] = PlanGroup.objects.create(
            plan=copy,
            code=g.code,
            name=g.name,
            duty=g.duty,
            team_kind=g.team_kind,
            position=g.position,
        )
    PlanStep.objects.bulk_create(
        PlanStep(
            plan=copy,
            position=s.position,
            title=s.title,
            group=groups.get(s.group_id or 0),
            role=s.role,
            minutes=s.minutes,
        )
        for s in plan.steps.all()
    )
    _audit(copy, actor, AuditAction.CREATE, f"plan {copy.pk} copied from {plan.pk}", node.path)
    return copy, True


# Activation ---------------------------------------------------------------------------


def _team_of(node: Jurisdiction, group: PlanGroup) -> Team | None:
    return (
        Team.objects.filter(jurisdiction=node, name=group.name)
        .select_related("leader")
        .order_by("id")
        .first()
    )


def _step_assignee(step: PlanStep, formed: dict[int, FormedGroup], actor: User) -> User:
    """The step's owner: its group's leader (or first member); else the nearest holder
    of its role; else the commander who activated."""
    group = formed.get(step.group_id or 0)
    team = group.team if group is not None else None
    if team is not None:
        if team.leader_id is not None and team.leader is not None:
            return team.leader
        member = team.members.select_related("user").order_by("id").first()
        if member is not None:
            return member.user
    return actor


def _start_timer(
    step: ActivationStep, plan_step: PlanStep, assignee: User, node: Jurisdiction, now: datetime
) -> WorkOrder | None:
    ct = ContentType.objects.get_for_model(ActivationStep)
    subject = Subject(node, step.title, ct.pk, step.pk)
    common: dict[str, Any] = {
        "kind": STEP_KIND,
        "subjects": [subject],
        "actor": None,
        "due_at": step.due_at,
        "priority": Priority.URGENT,
        "source": "response",
        "title": step.title,
        "now": now,
    }
    if plan_step.role and plan_step.group_id is None:
        try:
            return orders_create(strategy=Strategy.NEAREST, role=Role(plan_step.role), **common)[0]
        except DispatchError:
            pass
    return orders_create(strategy=Strategy.PERSON, person=assignee, **common)[0]


def _message(activation: Activation) -> tuple[str, str]:
    plan, node = activation.plan, activation.jurisdiction
    title = _("Emergency plan activated: %(plan)s (%(node)s)") % {
        "plan": plan.name,
        "node": node.name,
    }
    if activation.drill:
        title = _("[演练] Drill: %(title)s") % {"title": title}
    body = _('%(event)s Assemble within %(n)d minutes and tap "I\'m here".') % {
        "event": activation.event,
        "n": plan.assemble_minutes,
    }
    return title, body


@transaction.atomic
def activate(
    *,
    actor: User,
    plan: Plan,
    node: Jurisdiction,
    event: str,
    drill: bool = False,
    extra_user_ids: list[int] | None = None,
    now: datetime | None = None,
) -> Activation:
    """Activate `plan` at `node`: form its groups from the node's teams (their leaders
    and members are called, with the commander), notify them in the inbox (and, live,
    on the node's group robots), and start every step's timer (live: a work order due at
    activation plus the step's minutes, assigned to the step's owner). A drill does the
    same without work orders or robots, its notices marked 演练."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.RESPONSE_MANAGE, node.path):
        raise PermissionDenied
    if plan.jurisdiction is not None and not node.path.startswith(plan.jurisdiction.path):
        raise ValidationError({"node": _("The plan is not for this node.")})
    event = " ".join(event.split())
    if not event:
        raise ValidationError({"event": _("Say what happened: the triggering event.")})
    if len(event) > EVENT_MAX:
        raise ValidationError({"event": _("At most %(n)d characters, please.") % {"n": EVENT_MAX}})
    steps = list(plan.steps.select_related("group").order_by("minutes", "position", "id"))
    if not steps:
        raise ValidationError({"plan": _("The plan has no steps.")})
    running = Activation.objects.filter(
        plan=plan, jurisdiction=node, drill=drill, status=ActivationStatus.RUNNING
    ).first()
    if running is not None:
        raise ValidationError(
            {
                "plan": _(
                    "This plan is already running at %(node)s (activation %(id)d): close it first."
                )
                % {"node": node.name, "id": running.pk}
            }
        )
    try:
        with transaction.atomic():
            activation = Activation.objects.create(
                plan=plan,
                jurisdiction=node,
                event=event,
                drill=drill,
                started_at=now,
                started_by=actor,
                assemble_by=now + timedelta(minutes=plan.assemble_minutes),
            )
    except IntegrityError:  # the same activation, sent twice at once
        raise ValidationError(
            {
                "plan": _("This plan is already running at %(node)s: close it first.")
                % {"node": node.name}
            }
        ) from None
    formed: dict[int, FormedGroup] = {}
    called: dict[int, FormedGroup | None] = {actor.pk: None}
    for group in plan.groups.all():
        team = _team_of(node, group)
        fg = FormedGroup.objects.create(
            activation=activation, plan_group=group, name=group.name, team=team
        )
        formed[group.pk] = fg
        if team is not None:
            ids = [team.leader_id] if team.leader_id else []
            ids += list(team.members.values_list("user_id", flat=True))
            for uid in ids:
                if called.get(uid) is None:
                    called[uid] = fg
    for uid in extra_user_ids or []:
        called.setdefault(uid, None)
    Callout.objects.bulk_create(
        Callout(activation=activation, user_id=uid, group=fg) for uid, fg in called.items()
    )
    for i, plan_step in enumerate(steps, start=1):
        step = ActivationStep.objects.create(
            activation=activation,
            position=i,
            title=plan_step.title,
            owner=plan_step.owner_label[:60],
            minutes=plan_step.minutes,
            due_at=now + timedelta(minutes=plan_step.minutes),
        )
        if not drill:
            assignee = _step_assignee(plan_step, formed, actor)
            step.work_order = _start_timer(step, plan_step, assignee, node, now)
            step.save(update_fields=["work_order"])
    title, body = _message(activation)
    key = f"response:{activation.pk}"
    notice_send(user_ids=called.keys(), title=title, body=body, url="/response/here/", key=key)
    if not drill:
        deliver(
            channels=routes("response", node.path),
            title=title,
            body=body,
            event="response",
            key=key,
        )
    _audit(
        activation,
        actor,
        AuditAction.CREATE,
        f"{'drill' if drill else 'activation'} {activation.pk} of plan {plan.pk}",
        node.path,
        drill=drill,
        called=len(called),
        steps=len(steps),
    )
    return activation


@transaction.atomic
def arrive(*, actor: User, callout: Callout, now: datetime | None = None) -> tuple[Callout, bool]:
    """The called person reports for duty; a second tap keeps the first time."""
    if callout.user_id != actor.pk:
        raise PermissionDenied
    locked = Callout.objects.select_for_update().select_related("activation").get(pk=callout.pk)
    if locked.arrived_at is not None:
        return locked, False
    if locked.activation.status != ActivationStatus.RUNNING:
        raise ValidationError(_("This activation is closed."))
    locked.arrived_at = now or timezone.now()
    locked.save(update_fields=["arrived_at"])
    late = locked.arrived_at > locked.activation.assemble_by
    _audit(
        locked,
        actor,
        AuditAction.UPDATE,
        f"arrival for activation {locked.activation_id}",
        locked.activation.jurisdiction.path,
        late=late,
    )
    return locked, True


@dataclass(frozen=True)
class ArrivalAnswer:
    client_id: uuid.UUID
    status: str  # "recorded" | "already" | "refused"
    error: str
    arrived_at: datetime | None
    on_time: bool


def arrivals_sync(
    *,
    actor: User,
    records: Sequence[tuple[uuid.UUID, Callout | None, datetime | None]],
    now: datetime | None = None,
) -> list[ArrivalAnswer]:
    """Arrivals from a phone's offline queue (ADR 0020's contract), each answered on its
    own. The call is the key: its first arrival is kept, so a batch sent twice, or a tap
    sent after the person tapped again online, changes nothing. A record names the call
    (None: not one of the sender's) and when it was tapped."""
    now = now or timezone.now()
    out: list[ArrivalAnswer] = []
    for client_id, callout, tapped_at in records:
        at = tapped_at or now
        try:
            if callout is None:
                raise ValidationError(_("Not one of your calls."))
            if callout.arrived_at is None:
                # A tap kept on a phone without a connection is recorded at the time it
                # was tapped, by the phone's clock: never before the call went out.
                started = callout.activation.started_at
                if not queued_time_ok(at, now=now, earliest=started - CLOCK_SKEW):
                    raise ValidationError(_("The time of the tap is not within the call."))
                at = min(max(at, callout.activation.started_at), now)
            done, new = arrive(actor=actor, callout=callout, now=at)
            # A later record of the same call in this batch sees the arrival.
            callout.arrived_at = done.arrived_at
        except ValidationError as e:
            out.append(ArrivalAnswer(client_id, "refused", " ".join(e.messages), None, False))
        except PermissionDenied:
            out.append(
                ArrivalAnswer(client_id, "refused", _("Not one of your calls."), None, False)
            )
        else:
            arrived = done.arrived_at
            on_time = arrived is not None and arrived <= done.activation.assemble_by
            out.append(
                ArrivalAnswer(client_id, "recorded" if new else "already", "", arrived, on_time)
            )
    return out


def _mark_done(step: ActivationStep, actor: User | None, now: datetime) -> bool:
    if step.done_at is not None:
        return False
    step.done_at, step.done_by = now, actor
    step.save(update_fields=["done_at", "done_by"])
    return True


@transaction.atomic
def step_done(
    *, actor: User, activation: Activation, position: int, now: datetime | None = None
) -> tuple[ActivationStep, bool]:
    """The commander records a step done (idempotent: done twice changes nothing); its
    open work order, if any, is closed with a note."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.RESPONSE_MANAGE, activation.jurisdiction.path):
        raise PermissionDenied
    step = activation.steps.select_for_update().filter(position=position).first()
    if step is None:
        raise ValidationError({"step": _("The activation has no step %(n)d.") % {"n": position}})
    if not _mark_done(step, actor, now):
        return step, False
    if step.work_order is not None and step.work_order.status in OPEN_STATUSES:
        order_cancel(
            order_id=step.work_order.pk,
            actor=actor,
            reason=_("Recorded done at the command post."),
        )
    _audit(
        step,
        actor,
        AuditAction.UPDATE,
        f"activation {activation.pk} step {position} done",
        activation.jurisdiction.path,
    )
    return step, True


def step_order_done(order: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """The step's work order completed by its owner (workorders' `on_done`)."""
    step = ActivationStep.objects.select_for_update().filter(pk=order.subject_id or 0).first()
    if step is None or step.work_order_id != order.pk:
        return
    if _mark_done(step, actor, timezone.now()):
        _audit(
            step,
            actor,
            AuditAction.UPDATE,
            f"activation {step.activation_id} step {step.position} done (work order)",
            order.jurisdiction.path,
        )


@transaction.atomic
def activation_close(
    *, actor: User, activation: Activation, now: datetime | None = None
) -> tuple[Activation, bool]:
    """Stand down. Open step orders are cancelled; closing twice changes nothing."""
    if not has_perm(actor, Perm.RESPONSE_MANAGE, activation.jurisdiction.path):
        raise PermissionDenied
    locked = Activation.objects.select_for_update().get(pk=activation.pk)
    if locked.status == ActivationStatus.CLOSED:
        return locked, False
    locked.status, locked.closed_at = ActivationStatus.CLOSED, now or timezone.now()
    locked.save(update_fields=["status", "closed_at"])
    for step in locked.steps.filter(done_at__isnull=True, work_order__isnull=False).select_related(
        "work_order"
    ):
        order = step.work_order
        if order is not None and order.status in OPEN_STATUSES:
            order_cancel(order_id=order.pk, actor=actor, reason=_("The activation was closed."))
    _audit(
        locked,
        actor,
        AuditAction.UPDATE,
        f"activation {locked.pk} closed",
        locked.jurisdiction.path,
    )
    return locked, True


# Response levels ----------------------------------------------------------------------


def current_change(node: Jurisdiction) -> LevelChange | None:
    return (
        LevelChange.objects.filter(jurisdiction=node)
        .select_related("to_level")
        .order_by("-at", "-id")
        .first()
    )


@transaction.atomic
def level_switch(
    *,
    actor: User,
    node: Jurisdiction,
    level: ResponseLevel,
    reason: str,
    now: datetime | None = None,
) -> tuple[LevelChange | None, bool]:
    """Switch `node` to `level`: one audited action that keeps the history (who, when,
    why, the configuration before and after) and calls every registered listener with
    what the level adds and drops. Switching to the level the node is at changes
    nothing (returns the standing change, False)."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.RESPONSE_MANAGE, node.path):
        raise PermissionDenied
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": _("Say why the level changes.")})
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {"reason": _("At most %(n)d characters, please.") % {"n": REASON_MAX}}
        )
    # Two switches of one node at once: the second waits for the first, then sees it.
    Jurisdiction.objects.select_for_update().filter(pk=node.pk).first()
    standing = current_change(node)
    before = (
        standing.to_level
        if standing is not None
        else ResponseLevel.objects.filter(code=PEACE).first()
    )
    if before is not None and before.pk == level.pk:
        return standing, False
    from_config = (
        dict(standing.to_config) if standing is not None else dict(before.config if before else {})
    )
    added, removed = hooks.diff(from_config, level.config)
    switch = hooks.LevelSwitch(
        node=node,
        from_code=before.code if before else "",
        to_code=level.code,
        from_config=from_config,
        to_config=dict(level.config),
        added=added,
        removed=removed,
        at=now,
    )
    reports: dict[str, Any] = {}
    for name, listener in sorted(hooks.level_listeners().items()):
        reports[name] = listener(switch)
    change = LevelChange.objects.create(
        jurisdiction=node,
        from_level=before,
        to_level=level,
        reason=reason,
        at=now,
        actor=actor,
        from_config=from_config,
        to_config=dict(level.config),
        listeners={
            k: v if isinstance(v, dict | list | str | int | float | bool) or v is None else str(v)
            for k, v in reports.items()
        },
    )
    _audit(
        change,
        actor,
        AuditAction.UPDATE,
        f"response level at {node.code}: {switch.from_code} -> {level.code}",
        node.path,
        reason=reason,
    )
    return change, True
