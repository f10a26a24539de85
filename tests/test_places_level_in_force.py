"""Gatherings are decided by the response level actually in force at their node on
their day (issue 19): the response app's switch is written down on places' side by its
level listener, and a gathering registered afterwards reads it; nobody types a level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.places import selectors, services
from fangkong.places.models import Decision, LevelInForce
from fangkong.response.models import ResponseLevel
from fangkong.response.services import level_switch

pytestmark = pytest.mark.django_db


def _wedding(world, expected: int = 60):
    return services.gathering_register(
        actor=world.users["cadre_a"],
        jurisdiction=world.nodes["A"],
        kind="wedding",
        on=timezone.localdate() + timedelta(days=2),
        organiser="陈家",
        expected=expected,
    )


def test_a_switch_at_the_town_decides_a_village_s_wedding(world) -> None:
    commander = world.users["commander"]
    town = world.nodes["T"]
    assert _wedding(world).decision == Decision.ALLOWED  # peace: no rule
    level_switch(
        actor=commander,
        node=town,
        level=ResponseLevel.objects.get(code="level2"),
        reason="泰山村发现1例无症状感染者",
    )
    limited = _wedding(world)
    assert (limited.level, limited.decision, limited.max_people) == (2, Decision.LIMITED, 20)
    level_switch(
        actor=commander, node=town, level=ResponseLevel.objects.get(code="peace"), reason="解除"
    )
    assert _wedding(world).decision == Decision.ALLOWED
    # The other town never switched.
    assert selectors.level_in_force(world.nodes["P"], timezone.localdate()) == 0


def test_the_level_of_the_day_at_the_nearest_node(world) -> None:
    now = timezone.now()
    today = timezone.localdate()
    services.level_in_force_record(node=world.nodes["C"], rank=3, at=now - timedelta(days=5))
    services.level_in_force_record(node=world.nodes["T"], rank=2, at=now - timedelta(days=2))
    services.level_in_force_record(node=world.nodes["T"], rank=1, at=now)
    a = world.nodes["A"]
    assert selectors.level_in_force(a, today) == 1
    assert selectors.level_in_force(a, today - timedelta(days=1)) == 2
    assert selectors.level_in_force(a, today - timedelta(days=4)) == 3  # the county's
    assert selectors.level_in_force(a, today - timedelta(days=9)) == 0
    assert selectors.level_in_force(world.nodes["U"], today) == 3  # the county's, still
    assert LevelInForce.objects.count() == 3


def test_the_form_no_longer_asks_for_a_level(world, client) -> None:
    client.force_login(world.users["cadre_a"])
    page = client.get("/places/gatherings/new/").content.decode()
    assert 'name="level"' not in page
