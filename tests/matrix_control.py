"""The permission matrix's objects of control: a released control order and a rejected
re-check proposal of each leaf's resident, and an isolation site of each town with a
room and a planned transfer."""

from __future__ import annotations

from typing import Any

from tests.world import World, ensure_registry


def ensure_control(world: World) -> dict[str, Any]:
    """A released control order (a day of home monitoring) of each leaf's resident
    (idempotent): every control route can be read, and a write to it is refused with
    reasons rather than changing anything."""
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.control.models import ControlOrder, OrderStatus
    from fangkong.control.release import order_release
    from fangkong.control.services import order_create

    ensure_registry(world)
    out: dict[str, Any] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        found = ControlOrder.objects.filter(person=person, status=OrderStatus.RELEASED).first()
        if found is None:
            commander = world.users["commander_u" if key == "P1M1" else "commander"]
            made = order_create(
                person=person,
                type="home_monitoring",
                starts_on=timezone.localdate() - timedelta(days=1),
                days=1,
                actor=commander,
                reason="矩阵检查",
            ).orders[0]
            found = order_release(order_id=made.pk, actor=commander, expected_version=made.version)
        out[key] = found
    return out


def ensure_sites(world: World) -> dict[str, dict[str, Any]]:
    """An isolation site of each town with a room, and a planned transfer of one of the
    town's residents to it (idempotent): {town key: {"site_id": site, "room_id": room,
    "transfer_id": transfer}}."""
    from fangkong.control.models import IsolationSite, Transfer
    from fangkong.control.sites import site_create
    from fangkong.control.transfers import Rider, transfer_create

    ensure_registry(world)
    out: dict[str, dict[str, Any]] = {}
    for key, persona, rider, name in (
        ("T", "commander", "A1M1", "王店矩阵隔离点"),
        ("U", "commander_u", "P1M1", "洪合矩阵隔离点"),
    ):
        node = world.nodes[key]
        site = IsolationSite.objects.filter(jurisdiction=node, name=name).first()
        if site is None:
            site = site_create(
                actor=world.users[persona],
                jurisdiction=node,
                name=name,
                kind="hotel",
                rooms=[("901", 2)],
            )
        transfer = Transfer.objects.filter(destination=site).first()
        if transfer is None:
            transfer = transfer_create(
                actor=world.users[persona],
                jurisdiction=node,
                pickup="矩阵卡口",
                destination=site,
                vehicle="浙F90000",
                driver="矩阵司机",
                escort=world.users[persona],
                riders=[Rider(world.persons[rider])],
            )
        room = site.rooms.order_by("id").first()
        out[key] = {"site_id": site, "room_id": room, "transfer_id": transfer}
        if name not in world.extra_markers.get(key, []):
            world.extra_markers.setdefault(key, []).append(name)
    return out


def ensure_recheck(world: World) -> dict[str, Any]:
    """A re-check proposal of each leaf's resident, already rejected (idempotent): the
    review routes can be read, and deciding one again changes nothing."""
    from fangkong.control.models_recheck import RecheckProposal, RecheckRun

    ensure_registry(world)
    run = RecheckRun.objects.get_or_create(status="done", changes=[{"kind": "matrix"}])[0]
    out: dict[str, Any] = {}
    for key in ("A1M1", "A2", "B1", "P1M1"):
        person = world.persons[key]
        out[key] = RecheckProposal.objects.get_or_create(
            person=person,
            fingerprint="matrix",
            defaults={
                "jurisdiction": person.jurisdiction,
                "run": run,
                "kind": "end",
                "reason": "矩阵检查",
                "status": "rejected",
            },
        )[0]
    return out
