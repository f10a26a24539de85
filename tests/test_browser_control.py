"""Control in a real browser on a 390 x 844 phone: a grid worker's daily check of a
person under home isolation (from the list to the order, the check saved once), and a
resident's own check through the signed link sent by SMS (large type, temperature,
symptoms; a fever tells the town's medical group at once). Tap targets at least 44 px.
Skipped without chromium, unless FANGKONG_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser_support import (
    require_browser,
    small_targets,
)
from tests.world import World, build_world, ensure_registry

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


@pytest.fixture
def at_home(transactional_db, live_server) -> tuple[World, Any, str]:
    """沈楼居 of 一号楼微网格 under home isolation since today, and a doctor of 王店镇's
    medical group."""
    from django.utils import timezone

    from fangkong.control.services import order_create
    from fangkong.org.models import StaffKind
    from fangkong.org.services import staff_create

    world = build_world()
    ensure_registry(world)
    doctor = staff_create(
        username="wd_doctor",
        name="王医生",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["T"],
        unit="王店镇卫生院",
    )
    world.staff["doctor"] = doctor
    order = order_create(
        person=world.persons["A1M1"],
        type="home_isolation",
        starts_on=timezone.localdate(),
        days=7,
        test_days=[1, 4, 7],
        actor=world.users["commander"],
        reason="中风险区来返",
    ).orders[0]
    return world, order, live_server.url


def _page(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 400" not in m.text else None
        ),
    )
    return context, page, errors


def test_a_grid_worker_checks_a_person_at_home_on_a_phone(browser, at_home):
    from fangkong.control.models import HealthCheck

    world, order, base = at_home
    context, page, errors = _page(browser)
    sign_in(page, base, world.users["gw_a1"].username)
    page.goto(f"{base}/control/")
    row = page.locator(f'[data-order="{order.pk}"]')
    expect(row).to_contain_text("沈楼居")
    row.tap()
    page.wait_for_url(f"{base}/control/o/{order.pk}/")
    page.get_by_role("link", name="登记健康监测").tap()
    page.wait_for_url(f"{base}/control/o/{order.pk}/check/")
    assert small_targets(page) == [], small_targets(page)
    # An impossible temperature: told on the form, nothing saved.
    page.fill("input[name=temperature]", "63")
    page.locator("#fk-staff-check button[type=submit]").tap()
    expect(page.locator("#fk-staff-check")).to_contain_text("34")
    assert not HealthCheck.objects.exists()
    page.fill("input[name=temperature]", "36.6")
    page.locator("#fk-staff-check button[type=submit]").tap()
    page.wait_for_url(f"{base}/control/o/{order.pk}/")
    expect(page.locator("#fk-checks")).to_contain_text("36.6")
    (check,) = HealthCheck.objects.all()
    assert check.recorded_by == world.users["gw_a1"] and not check.by_self and not check.alarm
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "control-grid-worker-check.png"), full_page=True)
    assert errors == [], errors
    context.close()


def test_a_resident_checks_themself_through_the_link_and_a_fever_is_heard(browser, at_home):
    from fangkong.control.checks import self_check_token
    from fangkong.control.kinds import FEVER_KIND
    from fangkong.control.models import HealthCheck
    from fangkong.notify.models import Notice
    from fangkong.workorders.models import WorkOrder

    world, order, base = at_home
    context, page, errors = _page(browser)
    page.goto(f"{base}/control/self/{self_check_token(order)}/")
    # Nothing but the masked name and the day; large type, big targets.
    body = page.locator("body").inner_text()
    assert "沈*居" in body and "沈楼居" not in body and "第1天" in body
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('.fk-public label, .fk-public input, .fk-public button, .fk-public p')]
              .filter(el => el.offsetParent !== null)
              .map(el => parseFloat(getComputedStyle(el).fontSize))"""
    )
    assert sizes and min(sizes) >= 16, sizes
    assert small_targets(page) == [], small_targets(page)
    page.fill("input[name=temperature]", "38.6")
    page.get_by_label("咳嗽").check()
    page.locator("#fk-self-check button[type=submit]").tap()
    done = page.locator("#fk-check-done")
    expect(done).to_contain_text("38.6")
    expect(done).to_contain_text("医疗")
    (check,) = HealthCheck.objects.all()
    assert check.by_self and check.alarm and check.symptoms == ["cough"]
    # The town's medical group heard at once; an urgent visit is open.
    doctor = world.staff["doctor"].user
    heard = Notice.objects.get(user=doctor)
    assert "38.6" in heard.body
    assert WorkOrder.objects.filter(kind=FEVER_KIND).count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "control-self-check.png"), full_page=True)
    assert errors == [], errors
    context.close()
