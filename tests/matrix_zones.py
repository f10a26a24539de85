"""The permission matrix's objects of the zones app: a compound of each town's first
village and a zone over it, organised there (seen at, above and below the village)."""

from __future__ import annotations

from typing import Any

from fangkong.assist.models import HelpRequest
from fangkong.assist.models_care import CareCheck, CareEntry, Meal
from fangkong.assist.models_supplies import Move, Package, Receipt, Stock, Store
from fangkong.zones.models import Place, Residence, Zone, ZoneEvent, ZoneMeasure
from tests.world import World, ensure_registry

MODELS = (
    Place,
    Residence,
    Zone,
    ZoneEvent,
    ZoneMeasure,
    HelpRequest,
    Store,
    Stock,
    Receipt,
    Package,
    Move,
    CareEntry,
    CareCheck,
    Meal,
)

_MADE = (
    ("A", "commander", "矩阵小区甲", "矩阵管控区甲"),
    ("P", "commander_u", "矩阵小区乙", "矩阵管控区乙"),
)


def ensure_zones(world: World) -> dict[str, dict[str, Any]]:
    """{village key: {"place_id": compound, "zone_id": zone}} (idempotent)."""
    from fangkong.policy.models import Edition
    from fangkong.zones.models import ZoneKind
    from fangkong.zones.places import place_add
    from fangkong.zones.services import zone_create

    kind = ZoneKind.objects.get(edition=Edition.objects.get(key="nat-8"), code="controlled")
    out: dict[str, dict[str, Any]] = {}
    for key, persona, place_name, zone_name in _MADE:
        node = world.nodes[key]
        place = Place.objects.filter(jurisdiction=node, name=place_name).first() or place_add(
            actor=world.users[persona], village=node, name=place_name
        )
        zone = Zone.objects.filter(name=zone_name).first() or zone_create(
            actor=world.users[persona],
            kind=kind,
            name=zone_name,
            reason="矩阵检查",
            places=[place],
        )
        out[key] = {"place_id": place, "zone_id": zone}
        for marker in (place_name, zone_name):
            if marker not in world.shared_markers.get(key, []):
                world.shared_markers.setdefault(key, []).append(marker)
    return out


def ensure_requests(world: World) -> dict[str, HelpRequest]:
    """A request of each leaf's resident, already handed over (idempotent): written
    directly, since the world's residents live in no zone."""
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.assist.models import RequestKind

    ensure_registry(world)
    kind = RequestKind.objects.get(code="medicine")
    out: dict[str, HelpRequest] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        now = timezone.now()
        out[key] = HelpRequest.objects.filter(person=person).first() or HelpRequest.objects.create(
            person=person,
            jurisdiction=person.jurisdiction,
            kind=kind,
            channel="phone",
            detail="矩阵检查",
            status="handed_over",
            created_at=now,
            due_at=now + timedelta(minutes=kind.target_minutes),
            handover="hospital",
            handover_at=now,
            client_id=uuid.uuid4(),
        )
    return out


def ensure_care(world: World) -> dict[str, CareEntry]:
    """A register entry of each leaf's resident, on the meal list, its needs a marker
    seen only by those who cover the leaf (idempotent)."""
    ensure_registry(world)
    out: dict[str, CareEntry] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        needs = f"矩阵需求{key}"
        out[key] = CareEntry.objects.filter(person=person).first() or CareEntry.objects.create(
            person=person, jurisdiction=person.jurisdiction, needs=needs, meals=True
        )
        if needs not in world.extra_markers.get(key, []):
            world.extra_markers.setdefault(key, []).append(needs)
    return out


def ensure_stores(world: World) -> dict[str, Any]:
    """A store of each town's first village (idempotent)."""
    from fangkong.assist.models_supplies import Store
    from fangkong.assist.supplies import store_create

    out: dict[str, Any] = {}
    for key, persona, name in (
        ("A", "commander", "矩阵物资仓甲"),
        ("P", "commander_u", "矩阵物资仓乙"),
    ):
        node = world.nodes[key]
        out[key] = Store.objects.filter(jurisdiction=node, name=name).first() or store_create(
            actor=world.users[persona], jurisdiction=node, name=name
        )
        if name not in world.shared_markers.get(key, []):
            world.shared_markers.setdefault(key, []).append(name)
    return out


def zone_cases(world: World, param: str) -> list[tuple[str, str, str]]:
    """(value, node read at, node written at) for a URL parameter of zones, requests or
    stores, or [] when not ours. Zones, places and stores are seen at, above and below
    their village, and changed only with the permission at the village."""
    if param == "request_id":
        return [(str(r.pk), key, key) for key, r in ensure_requests(world).items()]
    if param == "store_id":
        return [(str(s.pk), f"~{key}", key) for key, s in ensure_stores(world).items()]
    if param not in ("place_id", "zone_id"):
        return []
    return [(str(made[param].pk), f"~{key}", key) for key, made in ensure_zones(world).items()]
