"""A resident under home isolation asks for help on a 390 x 844 phone through their
personal link: a dialysis trip by the green channel, sent once however often it is
tapped; the town's medical group hears at once and a work order is open for the
village's service team. Large type, tap targets at least 44 px. Skipped without
chromium, unless FANGKONG_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser_support import require_browser, small_targets
from tests.world import World, build_world, ensure_registry
from tests.zones_support import reseed

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
def at_home(transactional_db, live_server) -> tuple[World, Any, str]:
    from django.utils import timezone

    from fangkong.control.services import order_create
    from fangkong.org.models import StaffKind
    from fangkong.org.services import staff_create

    reseed()
    world = build_world()
    ensure_registry(world)
    world.staff["doctor"] = staff_create(
        username="wd_doctor",
        name="王医生",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["T"],
        unit="王店镇卫生院",
    )
    order = order_create(
        person=world.persons["A1M1"],
        type="home_isolation",
        starts_on=timezone.localdate(),
        days=7,
        actor=world.users["commander"],
        reason="封控区居民",
    ).orders[0]
    return world, order, live_server.url


def test_a_resident_asks_for_a_dialysis_trip_on_a_phone(browser, at_home):
    from fangkong.assist.models import HelpRequest
    from fangkong.control.checks import self_check_token
    from fangkong.notify.models import Notice

    world, order, base = at_home
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    url = f"{base}/assist/r/{self_check_token(order)}/"
    page.goto(url)
    body = page.locator("body").inner_text()
    assert "沈*居" in body and "沈楼居" not in body
    assert small_targets(page) == [], small_targets(page)
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('.fk-public label, .fk-public button, .fk-public textarea')]
              .filter(el => el.offsetParent !== null)
              .map(el => parseFloat(getComputedStyle(el).fontSize))"""
    )
    assert sizes and min(sizes) >= 16, sizes
    page.get_by_label("透析").check()
    page.fill("textarea[name=detail]", "周三上午透析，需要车")
    # What the phone sends, kept to send again as a retry on a weak network would.
    sent = page.evaluate(
        "() => new URLSearchParams(new FormData(document.querySelector('#fk-ask'))).toString()"
    )
    page.locator("#fk-ask button[type=submit]").tap()
    done = page.locator("#fk-ask-done")
    expect(done).to_contain_text("透析")
    expect(done).to_contain_text("30")
    expect(page.locator("#fk-my-requests")).to_contain_text("透析")
    # The same submission again (a retry) makes no second request.
    status = page.evaluate(
        """(body) => fetch(location.href, {method: 'POST', body,
              headers: {'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => r.status)""",
        sent,
    )
    assert status == 200
    (req,) = HelpRequest.objects.all()
    assert (req.kind.code, req.channel, req.kind.green) == ("dialysis", "link", True)
    assert req.work_order is not None and req.work_order.priority == 1
    heard = Notice.objects.get(user=world.staff["doctor"].user)
    assert "透析" in heard.title and "沈楼居" not in heard.title
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "assist-ask.png"), full_page=True)
    assert errors == [], errors
    context.close()


@pytest.fixture
def sealed_town(transactional_db, live_server) -> tuple[World, str]:
    from fangkong.policy.models import Edition
    from fangkong.zones.models import Place
    from fangkong.zones.places import places_derive
    from fangkong.zones.services import zones_delineate
    from tests.zones_support import build_compound

    reseed()
    world = build_world()
    ensure_registry(world)
    build_compound(world)
    commander = world.users["commander"]
    places_derive(actor=commander, village=world.nodes["A"])
    zones_delineate(
        actor=commander,
        place=Place.objects.get(name="1栋"),
        reason="病例",
        edition=Edition.objects.get(key="nat-8"),
    )
    return world, live_server.url


def test_the_commander_reads_the_zone_map(browser, sealed_town):
    from tests.test_browser import sign_in

    world, base = sealed_town
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, world.users["commander"].username)
    page.goto(f"{base}/zones/")
    areas = page.locator("#fk-zone-map .fk-zone-area")
    expect(areas).to_have_count(2)  # 四喜社区 and 建设村
    sealed = page.locator(f'#fk-zone-map .fk-zone-area[data-code="{world.nodes["A"].code}"]')
    assert sealed.get_attribute("data-rank") == "3"
    expect(sealed).to_contain_text("四喜社区")
    expect(sealed).to_contain_text("3")
    other = page.locator(f'#fk-zone-map .fk-zone-area[data-code="{world.nodes["B"].code}"]')
    assert other.get_attribute("data-rank") == "0"
    counts = page.locator("#fk-zone-counts tbody tr")
    expect(counts).to_have_count(3)
    expect(counts.first).to_contain_text("封控区")
    # From the zone to its lift proposal: both conditions not met yet.
    page.get_by_role("link", name="1栋 封控区").click()
    expect(page.locator('#fk-lift-conditions [data-met="0"]')).to_have_count(2)
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{base}/zones/")
    page.screenshot(path=str(ARTIFACTS / "zones-map.png"), full_page=True)
    # The command dashboard draws the same map, with the residents of each zone.
    page.goto(f"{base}/reports/dashboard/?node={world.nodes['T'].code}")
    on_screen = page.locator("#fk-dash-zones #fk-zone-map .fk-zone-area")
    expect(on_screen).to_have_count(2)
    sealed_there = page.locator(
        f'#fk-dash-zones .fk-zone-area[data-code="{world.nodes["A"].code}"]'
    )
    assert sealed_there.get_attribute("data-rank") == "3"
    first = page.locator("#fk-dash-zone-counts tbody tr").first
    expect(first).to_contain_text("封控区")
    expect(first).to_contain_text("4")
    page.screenshot(path=str(ARTIFACTS / "dashboard-zones.png"), full_page=True)
    context.close()
