"""A checkpoint crew on a 390 x 844 phone: logs 20 cars (the time per car is printed),
loses the network for 10 more (kept on the phone, the count of what waits shown), gets
it back, and each car is recorded once, a resend included; a risk-area arrival logged at
the post is on the destination grid worker's task list; the outgoing shift leaves a
hand-over that the incoming one acknowledges before checking in. Skipped without
chromium, unless FANGKONG_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from typing import Any

import pytest

from tests.browser_support import require_browser, small_targets
from tests.checkpoints_support import Checkpoint, build_checkpoint
from tests.world import World, build_world
from tests.zones_support import reseed

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

from tests.test_browser import ARTIFACTS, sign_in  # noqa: E402

pytestmark = pytest.mark.browser
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "locale": "zh-CN",
    "is_mobile": True,
    "has_touch": True,
}
# The common case's budget (issue 19): a car in at most 10 s and 5 taps.
CAR_SECONDS, CAR_TAPS = 10.0, 5


@pytest.fixture
def post_site(transactional_db, live_server) -> tuple[World, Checkpoint, str]:
    reseed()
    world = build_world()
    return world, build_checkpoint(world), live_server.url


def _say(line: str) -> None:
    """The time per car, in the test's output (pytest -s shows it; -rP after a pass)."""
    sys.stdout.write(line + "\n")


def _phone(browser: Any, base: str, username: str) -> tuple[Any, Any]:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, base, username)
    return context, page


def _log_car(page: Any, plate: str, logged: int) -> tuple[float, int]:
    """One car the common way: tap the plate field, type, tap 放行. (seconds, taps)"""
    started = time.perf_counter()
    taps = 0
    page.locator("#fk-plate").tap()
    taps += 1
    page.locator("#fk-plate").fill(plate)
    page.locator("#fk-pass").tap()
    taps += 1
    expect(page.locator("#fk-logged")).to_have_text(str(logged))
    return time.perf_counter() - started, taps


def test_a_crew_logs_cars_online_and_offline_each_recorded_once(browser, post_site):
    from fangkong.checkpoints.models import Entry

    _world, cp, base = post_site
    context, page = _phone(browser, base, cp.crew[0].user.username)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/checkpoints/{cp.post.pk}/log/")
    assert page.locator("#fk-plate").input_value() == "浙"  # the town's province
    # The service worker keeps the page: it opens again on the road with no signal.
    page.wait_for_selector("html[data-fk-kept]", state="attached", timeout=15_000)
    assert small_targets(page) == [], small_targets(page)
    plates = [f"浙F1{n:04d}" for n in range(30)]
    times = []
    for n, plate in enumerate(plates[:20], start=1):
        seconds, taps = _log_car(page, plate, n)
        times.append(seconds)
        _say(f"car {n:2d} {plate}: {seconds * 1000:.0f} ms, {taps} taps")
        assert seconds <= CAR_SECONDS and taps <= CAR_TAPS
    expect(page.locator("#fk-pending")).to_have_text("0")
    assert Entry.objects.count() == 20
    _say(f"online: {len(times)} cars, mean {sum(times) / len(times) * 1000:.0f} ms a car")

    # No signal on the rural road: 10 more are kept on the phone, the count shows them.
    context.set_offline(True)
    for n, plate in enumerate(plates[20:], start=21):
        seconds, _taps = _log_car(page, plate, n)
        _say(f"car {n:2d} {plate} (offline): {seconds * 1000:.0f} ms")
    expect(page.locator("#fk-pending")).to_have_text("10")
    expect(page.locator("#fk-offline")).to_be_visible()
    assert Entry.objects.count() == 20
    waiting = page.evaluate(
        f"() => JSON.parse(localStorage.getItem('fk-checkpoint-{cp.post.pk}:pending'))"
    )
    assert len(waiting) == 10 and len({w["client_id"] for w in waiting}) == 10
    # The browser is closed and opened again, still with no signal: the kept page opens
    # with its queue.
    page.reload()
    expect(page.locator("#fk-pending")).to_have_text("10")
    assert page.locator("#fk-plate").input_value() == "浙"
    # The network returns: the queue sends by itself.
    context.set_offline(False)
    expect(page.locator("#fk-pending")).to_have_text("0", timeout=20_000)
    assert Entry.objects.count() == 30
    assert sorted(Entry.objects.values_list("plate", flat=True)) == sorted(plates)
    # The same batch again (an answer lost on the way back) records nothing twice.
    answers = page.evaluate(
        """([url, records]) => fetch(url, {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/json',
                        'X-CSRFToken': document.getElementById('fk-checkpoint').dataset.csrf},
              body: JSON.stringify({records})}).then(r => r.json())""",
        [f"/api/v1/checkpoints/posts/{cp.post.pk}/entries", waiting],
    )
    assert {a["status"] for a in answers["answers"]} == {"already"}
    assert Entry.objects.count() == 30
    assert set(Entry.objects.values_list("recorded_by", flat=True)) == {cp.crew[0].user.pk}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "checkpoint-log.png"), full_page=True)
    assert errors == [], errors
    context.close()


