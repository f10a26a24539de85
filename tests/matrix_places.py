"""The permission matrix's objects of the places app: a shop on a grid of each town
(seen at its grid and above, changed with the permission there), reached by id or by its
public code, and a patrol route of each town's first village over it."""

from __future__ import annotations

from typing import Any

from fangkong.places.models import (
    Disinfection,
    Finding,
    Gathering,
    GoodsCheck,
    Inspection,
    PatrolRoute,
    Penalty,
    Place,
    Scan,
    Visitor,
)
from tests.world import World

MODELS = (
    Place,
    Scan,
    Visitor,
    PatrolRoute,
    Inspection,
    Finding,
    Penalty,
    Disinfection,
    GoodsCheck,
    Gathering,
)

_MADE = (
    ("A1", "A", "commander", "矩阵商铺甲", "矩阵巡查线甲"),
    ("P1", "P", "commander_u", "矩阵商铺乙", "矩阵巡查线乙"),
)


def ensure_places(world: World) -> dict[str, dict[str, Any]]:
    """{grid key: {"venue_id": shop, "route_id": route (at the village)}} (idempotent)."""
    from fangkong.places.models import PlaceCategory
    from fangkong.places.services import place_create, route_create

    out: dict[str, dict[str, Any]] = {}
    for key, village, persona, place_name, route_name in _MADE:
        node = world.nodes[key]
        place = Place.objects.filter(jurisdiction=node, name=place_name).first() or place_create(
            actor=world.users[persona],
            jurisdiction=node,
            category=PlaceCategory.objects.get(code="shop"),
            name=place_name,
        )
        route = PatrolRoute.objects.filter(name=route_name).first() or route_create(
            actor=world.users[persona],
            jurisdiction=world.nodes[village],
            name=route_name,
            places=[place],
            every_days=1,
        )
        out[key] = {"venue_id": place, "route_id": route, "village": village}
        for marker, at in ((place_name, key), (route_name, village)):
            if marker not in world.shared_markers.get(at, []):
                world.shared_markers.setdefault(at, []).append(marker)
    return out


def places_cases(world: World, param: str) -> list[tuple[str, str]]:
    """(value, node it lives at) for a URL parameter of places, or [] when not ours."""
    if param == "venue_id":
        return [(str(made["venue_id"].pk), key) for key, made in ensure_places(world).items()]
    if param == "place_code":
        return [(made["venue_id"].code, key) for key, made in ensure_places(world).items()]
    if param == "route_id":
        return [
            (str(made["route_id"].pk), made["village"]) for made in ensure_places(world).values()
        ]
    return []
