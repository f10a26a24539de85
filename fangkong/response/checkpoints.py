"""The level's checkpoints: what a switch of the response level does to the posts.

Checkpoints sit below this app and cannot hear of levels; this listener, registered in
`ResponseConfig.ready`, asks them to man the posts the new level names (by kind or name,
`config["checkpoints"]`) and the posts that open at its rank, and to stand the others
down. Switching back to the earlier level therefore restores its posts."""

from __future__ import annotations

from typing import Any

from fangkong.checkpoints.services import posts_for_level
from fangkong.response.hooks import LevelSwitch
from fangkong.response.models import ResponseLevel


def man_the_posts(switch: LevelSwitch) -> dict[str, Any]:
    level = ResponseLevel.objects.get(code=switch.to_code)
    wanted = switch.to_config.get("checkpoints") or {}
    return posts_for_level(
        node=switch.node,
        rank=level.rank,
        kinds=[str(k) for k in wanted.get("kinds", [])],
        names=[str(n) for n in wanted.get("names", [])],
    )
