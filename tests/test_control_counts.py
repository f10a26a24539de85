"""Control's counts (put under control today, under control, released today, in transit)
reach the dashboard's tiles and the bulletin through the pre-aggregated village days,
read through control's selector: a chain's next period is not a new person, another
town's people are not counted in this one, a past day keeps its evening's numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.control.models import OrderStatus, OrderType, SampleResult
from fangkong.control.release import order_release
from fangkong.control.selectors import counts_by_node
from fangkong.control.services import order_create, result_record
from fangkong.control.transfers import Rider, transfer_create, transfer_depart
from fangkong.reports import stats
from fangkong.reports.bulletin import bulletin_summary
from fangkong.reports.models import VillageDay
from fangkong.reports.selectors import dashboard
from tests.test_control_orders import a_site
from tests.world import World, ensure_registry

pytestmark = pytest.mark.django_db

KEYS = ("control_new", "control_active", "control_released", "control_in_transit")


def under_control_today(world: World) -> None:
    ensure_registry(world)
    today = timezone.localdate()
    boss = world.users["commander"]
    rooms = a_site(world)
    # 王店镇/四喜社区: a close contact whose 7 days at the site end today (released, the
    # 3 days at home follow), and a home isolation begun today.
    stay = order_create(
        person=world.persons["A1M1"],
        type=OrderType.CENTRAL,
        starts_on=today - timedelta(days=6),
        days=7,
        test_days=(1, 2, 3, 5, 7),
        then_type=OrderType.HOME_MONITORING,
        then_days=3,
        room=rooms[0],
        actor=boss,
        reason="密接",
    ).orders[0]
    for test in stay.tests.all():
        result_record(test=test, result=SampleResult.NEGATIVE, actor=boss)
    stay.refresh_from_db()
    order_release(order_id=stay.pk, actor=boss, expected_version=stay.version, today=today)
    order_create(
        person=world.persons["A2"],
        type=OrderType.HOME_ISOLATION,
        starts_on=today,
        days=7,
        actor=boss,
        reason="中风险区来返",
    )
    # 建设村: monitored since two days ago, on the road to the site now.
    order_create(
        person=world.persons["B1"],
        type=OrderType.DAILY_MONITORING,
        starts_on=today - timedelta(days=2),
        days=7,
        actor=boss,
        reason="红码转运",
    )
    trip = transfer_create(
        actor=boss,
        jurisdiction=world.nodes["T"],
        pickup="王店高速卡口",
        destination=rooms[0].site,
        vehicle="浙F00001",
        driver="驾驶员乙",
        escort=world.users["cadre_a"],
        riders=[Rider(world.persons["B1"])],
    )
    transfer_depart(transfer_id=trip.pk, actor=world.users["cadre_a"], expected_version=0)
    # 洪合镇: someone put under control today in the other town.
    order_create(
        person=world.persons["P1M1"],
        type=OrderType.HOME_ISOLATION,
        starts_on=today,
        days=7,
        actor=world.users["commander_u"],
        reason="中风险区来返",
    )


def test_the_tiles_and_the_bulletin_count_control_from_the_village_days(world):
    under_control_today(world)
    today = timezone.localdate()
    stats.refresh(days=[today])
    town = dashboard(world.nodes["T"])
    assert {k: town.totals[k] for k in KEYS} == {
        "control_new": 1,  # A2 (the follower of A1M1 is the same person, tomorrow)
        "control_active": 3,  # A1M1's home monitoring, A2, B1
        "control_released": 1,
        "control_in_transit": 1,
    }
    assert {k for k, *_rest in town.tiles} >= set(KEYS)
    county = dashboard(world.nodes["C"])
    assert county.totals["control_new"] == 2 and county.totals["control_active"] == 4
    # By village: 四喜社区 holds the release and the new one, 建设村 the one on the road.
    values = {
        v.village.code: v.values
        for v in VillageDay.objects.filter(day=today).select_related("village")
    }
    assert values[world.nodes["A"].code]["control_released"] == 1
    assert values[world.nodes["B"].code]["control_in_transit"] == 1
    assert values[world.nodes["P"].code]["control_new"] == 1
    summary = bulletin_summary(world.nodes["T"], today)
    assert {k: summary["totals"][k] for k in KEYS} == {k: town.totals[k] for k in KEYS}
    assert dict(summary["fields"])["control_active"] == "在管控人员"


def test_a_chain_s_next_period_is_not_a_new_person(world):
    under_control_today(world)
    tomorrow = timezone.localdate() + timedelta(days=1)
    follower = world.persons["A1M1"].control_orders.get(status=OrderStatus.ACTIVE)
    assert follower.starts_on == tomorrow
    assert counts_by_node("control_new", [world.nodes["A"].path], tomorrow) == []
    with pytest.raises(ValueError):
        counts_by_node("control_everything", [world.nodes["A"].path], tomorrow)
