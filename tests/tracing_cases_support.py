"""Shared objects of the cases-and-contacts tests: registry persons with phones (and a
household), a restaurant in 四喜社区, scans of its place code, a site with rooms."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from tests.places_support import place_of
from tests.world import World


def person(world: World, node: str, name: str, phone: str, household: Any = None) -> Any:
    from fangkong.people.models import Household, Person
    from fangkong.people.services import person_register
    from fangkong.people.validation import clean_person

    found = Person.objects.filter(name=name).first()
    if found is not None:
        return found
    if household is None:
        household = Household.objects.create(jurisdiction=world.nodes[node], address=f"{name}家")
    data, errors = clean_person(
        {"name": name, "phone": phone, "id_type": "none"}, today=date(2026, 1, 1)
    )
    assert data is not None, errors
    return person_register(data=data, household=household)


def restaurant(world: World, name: str = "太子农庄", node: str = "A1") -> Any:
    return place_of(world, name, "restaurant", node)


def scan(place: Any, phone: str, at: datetime, name: str = "访客") -> None:
    from fangkong.places.services import scans_bulk, visitor_remember

    key = visitor_remember(name=name, phone=phone)
    scans_bulk([(place.pk, key, place.jurisdiction.path, at)])


def noon(days_ago: int, hour: int = 12, minute: int = 0) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_current_timezone()
    )


def site_with_rooms(world: World, town: str = "T", rooms: int = 40) -> Any:
    from fangkong.control.models import IsolationSite
    from fangkong.control.sites import site_create

    found = IsolationSite.objects.filter(name=f"{town}隔离点").first()
    if found is not None:
        return found
    actor = world.users["commander" if town == "T" else "commander_u"]
    return site_create(
        actor=actor,
        jurisdiction=world.nodes[town],
        name=f"{town}隔离点",
        kind="hotel",
        rooms=[(f"{100 + i}", 1) for i in range(rooms)],
    )


def edition_in_force(world: World) -> Any:
    """The 9th edition copied for the county, in force today (the shipped editions all
    ended in 2023): close contacts 7 days centralised + 3 at home, secondary contacts
    7 at home, a 2-day look-back, secondary contacts found (the 9th's co-location rule,
    inherited through `based_on`)."""
    from fangkong.policy.models import Edition
    from fangkong.policy.services import edition_copy

    found = Edition.objects.filter(name="秀洲 第九版延续").first()
    if found is not None:
        return found
    copy = edition_copy(
        actor=world.users["county"],
        source=Edition.objects.get(key="nat-9"),
        name="秀洲 第九版延续",
        scope=world.nodes["C"],
        effective_from=timezone.localdate() - timedelta(days=90),
    )
    Edition.objects.filter(pk=copy.pk).update(effective_to=None)
    return copy


def open_case(world: World, p: Any, days_ago: int = 1) -> Any:
    """A confirmed case opened by hand by the commander, onset `days_ago` days ago."""
    from fangkong.tracing.cases import case_open

    case, _new = case_open(
        person=p,
        kind="confirmed",
        onset_on=timezone.localdate() - timedelta(days=days_ago),
        sampled_on=None,
        source="manual",
        actor=world.users["commander"],
    )
    return case
