"""Real browser, on a phone: what the field trial found on the grid worker's pages
(issue 13). The call opens the dialer under the CSP, late work is on top of 我的任务,
a result refreshes the history in place, the menu counts unread notices, and the
registry's filters are labelled.

Debian's chromium driven by Playwright against Django's live server, as in
test_browser.py; skipped the same way when chromium is missing.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import pytest

from fangkong.audit.models import AuditAction, AuditEvent
from tests.browser_support import poll, require_browser
from tests.world import PASSWORD, build_world, ensure_orders, ensure_registry

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# while a loop is running unless told it is safe, which it is here (one thread, tests).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

pytestmark = pytest.mark.browser


@pytest.fixture
def site(transactional_db, live_server):
    return build_world(), live_server.url


def _phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    # A CSP violation is a console error: none may happen.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, errors


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _calls() -> int:
    return AuditEvent.objects.filter(action=AuditAction.VIEW_PII, detail__via="call").count()


def test_a_tap_on_call_opens_the_dialer_once_and_is_audited_once(browser, site):
    world, base = site
    ensure_orders(world)
    order, number = world.orders["A1M1"], world.persons["A1M1"].phone
    context, page, errors = _phone(browser)
    dialled: list[str] = []
    # Headless chromium has no dialer: the tel: navigation shows as a request that fails.
    page.on("request", lambda r: dialled.append(r.url) if r.url.startswith("tel:") else None)
    sign_in(page, base, "gw_hongxing")
    page.goto(f"{base}/tasks/{order.pk}/")
    assert number not in page.content()
    page.click("#fk-call")
    poll(page, lambda: bool(dialled))
    assert dialled == [f"tel:{number}"]
    assert _calls() == 1
    # Once dialled, the number leaves the page and the button is back: the next call is
    # a new tap, recorded again.
    expect(page.locator("#fk-call")).to_be_visible()
    expect(page.locator("#fk-call-link")).to_have_count(0)
    assert number not in page.content()
    assert _calls() == 1 and len(dialled) == 1
    # Headless chromium takes no more input on a page after handing it to a dialer that
    # is not there; the worker comes back to the task on a new page and calls again.
    again = context.new_page()
    again.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    again.on("request", lambda r: dialled.append(r.url) if r.url.startswith("tel:") else None)
    again.goto(f"{base}/tasks/{order.pk}/")
    again.click("#fk-call")
    poll(again, lambda: len(dialled) == 2)
    assert _calls() == 2
    assert not errors, errors
    context.close()


def _busy_day(world) -> list[Any]:
    """85 tasks for the grid worker of 红星网格: 2 late, some due later today, the rest
    on the days after."""
    from django.utils import timezone

    from fangkong.workorders.dispatch import Strategy
    from fangkong.workorders.models import WorkOrder
    from fangkong.workorders.services import Subject, orders_create, tally_rebuild

    now = timezone.now()
    end_of_day = timezone.make_aware(datetime.combine(timezone.localdate(now), clock(23, 59)))
    orders = orders_create(
        kind="visit_household",
        subjects=[Subject(world.nodes["A1"], f"红星{i + 1}号户") for i in range(85)],
        actor=None,
        strategy=Strategy.PERSON,
        person=world.users["gw_a1"],
        due_at=now + timedelta(days=3),
    )
    for i, order in enumerate(orders):
        if i < 2:
            due = now - timedelta(hours=3 - i)
        elif i < 8:
            due = min(now + timedelta(minutes=10 + i), end_of_day)
        else:
            due = now + timedelta(days=1 + i % 5, minutes=i)
        WorkOrder.objects.filter(pk=order.pk).update(due_at=due)
    tally_rebuild()
    return orders


def test_the_late_tasks_are_the_first_thing_on_my_tasks(browser, site):
    world, base = site
    orders = _busy_day(world)
    context, page, errors = _phone(browser)
    sign_in(page, base, "gw_hongxing")
    page.click("#fk-home-tasks")
    page.wait_for_url(f"{base}/tasks/")
    # The late ones head the list, on screen without scrolling or a tab to find.
    first = page.locator("#fk-task-list .fk-task").first
    assert orders[0].subject_label in first.inner_text()
    assert first.bounding_box()["y"] < 844
    expect(page.locator("#fk-group-overdue")).to_be_in_viewport()
    groups = page.locator("#fk-task-list h2").evaluate_all("hs => hs.map(h => h.id)")
    assert groups == ["fk-group-overdue", "fk-group-today", "fk-group-later"]
    assert page.locator("#fk-task-list .fk-task").count() == 20
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid-worker-my-tasks-390.png"))
    # The next page holds later work, and a line back to the late ones.
    page.click("text=下一页")
    expect(page.locator("#fk-overdue-note")).to_be_visible()
    assert page.locator("#fk-group-overdue").count() == 0
    page.click("#fk-overdue-note")
    expect(page.locator("#fk-group-overdue")).to_be_visible()
    assert not errors, errors
    context.close()


def test_a_result_shows_in_the_history_without_a_reload(browser, site):
    world, base = site
    ensure_orders(world)
    order = world.orders["A1M1"]
    context, page, errors = _phone(browser)
    sign_in(page, base, "gw_hongxing")
    page.goto(f"{base}/tasks/{order.pk}/")
    expect(page.locator("#fk-history li")).to_have_count(1)  # created
    page.evaluate("window.fkSamePage = 1")  # gone if the page reloads
    page.select_option("#fk-r_outcome", "found")
    page.click("#fk-submit")
    expect(page.locator("#fk-done")).to_be_visible()
    expect(page.locator("#fk-history li")).to_have_count(2)
    assert page.evaluate("window.fkSamePage") == 1
    assert not errors, errors
    context.close()


def test_the_menu_shows_the_unread_count_until_the_inbox_is_read(browser, site):
    from fangkong.notify.services import notice_send

    world, base = site
    cadre = world.users["cadre_a"]
    notice_send(user_ids=[cadre.pk], title="19 件工单逾期未办（第2级提醒）", key="esc:2")
    notice_send(user_ids=[cadre.pk], title="今日日报请于17:00前报送", key="rep:1")
    context, page, errors = _phone(browser)
    sign_in(page, base, "sx_cadre")
    # Folded menu on a phone: the count is beside its button, and leads to the inbox.
    badge = page.locator("#fk-unread-phone")
    expect(badge).to_be_visible()
    expect(badge).to_contain_text("2")
    page.click("button.navbar-toggler")
    expect(page.locator("#fk-nav-inbox .fk-unread")).to_contain_text("2")
    # Today's duties are on the home page too, each a link to do it.
    expect(page.locator(f"#fk-duty-report-{world.nodes['A'].code}")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cadre-home-390.png"))
    badge.click()
    page.wait_for_url(f"{base}/inbox/")
    assert "19 件工单逾期未办" in page.inner_text("main")
    page.goto(f"{base}/")
    expect(page.locator(".fk-unread")).to_have_count(0)
    assert not errors, errors
    context.close()


def test_every_registry_filter_is_labelled_on_a_phone(browser, site):
    world, base = site
    ensure_registry(world)
    context, page, errors = _phone(browser)
    sign_in(page, base, "sx_cadre")
    page.goto(f"{base}/people/")
    boxes = page.locator("#fk-person-filters input.form-control, #fk-person-filters select")
    assert boxes.count() == 7
    # Each box is named by a visible label (what a screen reader says too).
    names = boxes.evaluate_all(
        "els => els.map(e => e.labels.length && e.labels[0].offsetParent !== null"
        " ? e.labels[0].innerText.trim() : '')"
    )
    assert all(names) and len(set(names)) == 7, names
    assert "年龄" in names and "人群" in names
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not errors, errors
    context.close()
