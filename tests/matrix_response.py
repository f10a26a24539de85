"""The permission matrix's objects of emergency response: the shipped golden-24-hours
plan (no node: read by anyone holding response.view, changed only from the top), each
town's copy of it, and a running drill of each copy."""

from __future__ import annotations

from typing import Any

from fangkong.response.models import (
    Activation,
    ActivationStep,
    Callout,
    FormedGroup,
    LevelChange,
    Plan,
    PlanGroup,
    PlanStep,
)
from tests.world import World

MODELS = (Plan, PlanGroup, PlanStep, Activation, FormedGroup, Callout, ActivationStep, LevelChange)

_MADE = (("T", "commander", "矩阵事件甲"), ("U", "commander_u", "矩阵事件乙"))


def ensure_response(world: World) -> dict[str, dict[str, Any]]:
    """{town key: {"plan": its copy, "activation": a running drill of it}} (idempotent)."""
    from fangkong.response.services import activate, plan_copy

    shipped = Plan.objects.get(code="golden-24h", jurisdiction__isnull=True)
    out: dict[str, dict[str, Any]] = {}
    for key, persona, event in _MADE:
        actor, node = world.users[persona], world.nodes[key]
        plan, _new = plan_copy(actor=actor, plan=shipped, node=node)
        act = Activation.objects.filter(plan=plan, event=event).first() or activate(
            actor=actor, plan=plan, node=node, event=event, drill=True
        )
        out[key] = {"plan": plan, "activation": act}
        if event not in world.shared_markers.get(key, []):
            world.shared_markers.setdefault(key, []).append(event)
    return out


def response_cases(world: World, param: str) -> list[tuple[str, str | None, str | None]]:
    """(value, node read at, node written at) for a URL parameter of response, or []."""
    if param == "plan_id":
        made = ensure_response(world)
        shipped = Plan.objects.get(code="golden-24h", jurisdiction__isnull=True)
        return [(str(shipped.pk), None, "C")] + [
            (str(m["plan"].pk), key, key) for key, m in made.items()
        ]
    if param == "activation_id":
        return [(str(m["activation"].pk), key, key) for key, m in ensure_response(world).items()]
    return []
