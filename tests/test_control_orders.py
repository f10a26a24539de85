"""Control orders: made from a verified measure (one, or a batch in one click) or by
hand with a reason; one active order per person, a stricter one superseding a milder
one with history kept; the 9th edition's "7+3" chain; test days as sampling work orders
at the right place, due on the right day; rooms never over capacity."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from fangkong.audit.models import AuditEvent
from fangkong.control.models import (
    ControlOrder,
    ControlTest,
    IsolationRoom,
    OrderStatus,
    OrderType,
    RoomState,
)
from fangkong.control.services import order_create, order_from_measure, orders_from_measures
from fangkong.control.sites import site_create
from fangkong.people.models import Person
from fangkong.screening.models import MeasureStatus, PersonMeasure
from fangkong.workorders.models import Status, WorkOrder
from tests.world import World, ensure_registry

pytestmark = pytest.mark.django_db

# The 9th edition was in force from 2022-06-28; a day inside it, 10:00 local.
NOW = datetime(2022, 7, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = NOW.date()


def verified(world: World, key: str, category: str, place: str, starts_on: date) -> PersonMeasure:
    ensure_registry(world)
    person = world.persons[key]
    return PersonMeasure.objects.create(
        jurisdiction=person.jurisdiction,
        person=person,
        category=category,
        place=place,
        starts_on=starts_on,
        edition="nat-9",
        reason="第九版",
        status=MeasureStatus.VERIFIED,
    )


def a_site(world: World, rooms: int = 3, beds: int = 1) -> list[IsolationRoom]:
    site = site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="王店隔离酒店",
        kind="hotel",
        rooms=[(f"{100 + i}", beds) for i in range(rooms)],
    )
    return list(site.rooms.order_by("number"))


def test_a_close_contact_gets_7_days_centralised_then_3_at_home_with_test_days(world):
    rooms = a_site(world)
    pm = verified(world, "A1M1", "close_contact", "central", DAY)
    made = order_from_measure(measure=pm, actor=world.users["gw_a1"], room=rooms[0], now=NOW)
    first, then = made.orders
    assert (first.type, first.status, first.starts_on, first.ends_on) == (
        OrderType.CENTRAL,
        OrderStatus.ACTIVE,
        DAY,
        DAY + timedelta(days=6),
    )
    assert (then.type, then.status, then.starts_on, then.ends_on) == (
        OrderType.HOME_MONITORING,
        OrderStatus.PLANNED,
        DAY + timedelta(days=7),
        DAY + timedelta(days=9),
    )
    assert then.previous == first and first.room == rooms[0] and then.household is not None
    assert (first.edition, first.category, first.checks_per_day) == ("nat-9", "close_contact", 2)
    tests = list(ControlTest.objects.filter(order=first).order_by("day"))
    assert [t.day for t in tests] == [1, 2, 3, 5, 7]
    assert [t.on for t in tests] == [DAY + timedelta(days=d - 1) for d in (1, 2, 3, 5, 7)]
    samples = [t.work_order for t in tests]
    assert all(w is not None and w.kind == "control_sample" for w in samples)
    # Due on its own day, before noon; on site at the room.
    assert [timezone.localtime(w.due_at).date() for w in samples if w] == [t.on for t in tests]
    assert all("王店隔离酒店 100" in w.title for w in samples if w)
    # The follow-on home monitoring's day-3 test is sampled at home.
    (home_test,) = ControlTest.objects.filter(order=then)
    assert home_test.on == DAY + timedelta(days=9) and home_test.work_order is not None
    assert "红星一号楼" in home_test.work_order.title
    rooms[0].refresh_from_db()
    assert rooms[0].state == RoomState.OCCUPIED
    assert AuditEvent.objects.filter(object_repr__startswith="control order").count() == 2


def test_one_active_order_per_person_and_a_stricter_one_supersedes(world):
    rooms = a_site(world)
    ensure_registry(world)
    person = world.persons["A2"]
    milder = order_create(
        person=person,
        type=OrderType.HOME_MONITORING,
        starts_on=DAY,
        days=7,
        test_days=[2, 7],
        actor=world.users["cadre_a"],
        reason="密接的家属，居家健康监测",
        now=NOW,
    ).orders[0]
    with pytest.raises(ValidationError, match="更严格"):
        order_create(
            person=person,
            type=OrderType.TESTS_3D2,
            starts_on=DAY,
            days=3,
            actor=world.users["cadre_a"],
            reason="三天两检",
            now=NOW,
        )
    stricter = order_create(
        person=person,
        type=OrderType.CENTRAL,
        starts_on=DAY,
        days=7,
        test_days=[1, 2, 3, 5, 7],
        room=rooms[1],
        actor=world.users["cadre_a"],
        reason="判定为密接",
        now=NOW,
    )
    milder.refresh_from_db()
    assert milder.status == OrderStatus.SUPERSEDED and stricter.superseded == milder
    assert stricter.orders[0].previous == milder
    # The milder order's sampling is cancelled; its history says why.
    milder_samples = WorkOrder.objects.filter(
        pk__in=milder.tests.values("work_order_id")
    ).values_list("status", flat=True)
    assert set(milder_samples) == {Status.CANCELLED}
    assert list(milder.events.values_list("action", flat=True)) == ["created", "superseded"]
    # The database holds the rule too, whatever the services do.
    with pytest.raises(IntegrityError), transaction.atomic():
        ControlOrder.objects.filter(pk=milder.pk).update(status=OrderStatus.ACTIVE)


def test_orders_made_by_hand_need_a_reason_and_sane_days(world):
    ensure_registry(world)
    person = world.persons["A2"]
    make = partial(order_create, person=person, actor=world.users["cadre_a"], now=NOW)
    home = OrderType.HOME_ISOLATION
    with pytest.raises(ValidationError, match="原因"):
        make(type=home, starts_on=DAY, days=7, reason=" ")
    with pytest.raises(ValidationError):
        make(type=home, starts_on=DAY, days=0, reason="x")
    with pytest.raises(ValidationError):
        make(type=home, starts_on=DAY, days=7, reason="x", test_days=[8])
    with pytest.raises(ValidationError):
        make(type=home, starts_on=date(2099, 1, 1), days=7, reason="x")
    with pytest.raises(ValidationError, match="来源"):
        make(type=home, starts_on=DAY, days=7, reason="x", source="密切接触者集中隔离")
    with pytest.raises(ValidationError, match="房间"):
        make(type=OrderType.CENTRAL, starts_on=DAY, days=7, reason="x")
    assert not ControlOrder.objects.exists()


def test_nobody_puts_a_person_of_another_area_under_control(world):
    ensure_registry(world)
    with pytest.raises(PermissionDenied):
        order_create(
            person=world.persons["B1"],
            type=OrderType.HOME_ISOLATION,
            starts_on=DAY,
            days=7,
            actor=world.users["gw_a1"],
            reason="x",
            now=NOW,
        )
    with pytest.raises(PermissionDenied):
        order_create(
            person=world.persons["A2"],
            type=OrderType.HOME_ISOLATION,
            starts_on=DAY,
            days=7,
            actor=world.users["volunteer"],
            reason="x",
            now=NOW,
        )


def test_one_click_for_a_batch_makes_each_order_and_says_why_one_was_skipped(world):
    rooms = a_site(world, rooms=2)
    ensure_registry(world)
    measures = [
        verified(world, "A1M1", "arrival_high", "central", DAY),
        verified(world, "A2", "secondary_contact", "home_isolation", DAY),
        verified(world, "B1", "arrival_low", "tests_only", DAY),
        verified(world, "P1M1", "arrival_high", "central", DAY),  # no room given
    ]
    result = orders_from_measures(
        measures=measures,
        actor=world.users["county"],
        rooms={measures[0].pk: rooms[0]},
        now=NOW,
    )
    assert [o.type for o in result.created] == [
        OrderType.CENTRAL,
        OrderType.HOME_ISOLATION,
        OrderType.TESTS_3D2,
    ]
    assert [pk for pk, _why in result.skipped] == [measures[3].pk]
    assert "房间" in result.skipped[0][1]
    home = result.created[1]
    assert [t.day for t in home.tests.all()] == [1, 4, 7] and home.ends_on == DAY + timedelta(6)
    # Pressing the button again makes nothing twice.
    again = orders_from_measures(measures=measures[:3], actor=world.users["county"], now=NOW)
    assert not again.created and len(again.skipped) == 3


def test_rooms_keep_families_together_and_refuse_more_people_than_beds(world):
    from fangkong.people.services import person_register
    from fangkong.people.validation import clean_person

    ensure_registry(world)
    (room,) = a_site(world, rooms=1, beds=2)
    head = world.persons["A1M1"]
    data, errors = clean_person(
        {"name": "沈家属", "id_number": "110101199003070054", "phone": "13600000011"},
        today=date(2026, 1, 1),
    )
    assert data is not None, errors
    spouse = person_register(data=data, household=head.household)
    data2, _e = clean_person(
        {"name": "沈家二", "id_number": "110101199003070070", "phone": "13600000012"},
        today=date(2026, 1, 1),
    )
    assert data2 is not None
    child = person_register(data=data2, household=head.household)
    make = partial(
        order_create,
        type=OrderType.CENTRAL,
        starts_on=DAY,
        days=7,
        reason="密接",
        now=NOW,
        room=room,
        actor=world.users["commander"],
    )
    make(person=head)
    with pytest.raises(ValidationError, match="另一户"):
        make(person=world.persons["A2"])
    make(person=spouse)
    with pytest.raises(ValidationError, match="已满"):
        make(person=child)
    assert ControlOrder.objects.filter(room=room, status=OrderStatus.ACTIVE).count() == 2


def test_a_verified_returnee_is_put_under_control_without_retyping(world):
    """A verified measure makes the order at once (home isolation here)."""
    ensure_registry(world)
    person: Person = world.persons["A2"]
    pm = PersonMeasure.objects.create(
        jurisdiction=person.jurisdiction,
        person=person,
        category="secondary_contact",
        place="home_isolation",
        starts_on=timezone.localdate(),
        edition="nat-9",
        status=MeasureStatus.PROPOSED,
    )
    from fangkong.screening.services import MEASURE_VERIFIED

    # The hook screening calls is control's (registered when the app loads).
    assert any(f.__module__ == "fangkong.control.services" for f in MEASURE_VERIFIED)
    for follow in MEASURE_VERIFIED:
        pm.status = MeasureStatus.VERIFIED
        pm.save()
        follow(pm)
    order = ControlOrder.objects.get(person=person)
    assert order.type == OrderType.HOME_ISOLATION and order.measure == pm
