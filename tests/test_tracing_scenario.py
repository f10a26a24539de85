"""The 太子农庄 scenario (圣堂, issue 20): two people who ate at the farm restaurant test
positive. The commander activates the golden-24-hours plan; everyone who scanned the
farm's place code in the window is found as a contact with the reason in words; the
farm's staff, who live in town, are put under control (7 days centralised, then 3 at
home: the 9th edition, continued by the county); diners not in the registry become work
orders to find them within 4 hours; a staff member's evening at the supermarket gives a
secondary contact; the chain view draws it all; a drill leaves live data unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.control.hooks import PositiveCase
from fangkong.control.models import ControlOrder, OrderSource, OrderStatus, OrderType
from fangkong.response.models import Activation, Plan
from fangkong.response.services import activate, plan_copy
from fangkong.tracing.cases import contacts_control, contacts_find, positive_case
from fangkong.tracing.kinds import FIND_KIND
from fangkong.tracing.models import Case, Contact, ContactHow, ContactStatus
from fangkong.workorders.models import WorkOrder
from tests.tracing_cases_support import (
    edition_in_force,
    noon,
    person,
    restaurant,
    scan,
    site_with_rooms,
)

pytestmark = pytest.mark.django_db

STAFF = [(f"农庄员工{i}", f"1370000010{i}", ("A1", "A2", "B1")[i % 3]) for i in range(5)]


def _live() -> tuple[int, ...]:
    return (
        WorkOrder.objects.count(),
        ControlOrder.objects.count(),
        Case.objects.count(),
        Contact.objects.count(),
    )


def test_the_farm_restaurant(world, login):
    edition_in_force(world)
    site_with_rooms(world, rooms=40)
    commander = world.users["commander"]
    farm = restaurant(world, "太子农庄")
    market = restaurant(world, "王店超市", node="A2")
    # Lunch two days ago: the staff at 11:50, the two future cases and four diners.
    first = person(world, "A1", "阳性甲", "13700000201")
    second = person(world, "B1", "阳性乙", "13700000202")
    staff = [person(world, node, name, phone) for name, phone, node in STAFF]
    for name, phone, _node in STAFF:
        scan(farm, phone, noon(2, 11, 50), name)
    scan(farm, "13700000201", noon(2, 12, 5), "阳性甲")
    scan(farm, "13700000202", noon(2, 12, 10), "阳性乙")
    registered = [
        person(world, "A2", "食客一", "13700000301"),
        person(world, "B1", "食客二", "13700000302"),
    ]
    scan(farm, "13700000301", noon(2, 12, 15), "食客一")
    scan(farm, "13700000302", noon(2, 12, 30), "食客二")
    scan(farm, "13700000303", noon(2, 12, 20), "外地食客三")
    scan(farm, "13700000304", noon(2, 12, 30), "外地食客四")
    scan(farm, "13700000305", noon(6, 12, 10), "上周食客")  # before the look-back
    scan(farm, "13700000306", noon(2, 17, 0), "晚餐食客")  # after everyone left
    # That evening a staff member shops beside a neighbour: a secondary contact.
    neighbour = person(world, "A2", "超市邻居", "13700000401")
    scan(market, STAFF[0][1], noon(2, 18, 0), STAFF[0][0])
    scan(market, "13700000401", noon(2, 18, 10), "超市邻居")

    # Both test positive (control's hook opens their cases).
    before = timezone.now()
    for p in (first, second):
        positive_case(
            PositiveCase(
                person_id=p.pk,
                household_id=p.household_id,
                on=timezone.localdate() - timedelta(days=1),
                actor_id=commander.pk,
            )
        )
    case_a, case_b = Case.objects.get(person=first), Case.objects.get(person=second)

    # The plan is activated: every step's timer runs, the contact list due in 4 hours.
    shipped = Plan.objects.get(code="golden-24h", jurisdiction__isnull=True)
    plan, _new = plan_copy(actor=commander, plan=shipped, node=world.nodes["T"])
    act = activate(
        actor=commander,
        plan=plan,
        node=world.nodes["T"],
        event="两名阳性曾在太子农庄就餐",
        drill=False,
    )
    assert not act.drill and act.steps.count() == plan.steps.count() > 0
    assert WorkOrder.objects.filter(kind="response_step").count() == plan.steps.count()

    # Everyone who scanned there in the window, with the reason; not the cases.
    found_a = contacts_find(case=case_a, actor=commander)
    found_b = contacts_find(case=case_b, actor=commander)
    assert found_a.colocation == 9 and found_b.colocation == 9  # 5 staff + 4 diners
    for case in (case_a, case_b):
        listed = Contact.objects.filter(case=case, degree=1, how=ContactHow.COLOCATION)
        assert {c.person_id for c in listed if c.person_id} == {p.pk for p in staff + registered}
        assert sorted(c.name for c in listed if not c.person_id) == ["外地食客三", "外地食客四"]
        assert all(c.reason.startswith("同在 太子农庄") for c in listed)
        assert not Contact.objects.filter(case=case, person__in=[first, second]).exists()
    # The secondary contact, through the staff member.
    (secondary,) = Contact.objects.filter(case=case_a, degree=2)
    assert secondary.via is not None
    assert secondary.person == neighbour and secondary.via.person == staff[0]
    assert "王店超市" in secondary.reason

    # Contacts under control: the staff and registered diners centralised for 7 days,
    # then 3 at home; the secondary contact as the edition says; the unregistered ones
    # to be found within 4 hours of the case.
    done = contacts_control(case=case_a, actor=commander)
    assert len(done.controlled) == 8 and len(done.to_find) == 2 and not done.not_placed
    for p in staff:
        chain = ControlOrder.objects.filter(person=p).order_by("pk")
        assert [o.type for o in chain] == [OrderType.CENTRAL, OrderType.HOME_MONITORING]
        assert chain[0].status == OrderStatus.ACTIVE and chain[0].source == OrderSource.CONTACT
        assert chain[0].category == "close_contact" and chain[0].room is not None
    assert ControlOrder.objects.get(person=neighbour, status=OrderStatus.ACTIVE).category == (
        "secondary_contact"
    )
    finds = WorkOrder.objects.filter(kind=FIND_KIND)
    assert finds.count() == 2
    assert all(w.due_at <= case_a.created_at + timedelta(hours=4) for w in finds)
    # The second case's list: the same people, already under control (no second order).
    again = contacts_control(case=case_b, actor=commander)
    assert len(again.controlled) == 8 and len(again.to_find) == 2
    assert ControlOrder.objects.filter(person__in=staff).count() == 2 * len(staff)
    assert all(
        c.status == ContactStatus.CONTROLLED
        for c in Contact.objects.filter(case=case_b, person__isnull=False)
    )
    assert case_a.created_at >= before

    # The chain view: both cases, the farm, the contacts and the second step.
    page = login("commander").get("/tracing/chain/").content.decode()
    assert page.count('data-kind="case"') == 2 and "太子农庄" in page and "王店超市" in page
    assert page.count('data-kind="contact2"') == 1

    # A drill of the plan leaves live data unchanged.
    live = _live()
    drill = activate(
        actor=commander, plan=plan, node=world.nodes["T"], event="演练：太子农庄", drill=True
    )
    assert drill.drill and Activation.objects.count() == 2
    assert _live() == live
