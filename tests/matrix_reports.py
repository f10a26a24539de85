"""The permission matrix's objects of reports: today's bulletin of each town."""

from __future__ import annotations

from typing import Any

from tests.world import World


def ensure_bulletins(world: World) -> dict[str, Any]:
    """Today's bulletin of each town (idempotent)."""
    from django.utils import timezone

    from fangkong.reports.bulletin import bulletin_generate
    from fangkong.reports.models import Bulletin

    out = {}
    for key in ("T", "U"):
        node = world.nodes[key]
        found = Bulletin.objects.filter(node=node).first()
        out[key] = found or bulletin_generate(node=node, day=timezone.localdate())
    return out
