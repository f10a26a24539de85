"""Reads of emergency response, always scoped: plans (a town's own and the shipped ones),
activations with their live timeline (each step done, running or late; each called
person on time, late, missing or still expected), the calls waiting for a person's
arrival, the response levels and the level each node is at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from fangkong.core.masking import mask_name
from fangkong.org.access import object_for_user, require_perm_at, require_top
from fangkong.org.models import Jurisdiction, StaffProfile
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, has_perm, holds_at_a_root, scope_paths
from fangkong.response.models import (
    Activation,
    ActivationStatus,
    ActivationStep,
    Callout,
    LevelChange,
    Plan,
    ResponseLevel,
)

PEACE = "peace"


def plans_visible(user: Any) -> QuerySet[Plan]:
    """The user's towns' plans and the shipped ones (for anyone holding response.view)."""
    own = Plan.objects.visible_to(user, Perm.RESPONSE_VIEW).values("pk")
    shipped = Q(jurisdiction__isnull=True) if has_perm(user, Perm.RESPONSE_VIEW) else Q(pk=None)
    return Plan.objects.filter(Q(pk__in=own) | shipped).select_related("jurisdiction")


def plan_for_user(user: Any, plan_id: int, *, write: bool = False) -> Plan:
    """404 outside response.view; with `write`, 403 without response.manage at the
    plan's node (a shipped plan: at the top of the tree)."""
    plan = plans_visible(user).filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    if write:
        if plan.jurisdiction is None:
            require_top(user, Perm.RESPONSE_MANAGE)
        else:
            require_perm_at(user, Perm.RESPONSE_MANAGE, plan.jurisdiction.path)
    return plan


def holds_top(user: Any) -> bool:
    """Whether the user changes what serves every town (a shipped plan)."""
    return holds_at_a_root(user, Perm.RESPONSE_MANAGE)


def own_plan_node(user: Any) -> Jurisdiction | None:
    """The highest town or county where the user manages response: where their copy of
    a shipped plan is kept."""
    from fangkong.org.models import Level

    return (
        Jurisdiction.objects.filter(path__in=scope_paths(user, Perm.RESPONSE_MANAGE))
        .filter(level__lte=Level.TOWN)
        .order_by("path")
        .first()
    )


def activation_node(user: Any, plan: Plan) -> Jurisdiction | None:
    """Where a plan is activated: its own node; a shipped plan at the top node of the
    user who changes it."""
    if plan.jurisdiction is not None:
        return plan.jurisdiction
    return own_plan_node(user)


def activations_visible(user: Any) -> QuerySet[Activation]:
    return Activation.objects.visible_to(user, Perm.RESPONSE_VIEW).select_related(
        "plan", "jurisdiction"
    )


def activation_for_user(user: Any, activation_id: int, *, write: bool = False) -> Activation:
    return object_for_user(
        Activation.objects.select_related("plan", "jurisdiction"),
        user,
        Perm.RESPONSE_VIEW,
        write=Perm.RESPONSE_MANAGE if write else None,
        pk=activation_id,
    )


def open_callouts(user: Any) -> list[Callout]:
    """The running activations that called this user, theirs to answer."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Callout.objects.filter(user=user, activation__status=ActivationStatus.RUNNING)
        .select_related("activation", "activation__plan", "activation__jurisdiction", "group")
        .order_by("-activation__started_at")[:20]
    )


def callout_for_user(user: Any, callout_id: int) -> Callout:
    """One of the user's own calls (404 for anyone else's: arrival is one's own)."""
    found = (
        Callout.objects.filter(pk=callout_id, user_id=getattr(user, "pk", 0) or 0)
        .select_related("activation", "activation__jurisdiction")
        .first()
    )
    if found is None:
        raise Http404
    return found


def callout_of(user: Any, activation_id: int) -> Callout:
    found = (
        Callout.objects.filter(activation_id=activation_id, user_id=getattr(user, "pk", 0) or 0)
        .select_related("activation", "activation__jurisdiction")
        .first()
    )
    if found is None:
        raise Http404
    return found


def callouts_of(user: Any, callout_ids: list[int]) -> dict[int, Callout]:
    """Of these calls, the user's own, by id: one read for a phone's whole batch."""
    return {
        c.pk: c
        for c in Callout.objects.filter(
            pk__in=callout_ids, user_id=getattr(user, "pk", 0) or 0
        ).select_related("activation", "activation__jurisdiction")
    }