def test_a_risk_area_arrival_reaches_the_grid_workers_tasks(browser, post_site):
    from fangkong.checkpoints.models import Entry
    from fangkong.screening.models import ReturneeReport

    world, cp, base = post_site
    context, page = _phone(browser, base, cp.crew[0].user.username)
    page.goto(f"{base}/checkpoints/{cp.post.pk}/log/")
    page.locator("#fk-plate").fill("沪A12345")
    page.locator("label[for=fk-n2]").tap()
    page.locator("#fk-arrival-box summary").tap()
    page.select_option("#fk-origin", "310115005")
    page.fill("#fk-name", "陆返乡")
    page.fill("#fk-idno", "110101199003074477")
    page.fill("#fk-phone", "13912345678")
    page.select_option("#fk-dest", world.nodes["A1"].code)
    page.fill("#fk-addr", "红星路1号")
    page.locator("#fk-register").tap()
    expect(page.locator("#fk-pending")).to_have_text("0")
    report = ReturneeReport.objects.get()
    expect(page.locator("#fk-note")).to_contain_text(report.code)
    entry = Entry.objects.get()
    assert (entry.plate, entry.occupants, entry.report_id) == ("沪A12345", 2, report.pk)
    context.close()

    worker, wpage = _phone(browser, base, world.users["gw_a1"].username)
    wpage.goto(f"{base}/tasks/")
    expect(wpage.locator(f'a[href="/tasks/{report.order_id}/"]')).to_have_count(1)
    worker.close()


def test_the_incoming_shift_acknowledges_the_hand_over(browser, post_site):
    from django.utils import timezone

    from fangkong.checkpoints import rosters
    from fangkong.checkpoints.models import CrewMember, Shift

    world, cp, base = post_site
    begin = timezone.localtime().replace(minute=0, second=0, microsecond=0) - timedelta(hours=7)
    second_begin = begin + timedelta(hours=8)
    (first,) = rosters.shifts_plan(
        actor=world.users["commander"],
        post=cp.post,
        day=begin.date(),
        starts=[begin.time()],
        hours=8,
        crews=[[cp.crew[0]]],
    )
    (second,) = rosters.shifts_plan(
        actor=world.users["commander"],
        post=cp.post,
        day=second_begin.date(),
        starts=[second_begin.time()],
        hours=8,
        crews=[[cp.crew[1]]],
    )
    rosters.check_in(actor=cp.crew[0].user, shift=first, now=first.starts_at)

    out, page = _phone(browser, base, cp.crew[0].user.username)
    page.goto(f"{base}/checkpoints/shifts/{first.pk}/")
    page.fill("#fk-handover textarea", "一辆劝返车可能绕行；夜里风大，帐篷加固")
    page.locator("#fk-handover button[type=submit]").tap()
    expect(page.locator(".alert-success")).to_be_visible()
    out.close()

    incoming, ipage = _phone(browser, base, cp.crew[1].user.username)
    ipage.goto(f"{base}/checkpoints/{cp.post.pk}/log/")
    expect(ipage.locator("#fk-must-ack")).to_be_visible()
    ipage.locator("#fk-must-ack a").tap()
    expect(ipage.locator("#fk-handover-in")).to_contain_text("帐篷加固")
    assert small_targets(ipage) == [], small_targets(ipage)
    ipage.locator("#fk-ack").tap()
    expect(ipage.locator("#fk-acknowledged")).to_be_visible()
    ipage.locator("#fk-checkin").tap()
    expect(ipage.locator("#fk-crew")).to_contain_text("卡口乙")
    shift = Shift.objects.get(pk=second.pk)
    assert shift.acknowledged_by == cp.crew[1].user
    assert CrewMember.objects.get(shift=shift).checked_in_at is not None
    ipage.goto(f"{base}/checkpoints/{cp.post.pk}/log/")
    expect(ipage.locator("#fk-must-ack")).to_have_count(0)
    incoming.close()
