"""The interview's places and times on a case's page, in a real browser: a tracer types
a wrong place code and sees the error under that field with what was typed kept, then
the right one, and the stay is on the record; the form's controls are big enough to
hit. Skipped without chromium, unless FANGKONG_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest

from tests.browser_support import require_browser
from tests.world import World, build_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

from tests.test_browser import ARTIFACTS, sign_in  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def traced(transactional_db, live_server) -> tuple[World, Any, Any, str]:
    from django.utils import timezone

    from fangkong.tracing.cases import case_open
    from tests.test_browser_places import _reseed
    from tests.tracing_cases_support import edition_in_force, person, restaurant

    _reseed()
    world = build_world()
    edition_in_force(world)
    case, _new = case_open(
        person=person(world, "A1", "病例甲", "13700000001"),
        kind="confirmed",
        onset_on=timezone.localdate() - timedelta(days=1),
        sampled_on=None,
        source="manual",
        actor=world.users["commander"],
    )
    return world, case, restaurant(world), live_server.url


def test_a_tracer_enters_a_place_and_time_from_the_interview(browser, traced):
    from django.utils import timezone

    from fangkong.tracing.models import Stay

    world, case, place, base = traced
    page = browser.new_context(locale="zh-CN").new_page()
    sign_in(page, base, world.users["commander"].username)
    page.goto(f"{base}/tracing/cases/{case.pk}/")
    start = timezone.localtime() - timedelta(hours=5)
    page.fill("#id_place_code", "NOPE")
    page.fill("#id_started_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_ended_at", (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_note", "和家人吃饭")
    for control in ("#id_place_code", "#id_address", "#id_started_at", "#id_note"):
        box = page.locator(control).bounding_box()
        assert box is not None and box["height"] >= 38, (control, box)
    page.get_by_role("button", name="添加场所和时间").click()
    error = page.locator("#id_place_code").locator("xpath=../..").locator(".fk-field-error")
    expect(error).to_contain_text("没有场所使用这个编号")
    expect(page.locator("#id_note")).to_have_value("和家人吃饭")
    assert not Stay.objects.exists()
    page.fill("#id_place_code", place.code)
    page.get_by_role("button", name="添加场所和时间").click()
    expect(page.locator("#fk-stays")).to_contain_text(place.name)
    expect(page.locator("#fk-stays")).to_contain_text("和家人吃饭")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tracing-interview.png"), full_page=True)
    assert Stay.objects.get(case=case).place == place
