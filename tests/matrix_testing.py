"""The permission matrix's objects of testing: a round of each town over the town, and a
pool-positive member recalled at each leaf, already negative."""

from __future__ import annotations

from typing import Any

from tests.world import World, ensure_registry


def ensure_testing(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A testing round of each town over the town, and a pool-positive member recalled
    at each leaf, already negative (idempotent)."""
    from django.utils import timezone

    from fangkong.testing.models import Recall, RecallStatus, Round, Tube
    from fangkong.testing.rounds import round_create

    ensure_registry(world)
    rounds: dict[str, Any] = {}
    for town, name, persona in (
        ("T", "王店核酸一轮", "commander"),
        ("U", "洪合核酸一轮", "commander_u"),
    ):
        node = world.nodes[town]
        rounds[town] = Round.objects.filter(jurisdiction=node).first() or round_create(
            actor=world.users[persona],
            jurisdiction=node,
            name=name,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
            pool_size=10,
            scope=[node],
        )
        if name not in world.shared_markers.get(town, []):
            world.shared_markers.setdefault(town, []).append(name)
    recalls: dict[str, Any] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        found = Recall.objects.filter(person=person).first()
        if found is None:
            round_ = rounds["U" if key == "P1M1" else "T"]
            tube = Tube.objects.create(
                barcode=f"MATRIX{key}",
                round=round_,
                jurisdiction=person.jurisdiction,
                pool_size=10,
                size=1,
                opened_at=timezone.now(),
            )
            found = Recall.objects.create(
                round=round_,
                person=person,
                jurisdiction=person.jurisdiction,
                pool=tube,
                status=RecallStatus.NEGATIVE,
            )
        recalls[key] = found
    return rounds, recalls
