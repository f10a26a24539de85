"""The permission matrix's objects of notify: a group robot of each town."""

from __future__ import annotations

from fangkong.notify.models import Channel
from tests.world import World


def ensure_channels(world: World) -> dict[str, Channel]:
    """A group robot of each town; their names are no world node's."""
    return {
        key: Channel.objects.get_or_create(
            key=f"matrix-robot-{key}",
            defaults={
                "name": name,
                "kind": "dingtalk",
                "url": "http://127.0.0.1:9/x",
                "jurisdiction": world.nodes[key],
                "events": ["broadcast"],
            },
        )[0]
        for key, name in (("T", "指挥部群机器人"), ("U", "洪合群机器人"))
    }
