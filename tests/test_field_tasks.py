"""The grid worker's pages after the field trial (issue 13), without a browser: the call
hands the number over in its answer and audits that, the task list puts late work first
and pages the rest, a result brings the history along, the registry's filters say what
they are, the menu counts unread notices, and the home page lists each role's duties."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.notify.services import notice_send
from fangkong.reports.services import report_submit
from fangkong.workorders import services
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import Status, WorkOrder
from fangkong.workorders.services import Subject, orders_create
from tests.world import ensure_orders, ensure_registry

pytestmark = pytest.mark.django_db


def _calls() -> int:
    return AuditEvent.objects.filter(action=AuditAction.VIEW_PII, detail__via="call").count()


# The call -------------------------------------------------------------------------------


def test_a_call_answers_with_the_number_to_dial_and_audits_that_answer(world, login):
    ensure_orders(world)
    order, phone = world.orders["A1M1"], world.persons["A1M1"].phone
    client = login("gw_a1")
    assert phone not in client.get(f"/tasks/{order.pk}/").content.decode()
    # Through htmx: the call box alone, with the link tasks.js follows.
    tap = client.post(f"/tasks/{order.pk}/call/", headers={"HX-Request": "true"})
    html = tap.content.decode()
    assert tap.status_code == 200 and "<html" not in html
    assert f'href="tel:{phone}"' in html and "data-dial" in html
    assert html.count(phone) == 1  # the link only: no other trace of it
    assert _calls() == 1
    # Without script: the whole page, with the link to tap; each answer is one record.
    page = client.post(f"/tasks/{order.pk}/call/")
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert f'href="tel:{phone}"' in page.content.decode()
    assert _calls() == 2
    event = AuditEvent.objects.filter(action=AuditAction.VIEW_PII).first()
    assert event is not None and str(order.pk) in event.purpose
    assert phone not in str(event.detail) and phone not in event.object_repr


def test_a_refused_call_hands_nothing_over_and_records_nothing(world, login):
    ensure_orders(world)
    order = world.orders["A1M1"]
    # Someone else's order (outside their grid): the same 404 as a missing one.
    assert login("gw_b1").post(f"/tasks/{order.pk}/call/").status_code == 404
    # Another town's commander: nothing either.
    assert login("commander_u").post(f"/tasks/{order.pk}/call/").status_code == 404
    # Done: nobody calls about it any more.
    services.order_complete(
        order_id=order.pk,
        actor=world.users["gw_a1"],
        result={"outcome": "found"},
        client_id=uuid.uuid4(),
    )
    assert login("gw_a1").post(f"/tasks/{order.pk}/call/").status_code == 404
    assert _calls() == 0


# 我的任务 -------------------------------------------------------------------------------


def _busy_day(world, now: datetime) -> list[WorkOrder]:
    """85 tasks for the grid worker of 红星网格: 2 late, 6 due later today, the rest on
    the days after (the field trial's list)."""
    node, worker = world.nodes["A1"], world.users["gw_a1"]
    orders = orders_create(
        kind="visit_household",
        subjects=[Subject(node, f"红星{i + 1}号户") for i in range(85)],
        actor=None,
        strategy=Strategy.PERSON,
        person=worker,
        due_at=now + timedelta(days=3),
        now=now,
    )
    end_of_day = timezone.make_aware(datetime.combine(timezone.localdate(now), time(23, 59)))
    for i, order in enumerate(orders):
        if i < 2:
            due = now - timedelta(hours=2 + i)
        elif i < 8:
            due = min(now + timedelta(minutes=i), end_of_day)
        else:
            due = now + timedelta(days=1 + i % 5, minutes=i)
        WorkOrder.objects.filter(pk=order.pk).update(due_at=due)
    services.tally_rebuild()
    return orders


def _names(html: str) -> list[str]:
    return re.findall(r"<strong>(红星\d+号户)</strong>", html)


def test_late_work_comes_first_then_today_then_the_rest_a_page_at_a_time(world, login):
    now = timezone.now()
    orders = _busy_day(world, now)
    late = [o.subject_label for o in orders[:2]][::-1]  # the one due earliest first
    client = login("gw_a1")
    client.get("/tasks/")  # warm the session and content types
    with CaptureQueriesContext(connection) as queries:
        first = client.get("/tasks/")
    # Session, user, grants, counts, the page's rows and the menu's unread count.
    assert len(queries) <= 7, [q["sql"] for q in queries.captured_queries]
    assert len(first.content) < 50_000
    html = first.content.decode()
    names = _names(html)
    assert len(names) == 20
    assert names[:2] == late
    groups = re.findall(r'id="fk-group-(\w+)"', html)
    assert groups == ["overdue", "today", "later"]
    counts = first.context["counts"]
    assert (counts["overdue"], counts["open"], counts["done"]) == (2, 85, 0)
    assert counts["today"] + counts["later"] == 83
    # The rest in pages of 20, every task exactly once; later pages point back to the
    # late ones at the top of the first.
    seen = list(names)
    for number in range(2, 6):
        page = client.get(f"/tasks/?page={number}").content.decode()
        assert 'id="fk-overdue-note"' in page and 'id="fk-group-overdue"' not in page
        seen += _names(page)
    assert sorted(seen) == sorted(o.subject_label for o in orders)
    # An old link to the overdue tab (an escalation notice, a bookmark) still shows them.
    assert _names(client.get("/tasks/?tab=overdue").content.decode())[:2] == late


# The remembered list -------------------------------------------------------------------
# 我的任务's list is rendered once per distinct content (core/memo.py): every change of
# what it shows must show at once, however it was made.


def test_the_remembered_list_shows_every_change_at_once(world, login):
    from unittest import mock

    now = timezone.now()
    orders = _busy_day(world, now)
    client, other = login("gw_a1"), login("gw_b1")
    first = client.get("/tasks/").content.decode()
    listed = re.search(r'<div id="fk-tasks">.*?</nav>|<div id="fk-tasks">.*', first, re.S)
    assert listed is not None and listed.group(0) in client.get("/tasks/").content.decode()
    # A field written behind the services' back (a bulk update bumps no version).
    soon = orders[2]
    WorkOrder.objects.filter(pk=soon.pk).update(title="带上测温枪", priority=1)
    changed = client.get("/tasks/").content.decode()
    assert "带上测温枪" in changed and "带上测温枪" not in first
    # Time passing: a task due in a few minutes turns late and moves to the top.
    with mock.patch("django.utils.timezone.now", return_value=now + timedelta(hours=1)):
        later = client.get("/tasks/").content.decode()
    top = re.search(r'data-group="overdue">(.*?)</ul>', later, re.S)
    assert top is not None and soon.subject_label in top.group(1)
    # Done: it leaves the list for the done tab.
    WorkOrder.objects.filter(pk=soon.pk).update(status=Status.DONE, done_at=now)
    assert soon.subject_label not in _names(client.get("/tasks/").content.decode())
    done = client.get("/tasks/?tab=done", headers={"HX-Request": "true"}).content.decode()
    assert soon.subject_label in done and "<html" not in done
    # Another language is another rendering; another worker sees only their own list.
    client.cookies["django_language"] = "en"
    english = client.get("/tasks/").content.decode()
    assert "Overdue" in english and "逾期" not in english
    assert not set(_names(other.get("/tasks/").content.decode())) & set(_names(first))


def test_the_menu_follows_the_permissions_and_the_language(world, login):
    from fangkong.org.models import Membership

    client = login("gw_a1")
    before = client.get("/tasks/").content.decode()
    assert 'href="/audit/' not in before
    # The same entries give the same menu; a new grant gives another one at once.
    Membership.objects.create(
        user=world.users["gw_a1"], jurisdiction=world.nodes["A1"], role="auditor"
    )
    assert 'href="/audit/' in client.get("/tasks/").content.decode()
    client.cookies["django_language"] = "en"
    assert ">My tasks</a>" in client.get("/tasks/").content.decode()


# The history ----------------------------------------------------------------------------


def test_a_result_sent_with_htmx_brings_the_new_history_along(world, login):
    ensure_orders(world)
    order = world.orders["A1M1"]
    form = {"client_id": str(uuid.uuid4()), "version": "0", "r_outcome": "found"}
    response = login("gw_a1").post(
        f"/tasks/{order.pk}/result/", form, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="fk-done"' in html
    history = re.search(r'<ul[^>]*id="fk-history"[^>]*>(.*?)</ul>', html, re.S)
    assert history is not None and 'hx-swap-oob="true"' in history.group(0)
    assert history.group(1).count("<li") == 2  # created, and now done
    # A refused result leaves the history alone.
    again = login("gw_a1").post(
        f"/tasks/{order.pk}/result/",
        {"client_id": str(uuid.uuid4()), "version": "0", "r_outcome": "found"},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 409 and "fk-history" not in again.content.decode()


# The registry's filters -----------------------------------------------------------------


def test_every_registry_filter_has_a_label_and_says_what_an_empty_box_means(world, login):
    ensure_registry(world)
    html = login("cadre_a").get("/people/").content.decode()
    form = re.search(r'<form[^>]*id="fk-person-filters".*?</form>', html, re.S)
    assert form is not None
    controls = re.findall(r'<(?:input|select)[^>]*\bid="(id_\w+)"', form.group(0))
    assert len(controls) == 7
    for control in controls:
        assert f'<label class="form-label small mb-0" for="{control}">' in form.group(0)
    for box in re.findall(r"<input[^>]*class=\"form-control\"[^>]*>", form.group(0)):
        assert re.search(r'placeholder="[^"]+"', box), box
    for select in re.findall(r"<select.*?</select>", form.group(0), re.S):
        first = re.search(r"<option[^>]*>([^<]*)</option>", select)
        assert first is not None and first.group(1).strip() not in ("", "—"), select


# The inbox's unread count ---------------------------------------------------------------


def test_the_menu_counts_unread_notices_with_one_query(world, login):
    cadre = world.users["cadre_a"]
    notice_send(user_ids=[cadre.pk], title="19 件工单逾期未办（第2级提醒）", key="e:1")
    notice_send(user_ids=[cadre.pk], title="今日日报请于17:00前报送", key="e:2")
    notice_send(user_ids=[world.users["gw_a1"].pk], title="请核查 3 人", key="e:3")
    client = login("cadre_a")
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        home = client.get("/")
    unread = [q["sql"] for q in queries.captured_queries if "notify_notice" in q["sql"]]
    assert len(unread) == 1, unread
    html = home.content.decode()
    assert re.search(r'id="fk-nav-inbox">[^<]*<span[^>]*fk-unread[^>]*>2<', html)
    assert re.search(r'id="fk-unread-phone">[^<]*2<', html)
    # Reading the inbox clears the count; the grid worker's own stays theirs.
    client.get("/inbox/")
    assert "fk-unread" not in client.get("/").content.decode()
    assert re.search(r"fk-unread[^>]*>1<", login("gw_a1").get("/").content.decode())
    # A fragment draws no menu and counts nothing.
    ensure_orders(world)
    with CaptureQueriesContext(connection) as queries:
        login("gw_a1").get("/tasks/?tab=done", headers={"HX-Request": "true"})
    assert not [q for q in queries.captured_queries if "notify_notice" in q["sql"]]


# Today's duties on the home page --------------------------------------------------------


def _at(hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(hour, minute)))


def duties_for(user, now):
    from fangkong.core.duties import duties_for  # new with issue 13

    return duties_for(user, now)


def _duties(user, now) -> dict[str, tuple[str, int | None]]:
    return {d.key: (d.level, d.count) for d in duties_for(user, now)}


def test_the_grid_worker_sees_late_and_due_tasks(world):
    now = _at(12)
    _busy_day(world, now)
    got = _duties(world.users["gw_a1"], now)
    assert got["tasks-overdue"] == ("danger", 2)
    assert got["tasks-today"] == ("warning", 6)
    # A grid worker dispatches nothing: no area line; no report to send either.
    assert "orders-overdue" not in got and not any(k.startswith("report") for k in got)
    # Another grid's worker has nothing due.
    assert _duties(world.users["gw_b1"], now) == {}


def test_the_cadre_sees_the_report_deadline_and_the_overdue_orders(world):
    ensure_orders(world)  # one order each in A1M1 (gw_a1), A2 (volunteer), B1, P1M1
    WorkOrder.objects.filter(pk__in=[world.orders["A2"].pk, world.orders["B1"].pk]).update(
        due_at=_at(9)
    )
    cadre, village = world.users["cadre_a"], world.nodes["A"]
    morning = _duties(cadre, _at(10))
    assert morning[f"report-{village.code}"] == ("warning", None)
    assert morning["orders-overdue"] == ("danger", 1)  # A2's, not 建设村's B1
    evening = _duties(cadre, _at(17, 30))
    assert evening[f"report-{village.code}"][0] == "danger"
    text = next(d.text for d in duties_for(cadre, _at(10)) if d.key.startswith("report"))
    assert "17:00" in text and village.name in text
    report_submit(actor=cadre, village=village, day=timezone.localdate(), entered={}, now=_at(16))
    assert _duties(cadre, _at(17, 30))[f"report-{village.code}"] == ("success", None)
    # Its links lead to where the work is done.
    links = {d.key: d.url for d in duties_for(cadre, _at(10))}
    assert links[f"report-{village.code}"] == f"/reports/village/{village.code}/"
    assert links["orders-overdue"] == "/orders/?overdue=1"


def test_the_commander_sees_the_villages_late_with_their_report(world):
    commander, town = world.users["commander"], world.nodes["T"]
    key = f"late-villages-{town.code}"
    assert _duties(commander, _at(10))[key] == ("info", 0)  # not due yet, none in
    assert _duties(commander, _at(17, 30))[key] == ("danger", 2)
    report_submit(
        actor=world.users["cadre_a"],
        village=world.nodes["A"],
        day=timezone.localdate(),
        entered={},
        now=_at(16),
    )
    late = next(d for d in duties_for(commander, _at(17, 30)) if d.key == key)
    assert late.count == 1 and world.nodes["B"].name in late.text
    assert world.nodes["A"].name not in late.text
    assert world.nodes["P"].name not in late.text  # 洪合镇's village is not theirs
    # The county sees every town's villages; the other town's commander only theirs.
    county = _duties(world.users["county"], _at(17, 30))
    assert county[f"late-villages-{world.nodes['C'].code}"] == ("danger", 2)
    report_submit(
        actor=commander,
        village=world.nodes["B"],
        day=timezone.localdate(),
        entered={},
        now=_at(17, 45),
    )
    assert _duties(commander, _at(18))[key] == ("success", 0)  # all in, one of them late
    other = _duties(world.users["commander_u"], _at(17, 30))
    assert other == {
        f"late-villages-{world.nodes['U'].code}": ("danger", 1),
        "orders-overdue": ("success", 0),
    }
    # Nothing overdue says so, rather than "0 work orders are overdue".
    with translation.override("en"):
        zero = next(d for d in duties_for(world.users["commander_u"], _at(17, 30)) if d.count == 0)
    assert zero.key == "orders-overdue" and zero.text == "No work order in your area is overdue"


def test_the_home_page_shows_the_duties_with_their_links(world, login):
    ensure_orders(world)
    WorkOrder.objects.filter(pk=world.orders["A1M1"].pk).update(
        due_at=timezone.now() - timedelta(minutes=5)
    )
    client = login("gw_a1")
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]
    assert re.search(r'href="/tasks/"[^>]*id="fk-duty-tasks-overdue"[^>]*data-count="1"', html)
    assert WorkOrder.objects.get(pk=world.orders["A1M1"].pk).status == Status.ASSIGNED
