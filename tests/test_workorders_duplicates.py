"""Work about one subject is opened once: a second visit to a household whose visit is
still open returns the open order, a sweep's visit takes over a plain visit, and a
dispatch from a list says how many already had their work open (issue 13)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.screening.sweeps import default_questions, sweep_create
from fangkong.workorders import services
from fangkong.workorders.models import (
    OPEN_STATUSES,
    Action,
    Status,
    WorkOrder,
    WorkOrderEvent,
)
from fangkong.workorders.services import Subject, orders_create, tally_differences
from tests.world import ensure_registry

pytestmark = pytest.mark.django_db


def _household(world, key="A1M1"):
    ensure_registry(world)
    return Subject.of(world.households[key], label=world.households[key].address)


def _open_about(subject: Subject) -> list[WorkOrder]:
    return list(
        WorkOrder.objects.filter(
            subject_type_id=subject.content_type_id,
            subject_id=subject.object_id,
            status__in=OPEN_STATUSES,
        )
    )


def test_a_second_visit_while_one_is_open_returns_the_open_order(world):
    home = _household(world)
    (first,) = orders_create(kind="visit_household", subjects=[home], actor=None)
    assert not first.merged
    # Dispatched again (another list, another day's batch): no second order.
    (again,) = orders_create(
        kind="visit_household", subjects=[home], actor=None, batch=uuid.uuid4()
    )
    assert again.pk == first.pk and again.merged
    # A revisit is the same work: the open visit stands for it too.
    (revisit,) = orders_create(kind="revisit_household", subjects=[home], actor=None)
    assert revisit.pk == first.pk
    # The same household twice in one dispatch gets one order.
    other = _household(world, "A2")
    orders = orders_create(kind="verify_person", subjects=[], actor=None)
    assert orders == []
    twice = orders_create(kind="visit_household", subjects=[other, other, home], actor=None)
    assert twice[0].pk == twice[1].pk != first.pk and twice[2].pk == first.pk
    assert [len(_open_about(s)) for s in (home, other)] == [1, 1]
    assert WorkOrderEvent.objects.filter(action=Action.CREATED).count() == 2
    assert tally_differences() == []
    # Once the visit is done, the next visit is new work.
    services.order_complete(
        order_id=first.pk,
        actor=world.users["gw_a1"],
        result={"outcome": "visited"},
        client_id=uuid.uuid4(),
    )
    (later,) = orders_create(kind="visit_household", subjects=[home], actor=None)
    assert later.pk != first.pk and not later.merged
    assert tally_differences() == []


def test_orders_about_no_record_and_repeatable_kinds_are_never_merged(world):
    node = world.nodes["A1"]
    plain = orders_create(
        kind="visit_household", subjects=[Subject(node, "无档案户")] * 2, actor=None
    )
    assert len({o.pk for o in plain}) == 2
    ensure_registry(world)
    person = Subject.of(world.persons["A1M1"], label=world.persons["A1M1"].name)
    deliveries = orders_create(kind="deliver_supplies", subjects=[person, person], actor=None)
    assert len({o.pk for o in deliveries}) == 2 and not any(o.merged for o in deliveries)


def test_a_sweep_takes_over_the_plain_visits_still_open(world):
    homes = [_household(world, k) for k in ("A1M1", "A2")]
    visits = orders_create(kind="visit_household", subjects=homes, actor=None)
    done_home = _household(world, "B1")
    (done,) = orders_create(kind="visit_household", subjects=[done_home], actor=None)
    services.order_complete(
        order_id=done.pk,
        actor=world.users["gw_b1"],
        result={"outcome": "visited"},
        client_id=uuid.uuid4(),
    )
    today = timezone.localdate()
    sweep = sweep_create(
        actor=world.users["commander"],
        organiser=world.nodes["T"],
        name="敲门行动第二轮",
        scope=[world.nodes["A"], world.nodes["B"]],
        starts_on=today,
        ends_on=today + timedelta(days=2),
        questions=default_questions(14),
    )
    for home, visit in zip(homes, visits, strict=True):
        (still_open,) = _open_about(home)
        assert still_open.kind == "sweep_visit" and still_open.source == f"sweep:{sweep.pk}"
        visit.refresh_from_db()
        assert visit.status == Status.CANCELLED
        note = WorkOrderEvent.objects.get(order=visit, action=Action.CANCELLED)
        assert f"#{still_open.pk}" in note.note and note.data == {"replaced_by": still_open.pk}
        assert note.actor == world.users["commander"]
    # A done visit is history, not open work: it stays done.
    done.refresh_from_db()
    assert done.status == Status.DONE
    assert tally_differences() == []
    # A plain visit dispatched during the sweep finds the sweep's visit open.
    (during,) = orders_create(kind="visit_household", subjects=[homes[0]], actor=None)
    assert during.kind == "sweep_visit" and during.merged
    # A second sweep over the same households is its own work (its own questions).
    second = sweep_create(
        actor=world.users["commander"],
        organiser=world.nodes["T"],
        name="敲门行动第三轮",
        scope=[world.nodes["A"]],
        starts_on=today,
        ends_on=today + timedelta(days=2),
        questions=default_questions(14),
    )
    assert len(_open_about(homes[0])) == 2
    assert second.visits.count() == 2
    assert tally_differences() == []


def test_a_dispatch_from_a_list_says_what_was_already_open(world, login):
    ensure_registry(world)
    client = login("cadre_a")
    data = {
        "kind": "visit_household",
        "per": "household",
        "strategy": "grid",
        "due_hours": "24",
        "priority": "3",
        "title": "入户排查",
        "batch": str(uuid.uuid4()),
    }
    assert client.post("/orders/dispatch/", data).status_code == 302
    assert WorkOrder.objects.count() == 2
    # The same list dispatched again from a fresh form (a new batch id): nothing new.
    data["batch"] = str(uuid.uuid4())
    response = client.post("/orders/dispatch/", data, follow=True)
    assert WorkOrder.objects.count() == 2
    said = [str(m) for m in response.context["messages"]]
    assert any("0" in m for m in said) and any("2" in m for m in said[1:]), said


def test_the_api_counts_only_the_orders_it_made(world, login):
    ensure_registry(world)
    client = login("commander")
    body = {
        "kind": "visit_household",
        "subjects": [{"type": "household", "id": world.households["A2"].pk}],
        "strategy": "grid",
        "batch": str(uuid.uuid4()),
    }
    first = client.post("/api/v1/orders/bulk", body, content_type="application/json")
    assert first.status_code == 200, first.content
    assert first.json()["created"] == 1
    body["batch"] = str(uuid.uuid4())
    again = client.post("/api/v1/orders/bulk", body, content_type="application/json")
    assert again.json()["created"] == 0 and again.json()["ids"] == first.json()["ids"]
