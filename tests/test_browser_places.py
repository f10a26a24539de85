"""Place codes and patrols on a 390 x 844 phone. A visitor scans a shop's code without
an account: name and mobile once, kept on the phone, and the next place's scan goes
through at once sending the phone's token only; the manager's page counts today's
scans. A patrol member scans the code, inspects the shop, a failed item becomes a
rectification order in their tasks, and its result is the re-inspection. Skipped
without chromium, unless FANGKONG_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser_support import require_browser, small_targets
from tests.world import World, build_world

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


def _reseed() -> None:
    from importlib import import_module

    from django.apps import apps

    from tests.zones_support import reseed

    reseed()
    import_module("fangkong.places.migrations.0002_categories_checklist_gathering_rules").seed(
        apps, None
    )


@pytest.fixture
def shops(transactional_db, live_server) -> tuple[World, Any, Any, str]:
    from tests.places_support import place_of

    _reseed()
    world = build_world()
    shop = place_of(world, "四喜便利店", "shop")
    pharmacy = place_of(world, "四喜药房", "pharmacy")
    return world, shop, pharmacy, live_server.url


def test_a_visitor_scans_a_place_code_without_an_account(browser, shops):
    from fangkong.places.models import Scan, Visitor

    world, shop, pharmacy, base = shops
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" else None)
    page.goto(f"{base}/s/{shop.code}/")
    expect(page.locator("h1")).to_contain_text("四喜便利店")
    assert small_targets(page) == [], small_targets(page)
    page.fill("input[name=name]", "陈小明")
    page.fill("input[name=phone]", "13911112222")
    page.locator("#fk-scan-submit").tap()
    ok = page.locator("#fk-scan-ok")
    expect(ok).to_contain_text("陈小明")
    expect(ok).to_contain_text("139****2222")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "places-scan.png"), full_page=True)
    # The next place: the phone knows the visitor and sends its token alone.
    sent.clear()
    page.goto(f"{base}/s/{pharmacy.code}/")
    expect(page.locator("#fk-scan-ok")).to_contain_text("陈小明")
    assert len(sent) == 1 and "token=" in sent[0], sent
    # Neither the mobile nor the name (陈, percent-encoded) goes out again.
    assert "13911112222" not in sent[0] and "%E9%99%88" not in sent[0].upper()
    assert Scan.objects.filter(place=shop).count() == 1
    assert Scan.objects.filter(place=pharmacy).count() == 1
    assert Visitor.objects.count() == 1
    assert errors == [], errors
    context.close()
    # The village's page counts the shop's scans of the day.
    staff = browser.new_context(**PHONE)
    page = staff.new_page()
    sign_in(page, base, world.users["cadre_a"].username)
    page.goto(f"{base}/places/p/{shop.pk}/")
    expect(page.locator("#fk-scans-today")).to_have_text("1")
    staff.close()


def test_a_patrol_finding_leads_to_a_rectification_order_and_a_reinspection(browser, shops):
    from fangkong.places.models import Finding, FindingStatus, Penalty
    from tests.places_support import patrol_user

    world, shop, _pharmacy, base = shops
    patrol = patrol_user(world)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, patrol.username)
    # The inspector scans the code posted at the shop: the public page offers the
    # inspection (the code in its address proves presence).
    page.goto(f"{base}/s/{shop.code}/")
    page.get_by_role("link", name="检查此场所").tap()
    expect(page.locator("h1")).to_contain_text("四喜便利店")
    assert small_targets(page) == [], small_targets(page)
    page.locator("input[name=item_scanning_enforced][value=fail]").check()
    page.fill("input[name=note_scanning_enforced]", "顾客未扫码直接进入")
    page.locator("#fk-inspect-submit").tap()
    expect(page.locator("#fk-findings")).to_contain_text("顾客未扫码直接进入")
    finding = Finding.objects.get()
    assert finding.order_id is not None
    # The rectification order is in the inspector's tasks; its result is the re-inspection.
    page.goto(f"{base}/tasks/")
    expect(page.locator(f"a[href='/tasks/{finding.order_id}/']").first).to_be_visible()
    page.goto(f"{base}/tasks/{finding.order_id}/")
    page.screenshot(path=str(ARTIFACTS / "places-task.png"), full_page=True)
    page.select_option("#fk-r_penalty", "warning")
    page.fill("#fk-r_note", "已整改，张贴场所码并安排专人查验")
    page.locator("#fk-r_rectified").check()
    page.locator("#fk-submit").tap()
    expect(page.locator("#fk-done")).to_be_visible()
    finding.refresh_from_db()
    assert finding.status == FindingStatus.RECTIFIED and finding.reinspection is not None
    assert Penalty.objects.get(finding=finding).kind == "warning"
    page.goto(f"{base}/places/p/{shop.pk}/")
    expect(page.locator("#fk-findings")).to_contain_text("已整改")
    expect(page.locator("#fk-inspections")).to_contain_text("复查")
    page.screenshot(path=str(ARTIFACTS / "places-reinspected.png"), full_page=True)
    assert errors == [], errors
    context.close()
