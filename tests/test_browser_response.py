"""On a 390 x 844 phone: a member of the tracing group called by the activation of the
golden-24-hours plan taps "I'm here" (tap targets at least 44 px, tapped twice: one
arrival); the commander's live timeline shows the arrival on time and the steps
running, and a tap marks the first step done. Skipped without chromium, unless
FANGKONG_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser_support import low_contrast, require_browser, small_targets
from tests.world import PASSWORD, World, build_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

from tests.test_browser import ARTIFACTS  # noqa: E402

pytestmark = pytest.mark.browser
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "locale": "zh-CN",
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture
def activated(transactional_db, live_server) -> tuple[World, Any, str]:
    from importlib import import_module

    from django.apps import apps

    from fangkong.org.models import StaffKind, TeamKind
    from fangkong.org.services import staff_create, team_create
    from fangkong.response.models import Plan
    from fangkong.response.services import activate, plan_copy

    # A flushed database (an earlier transactional test) lost the shipped plan and levels.
    if not Plan.objects.filter(code="golden-24h", jurisdiction__isnull=True).exists():
        import_module("fangkong.response.migrations.0002_golden_24_hours_plan_and_levels").load(
            apps, None
        )
    world = build_world()
    node = world.nodes["T"]
    lead = staff_create(
        username="lt_phone",
        name="钱流调",
        kind=StaffKind.TOWN_CADRE,
        jurisdiction=node,
        password=PASSWORD,
    ).user
    team_create(
        name="流调溯源组", kind=TeamKind.WORK_GROUP, jurisdiction=node, members=[(lead, "")]
    )
    commander = world.users["commander"]
    plan, _ = plan_copy(
        actor=commander,
        plan=Plan.objects.get(code="golden-24h", jurisdiction__isnull=True),
        node=node,
    )
    act = activate(
        actor=commander, plan=plan, node=node, event="两名核酸检测异常人员到过太子农庄吃饭"
    )
    return world, act, live_server.url


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_im_here_without_a_connection_is_recorded_at_the_tap(browser, activated):
    """At the assembly point there is no signal: the tap is kept on the phone with its
    time (the page opens again offline), and sent when the connection returns; the
    arrival is the tap's time, not the sending's, and recorded once."""
    import time

    from django.utils import timezone

    from fangkong.response.models import Callout

    _world, act, base = activated
    context = browser.new_context(**PHONE)
    page = context.new_page()
    _sign_in(page, base, "lt_phone")
    page.goto(f"{base}/response/here/")
    page.wait_for_selector("html[data-fk-kept]")
    context.set_offline(True)
    page.reload()  # the service worker keeps the page
    page.locator(".fk-here").tap()
    tapped = timezone.now()
    expect(page.locator(".fk-kept")).to_be_visible()
    expect(page.locator("#fk-pending")).to_have_text("1")
    time.sleep(2)
    page.reload()  # still kept, still waiting
    expect(page.locator(".fk-kept")).to_be_visible()
    assert Callout.objects.get(activation=act, user__username="lt_phone").arrived_at is None
    context.set_offline(False)
    sent = timezone.now()
    # Back online, the queue sends by itself (the browser's "online" event, else its
    # 15-second timer): nobody has to remember to tap "send".
    expect(page.locator(".fk-arrived")).to_be_visible(timeout=20_000)
    expect(page.locator("#fk-here-queue")).to_be_hidden()
    arrived = Callout.objects.get(activation=act, user__username="lt_phone").arrived_at
    assert arrived is not None and abs((arrived - tapped).total_seconds()) < 1.5
    assert arrived < sent
    page.reload()
    assert page.locator(".fk-here").count() == 0
    context.close()


def test_im_here_on_a_phone_and_the_commanders_timeline(browser, activated):
    from fangkong.response.models import Callout

    world, act, base = activated
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, base, "lt_phone")
    page.goto(f"{base}/response/here/")
    assert small_targets(page) == [], small_targets(page)
    button = page.locator(".fk-here")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44
    button.tap()
    expect(page.locator(".fk-arrived")).to_be_visible()
    arrived = Callout.objects.get(activation=act, user__username="lt_phone").arrived_at
    assert arrived is not None
    page.reload()  # nothing left to tap; the time stays the first one
    assert page.locator(".fk-here").count() == 0
    assert Callout.objects.get(activation=act, user__username="lt_phone").arrived_at == arrived
    assert low_contrast(page) == [], low_contrast(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "response-here.png"), full_page=True)
    context.close()

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, base, world.users["commander"].username)
    page.goto(f"{base}/response/activations/{act.pk}/")
    expect(page.locator("#fk-arrivals")).to_contain_text("钱*调")
    expect(page.locator("#fk-arrivals")).to_contain_text("按时")
    assert page.locator("#fk-steps tr.fk-step-running").count() == 12
    done = page.locator("#fk-steps tr.fk-step-running button").first
    # Scrolled to the middle of the screen as a thumb would, clear of the sticky menu bar.
    done.evaluate("el => el.scrollIntoView({block: 'center'})")
    done.tap()
    expect(page.locator("#fk-steps tr.fk-step-done")).to_have_count(1)
    assert small_targets(page) == [], small_targets(page)
    assert low_contrast(page) == [], low_contrast(page)
    page.screenshot(path=str(ARTIFACTS / "response-timeline.png"), full_page=True)
    assert errors == [], errors
    context.close()
