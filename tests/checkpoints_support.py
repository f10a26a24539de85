"""A checkpoint of the test world: a road post in 四喜社区 (village A) with two crew
members (checkpoint_crew at the village), and a high-risk area in the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.world import PASSWORD, World


@dataclass
class Checkpoint:
    post: Any
    crew: list[Any]  # StaffProfile


def rules_in_force(place: str = "home_isolation") -> None:
    """An edition in force today (the shipped national ones ended in 2022): an arrival
    from a high-risk area gets `place` for 7 days."""
    from datetime import date

    from fangkong.policy.models import Edition, Measure

    edition, _new = Edition.objects.get_or_create(
        key="drill", defaults={"name": "演练规则", "effective_from": date(2026, 1, 1)}
    )
    Measure.objects.update_or_create(
        edition=edition,
        category="arrival_high",
        defaults={"place": place, "days": 7, "tests": [1, 4, 7]},
    )
    Measure.objects.get_or_create(edition=edition, category="returnee", defaults={"place": "none"})


def build_checkpoint(world: World, *, risk_area: bool = True) -> Checkpoint:
    from django.utils import timezone

    from fangkong.checkpoints.services import PostData, post_save
    from fangkong.org.models import StaffKind
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create
    from fangkong.policy.models import RiskArea

    crew = []
    for i, name in enumerate(("卡口甲", "卡口乙")):
        staff = staff_create(
            username=f"kk_crew{i}",
            name=name,
            kind=StaffKind.MILITIA,
            jurisdiction=world.nodes["A"],
            password=PASSWORD,
        )
        assert staff.user is not None
        membership_grant(user=staff.user, jurisdiction=world.nodes["A"], role=Role.CHECKPOINT_CREW)
        crew.append(staff)
    post = post_save(
        actor=world.users["commander"],
        data=PostData(
            name="四喜公路卡口",
            kind="road",
            jurisdiction=world.nodes["A"],
            open_levels=[1, 2],
            leader=world.users["cadre_a"],
        ),
    )
    if risk_area:
        rules_in_force()
        RiskArea.objects.get_or_create(
            code="310115005",
            defaults={
                "name": "上海市浦东新区陆家嘴街道",
                "level": "high",
                "effective_from": timezone.localdate() - timedelta(days=3),
            },
        )
    return Checkpoint(post, crew)


def log_arrival(
    world: World, c: Checkpoint, id_number: str, name: str, at: Any = None, **extra: Any
) -> Any:
    """A car from 上海 let through at the post by its first crew member, carrying an
    arrival for 红星网格 (a returnee report when the origin is a risk area); the entry."""
    import uuid

    from django.utils import timezone

    from fangkong.checkpoints.models import Entry
    from fangkong.checkpoints.services import Arrival, Record, entries_sync

    arrival = Arrival(
        name=name,
        id_number=id_number,
        phone="13912345678",
        origin_code="310115005",
        left_on=timezone.localdate() - timedelta(days=1),
        destination_node=world.nodes["A1"].code,
        address="红星路1号",
    )
    record = Record(
        client_id=uuid.uuid4(),
        at=at or timezone.now(),
        mode="car",
        outcome="pass",
        plate="沪A12345",
        arrival=arrival,
        **extra,
    )
    entries_sync(post=c.post, records=[record], actor=c.crew[0].user)
    return Entry.objects.get(client_id=record.client_id)
