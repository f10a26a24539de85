"""Real browser: a grid worker on a phone, the town commander on a desktop.

Debian's chromium driven by Playwright against Django's live server. Screenshots go to
test-artifacts/ for people to look at. Skipped (and reported by the preflight) when
chromium is missing, unless FANGKONG_REQUIRE_BROWSER=1, which turns that into a failure.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from fangkong.audit.models import AuditAction, AuditEvent
from tests.browser_support import require_browser
from tests.world import PASSWORD, build_world

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# while a loop is running unless told it is safe, which it is here (one thread, tests).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

require_browser()

from playwright.sync_api import expect  # noqa: E402 - only once chromium is known to exist

pytestmark = pytest.mark.browser


@pytest.fixture
def site(transactional_db, live_server):
    world = build_world()
    return world, live_server.url


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_grid_worker_on_a_phone(browser, site):
    _world, base = site
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in(page, base, "gw_hongxing")
    cards = page.locator("#fk-home-cards")
    assert "红星网格" in cards.inner_text() and "网格员" in cards.inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    # Nothing wider than the phone: no horizontal scrolling on the home page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid-worker-home-390.png"), full_page=True)
    # The menu is collapsed on a phone; open it and go to the staff list.
    page.click("button.navbar-toggler")
    page.click("text=人员")
    page.wait_for_url(f"{base}/org/staff/")
    text = page.locator("#fk-staff-rows").inner_text()
    assert "陈红员" in text and "139****0013" in text
    assert "13900000013" not in page.content()
    assert "卫光员" not in text and "东风网格" not in page.content()
    # Search narrows the list in place (htmx), without a full page load.
    page.fill("#fk-q", "陈红")
    expect(page.locator("#fk-staff-rows")).not_to_contain_text("赵网格")
    assert "陈红员" in page.locator("#fk-staff-rows").inner_text()
    # Unmask one phone with a purpose: shown once, audited.
    page.click("text=陈红员")
    page.fill("#fk-purpose", "上门核实联系方式")
    page.click("text=显示号码")
    page.wait_for_selector("#fk-phone-clear")
    assert page.inner_text("#fk-phone-clear") == "13900000013"
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW_PII, purpose="上门核实联系方式"
    ).exists()
    page.screenshot(path=str(ARTIFACTS / "grid-worker-unmask-390.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_town_commander_on_a_desktop(browser, site):
    _world, base = site
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "wd_commander")
    page.click("nav >> text=辖区")
    page.click("text=王店镇")
    rows = page.locator("#fk-children tbody tr")
    assert rows.count() == 2
    assert "四喜社区" in rows.nth(0).inner_text() and "建设村" in rows.nth(1).inner_text()
    page.click("#fk-children >> text=四喜社区")
    assert page.inner_text("#fk-node-name").startswith("四喜社区")
    assert page.locator("#fk-children tbody tr").count() == 2
    page.screenshot(path=str(ARTIFACTS / "commander-village-desktop.png"), full_page=True)
    # Teams page lists every team of the town.
    page.click("nav >> text=队伍")
    for name in ("信息收集报送专班", "光明巡查队", "红星突击队"):
        assert name in page.content()
    # Switch the interface to traditional Chinese and back.
    page.select_option("#fk-lang", "zh-hant")
    page.click("footer button[type=submit]")
    page.wait_for_load_state()
    assert "隊伍" in page.inner_text("nav")
    page.select_option("#fk-lang", "en")
    page.click("footer button[type=submit]")
    page.wait_for_load_state()
    assert "Teams" in page.inner_text("nav")
    assert not errors, errors
    context.close()


def test_grid_worker_finds_a_resident_on_a_phone(browser, transactional_db, live_server):
    from tests.world import ensure_registry

    world = build_world()
    ensure_registry(world)
    base = live_server.url
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "gw_hongxing")
    page.goto(f"{base}/people/")
    rows = page.locator("#fk-person-rows")
    expect(rows).to_contain_text("沈楼居")
    assert "杨光居" not in page.content()  # another village's resident
    page.fill("#id_q", "slj")  # pinyin initials of 沈楼居
    expect(rows).to_contain_text("1")
    page.click("#fk-person-rows >> text=沈楼居")
    expect(page.locator("#fk-person-ids")).to_contain_text("110***********002X")
    assert "11010519491231002X" not in page.content()
    page.fill("#fk-purpose", "核实身份信息")
    page.click("#fk-unmask button[type=submit]")
    expect(page.locator("#fk-id-clear")).to_have_text("11010519491231002X")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "grid-worker-resident-390.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_a_search_by_id_number_on_a_phone_keeps_it_out_of_the_address(
    browser, transactional_db, live_server
):
    """Typed with htmx's live search and submitted without script: the rows come back,
    and neither the address bar nor the history holds the number."""
    from tests.world import ensure_registry

    world = build_world()
    ensure_registry(world)
    base = live_server.url
    errors: list[str] = []
    for script in (True, False):
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            java_script_enabled=script,
        )
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        if script:
            sign_in(page, base, "gw_hongxing")
        else:
            _sign_in_without_script(page, base)
        page.goto(f"{base}/people/")
        page.fill("#id_q", "11010519491231002X")
        if not script:
            page.press("#id_q", "Enter")
        page.wait_for_url(lambda url: "t=" in url)
        rows = page.locator("#fk-person-rows")
        expect(rows).to_contain_text("沈楼居")
        assert "1101051949" not in page.url and "q=" not in page.url
        if script:
            stored = page.evaluate("JSON.stringify(window.localStorage)")
            assert "11010519491231002X" not in stored  # no htmx history snapshot
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.reload()
        expect(page.locator("#fk-person-rows")).to_contain_text("沈楼居")
        assert not errors, errors
        context.close()


def _sign_in_without_script(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "gw_hongxing")
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(f"{base}/")


def _jpeg(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_grid_worker_clears_a_task_on_a_phone_and_the_cadre_sees_it(browser, site):
    from fangkong.workorders.models import Status, WorkOrder, WorkOrderEvent
    from tests.world import ensure_orders

    world, base = site
    ensure_orders(world)
    order = world.orders["A1M1"]
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "gw_hongxing")
    page.click("#fk-home-tasks")
    page.wait_for_url(f"{base}/tasks/")
    assert page.inner_text("#fk-tab-today").split()[-1] == "1"
    assert "沈楼居" in page.inner_text("#fk-task-list")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("text=沈楼居")
    page.wait_for_url(f"{base}/tasks/{order.pk}/")
    assert "136****0001" in page.inner_text("#fk-subject")
    assert "13600000001" not in page.content()
    page.select_option("#fk-r_outcome", "found")
    page.fill("#fk-r_note", "本人在家，信息无误")
    client_id = page.input_value("input[name=client_id]")
    csrf = page.input_value("#fk-result-form input[name=csrfmiddlewaretoken]")
    # The network drops the first submit: the page says so and keeps what was typed.
    page.route("**/result/", lambda route: route.abort())
    page.click("#fk-submit")
    expect(page.locator("#fk-network")).to_be_visible()
    assert page.input_value("#fk-r_note") == "本人在家，信息无误"
    assert WorkOrder.objects.get(pk=order.pk).status == Status.ASSIGNED
    page.unroute("**/result/")
    errors.clear()  # the aborted request's console line is the point of the step above
    page.click("#fk-submit")
    expect(page.locator("#fk-done")).to_be_visible()
    assert WorkOrder.objects.get(pk=order.pk).status == Status.DONE
    assert "逾期" not in page.inner_text("#fk-status")
    # A late duplicate of the same submission (a double tap that got through) changes
    # nothing: one result, one "done" event.
    again = page.request.post(
        f"{base}/tasks/{order.pk}/result/",
        form={
            "client_id": client_id,
            "version": "0",
            "r_outcome": "found",
            "csrfmiddlewaretoken": csrf,
        },
        headers={"HX-Request": "true"},
    )
    assert again.status == 200
    assert WorkOrderEvent.objects.filter(order=order, action="done").count() == 1
    page.goto(f"{base}/tasks/?tab=done")
    assert page.inner_text("#fk-tab-done").split()[-1] == "1"
    assert page.inner_text("#fk-tab-today").split()[-1] == "0"
    assert "沈楼居" in page.inner_text("#fk-task-list")
    # A photo of the work goes up after the result, through htmx, and shows on the page.
    page.goto(f"{base}/tasks/{order.pk}/")
    page.set_input_files(
        "#fk-photo-form input[type=file]",
        files=[
            {
                "name": "door.jpg",
                "mimeType": "image/jpeg",
                "buffer": _jpeg(1200, 900),
            }
        ],
    )
    page.click("#fk-photo-form button")
    expect(page.locator("#fk-photos img.fk-photo")).to_have_count(1)
    width = "document.querySelector('#fk-photos img').naturalWidth"
    for _ in range(50):  # the page's CSP forbids wait_for_function's eval; poll instead
        if page.evaluate(width):
            break
        page.wait_for_timeout(100)
    assert page.evaluate(width) == 1200
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid-worker-tasks-done-390.png"), full_page=True)
    assert not errors, errors
    context.close()
    # The village cadre's board counts it as done today in 红星网格.
    desk = browser.new_context(viewport={"width": 1440, "height": 900})
    cadre = desk.new_page()
    sign_in(cadre, base, "sx_cadre")
    cadre.click("nav >> text=日清日结")
    row = cadre.locator(f"#fk-board tr[data-node='{world.nodes['A1'].code}']")
    assert row.locator(".fk-done").inner_text() == "1"
    assert cadre.inner_text("#fk-total-done") == "1"
    desk.close()


def _edition_in_force_today() -> None:
    """Transactional tests start from empty tables: the rules are made here."""
    from datetime import date, timedelta

    from django.utils import timezone

    from fangkong.policy.models import Edition, Measure, RiskArea

    edition = Edition.objects.create(key="drill", name="演练规则", effective_from=date(2026, 1, 1))
    Measure.objects.create(
        edition=edition, category="arrival_high", place="central", days=7, tests=[1, 2, 3, 5, 7]
    )
    Measure.objects.create(edition=edition, category="returnee", place="none")
    RiskArea.objects.create(
        code="310115005",
        name="上海市浦东新区陆家嘴街道",
        level="high",
        effective_from=timezone.localdate() - timedelta(days=3),
    )


def _pick_lujiazui(page) -> None:
    """上海市 → 市辖区 → 浦东新区 → 陆家嘴街道, waiting for each level to load."""
    chain = (("province", "31"), ("city", "3101"), ("county", "310115"), ("street", "310115005"))
    for (select, value), (following, wanted) in itertools.pairwise(chain):
        page.select_option(f"#id_{select}", value)
        expect(page.locator(f"#id_{following} option[value='{wanted}']")).to_have_count(1)
    page.select_option("#id_street", "310115005")


def test_a_returnee_reports_from_a_phone_and_the_grid_worker_gets_the_order(browser, site):
    from django.utils import timezone

    from fangkong.screening.models import ReturneeReport

    world, base = site
    _edition_in_force_today()
    village = world.nodes["A"]
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/r/{village.code}/?grid=330411102201-G01")
    assert "四喜社区" in page.inner_text("h1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#id_name", "赵归来")
    page.fill("#id_id_number", "110101199003071081")
    page.fill("#id_phone", "139 1234 5678")
    # The pickers load the next level from the national codes as each is chosen.
    _pick_lujiazui(page)
    today = timezone.localdate()
    page.fill("#id_left_on", str(today))
    page.fill("#id_arrived_on", str(today))
    page.select_option("#id_mode", "car")
    page.fill("#id_vehicle", "沪A12345")
    page.fill("#id_address", "四喜社区3幢2单元")
    # Required choices start empty: nobody is "not vaccinated" by default.
    page.select_option("#id_vaccination", "3")
    assert page.input_value("#id_grid") == "330411102201-G01"
    # Choosing another province empties the pickers below it.
    page.select_option("#id_province", "44")
    expect(page.locator("#id_street option")).to_have_count(1)
    _pick_lujiazui(page)
    page.click("#fk-report-submit")
    expect(page.locator("#fk-report-done")).to_be_visible()
    report = ReturneeReport.objects.get()
    assert page.inner_text("#fk-code") == report.code
    shown = page.inner_text("#fk-own-report")
    assert "集中隔离" in shown and "上海市浦东新区陆家嘴街道" in shown
    assert report.proposed_place == "central" and report.jurisdiction == world.nodes["A1"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "returnee-report-390.png"), full_page=True)
    assert not errors, errors
    context.close()
    # The grid worker finds the urgent verification at the top of 我的任务.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    worker = phone.new_page()
    sign_in(worker, base, "gw_hongxing")
    worker.goto(f"{base}/tasks/")
    assert "赵归来" in worker.inner_text("#fk-task-list")
    phone.close()


def _wait_for(page, script: str, want: object, seconds: float = 20.0) -> None:
    """Poll a page expression (the CSP forbids wait_for_function's eval)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if page.evaluate(script) == want:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"{script} never became {want!r}: {page.evaluate(script)!r}")


def test_the_command_dashboard_draws_and_refreshes_itself(browser, site):
    from django.utils import timezone

    from fangkong.reports import stats
    from fangkong.screening.services import ReportInput, report_submit
    from tests.world import ensure_reports

    world, base = site
    ensure_reports(world)  # a returnee each in A1 and B1 today
    stats.refresh_now()
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in(page, base, "wd_commander")
    page.goto(f"{base}/reports/dashboard/?every=5")
    tile = page.locator('.fk-tile[data-key="returnees_new"] .fk-tile-n')
    expect(tile).to_have_text("2")
    expect(page.locator("#fk-villages [data-village]")).to_have_count(2)
    assert page.inner_text("#fk-report-counts").startswith("共 2 个村")
    assert set(
        page.locator("#fk-villages [data-village]").evaluate_all(
            "rows => rows.map(r => r.dataset.light)"
        )
    ) <= {"red", "amber", "green"}
    # ECharts drew the 14-day trend on a canvas; the 7-day button redraws it.
    expect(page.locator("#fk-trend-chart canvas")).to_have_count(1)
    _wait_for(page, "document.body.dataset.chartDrawn", "1")
    page.click('.fk-days[data-days="7"]')
    _wait_for(page, "document.body.dataset.chartDays", "7")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-1920.png"), full_page=True)
    # A new returnee, counted by the minute job: the screen shows it without a reload.
    report_submit(
        ReportInput(
            name="归乡丙",
            id_number="110101199003071030",
            phone="13900000019",
            origin_code="310115005",
            left_on=timezone.localdate(),
            arrived_on=timezone.localdate(),
            mode="train",
            vehicle="G1234",
            jurisdiction=world.nodes["A1"],
            address="四喜社区1幢",
        )
    )
    stats.refresh_now()
    expect(tile).to_have_text("3", timeout=15_000)
    # The swapped-in panel drew its chart again, still over the 7 days chosen.
    _wait_for(page, "document.body.dataset.chartDays", "7")
    assert int(page.evaluate("document.body.dataset.chartDrawn")) >= 2
    expect(page.locator("#fk-trend-chart canvas")).to_have_count(1)
    assert not errors, errors
    context.close()
