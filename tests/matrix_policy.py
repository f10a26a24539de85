"""The permission matrix's objects of policy: a local copy of the national 9th edition
in each town."""

from __future__ import annotations

from fangkong.policy.models import Edition
from tests.world import World


def ensure_editions(world: World) -> dict[str, Edition]:
    """A local edition of each town, copied from the 9th (idempotent)."""
    from datetime import date

    from fangkong.policy.services import edition_copy

    found = {e.scope_id: e for e in Edition.objects.filter(scope__isnull=False)}
    out: dict[str, Edition] = {}
    for key, name, persona in (
        ("T", "王店本地规则", "commander"),
        ("U", "洪合本地规则", "commander_u"),
    ):
        node = world.nodes[key]
        out[key] = found.get(node.pk) or edition_copy(
            actor=world.users[persona],
            source=Edition.objects.get(key="nat-9"),
            name=name,
            scope=node,
            effective_from=date(2026, 1, 1),
        )
        if name not in world.shared_markers.get(key, []):
            world.shared_markers.setdefault(key, []).append(name)
    return out
