"""A door-knocking sweep of one village: every household a visit order, per-member
answers, "nobody home" queued for a revisit, an arrival found at the door reported, and
coverage figures that add up."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone

from fangkong.org.models import Responsibility
from fangkong.org.roles import Role
from fangkong.org.services import membership_grant
from fangkong.people.demo import build_demo_people
from fangkong.people.models import Household, Person
from fangkong.screening.models import ReturneeReport, Sweep, SweepVisit, VisitOutcome
from fangkong.workorders.models import Status, WorkOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def village(world):
    quotas = {world.nodes["A1M1"].pk: 30, world.nodes["A2"].pk: 20, world.nodes["B1"].pk: 15}
    names = dict.fromkeys(quotas, "四喜社区")
    build_demo_people(
        quotas=quotas,
        village_names=names,
        seed=11,
        today=date(2022, 7, 1),
        progress=lambda _s: None,
    )
    # A2 gets a grid worker of its own.
    membership_grant(
        user=world.staff["A2"].user,
        jurisdiction=world.nodes["A2"],
        role=Role.GRID_WORKER,
        responsibility=Responsibility.GRID,
    )
    return world


def _start(client, world) -> Sweep:
    today = timezone.localdate()
    response = client.post(
        "/screening/sweeps/new/",
        {
            "name": "四喜社区敲门行动",
            "scope": [world.nodes["A"].code],
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=2)),
            "arrival_days": "14",
            "questions": ["arrived", "vaccine", "needs"],
            "extra": "家中有无发热人员\n是否需要代购药品",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return Sweep.objects.get()


def _visit(client, order, outcome, answers=None, client_id=None):
    data = {
        "outcome": outcome,
        "client_id": str(client_id or uuid.uuid4()),
        "version": str(order.version),
    } | (answers or {})
    return client.post(f"/screening/sweeps/visit/{order.pk}/save/", data)


def test_a_sweep_of_one_village_covers_every_household_and_adds_up(village, login):
    world = village
    sweep = _start(login("commander"), world)
    in_a = Household.objects.filter(jurisdiction__path__startswith=world.nodes["A"].path)
    assert sweep.visits.count() == in_a.count() == 50
    assert not sweep.visits.filter(jurisdiction=world.nodes["B1"]).exists()
    keys = [q["key"] for q in sweep.questions]
    assert keys == ["arrived", "arrived_from", "arrived_on", "vaccine", "needs", "q1", "q2"]
    orders = WorkOrder.objects.filter(kind="sweep_visit")
    assert orders.count() == 50
    a1 = orders.filter(jurisdiction=world.nodes["A1M1"])
    assert set(a1.values_list("assignee", flat=True)) == {world.users["gw_a1"].pk}
    assert set(
        orders.filter(jurisdiction=world.nodes["A2"]).values_list("assignee", flat=True)
    ) == {world.staff["A2"].user.pk}

    worker = login("gw_a1")
    mine = list(a1.order_by("id"))
    # The task page sends the worker to the per-member form.
    task = worker.get(f"/tasks/{mine[0].pk}/").content.decode()
    assert f"/screening/sweeps/visit/{mine[0].pk}/" in task
    form = worker.get(f"/screening/sweeps/visit/{mine[0].pk}/")
    members = Person.objects.filter(household=mine[0].subject_id)
    assert [p.pk for p, _f in form.context["members"]] == sorted(
        members.values_list("pk", flat=True)
    )

    # A bad date is refused and nothing is recorded.
    first = members.order_by("id")[0]
    bad = _visit(
        worker,
        mine[0],
        "visited",
        {f"p{first.pk}_arrived": "1", f"p{first.pk}_arrived_on": "2022-13-40"},
    )
    assert bad.status_code == 400
    assert WorkOrder.objects.get(pk=mine[0].pk).status != Status.DONE

    # 20 visited (one arrival found at the door), 6 nobody home, 2 refused; 2 not reached.
    arrived_on = timezone.localdate() - timedelta(days=2)
    answers = {
        f"p{first.pk}_arrived": "1",
        f"p{first.pk}_arrived_from": "浦东新区",
        f"p{first.pk}_arrived_on": str(arrived_on),
        f"p{first.pk}_vaccine": "3",
        "h_needs": "老人需要降压药",
        f"p{first.pk}_q1": "1",
    }
    client_id = uuid.uuid4()
    assert _visit(worker, mine[0], "visited", answers, client_id).status_code == 302
    # A double submit of the same visit changes nothing.
    again = WorkOrder.objects.get(pk=mine[0].pk)
    _visit(worker, again, "visited", answers, client_id)
    for order in mine[1:20]:
        assert _visit(worker, order, "visited").status_code == 302
    for order in mine[20:26]:
        assert _visit(worker, order, "nobody_home").status_code == 302
    for order in mine[26:28]:
        assert _visit(worker, order, "refused").status_code == 302

    visit = SweepVisit.objects.get(sweep=sweep, household_id=mine[0].subject_id or 0)
    assert visit.answers[str(first.pk)]["vaccine"] == "3"
    assert visit.answers["household"]["needs"] == "老人需要降压药"
    assert visit.answers[str(first.pk)]["q1"] is True
    report = ReturneeReport.objects.get()
    assert (report.source, report.name, report.origin_code) == ("sweep", first.name, "310115")
    assert report.arrived_on == arrived_on and report.jurisdiction == world.nodes["A1M1"]

    # Nobody home: a revisit order for the same household, the next day, same worker.
    revisits = WorkOrder.objects.filter(kind="sweep_visit", source__startswith="workorder:")
    assert revisits.count() == 6
    assert set(revisits.values_list("assignee", flat=True)) == {world.users["gw_a1"].pk}
    waiting = SweepVisit.objects.filter(sweep=sweep, outcome=VisitOutcome.NOBODY_HOME)
    assert set(waiting.values_list("order", flat=True)) == set(
        revisits.values_list("pk", flat=True)
    )
    # One revisit finds them in.
    revisit = revisits.order_by("id")[0]
    assert _visit(worker, revisit, "visited").status_code == 302
    back = SweepVisit.objects.get(sweep=sweep, household_id=revisit.subject_id or 0)
    assert (back.outcome, back.attempts) == ("visited", 2)

    # Coverage: village = sum of its grids; households and persons add up.
    page = login("commander").get(f"/screening/sweeps/{sweep.pk}/")
    total = page.context["total"]
    assert (
        total.households,
        total.visited,
        total.nobody_home,
        total.refused,
        total.not_reached,
    ) == (50, 21, 5, 2, 22)
    (row,) = page.context["rows"]
    assert row.node == world.nodes["A"] and row.households == 50
    grids = {c.node.code: c for c in page.context["grid_rows"]}
    assert sum(c.households for c in grids.values()) == 50
    assert sum(c.visited for c in grids.values()) == 21
    registered = Person.objects.filter(household__in=in_a).count()
    assert total.registered == registered
    seen = Person.objects.filter(
        household__in=[
            v.household_id for v in SweepVisit.objects.filter(sweep=sweep, outcome="visited")
        ]
    ).count()
    assert total.persons_seen == seen
    # The lists: households not reached, and the revisit queue.
    not_reached = page.context["page"].paginator.count
    assert not_reached == 22
    queue = login("commander").get(f"/screening/sweeps/{sweep.pk}/?show=revisit")
    assert queue.context["page"].paginator.count == 5
    # A grid worker sees their own grid's figures only.
    own = login("gw_a1").get(f"/screening/sweeps/{sweep.pk}/")
    assert own.context["total"].households == 30
    assert [c.node.code for c in own.context["rows"]] == [world.nodes["A1"].code]


def test_only_the_assignee_records_a_visit(village, login):
    world = village
    _start(login("commander"), world)
    order = WorkOrder.objects.filter(kind="sweep_visit", assignee=world.users["gw_a1"])[0]
    assert _visit(login("cadre_a"), order, "visited").status_code == 403
    assert _visit(login("gw_b1"), order, "visited").status_code == 404
    assert WorkOrder.objects.get(pk=order.pk).status == Status.ASSIGNED


def test_two_children_without_id_found_at_the_door_are_two_reports(village, login):
    from fangkong.screening.services import ReportInput, report_submit

    world = village
    today = timezone.localdate()
    for name in ("小明", "小红"):
        report_submit(
            ReportInput(
                name=name,
                id_number="",
                phone="13911112222",
                origin_code="",
                left_on=today,
                arrived_on=today,
                mode="other",
                jurisdiction=world.nodes["A1M1"],
                address="一号楼",
            ),
            source="sweep",
        )
    assert sorted(ReturneeReport.objects.values_list("name", flat=True)) == ["小明", "小红"]
    assert not ReturneeReport.objects.filter(status="duplicate").exists()
