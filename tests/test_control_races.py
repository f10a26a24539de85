"""Control under real concurrency, on two PostgreSQL connections released together: two
releases of one order, a release racing an extension, two orders for one person, two
people for the last bed, one check sent twice from a retrying phone. Exactly one wins
each time; the other is told in words (or gets the first one's result) and nothing is
written twice."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection

from fangkong.control.checks import check_record
from fangkong.control.models import (
    ControlEvent,
    ControlOrder,
    HealthCheck,
    OrderStatus,
    OrderType,
    RoomState,
    SampleResult,
)
from fangkong.control.release import order_extend, order_release
from fangkong.control.services import order_create, result_record
from fangkong.control.sites import site_create
from fangkong.workorders.services import Conflict
from tests.test_workorders_concurrency import race
from tests.world import World, ensure_registry


@pytest.fixture
def pg_world(transactional_db, world):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real PostgreSQL connections")
    ensure_registry(world)
    return world


def served(world: World) -> ControlOrder:
    """A close contact whose 7 days at the site end today, every test negative, with 3
    days at home to follow."""
    from django.utils import timezone

    site = site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="并发隔离点",
        kind="hotel",
        rooms=[("101", 1)],
    )
    order = order_create(
        person=world.persons["A1M1"],
        type=OrderType.CENTRAL,
        starts_on=timezone.localdate() - timedelta(days=6),
        days=7,
        test_days=(1, 2, 3, 5, 7),
        then_type=OrderType.HOME_MONITORING,
        then_days=3,
        room=site.rooms.get(),
        actor=world.users["commander"],
        reason="密接",
    ).orders[0]
    for test in order.tests.all():
        result_record(test=test, result=SampleResult.NEGATIVE, actor=world.users["commander"])
    return ControlOrder.objects.get(pk=order.pk)


def release(world: World, order: ControlOrder, persona: str) -> Any:
    return lambda: order_release(
        order_id=order.pk, actor=world.users[persona], expected_version=order.version
    )


def test_two_releases_of_one_order_at_once_one_wins(pg_world):
    order = served(pg_world)
    results = race(release(pg_world, order, "commander"), release(pg_world, order, "county"))
    wins = [r for r in results if isinstance(r, ControlOrder)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    done = ControlOrder.objects.get(pk=order.pk)
    assert done.status == OrderStatus.RELEASED and done.version == order.version + 1
    assert done.released_by == wins[0].released_by
    assert ControlEvent.objects.filter(order=order, action="released").count() == 1
    # The chain's next period started once; the room waits to be cleaned.
    (follower,) = ControlOrder.objects.filter(previous=order)
    assert follower.status == OrderStatus.ACTIVE and follower.version == 1
    assert order.room is not None
    order.room.refresh_from_db()
    assert order.room.state == RoomState.CLEANING


def test_a_release_racing_an_extension_one_wins_the_other_is_told(pg_world):
    order = served(pg_world)
    extend = lambda: order_extend(  # noqa: E731
        order_id=order.pk,
        actor=pg_world.users["cadre_a"],
        expected_version=order.version,
        days=2,
        reason="第7天样本需复检",
    )
    results = race(release(pg_world, order, "commander"), extend)
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(losses) == 1, results
    after = ControlOrder.objects.get(pk=order.pk)
    assert after.version == order.version + 1
    if isinstance(results[0], ControlOrder):  # the release won: the extension changed nothing
        assert after.status == OrderStatus.RELEASED and after.ends_on == order.ends_on
        assert not ControlEvent.objects.filter(order=order, action="extended").exists()
    else:  # the extension won: still under control, two days longer, not released
        assert after.status == OrderStatus.ACTIVE
        assert after.ends_on == order.ends_on + timedelta(days=2)
        assert after.released_on is None and after.notice_code is None
    # The loser is told why in words on the pages and the API (workorders.Conflict).
    assert isinstance(losses[0], Conflict)


def test_two_orders_for_one_person_at_once_leave_one_active(pg_world):
    from django.utils import timezone

    person = pg_world.persons["A2"]

    def put(persona: str) -> Any:
        return lambda: order_create(
            person=person,
            type=OrderType.HOME_ISOLATION,
            starts_on=timezone.localdate(),
            days=7,
            test_days=(1, 4, 7),
            actor=pg_world.users[persona],
            reason="中风险区来返",
        )

    results = race(put("commander"), put("cadre_a"))
    refused = [r for r in results if isinstance(r, IntegrityError | ValidationError)]
    assert len(refused) == 1, results
    assert ControlOrder.objects.filter(person=person, status=OrderStatus.ACTIVE).count() == 1
    # The loser's tests and sampling orders went with its transaction.
    (order,) = ControlOrder.objects.filter(person=person)
    assert order.tests.count() == 3


def test_two_people_for_the_last_bed_one_gets_it(pg_world):
    from django.utils import timezone

    site = site_create(
        actor=pg_world.users["commander"],
        jurisdiction=pg_world.nodes["T"],
        name="只剩一床",
        kind="hotel",
        rooms=[("301", 1)],
    )
    room = site.rooms.get()

    def put(key: str) -> Any:
        return lambda: order_create(
            person=pg_world.persons[key],
            type=OrderType.CENTRAL,
            starts_on=timezone.localdate(),
            days=7,
            room=room,
            actor=pg_world.users["commander"],
            reason="高风险区来返",
        )

    results = race(put("A1M1"), put("B1"))
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1, results
    assert "301" in " ".join(refused[0].messages)
    assert ControlOrder.objects.filter(room=room, status=OrderStatus.ACTIVE).count() == 1


def test_one_check_sent_twice_at_once_is_recorded_once(pg_world):
    from django.utils import timezone

    order = order_create(
        person=pg_world.persons["A1M1"],
        type=OrderType.HOME_ISOLATION,
        starts_on=timezone.localdate(),
        days=7,
        actor=pg_world.users["commander"],
        reason="居家隔离",
    ).orders[0]
    client_id = uuid.uuid4()

    def send() -> Any:
        return check_record(
            order=order,
            temperature="36.6",
            client_id=client_id,
            actor=pg_world.users["gw_a1"],
        )

    results = race(send, send)
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _check, created in results) == [False, True]
    assert len({check.pk for check, _created in results}) == 1
    assert HealthCheck.objects.filter(order=order).count() == 1
    assert ControlEvent.objects.filter(order=order, action="check").count() == 1
