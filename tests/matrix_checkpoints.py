"""The permission matrix's objects of the checkpoints app: a post in each town's first
village with a shift (seen at and above the village, changed with the permission
there)."""

from __future__ import annotations

from typing import Any

from fangkong.checkpoints.models import CrewMember, Entry, Post, Shift
from tests.world import World

MODELS = (Post, Entry, Shift, CrewMember)

_MADE = (("A", "commander", "矩阵卡口甲"), ("P", "commander_u", "矩阵卡口乙"))


def ensure_checkpoints(world: World) -> dict[str, dict[str, Any]]:
    """{village key: {"post_id": post, "shift_id": shift}} (idempotent)."""
    from datetime import time

    from django.utils import timezone

    from fangkong.checkpoints.rosters import shifts_plan
    from fangkong.checkpoints.services import PostData, post_save

    out: dict[str, dict[str, Any]] = {}
    for key, persona, name in _MADE:
        node = world.nodes[key]
        actor = world.users[persona]
        post = Post.objects.filter(jurisdiction=node, name=name).first() or post_save(
            actor=actor, data=PostData(name=name, kind="road", jurisdiction=node)
        )
        shift = (
            Shift.objects.filter(post=post).first()
            or shifts_plan(
                actor=actor,
                post=post,
                day=timezone.localdate(),
                starts=[time(8)],
                hours=8,
                crews=[[]],
            )[0]
        )
        out[key] = {"post_id": post, "shift_id": shift}
        if name not in world.shared_markers.get(key, []):
            world.shared_markers.setdefault(key, []).append(name)
    return out


def checkpoint_cases(world: World, param: str) -> list[tuple[str, str, str]]:
    """(value, node read at, node written at) for a URL parameter of checkpoints, or []."""
    if param not in ("post_id", "shift_id"):
        return []
    return [(str(made[param].pk), key, key) for key, made in ensure_checkpoints(world).items()]