# The timeline ------------------------------------------------------------------------


@dataclass(frozen=True)
class StepLine:
    position: int
    title: str
    owner: str
    minutes: int
    due_at: datetime
    done_at: datetime | None
    state: str  # "done" | "done_late" | "running" | "late"
    work_order_id: int | None


@dataclass(frozen=True)
class ArrivalLine:
    name: str  # masked
    group: str
    arrived_at: datetime | None
    state: str  # "on_time" | "late" | "missing" | "expected"


@dataclass(frozen=True)
class Timeline:
    activation: Activation
    now: datetime
    steps: list[StepLine]
    arrivals: list[ArrivalLine]

    def count(self, state: str) -> int:
        return sum(1 for a in self.arrivals if a.state == state)

    @property
    def late_steps(self) -> int:
        return sum(1 for s in self.steps if s.state == "late")


def step_state(step: ActivationStep, now: datetime) -> str:
    if step.done_at is not None:
        return "done" if step.done_at <= step.due_at else "done_late"
    return "running" if now <= step.due_at else "late"


def arrival_state(arrived_at: datetime | None, assemble_by: datetime, now: datetime) -> str:
    if arrived_at is not None:
        return "on_time" if arrived_at <= assemble_by else "late"
    return "expected" if now <= assemble_by else "missing"


def timeline(activation: Activation, now: datetime | None = None) -> Timeline:
    now = now or timezone.now()
    if activation.closed_at is not None:
        now = min(now, activation.closed_at)
    steps = [
        StepLine(
            s.position,
            s.title,
            s.owner,
            s.minutes,
            s.due_at,
            s.done_at,
            step_state(s, now),
            s.work_order_id,
        )
        for s in activation.steps.order_by("position")
    ]
    callouts = list(activation.callouts.select_related("user", "group").order_by("group", "id"))
    names = dict(
        StaffProfile.objects.filter(user_id__in=[c.user_id for c in callouts]).values_list(
            "user_id", "name"
        )
    )
    arrivals = [
        ArrivalLine(
            mask_name(names.get(c.user_id) or c.user.get_username()),
            c.group.name if c.group else "",
            c.arrived_at,
            arrival_state(c.arrived_at, activation.assemble_by, now),
        )
        for c in callouts
    ]
    return Timeline(activation, now, steps, arrivals)


# Levels -------------------------------------------------------------------------------


def levels() -> QuerySet[ResponseLevel]:
    return ResponseLevel.objects.all()


def level_by_code(code: str) -> ResponseLevel:
    found = ResponseLevel.objects.filter(code=code).first()
    if found is None:
        raise Http404
    return found


@dataclass(frozen=True)
class LevelAt:
    node: Jurisdiction
    level: ResponseLevel | None
    # The node whose switch sets it (the node itself or an ancestor), and since when.
    set_at: Jurisdiction | None
    since: datetime | None
    config: dict[str, Any]


def level_at(node: Jurisdiction) -> LevelAt:
    """The level in force at `node`: the latest switch at the node or, failing that, at
    its nearest ancestor; peace time when none was ever made."""
    change = (
        LevelChange.objects.filter(jurisdiction__path__in=ancestor_paths(node.path))
        .select_related("to_level", "jurisdiction")
        .order_by("-jurisdiction__path", "-at", "-id")
        .first()
    )
    if change is None:
        peace = ResponseLevel.objects.filter(code=PEACE).first()
        return LevelAt(node, peace, None, None, dict(peace.config) if peace else {})
    return LevelAt(node, change.to_level, change.jurisdiction, change.at, dict(change.to_config))


def level_history(user: Any, node: Jurisdiction, limit: int = 50) -> list[LevelChange]:
    return list(
        LevelChange.objects.visible_to(user, Perm.RESPONSE_VIEW)
        .filter(jurisdiction=node)
        .select_related("from_level", "to_level", "actor")
        .order_by("-at", "-id")[:limit]
    )


def level_nodes(user: Any) -> list[Jurisdiction]:
    """The nodes whose level the user sees: the top of their area and the towns under
    it, top first."""
    from fangkong.org.models import Level

    roots = scope_paths(user, Perm.RESPONSE_VIEW)
    return list(
        Jurisdiction.objects.visible_to(user, Perm.RESPONSE_VIEW)
        .filter(Q(level__lte=Level.TOWN) | Q(path__in=roots))
        .order_by("path")[:50]
    )
