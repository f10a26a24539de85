"""The command post in a real browser (issue 13's field trial): the bulletin is made by
pressing the button, without typing its date; the wall dashboard holds a town's 28
villages (and a county's towns) on one 1920x1080 screen without scrolling, with the
returnees and the work orders on axes of their own."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.browser_support import require_browser
from tests.world import build_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # as in test_browser.py

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

from tests.test_browser import ARTIFACTS, _wait_for, sign_in  # noqa: E402

pytestmark = pytest.mark.browser
WALL = {"width": 1920, "height": 1080}

# Every tile of `selector`: inside the viewport, and what the screen shows at its centre
# (not hidden below a scrolling box). Also whether the page itself scrolls.
_GEOMETRY = """selector => {
  const tiles = [...document.querySelectorAll(selector)].map(el => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return {
      name: el.textContent.trim().split(/\\s+/)[0],
      inside: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth,
      shown: hit !== null && el.contains(hit),
    };
  });
  const page = document.scrollingElement;
  return {
    tiles: tiles,
    scrolls: page.scrollHeight > innerHeight || page.scrollWidth > innerWidth,
  };
}"""


@pytest.fixture
def site(transactional_db, live_server):
    return build_world(), live_server.url


def _page(browser: Any, viewport: dict[str, int]) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return context, page, errors


def _unseen(geometry: dict[str, Any]) -> list[str]:
    return [t["name"] for t in geometry["tiles"] if not (t["inside"] and t["shown"])]


def test_a_bulletin_is_made_by_pressing_the_button_without_typing_a_date(browser, site):
    from django.utils import timezone

    from fangkong.reports.models import Bulletin

    world, base = site
    context, page, errors = _page(browser, {"width": 1280, "height": 900})
    sign_in(page, base, "wd_commander")
    page.goto(f"{base}/reports/")
    day = page.locator("#id_day")
    # The picker holds today as the browser reads it: the ISO date, not "2026/12/06".
    expect(day).to_have_value(timezone.localdate().isoformat())
    page.locator('form[action*="/reports/bulletins/make/"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/reports/bulletins/\d+/$"), timeout=15_000)
    assert Bulletin.objects.filter(node=world.nodes["T"], day=timezone.localdate()).exists()
    assert not errors, errors
    context.close()


def test_the_wall_dashboard_shows_a_town_s_28_villages_without_scrolling(browser, site):
    from fangkong.org.models import Level
    from fangkong.org.services import jurisdiction_create
    from fangkong.reports import stats
    from tests.world import ensure_reports

    world, base = site
    for n in range(26):
        jurisdiction_create(
            code=f"3304111022{10 + n}",
            name=f"第{n + 1:02d}演示村",
            level=Level.VILLAGE,
            parent=world.nodes["T"],
        )
    ensure_reports(world)
    stats.refresh_now()
    context, page, errors = _page(browser, WALL)
    sign_in(page, base, "wd_commander")
    page.goto(f"{base}/reports/dashboard/")
    _wait_for(page, "document.body.dataset.chartDrawn", "1")
    expect(page.locator("#fk-villages [data-village]")).to_have_count(28)
    geometry = page.evaluate(_GEOMETRY, "#fk-villages [data-village]")
    assert not geometry["scrolls"], "the wall page scrolls"
    assert not _unseen(geometry), _unseen(geometry)
    # Returnees and work orders: a panel each, on axes of their own.
    axes = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById("fk-trend-chart"));
          const option = chart.getOption();
          const data = JSON.parse(document.getElementById("fk-trend-data").textContent);
          return {
            y: option.yAxis.length,
            by: Object.fromEntries(data.series.map((s, i) => [s.key, option.series[i].yAxisIndex])),
          };
        }"""
    )
    assert axes["y"] == 2
    assert axes["by"]["returnees_new"] == axes["by"]["central"] == axes["by"]["home_isolation"]
    assert axes["by"]["orders_done"] == axes["by"]["orders_overdue"] != axes["by"]["returnees_new"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-town-28-1920.png"))
    assert not errors, errors
    context.close()


def test_the_wall_dashboard_shows_every_town_of_a_county_without_scrolling(browser, site):
    from fangkong.org.models import Level
    from fangkong.org.services import jurisdiction_create
    from fangkong.reports import stats

    world, base = site
    for n in range(18):  # 20 towns in all
        town = jurisdiction_create(
            code=f"3304111{10 + n:02d}000",
            name=f"第{n + 1:02d}演示镇",
            level=Level.TOWN,
            parent=world.nodes["C"],
        )
        for m in range(3):
            jurisdiction_create(
                code=f"3304111{10 + n:02d}2{m + 1:02d}",
                name=f"演示镇{n + 1:02d}村{m + 1}",
                level=Level.VILLAGE,
                parent=town,
            )
    stats.refresh_now()
    context, page, errors = _page(browser, WALL)
    sign_in(page, base, "xz_officer")
    page.goto(f"{base}/reports/dashboard/")
    _wait_for(page, "document.body.dataset.chartDrawn", "1")
    expect(page.locator("#fk-towns [data-town]")).to_have_count(20)
    geometry = page.evaluate(_GEOMETRY, "#fk-towns [data-town]")
    assert not geometry["scrolls"], "the wall page scrolls"
    assert not _unseen(geometry), _unseen(geometry)
    page.screenshot(path=str(ARTIFACTS / "dashboard-county-20-1920.png"))
    assert not errors, errors
    context.close()
