"""A compound of 四喜社区 for the zone tests: 幸福小区 with building 1 (two units) and
building 2, each household with two residents, and a designated hospital of 王店镇."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fangkong.people.models import Household, Person
from fangkong.people.names import name_initials, name_key
from tests.world import World

# building, unit, residents
HOMES = [
    ("1栋", "1单元", ("楼甲", "楼乙")),
    ("1栋", "2单元", ("楼丙", "楼丁")),
    ("2栋", "", ("楼戊", "楼己")),
]


@dataclass
class Compound:
    households: list[Household] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)


def build_compound(world: World, leaf: str = "A1M1", street: str = "幸福小区") -> Compound:
    out = Compound()
    for i, (building, unit, names) in enumerate(HOMES):
        household = Household.objects.create(
            jurisdiction=world.nodes[leaf],
            street=street,
            building=building,
            unit=unit,
            room=f"{i + 1}01",
            address=f"{street}{building}{unit}{i + 1}01室",
        )
        out.households.append(household)
        for name in names:
            out.people[name] = Person.objects.create(
                jurisdiction=world.nodes[leaf],
                household=household,
                name=name,
                name_key=name_key(name),
                name_initials=name_initials(name),
            )
    return out


def hospital(world: World) -> Any:
    from fangkong.control.models import IsolationSite
    from fangkong.control.sites import site_create

    found = IsolationSite.objects.filter(name="王店定点医院").first()
    return found or site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="王店定点医院",
        kind="hospital",
        rooms=[("1", 4)],
    )


def reseed() -> None:
    """A transactional test (a browser's) may start after another one flushed every
    table: the shipped rows it needs (the national editions, zone kinds, request kinds,
    supply items, green-channel groups, the meal list's lunch) are loaded again as their data migrations load
    them."""
    from importlib import import_module

    from django.apps import apps

    from fangkong.policy.models import Edition

    if not Edition.objects.filter(key="nat-8").exists():
        import_module("fangkong.policy.migrations.0002_national_editions").load(apps, None)
    for name in (
        "fangkong.zones.migrations.0002_zone_kinds_of_the_national_editions",
        "fangkong.assist.migrations.0002_request_kinds",
        "fangkong.assist.migrations.0004_supply_items",
        "fangkong.assist.migrations.0005_green_channel_for_vulnerable_people",
    ):
        import_module(name).add(apps, None)
    meals = "fangkong.assist.migrations.0006_vulnerable_register_checks_and_meals"
    import_module(meals).add_meal_item(apps, None)
