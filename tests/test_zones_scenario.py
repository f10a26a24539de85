"""三区 under the 8th edition, by hand: 楼甲 of 幸福小区 1栋 is positive. Delineated around
their home: 1栋 封控 (home isolation for everyone in it), 幸福小区 管控 (everyone stays in
the compound), 四喜社区 防范 (public measures, no order). A positive in 2栋 then turns
the compound 封控. The building lifts only after 14 days with no new positive and a
round in which everyone living there was negative within 2 days; the village's 防范区
only once no 封控 or 管控 area of the county remains (domain-rules R1.7)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fangkong.control.cases import positive_case
from fangkong.control.models import ControlOrder, OrderSource, OrderStatus, OrderType
from fangkong.control.services import order_create
from fangkong.people.models import Person
from fangkong.policy.models import Edition
from fangkong.testing.models import Outcome, Round, Sample, Tube
from fangkong.zones.models import Place, Residence, Zone, ZoneStatus
from fangkong.zones.places import places_derive
from fangkong.zones.rules import lift_conditions, zone_lift
from fangkong.zones.services import zones_delineate
from tests.world import ensure_registry
from tests.zones_support import build_compound, hospital

pytestmark = pytest.mark.django_db


def _make_case(world, person: Person) -> None:
    commander = world.users["commander"]
    order = order_create(
        person=person,
        type=OrderType.HOME_MONITORING,
        starts_on=timezone.localdate(),
        days=3,
        actor=commander,
        reason="场景核酸阳性",
        test_days=(1,),
        source=OrderSource.POSITIVE,
    ).orders[0]
    positive_case(
        test=order.tests.get(day=1),
        actor=commander,
        hospital=hospital(world),
        vehicle="浙F120",
        driver="救护车司机",
    )


def _active(person: Person) -> ControlOrder | None:
    return ControlOrder.objects.filter(person=person, status=OrderStatus.ACTIVE).first()


def _type(person: Person) -> tuple[str, str] | None:
    order = _active(person)
    return (order.type, order.source) if order else None


def _negative_round(world, people: list[Person], day) -> Round:
    round_ = Round.objects.create(
        jurisdiction=world.nodes["T"],
        name=f"{day}全员核酸",
        starts_on=day,
        ends_on=day,
        pool_size=10,
    )
    tube = Tube.objects.create(
        barcode=f"Z{uuid.uuid4().hex[:10]}",
        round=round_,
        jurisdiction=world.nodes["A"],
        pool_size=10,
        size=len(people),
        opened_at=timezone.now(),
        outcome=Outcome.NEGATIVE,
    )
    for i, p in enumerate(people):
        Sample.objects.create(
            tube=tube,
            round=round_,
            person=p,
            jurisdiction=p.jurisdiction,
            position=i + 1,
            pool_size=10,
            client_id=uuid.uuid4(),
            taken_at=timezone.now(),
            received_at=timezone.now(),
        )
    return round_


def test_a_positive_in_a_building_seals_it_and_lifts_by_the_rules(
    world, django_capture_on_commit_callbacks
):
    commander = world.users["commander"]
    ensure_registry(world)
    compound = build_compound(world)
    p = compound.people
    elsewhere = world.persons["A2"]  # 东风巷8号, in 四喜社区 but not in the compound

    made = places_derive(actor=commander, village=world.nodes["A"])
    assert (made.places, made.households) == (5, 3)  # compound, 2 buildings, 2 units
    again = places_derive(actor=commander, village=world.nodes["A"])
    assert (again.places, again.households) == (0, 0)
    unit = Residence.objects.get(household=p["楼甲"].household).place
    chain = [p.name for p in Place.objects.filter(pk__in=unit.path.strip("/").split("/"))]
    assert (unit.kind, sorted(chain)) == ("unit", sorted(["幸福小区", "1栋", "1单元"]))

    with django_capture_on_commit_callbacks(execute=True):
        _make_case(world, p["楼甲"])
    nat8 = Edition.objects.get(key="nat-8")
    zones = zones_delineate(actor=commander, place=unit, reason="楼甲核酸阳性", edition=nat8)
    assert [(z.kind.code, z.name) for z in zones] == [
        ("sealed", "1栋 封控区"),
        ("controlled", "幸福小区 管控区"),
        ("prevention", "四喜社区 防范区"),
    ]
    sealed, controlled, prevention = zones
    # Delineating again makes nothing new.
    assert zones_delineate(actor=commander, place=unit, reason="再次", edition=nat8) == []

    # The measures: 1栋 at home, 2栋 in the compound, the rest of the village none.
    for name in ("楼丙", "楼丁"):
        assert _type(p[name]) == (OrderType.HOME_ISOLATION, OrderSource.ZONE)
    for name in ("楼戊", "楼己"):
        assert _type(p[name]) == (OrderType.AREA_STAY, OrderSource.ZONE)
    assert _active(elsewhere) is None
    assert _active(p["楼甲"]) is None  # the case went to hospital

    # 楼戊 of 2栋 is positive: the compound's 管控区 becomes a 封控区.
    with django_capture_on_commit_callbacks(execute=True):
        _make_case(world, p["楼戊"])
    controlled.refresh_from_db()
    assert (controlled.kind.code, controlled.name) == ("sealed", "幸福小区 封控区")
    assert _type(p["楼己"]) == (OrderType.HOME_ISOLATION, OrderSource.ZONE)
    assert controlled.events.filter(action="positive").count() == 1

    # The building's lift: refused today, refused on day 14 without a round, and done
    # with everyone at home in it negative in a round of day 13.
    today = timezone.localdate()
    sealed.refresh_from_db()
    checks = {c.key: c.met for c in lift_conditions(sealed, today)}
    assert checks == {"quiet": False, "round": False}
    with pytest.raises(ValidationError):
        zone_lift(zone_id=sealed.pk, actor=commander, expected_version=sealed.version, today=today)
    day14 = today + timedelta(days=14)
    assert {c.key: c.met for c in lift_conditions(sealed, day14)} == {
        "quiet": True,
        "round": False,
    }
    at_home = [p["楼乙"], p["楼丙"], p["楼丁"]]
    _negative_round(world, at_home[:2], day14 - timedelta(days=1))
    assert not {c.key: c.met for c in lift_conditions(sealed, day14)}["round"]
    _negative_round(world, at_home, day14 - timedelta(days=1))
    assert all(c.met for c in lift_conditions(sealed, day14))
    zone_lift(zone_id=sealed.pk, actor=commander, expected_version=sealed.version, today=day14)
    sealed.refresh_from_db()
    assert sealed.status == ZoneStatus.LIFTED
    # Their home isolation from the building is released; they still live in the
    # compound's 封控区, whose measure (home isolation) they keep.
    for name in ("楼丙", "楼丁"):
        order = _active(p[name])
        assert order is not None and order.type == OrderType.HOME_ISOLATION

    # The village's 防范区 waits for the compound.
    conditions = lift_conditions(prevention, day14)
    assert [(c.key, c.met) for c in conditions] == [("stricter", False)]
    with pytest.raises(ValidationError):
        zone_lift(
            zone_id=prevention.pk,
            actor=commander,
            expected_version=prevention.version,
            today=day14,
        )
    assert Zone.objects.filter(status=ZoneStatus.ACTIVE).count() == 2
    assert Place.objects.count() == 5


def test_a_high_risk_area_steps_down_to_medium_then_lifts_under_the_9th_edition(world):
    """R1.6.1: 7 days with no new infection and everyone negative on day 7 → medium
    risk; 3 more days → lifted (low risk, the rest of the county)."""
    from fangkong.zones.models import ZoneKind
    from fangkong.zones.services import zone_create

    commander = world.users["commander"]
    compound = build_compound(world)
    p = compound.people
    places_derive(actor=commander, village=world.nodes["A"])
    high = ZoneKind.objects.get(edition__key="nat-9", code="high")
    zone = zone_create(
        actor=commander,
        kind=high,
        name="幸福小区 高风险区",
        reason="聚集性疫情",
        places=[Place.objects.get(name="幸福小区")],
    )
    assert _type(p["楼甲"]) == (OrderType.HOME_ISOLATION, OrderSource.ZONE)
    today = timezone.localdate()
    day7 = today + timedelta(days=7)
    assert {c.key: c.met for c in lift_conditions(zone, day7)} == {"quiet": True, "round": False}
    _negative_round(world, list(p.values()), day7)
    zone_lift(zone_id=zone.pk, actor=commander, expected_version=zone.version, today=day7)
    zone.refresh_from_db()
    assert (zone.kind.code, zone.status, zone.name) == ("medium", "active", "幸福小区 中风险区")
    # Home isolation released; everyone now stays in the area.
    assert _type(p["楼甲"]) == (OrderType.AREA_STAY, OrderSource.ZONE)
    assert {c.key: c.met for c in lift_conditions(zone, day7 + timedelta(days=2))} == {
        "quiet": False
    }
    day10 = day7 + timedelta(days=3)
    zone_lift(zone_id=zone.pk, actor=commander, expected_version=zone.version, today=day10)
    zone.refresh_from_db()
    assert zone.status == ZoneStatus.LIFTED and zone.lifted_on == day10
    assert _active(p["楼甲"]) is None
