"""Work orders: dispatch, the status machine, idempotent results, tallies, escalation,
the scheduler, the field app, the board and its export, the API."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from openpyxl import load_workbook

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.core.models import ScheduledRun
from fangkong.core.schedule import PERIODIC, tick
from fangkong.notify.models import Notice
from fangkong.org.models import Level, Responsibility
from fangkong.org.roles import Role
from fangkong.org.services import membership_grant, team_create
from fangkong.workorders import selectors, services
from fangkong.workorders.dispatch import DispatchError, Strategy
from fangkong.workorders.escalation import escalate_overdue
from fangkong.workorders.models import Status, WorkOrder, WorkOrderEvent, WorkOrderTally
from fangkong.workorders.services import Conflict, Subject, orders_create
from tests.world import ensure_orders, ensure_registry

pytestmark = pytest.mark.django_db


def subject(world, key):
    ensure_registry(world)
    return Subject.of(world.persons[key], label=world.persons[key].name)


def tallies():
    return sorted(
        WorkOrderTally.objects.filter(open__gt=0).values_list(
            "jurisdiction_id", "kind", "day", "open"
        )
    )


def assert_tallies_match_orders():
    before = sorted(
        WorkOrderTally.objects.exclude(open=0, done=0).values_list(
            "jurisdiction_id", "kind", "day", "open", "done"
        )
    )
    services.tally_rebuild()
    after = sorted(
        WorkOrderTally.objects.values_list("jurisdiction_id", "kind", "day", "open", "done")
    )
    assert before == after


# Dispatch ---------------------------------------------------------------------------


def test_default_dispatch_finds_the_grid_worker_even_from_a_micro_grid(world):
    a1m1, a2, b1 = (subject(world, k) for k in ("A1M1", "A2", "B1"))
    orders = orders_create(
        kind="verify_person", subjects=[a1m1, a2, b1], actor=world.users["commander"]
    )
    assert [o.assignee for o in orders] == [world.users["gw_a1"], None, world.users["gw_b1"]]
    assert [o.status for o in orders] == [Status.ASSIGNED, Status.NEW, Status.ASSIGNED]
    assert orders[0].jurisdiction == world.nodes["A1M1"]
    assert WorkOrderEvent.objects.filter(action="created").count() == 3
    assert_tallies_match_orders()


def test_a_responsible_grid_worker_comes_before_the_others(world):
    other = world.staff["A1"].user
    membership_grant(
        user=other,
        jurisdiction=world.nodes["A1"],
        role=Role.GRID_WORKER,
        responsibility=Responsibility.GRID,
    )
    (order,) = orders_create(kind="verify_person", subjects=[subject(world, "A1M1")], actor=None)
    assert order.assignee == other


def test_dispatch_needs_the_permission_over_every_subject(world):
    with pytest.raises(PermissionDenied):
        orders_create(
            kind="verify_person", subjects=[subject(world, "B1")], actor=world.users["cadre_a"]
        )
    with pytest.raises(PermissionDenied):
        orders_create(
            kind="verify_person", subjects=[subject(world, "A2")], actor=world.users["gw_a1"]
        )
    assert not WorkOrder.objects.exists()


def test_team_round_robin_continues_where_it_stopped(world):
    members = [world.staff[k].user for k in ("A", "A1", "A2")]
    team = team_create(
        name="轮派队",
        kind="service_team",
        jurisdiction=world.nodes["A"],
        members=[(u, "") for u in members],
    )
    first = orders_create(
        kind="deliver_supplies",
        subjects=[subject(world, "A2")] * 2,
        actor=world.users["cadre_a"],
        strategy=Strategy.TEAM,
        team=team,
    )
    second = orders_create(
        kind="deliver_supplies",
        subjects=[subject(world, "A2")] * 2,
        actor=world.users["cadre_a"],
        strategy=Strategy.TEAM,
        team=team,
    )
    got = [o.assignee_id for o in first + second]
    assert got == [members[0].pk, members[1].pk, members[2].pk, members[0].pk]
    with pytest.raises(DispatchError):
        orders_create(
            kind="deliver_supplies",
            subjects=[subject(world, "A2")],
            actor=None,
            strategy=Strategy.TEAM,
        )


def test_nearest_fit_prefers_the_closest_node_then_the_lightest_load(world):
    near_b = world.staff["B1"].user
    membership_grant(user=near_b, jurisdiction=world.nodes["B1"], role=Role.VOLUNTEER)
    orders = orders_create(
        kind="deliver_supplies",
        subjects=[subject(world, "B1"), subject(world, "A1M1"), subject(world, "A2")],
        actor=None,
        strategy=Strategy.NEAREST,
    )
    volunteer = world.users["volunteer"]  # at A1
    assert [o.assignee_id for o in orders] == [near_b.pk, volunteer.pk, volunteer.pk]


def test_a_repeated_bulk_dispatch_creates_nothing(world):
    batch = uuid.uuid4()
    subjects = [subject(world, k) for k in ("A1M1", "A2", "B1")]
    first = orders_create(kind="verify_person", subjects=subjects, actor=None, batch=batch)
    again = orders_create(kind="verify_person", subjects=subjects, actor=None, batch=batch)
    assert {o.pk for o in first} == {o.pk for o in again}
    assert WorkOrder.objects.count() == 3


def test_due_time_in_the_past_is_refused(world):
    with pytest.raises(ValidationError):
        orders_create(
            kind="verify_person",
            subjects=[subject(world, "B1")],
            actor=None,
            due_at=timezone.now() - timedelta(minutes=1),
        )
    assert not WorkOrder.objects.exists()


# The status machine and results -----------------------------------------------------


def one_order(world, key="A1M1", kind="verify_person"):
    (order,) = orders_create(kind=kind, subjects=[subject(world, key)], actor=None)
    return order


def test_complete_is_idempotent_by_client_id(world):
    order = one_order(world)
    gw = world.users["gw_a1"]
    client_id = uuid.uuid4()
    done, created = services.order_complete(
        order_id=order.pk, actor=gw, client_id=client_id, result={"outcome": "found"}
    )
    assert created and done.status == Status.DONE
    again, created = services.order_complete(
        order_id=order.pk, actor=gw, client_id=client_id, result={"outcome": "found"}
    )
    assert not created and again.pk == order.pk
    assert WorkOrderEvent.objects.filter(order=order, action="done").count() == 1
    # A different submission for a finished order is a conflict, not a second result.
    with pytest.raises(Conflict):
        services.order_complete(
            order_id=order.pk, actor=gw, client_id=uuid.uuid4(), result={"outcome": "found"}
        )
    assert_tallies_match_orders()


def test_results_are_validated_against_the_kind(world):
    order = one_order(world)
    gw = world.users["gw_a1"]
    with translation.override("en"), pytest.raises(ValidationError) as e:
        services.order_complete(
            order_id=order.pk,
            actor=gw,
            client_id=uuid.uuid4(),
            result={"outcome": "maybe", "colour": "red"},
        )
    errors = e.value.message_dict
    assert "is not one of the choices" in errors["outcome"][0]
    assert "has no field" in errors["colour"][0]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as e:
        services.order_complete(order_id=order.pk, actor=gw, client_id=uuid.uuid4(), result={})
    assert "必填" in e.value.message_dict["outcome"][0]
    order.refresh_from_db()
    assert order.status == Status.ASSIGNED and order.version == 0


def test_only_the_assignee_completes_and_stale_versions_conflict(world):
    order = one_order(world)
    with pytest.raises(PermissionDenied):
        services.order_complete(
            order_id=order.pk,
            actor=world.users["cadre_a"],
            client_id=uuid.uuid4(),
            result={"outcome": "found"},
        )
    services.order_accept(order_id=order.pk, actor=world.users["gw_a1"], expected_version=0)
    with pytest.raises(Conflict):
        services.order_complete(
            order_id=order.pk,
            actor=world.users["gw_a1"],
            client_id=uuid.uuid4(),
            result={"outcome": "found"},
            expected_version=0,
        )
    order.refresh_from_db()
    assert order.status == Status.ACCEPTED and order.version == 1


def test_nobody_home_queues_a_revisit_for_the_same_worker(world):
    ensure_registry(world)
    household = world.households["A1M1"]
    (visit,) = orders_create(kind="visit_household", subjects=[Subject.of(household)], actor=None)
    services.order_complete(
        order_id=visit.pk,
        actor=world.users["gw_a1"],
        client_id=uuid.uuid4(),
        result={"outcome": "nobody_home"},
    )
    revisit = WorkOrder.objects.get(kind="revisit_household")
    assert revisit.assignee == world.users["gw_a1"] and revisit.subject == household
    assert revisit.source == f"workorder:{visit.pk}"
    assert_tallies_match_orders()


def test_verify_return_reassign_cancel(world):
    cadre, gw = world.users["cadre_a"], world.users["gw_a1"]
    order = one_order(world)
    services.order_complete(
        order_id=order.pk, actor=gw, client_id=uuid.uuid4(), result={"outcome": "found"}
    )
    with pytest.raises(ValidationError):
        services.order_verify(order_id=order.pk, actor=cadre, accept=False, note=" ")
    services.order_verify(order_id=order.pk, actor=cadre, accept=False, note="电话不对，再核")
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS and order.result_client_id is None
    assert_tallies_match_orders()
    with pytest.raises(PermissionDenied):
        services.order_reassign(order_id=order.pk, actor=gw, assignee=cadre, reason="x")
    with pytest.raises(ValidationError):
        services.order_reassign(order_id=order.pk, actor=cadre, assignee=cadre, reason="")
    services.order_reassign(
        order_id=order.pk, actor=cadre, assignee=world.users["volunteer"], reason="网格员病假"
    )
    order.refresh_from_db()
    assert order.assignee == world.users["volunteer"] and order.status == Status.ASSIGNED
    services.order_cancel(order_id=order.pk, actor=cadre, reason="重复工单")
    assert WorkOrder.objects.get(pk=order.pk).status == Status.CANCELLED
    assert_tallies_match_orders()
    actions = list(order.events.values_list("action", flat=True))
    assert actions == ["created", "done", "returned", "reassigned", "cancelled"]


def test_done_and_returned_on_the_due_day_keep_the_tally_in_step(world):
    """Completing an order on the day it is due moves it from open to done on one and the
    same tally row; so does returning it. (The demo town's drift: each such order stayed
    counted open as well as done.)"""
    cadre, gw = world.users["cadre_a"], world.users["gw_a1"]
    morning = timezone.make_aware(datetime.combine(timezone.localdate(), time(8)))
    (order,) = orders_create(
        kind="verify_person",
        subjects=[subject(world, "A1M1")],
        actor=None,
        due_at=morning + timedelta(hours=4),
        now=morning,
    )
    services.order_complete(
        order_id=order.pk,
        actor=gw,
        client_id=uuid.uuid4(),
        result={"outcome": "found"},
        now=morning + timedelta(hours=1),
    )
    row = WorkOrderTally.objects.get(jurisdiction=order.jurisdiction, kind="verify_person")
    assert (row.open, row.done) == (0, 1)
    assert services.tally_differences() == []
    services.order_verify(order_id=order.pk, actor=cadre, accept=False, note="电话不对，再核")
    row.refresh_from_db()
    assert (row.open, row.done) == (1, 0)
    assert services.tally_differences() == []


def test_check_tallies_reports_drift_and_fix_rewrites_it_audited(world, capsys):
    ensure_orders(world)
    call_command("check_tallies")
    assert "matches" in capsys.readouterr().out
    row = WorkOrderTally.objects.filter(open__gt=0).select_related("jurisdiction")[0]
    WorkOrderTally.objects.filter(pk=row.pk).update(open=row.open + 2)
    with pytest.raises(CommandError, match="1 tally entries differ"):
        call_command("check_tallies")
    err = capsys.readouterr().err
    assert f"{row.jurisdiction.code} {row.kind} {row.day}: stored open {row.open + 2}" in err
    assert not AuditEvent.objects.filter(object_repr="work-order tallies").exists()
    call_command("check_tallies", "--fix")
    assert "1 differed" in capsys.readouterr().out
    fixed = WorkOrderTally.objects.get(jurisdiction=row.jurisdiction, kind=row.kind, day=row.day)
    assert (fixed.open, fixed.done) == (row.open, row.done)
    event = AuditEvent.objects.get(object_repr="work-order tallies")
    assert event.action == AuditAction.UPDATE and event.detail["repaired"] == 1
    assert event.detail["first"][0]["stored"] == [row.open + 2, row.done]
    call_command("check_tallies")


# Escalation and the scheduler -------------------------------------------------------


def test_overdue_orders_climb_grid_leader_village_town(world):
    leader = world.staff["A1"].user
    membership_grant(user=leader, jurisdiction=world.nodes["A1"], role=Role.GRID_LEADER)
    order = one_order(world)
    due = order.due_at
    assert escalate_overdue(due - timedelta(minutes=1)) == {1: 0, 2: 0, 3: 0}
    assert escalate_overdue(due + timedelta(minutes=1)) == {1: 1, 2: 0, 3: 0}
    assert list(Notice.objects.values_list("user", flat=True)) == [leader.pk]
    # Running again in the same state notifies nobody twice.
    assert escalate_overdue(due + timedelta(minutes=2)) == {1: 0, 2: 0, 3: 0}
    assert escalate_overdue(due + timedelta(hours=4, minutes=1))[2] == 1
    assert escalate_overdue(due + timedelta(hours=12, minutes=1))[3] == 1
    got = set(Notice.objects.values_list("user", flat=True))
    assert got == {leader.pk, world.users["cadre_a"].pk, world.users["commander"].pk}
    notice = Notice.objects.get(user=world.users["commander"])
    assert "1" in notice.title and world.persons["A1M1"].name in notice.body
    WorkOrder.objects.filter(pk=order.pk).update(escalation_level=0)
    services.order_complete(
        order_id=order.pk,
        actor=world.users["gw_a1"],
        client_id=uuid.uuid4(),
        result={"outcome": "found"},
    )
    assert escalate_overdue(due + timedelta(hours=13)) == {1: 0, 2: 0, 3: 0}


def test_the_scheduler_enqueues_each_slot_once_and_the_worker_runs_it(world):
    leader = world.staff["A1"].user
    membership_grant(user=leader, jurisdiction=world.nodes["A1"], role=Role.GRID_LEADER)
    order = one_order(world)
    WorkOrder.objects.filter(pk=order.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    assert "workorders.escalate" in PERIODIC
    queued: list[object] = []
    now = timezone.now()
    assert "workorders.escalate" in tick(now, enqueue=queued.append)
    assert "workorders.escalate" not in tick(now, enqueue=queued.append)
    assert ScheduledRun.objects.filter(name="workorders.escalate").count() == 1
    # The real path: the jobs command enqueues through django-tasks' database backend
    # and its worker runs the task.
    ScheduledRun.objects.all().delete()
    out = io.StringIO()
    call_command("jobs", "--once", stdout=out)
    assert "workorders.escalate" in out.getvalue()
    # Five minutes late: the grid leader's level, not yet the village's (4 h).
    assert WorkOrder.objects.get(pk=order.pk).escalation_level == 1
    assert Notice.objects.filter(user=leader).exists()


# Pages ------------------------------------------------------------------------------


def test_my_tasks_counts_tabs_and_query_count(world, login):
    ensure_orders(world)
    extra = one_order(world, "A1M1", "deliver_supplies")
    WorkOrder.objects.filter(pk=extra.pk).update(due_at=timezone.now() - timedelta(hours=1))
    client = login("gw_a1")
    client.get("/tasks/")  # warm the session and content types
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/tasks/")
    assert page.status_code == 200
    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]
    html = page.content.decode()
    assert len(page.content) < 50_000
    assert world.persons["A1M1"].name in html and world.persons["B1"].name not in html
    counts = page.context["counts"]
    # Due in 24 hours is after midnight: later, not today.
    assert counts == {"overdue": 1, "today": 0, "later": 1, "done": 0, "open": 2}
    overdue = client.get("/tasks/?tab=overdue", headers={"HX-Request": "true"})
    assert "<html" not in overdue.content.decode() and "fk-task-list" in overdue.content.decode()


def test_the_field_page_completes_once_on_a_double_submit(world, login):
    ensure_orders(world)
    order = world.orders["A1M1"]
    client = login("gw_a1")
    page = client.get(f"/tasks/{order.pk}/")
    assert page.status_code == 200 and len(page.content) < 50_000
    assert world.persons["A1M1"].phone not in page.content.decode()
    form = {"client_id": str(uuid.uuid4()), "version": "0", "r_outcome": "found", "r_note": "在家"}
    first = client.post(f"/tasks/{order.pk}/result/", form, headers={"HX-Request": "true"})
    second = client.post(f"/tasks/{order.pk}/result/", form, headers={"HX-Request": "true"})
    assert first.status_code == 200 and second.status_code == 200
    assert "fk-done" in first.content.decode()
    assert WorkOrderEvent.objects.filter(order=order, action="done").count() == 1
    order.refresh_from_db()
    assert order.status == Status.DONE and order.result == {"outcome": "found", "note": "在家"}
    bad = client.post(
        f"/tasks/{world.orders['A1M1'].pk}/result/",
        {"client_id": str(uuid.uuid4()), "version": "0"},
    )
    assert bad.status_code == 409


def test_invalid_result_rerenders_with_the_typed_values(world, login):
    ensure_orders(world)
    order = world.orders["B1"]
    client = login("gw_b1")
    with translation.override("zh-hans"):
        response = client.post(
            f"/tasks/{order.pk}/result/",
            {"client_id": str(uuid.uuid4()), "version": "0", "r_note": "敲门无人应答"},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 400
    body = response.content.decode()
    assert "敲门无人应答" in body and "必填" in body
    assert WorkOrder.objects.get(pk=order.pk).status == Status.ASSIGNED


def test_call_is_audited_and_never_in_the_page(world, login):
    ensure_orders(world)
    order = world.orders["B1"]
    client = login("gw_b1")
    assert world.persons["B1"].phone not in client.get(f"/tasks/{order.pk}/").content.decode()
    # Only the answer to the tap carries it, as the link the phone dials (see
    # test_field_tasks for why not a redirect).
    response = client.post(f"/tasks/{order.pk}/call/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'href="tel:{world.persons["B1"].phone}"' in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.VIEW_PII)
    assert event.detail["via"] == "call" and str(order.pk) in event.purpose
    assert login("gw_a1").post(f"/tasks/{order.pk}/call/").status_code == 404


def test_board_counts_add_up_and_export(world, login):
    ensure_orders(world)
    late = one_order(world, "B1", "deliver_supplies")
    WorkOrder.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(minutes=30))
    services.tally_rebuild()
    services.order_complete(
        order_id=world.orders["A1M1"].pk,
        actor=world.users["gw_a1"],
        client_id=uuid.uuid4(),
        result={"outcome": "found"},
    )
    client = login("commander")
    client.get("/orders/board/")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/orders/board/")
    # The menu's unread count is every page's one query more (counted in test_field_tasks);
    # the board and the rest of the page keep their budget.
    board_queries = [q["sql"] for q in queries.captured_queries if "notify_notice" not in q["sql"]]
    assert len(board_queries) <= 8, board_queries
    assert len(queries) == len(board_queries) + 1
    board = page.context["board"]
    rows = {r.node.code: (r.done, r.open, r.overdue) for r in board.rows}
    assert rows == {world.nodes["A"].code: (1, 1, 0), world.nodes["B"].code: (0, 2, 1)}
    assert (board.done, board.open, board.overdue) == (1, 3, 1)
    village = client.get(f"/orders/board/?node={world.nodes['A'].code}").context["board"]
    assert [r.node.level for r in village.rows] == [Level.GRID, Level.GRID]
    assert sum(r.open for r in village.rows) == 1
    export = client.get("/orders/board/export.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("辖区", "代码", "类型", "今日完成", "未完成", "逾期")
    total_open = sum(int(str(r[4])) for r in values[1:])
    assert total_open == 3
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 1
    assert login("gw_a1").get(f"/orders/board/?node={world.nodes['B'].code}").status_code == 404


def test_dispatch_from_a_registry_list(world, login):
    ensure_registry(world)
    client = login("cadre_a")
    form = client.get("/orders/dispatch/?age=")
    assert form.status_code == 200 and form.context["total"] == 2
    batch = str(uuid.uuid4())
    data = {
        "kind": "visit_household",
        "per": "household",
        "strategy": "grid",
        "due_hours": "24",
        "priority": "3",
        "title": "入户排查",
        "batch": batch,
    }
    response = client.post("/orders/dispatch/", data)
    assert response.status_code == 302
    again = client.post("/orders/dispatch/", data)
    assert again.status_code == 302
    orders = WorkOrder.objects.order_by("jurisdiction__path")
    assert [o.jurisdiction.code for o in orders] == [
        world.nodes["A1M1"].code,
        world.nodes["A2"].code,
    ]
    assert orders[0].assignee == world.users["gw_a1"] and orders[1].assignee is None
    assert login("gw_a1").post("/orders/dispatch/", data).status_code == 403


# API --------------------------------------------------------------------------------


def test_api_mine_result_history_and_bulk(world, login):
    ensure_orders(world)
    gw = login("gw_a1")
    mine = gw.get("/api/v1/orders/mine").json()
    assert [o["id"] for o in mine["orders"]] == [world.orders["A1M1"].pk]
    order_id = world.orders["A1M1"].pk
    body = {"client_id": str(uuid.uuid4()), "result": {"outcome": "not_in_town", "where": "长沙"}}
    first = gw.post(f"/api/v1/orders/{order_id}/result", body, content_type="application/json")
    again = gw.post(f"/api/v1/orders/{order_id}/result", body, content_type="application/json")
    assert first.json()["created"] is True and again.json()["created"] is False
    assert again.json()["order"]["status"] == "done"
    history = gw.get(f"/api/v1/orders/{order_id}/history").json()
    assert [e["action"] for e in history] == ["created", "done"]
    other = login("gw_b1").post(
        f"/api/v1/orders/{order_id}/result", body, content_type="application/json"
    )
    assert other.status_code == 404
    cadre = login("cadre_a")
    person = world.persons["A2"].pk
    bulk = {
        "kind": "deliver_supplies",
        "subjects": [{"type": "person", "id": person}],
        "batch": str(uuid.uuid4()),
    }
    made = cadre.post("/api/v1/orders/bulk", bulk, content_type="application/json").json()
    assert made["created"] == 1 and made["unassigned"] == 1
    outside = {
        "kind": "deliver_supplies",
        "subjects": [{"type": "person", "id": world.persons["B1"].pk}],
    }
    assert (
        cadre.post("/api/v1/orders/bulk", outside, content_type="application/json").status_code
        == 404
    )
    assert gw.post("/api/v1/orders/bulk", bulk, content_type="application/json").status_code == 403


def test_selectors_scope_orders_by_grid(world):
    ensure_orders(world)
    now = timezone.now()
    seen = set(selectors.order_list(world.users["gw_a1"], selectors.OrderFilters(), now))
    assert seen == {world.orders["A1M1"]}
    assert set(selectors.order_list(world.users["cadre_a"], selectors.OrderFilters(), now)) == {
        world.orders["A1M1"],
        world.orders["A2"],
    }


# Escalation rules page --------------------------------------------------------------


def _rules_post(rows, delete=()):
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": "3",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "6",
    }
    for i, (hours, role) in enumerate(rows):
        data[f"form-{i}-hours_overdue"] = hours
        data[f"form-{i}-notify_role"] = role
        if i in delete:
            data[f"form-{i}-DELETE"] = "on"
    return data


def test_the_county_changes_the_escalation_delays_and_escalation_follows(world, login):
    from fangkong.workorders.models import EscalationRule

    # The delays serve every town: the county's command post keeps them.
    client = login("county")
    page = client.get("/orders/escalation/")
    assert page.status_code == 200
    assert page.content.decode().count('name="form-') > 6  # three rules and an empty row
    response = client.post(
        "/orders/escalation/",
        _rules_post(
            [("1", "grid_leader"), ("2", "village_cadre"), ("12", "town_commander"), ("", "")],
            delete=(2,),
        ),
    )
    assert response.status_code == 302
    assert list(EscalationRule.objects.values_list("level", "hours_overdue", "notify_role")) == [
        (1, Decimal(1), "grid_leader"),
        (2, Decimal(2), "village_cadre"),
    ]
    assert (
        AuditEvent.objects.filter(object_repr="escalation rules", action=AuditAction.UPDATE).count()
        == 1
    )
    # An order 90 minutes overdue has now reached level 1 (1 h), not level 2 (2 h).
    ensure_orders(world)
    order = world.orders["A1M1"]
    WorkOrder.objects.filter(pk=order.pk).update(due_at=timezone.now() - timedelta(minutes=90))
    assert escalate_overdue() == {1: 1, 2: 0}


def test_escalation_levels_must_climb_and_a_bad_form_changes_nothing(world, login):
    from fangkong.workorders.models import EscalationRule

    before = list(EscalationRule.objects.values_list("level", "hours_overdue", "notify_role"))
    client = login("county")
    client.cookies["django_language"] = "en"
    response = client.post(
        "/orders/escalation/",
        _rules_post([("4", "grid_leader"), ("4", "village_cadre"), ("x", "town_commander")]),
    )
    assert response.status_code == 400
    assert "Enter a number" in response.content.decode()
    response = client.post(
        "/orders/escalation/", _rules_post([("4", "grid_leader"), ("2", "village_cadre")])
    )
    assert "must wait longer" in response.content.decode()
    response = client.post("/orders/escalation/", _rules_post([("4", "grid_leader")], delete=(0,)))
    assert "at least one" in response.content.decode()
    assert (
        list(EscalationRule.objects.values_list("level", "hours_overdue", "notify_role")) == before
    )
    # A village cadre runs the village's work, not the town's rules.
    assert login("cadre_a").get("/orders/escalation/").status_code == 403
