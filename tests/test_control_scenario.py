"""The 9th edition by hand: 30 arrivals from a high-risk area (left 2022-07-09) and 10
close contacts (last exposure 2022-07-09) arrive in 王店镇 on 2022-07-10.

Worked from domain-rules §1.4: arrivals are 7 days centralised (07-10 to 07-16), tests
on days 1, 2, 3, 5, 7 (07-10, 11, 12, 14, 16); close contacts 7 days centralised then 3
days of home health monitoring (07-17 to 07-19) with a test on its day 3 (07-19). One
click places all 40 in rooms; a missed check opens a visit; a fever tells the medical
group; one arrival is positive on day 3 and goes to the hospital, their two household
members become close contacts; the rest are released on 07-16 (arrivals) and into
home monitoring, then released on 07-19 (contacts), each with a notice."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from docx import Document

from fangkong.control.cases import positive_case
from fangkong.control.checks import check_record, missed_checks
from fangkong.control.kinds import FEVER_KIND, MISSED_CHECK_KIND, SAMPLE_KIND
from fangkong.control.models import (
    ControlOrder,
    ControlTest,
    OrderSource,
    OrderStatus,
    OrderType,
    Passenger,
    SampleResult,
    TransferStatus,
)
from fangkong.control.release import notice_docx, order_release, propose_releases
from fangkong.control.services import orders_from_measures, result_record
from fangkong.control.sites import site_create
from fangkong.control.transfers import in_transit, transfer_depart, transfer_receive
from fangkong.notify.models import Notice
from fangkong.org.models import StaffKind
from fangkong.org.services import staff_create
from fangkong.people.models import Household, Person
from fangkong.screening.models import MeasureStatus, PersonMeasure
from fangkong.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ)


D = date(2022, 7, 10)  # day 1 of everyone


def test_thirty_arrivals_and_ten_close_contacts_under_the_9th_edition(world):
    commander, county = world.users["commander"], world.users["county"]
    doctor = staff_create(
        username="wd_doctor",
        name="王店医生",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["T"],
        phone="13900000099",
    )
    site_create(
        actor=commander,
        jurisdiction=world.nodes["T"],
        name="王店隔离酒店",
        kind="hotel",
        rooms=[(f"{100 + i}", 1) for i in range(45)],
    )
    hospital = site_create(
        actor=county, jurisdiction=world.nodes["C"], name="秀洲定点医院", kind="hospital"
    )
    grids = ["A1", "A2", "B1"]
    people: list[Person] = []
    for i in range(40):
        node = world.nodes[grids[i % 3]]
        household = Household.objects.create(jurisdiction=node, address=f"场景路{i}号")
        people.append(
            Person.objects.create(jurisdiction=node, household=household, name=f"场景{i:02d}")
        )
    case = people[0]
    family = [
        Person.objects.create(jurisdiction=case.jurisdiction, household=case.household, name=n)
        for n in ("场景家属甲", "场景家属乙")
    ]
    measures = [
        PersonMeasure.objects.create(
            jurisdiction=p.jurisdiction,
            person=p,
            category="arrival_high" if i < 30 else "close_contact",
            place="central",
            starts_on=D,
            edition="nat-9",
            status=MeasureStatus.VERIFIED,
        )
        for i, p in enumerate(people)
    ]
    # One click: everyone placed in a room, with the edition's orders and test days.
    batch = orders_from_measures(measures=measures, actor=commander, now=at(D, 9))
    assert not batch.skipped and len(batch.created) == 50  # 40 orders, 10 follow-ons
    active = ControlOrder.objects.filter(status=OrderStatus.ACTIVE)
    assert active.count() == 40 and all(o.type == OrderType.CENTRAL and o.room for o in active)
    assert len({o.room_id for o in active}) == 40
    assert set(active.values_list("ends_on", flat=True)) == {date(2022, 7, 16)}
    planned = ControlOrder.objects.filter(status=OrderStatus.PLANNED)
    assert planned.count() == 10
    assert {(o.type, o.starts_on, o.ends_on) for o in planned} == {
        (OrderType.HOME_MONITORING, date(2022, 7, 17), date(2022, 7, 19))
    }
    arrival = ControlOrder.objects.get(person=people[5], status=OrderStatus.ACTIVE)
    assert list(arrival.tests.values_list("on", flat=True)) == [
        date(2022, 7, d) for d in (10, 11, 12, 14, 16)
    ]
    assert set(ControlTest.objects.filter(order__in=planned).values_list("on", flat=True)) == {
        date(2022, 7, 19)
    }
    assert WorkOrder.objects.filter(kind=SAMPLE_KIND).count() == 30 * 5 + 10 * 6

    # Day 1 evening: all but one reported both checks; one has a fever.
    for i, p in enumerate(people):
        order = ControlOrder.objects.get(person=p, status=OrderStatus.ACTIVE)
        for hour, temp in ((8, "36.5"), (18, "38.1" if i == 7 else "36.6")):
            if i == 3 and hour == 18:
                continue
            check_record(
                order=order,
                temperature=temp,
                client_id=uuid.uuid4(),
                actor=commander,
                now=at(D, hour),
            )
    visits = missed_checks(now=at(D, 20))
    assert [v.subject_id for v in visits] == [
        ControlOrder.objects.get(person=people[3], status=OrderStatus.ACTIVE).pk
    ]
    assert WorkOrder.objects.filter(kind=MISSED_CHECK_KIND).count() == 1
    assert Notice.objects.filter(user=doctor.user, title__contains="场景07").count() == 1
    assert WorkOrder.objects.filter(kind=FEVER_KIND).count() == 1

    # Day 3: the first arrival is positive, goes to hospital; their household follows.
    case_order = ControlOrder.objects.get(person=case, status=OrderStatus.ACTIVE)
    day3 = case_order.tests.get(day=3)
    for t in case_order.tests.filter(day__lt=3):
        result_record(test=t, result=SampleResult.NEGATIVE, actor=commander)
    outcome = positive_case(
        test=day3,
        actor=commander,
        hospital=hospital,
        vehicle="浙F120",
        driver="救护车司机",
        now=at(date(2022, 7, 12), 11),
    )
    case_order.refresh_from_db()
    assert case_order.status == OrderStatus.TRANSFERRED
    assert {o.person.name for o in outcome.contacts} == {"场景家属甲", "场景家属乙"}
    assert all(
        (o.type, o.starts_on, o.ends_on)
        == (OrderType.CENTRAL, date(2022, 7, 13), date(2022, 7, 19))
        for o in outcome.contacts
    )
    assert not outcome.unplaced and all(o.room for o in outcome.contacts)
    # The exposure is kept with each contact's orders: a change of the rules re-decides
    # them from it (test_control_recheck).
    assert {
        (o.exposed_on, o.category, o.edition, o.source)
        for o in ControlOrder.objects.filter(person__in=[c.person for c in outcome.contacts])
    } == {(date(2022, 7, 12), "close_contact", "nat-9", OrderSource.CONTACT)}
    transfer_depart(transfer_id=outcome.transfer.pk, actor=commander, expected_version=0)
    assert [p.person for p in in_transit()] == [case]
    transfer_receive(transfer_id=outcome.transfer.pk, actor=county, expected_version=1)
    assert outcome.transfer.__class__.objects.get().status == TransferStatus.RECEIVED

    # Every other test negative; releases on the right days.
    for t in ControlTest.objects.filter(result=SampleResult.PENDING).exclude(
        order__person__in=family
    ):
        result_record(test=t, result=SampleResult.NEGATIVE, actor=commander)
    assert propose_releases(today=date(2022, 7, 15)) == 0
    assert propose_releases(today=date(2022, 7, 16)) == 39
    released = []
    for order in ControlOrder.objects.filter(release_proposed_on=date(2022, 7, 16)):
        released.append(
            order_release(
                order_id=order.pk,
                actor=commander,
                expected_version=order.version,
                today=date(2022, 7, 16),
                now=at(date(2022, 7, 16), 16),
            )
        )
    assert len(released) == 39
    home = ControlOrder.objects.filter(status=OrderStatus.ACTIVE, type=OrderType.HOME_MONITORING)
    assert home.count() == 10
    doc = Document(io.BytesIO(notice_docx(released[0], "https://fk.example")))
    assert "2022年7月16日" in "\n".join(p.text for p in doc.paragraphs)
    # The contacts' 3 days at home are not served on 07-18: refused, nothing changed.
    early = home.first()
    assert early is not None
    with pytest.raises(ValidationError):
        order_release(
            order_id=early.pk,
            actor=commander,
            expected_version=early.version,
            today=date(2022, 7, 18),
        )
    assert ControlOrder.objects.get(pk=early.pk).status == OrderStatus.ACTIVE
    for order in home:
        order_release(
            order_id=order.pk,
            actor=commander,
            expected_version=order.version,
            today=date(2022, 7, 19),
        )
    left = ControlOrder.objects.filter(status=OrderStatus.ACTIVE)
    assert {o.person.name for o in left} == {"场景家属甲", "场景家属乙"}
    done = ControlOrder.objects.filter(status=OrderStatus.RELEASED)
    assert done.count() == 49
    # Each released period has its notice, dated the day it ended: the arrivals and the
    # contacts' stay at the site on 07-16, the contacts' home monitoring on 07-19.
    assert {(o.type, o.released_on) for o in done} == {
        (OrderType.CENTRAL, date(2022, 7, 16)),
        (OrderType.HOME_MONITORING, date(2022, 7, 19)),
    }
    assert all(o.notice_code for o in done) and len({o.notice_code for o in done}) == 49
    last = done.filter(type=OrderType.HOME_MONITORING).first()
    assert last is not None
    text = "\n".join(
        p.text for p in Document(io.BytesIO(notice_docx(last, "https://fk.example"))).paragraphs
    )
    assert "2022年7月19日" in text
    # Nobody lost on the road: whoever left on a transfer arrived or is in transit.
    left_on = set(
        Passenger.objects.exclude(transfer__departed_at=None).values_list("person_id", flat=True)
    )
    arrived = set(
        Passenger.objects.filter(transfer__status=TransferStatus.RECEIVED).values_list(
            "person_id", flat=True
        )
    )
    assert left_on == arrived | set(in_transit().values_list("person_id", flat=True))
    assert left_on == {case.pk}
