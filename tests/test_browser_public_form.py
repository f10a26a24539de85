"""The public returnee form in a real browser, on a 390 x 844 phone, as an older resident
fills it in: their ID number is taken, required choices start empty, the first error
gets the focus and is on screen with its message, text is at least 16 px and tap targets
at least 44 px, the ID's X has a button, and the pages for residents carry no staff
footer. Skipped without chromium, like tests/test_browser.py."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser_support import require_browser
from tests.world import build_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

from tests.test_browser import ARTIFACTS, _edition_in_force_today, _pick_lujiazui  # noqa: E402

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True}
OLDER_RESIDENT = "330411195803151217"  # born 1958; 330411 was coded in 1983


@pytest.fixture
def phone(browser, transactional_db, live_server):
    """A phone on the public form of 四喜社区, with the rules of today, and the console's
    errors (a script refused by the CSP, say)."""
    world = build_world()
    _edition_in_force_today()
    context = browser.new_context(**PHONE, has_touch=True)
    page = context.new_page()
    errors: list[str] = []

    def collect(message: Any) -> None:
        # A refused submit answers 400, which the console reports as an error too.
        if message.type == "error" and "status of 400" not in message.text:
            errors.append(message.text)

    page.on("console", collect)
    page.goto(f"{live_server.url}/r/{world.nodes['A'].code}/")
    yield page, errors
    context.close()


def fill(page, *, id_number: str, phone: str, mode: str, vehicle: str) -> None:
    from django.utils import timezone

    page.fill("#id_name", "陈阿大")
    page.fill("#id_id_number", id_number)
    page.fill("#id_phone", phone)
    _pick_lujiazui(page)
    today = str(timezone.localdate())
    page.fill("#id_left_on", today)
    page.fill("#id_arrived_on", today)
    page.select_option("#id_mode", mode)
    page.fill("#id_vehicle", vehicle)
    page.fill("#id_address", "四喜社区3组2号")
    page.select_option("#id_vaccination", "3")


def test_an_older_resident_reports_from_a_phone(phone):
    from fangkong.screening.models import ReturneeReport

    page, errors = phone
    # Nothing is answered for them: the way of travel and the vaccination start empty.
    assert page.input_value("#id_mode") == "" and page.input_value("#id_vaccination") == ""
    marker = page.locator("[data-fk-needed-marker]")
    expect(marker).to_be_hidden()
    fill(page, id_number=OLDER_RESIDENT, phone="136 5800 0001", mode="train", vehicle="G1234")
    expect(marker).to_be_visible()  # by train, the train number is required
    assert page.get_attribute("#id_vehicle", "aria-required") == "true"
    page.click("#fk-report-submit")
    expect(page.locator("#fk-report-done")).to_be_visible()
    report = ReturneeReport.objects.get()
    assert report.id_number == OLDER_RESIDENT and page.inner_text("#fk-code") == report.code
    assert "330***********1217" in page.inner_text("#fk-own-report")
    # No staff footer about audit logs on a resident's page; the language stays.
    footer = page.inner_text("footer")
    assert "审计" not in footer and "脱敏" not in footer and "语言" in footer
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "public-done-390.png"), full_page=True)
    assert not errors, errors


def test_the_first_error_gets_the_focus_and_is_on_screen(phone):
    page, errors = phone
    fill(page, id_number=OLDER_RESIDENT, phone="136 5800 001", mode="train", vehicle="")
    page.click("#fk-report-submit")
    page.wait_for_load_state()
    # The phone is the first field with an error (the vehicle is the second).
    expect(page.locator("#id_phone")).to_be_focused()
    assert page.get_attribute("#id_phone", "aria-invalid") == "true"
    assert page.get_attribute("#id_phone", "aria-describedby") == "id_phone_error"
    for selector in ("#id_phone", "#id_phone_error"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844, selector
    assert "11" in page.inner_text("#id_phone_error")
    assert page.get_attribute("#id_vehicle", "aria-describedby") == (
        "id_vehicle_helptext id_vehicle_error"
    )
    # The ID number was taken: no error at it.
    assert page.locator("#id_id_number_error").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "public-form-errors-390.png"))
    assert not errors, errors


def test_text_is_large_enough_and_targets_easy_to_tap(phone):
    page, errors = phone
    sizes = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'main label, main .form-text, main input, main select'))
            .filter(e => e.offsetParent !== null && !e.closest('.fk-hp'))
            .map(e => [e.id || e.htmlFor || e.className, parseFloat(getComputedStyle(e).fontSize)])"""
    )
    small = [(name, size) for name, size in sizes if size < 16]
    assert sizes and not small, small
    heights = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'main input:not([type=checkbox]), main select, main button, main .form-check,'
              + ' main p > a'))
            .filter(e => e.offsetParent !== null && !e.closest('.fk-hp'))
            .map(e => [e.id || e.name || e.className, e.getBoundingClientRect().height])"""
    )
    low = [(name, height) for name, height in heights if height < 44]
    assert heights and not low, low
    assert not errors, errors


def test_the_id_number_s_x_has_a_button(phone):
    page, errors = phone
    assert page.get_attribute("#id_id_number", "inputmode") == "numeric"
    page.fill("#id_id_number", "11010519491231002")
    page.click("[data-fk-add-x]")
    assert page.input_value("#id_id_number") == "11010519491231002X"
    expect(page.locator("#id_id_number")).to_be_focused()
    page.click("[data-fk-add-x]")  # once is enough
    assert page.input_value("#id_id_number") == "11010519491231002X"
    assert not errors, errors
