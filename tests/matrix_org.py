"""The permission matrix's objects of org beyond the world's tree: a machine client of
each town's first village."""

from __future__ import annotations

from fangkong.org.models import ApiClient
from fangkong.org.roles import Perm
from tests.world import World


def ensure_api_clients(world: World) -> dict[str, ApiClient]:
    """A machine client of each town's first village (idempotent per world)."""
    from fangkong.org.clients import api_client_issue

    out = {}
    for key, persona in (("A", "commander"), ("P", "commander_u")):
        node = world.nodes[key]
        out[key] = (
            ApiClient.objects.filter(jurisdiction=node, name="matrix client").first()
            or api_client_issue(
                issuer=world.users[persona],
                name="matrix client",
                node=node,
                perms=[Perm.ORG_VIEW],
                days=1,
            ).client
        )
    return out
