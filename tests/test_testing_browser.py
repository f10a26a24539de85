"""The sampler's phone page in a real browser, on a phone: a tube fills to its pool size
and closes, the connection drops and the page keeps recording with a visible "not yet
sent" count, and when it returns the queue is sent, each sample recorded once even when
sent again; the page is light and its controls big enough to tap. The lab's upload page
records a file: the preview names a bad row before anything is recorded, and the
positive pool's members appear recalled.

Debian's chromium driven by Playwright against Django's live server, as in
test_browser_tasks.py; skipped the same way when chromium is missing.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.browser_support import (
    live_server_as_in_production,
    poll,
    require_browser,
    served_as_in_production,
    small_targets,
)
from tests.world import PASSWORD, build_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

require_browser()

pytestmark = pytest.mark.browser


@pytest.fixture
def site(transactional_db, live_server):
    return build_world(), live_server.url


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _round(world: Any, pool_size: int) -> Any:
    from fangkong.people.models import Household, Person
    from fangkong.testing.rounds import round_create

    people = []
    for i in range(7):
        household = Household.objects.create(jurisdiction=world.nodes["A1"], address=f"采样路{i}号")
        people.append(
            Person.objects.create(
                jurisdiction=world.nodes["A1"], household=household, name=f"采样{i}"
            )
        )
    today = timezone.localdate()
    round_ = round_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="浏览器核酸",
        starts_on=today,
        ends_on=today + timedelta(days=1),
        pool_size=pool_size,
        scope=[world.nodes["A"]],
    )
    return round_, people


def test_the_sampler_page_works_offline_and_syncs_each_sample_once(browser, site):
    from fangkong.testing.codes import resident_code
    from fangkong.testing.models import Sample, Tube

    world, base = site
    round_, people = _round(world, pool_size=5)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "sx_sampler")
    page.goto(f"{base}/testing/r/{round_.pk}/sample/")
    assert small_targets(page) == []

    def add(code: str) -> None:
        page.fill("#fk-person", code)
        page.click("#fk-add")

    page.fill("#fk-tube", "BRT0001")
    page.press("#fk-tube", "Enter")
    add(resident_code(people[0].pk))
    poll(page, lambda: Sample.objects.count() == 1)
    expect_text(page, "#fk-pending", "0")

    # The connection drops: the page keeps recording, and says what is not yet sent.
    context.set_offline(True)
    for p in people[1:5]:
        add(resident_code(p.pk))
    expect_text(page, "#fk-pending", "4")
    # The fifth closes the tube: the page asks for the next tube.
    assert page.input_value("#fk-tube") == ""
    page.fill("#fk-tube", "BRT0002")
    page.press("#fk-tube", "Enter")
    add(resident_code(people[5].pk))
    add("110101199003079999")  # an ID number nobody holds: refused once sent
    expect_text(page, "#fk-pending", "6")
    assert Sample.objects.count() == 1
    queued = page.evaluate(f"localStorage.getItem('fk-samples-{round_.pk}:pending')")

    # The connection returns: the queue is sent and emptied, each sample once.
    context.set_offline(False)
    page.click("#fk-send")
    poll(page, lambda: page.inner_text("#fk-pending") == "0")
    assert Sample.objects.count() == 6
    assert Tube.objects.get(barcode="BRT0001").status == "closed"
    assert page.is_visible("#fk-refused-box")
    assert "台账中没有此身份证号的居民" in page.inner_text("#fk-refused")
    # A second device (or a lost answer) sends the same queue again: nothing doubles.
    page.evaluate(f"localStorage.setItem('fk-samples-{round_.pk}:pending', {queued!r})")
    page.reload()
    poll(page, lambda: page.inner_text("#fk-pending") == "0")
    assert Sample.objects.count() == 6
    assert not errors, errors
    context.close()


def test_the_sampler_page_opens_again_with_no_connection(browser, site):
    """A sampler closes the tab (or the phone restarts) at a point with no signal: the
    page opens from what the service worker kept, records into the queue, and sends
    when the connection returns. Signing in again drops what was kept."""
    from fangkong.testing.codes import resident_code
    from fangkong.testing.models import Round, Sample

    world, base = site
    round_, people = _round(world, pool_size=5)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "sx_sampler")
    url = f"{base}/testing/r/{round_.pk}/sample/"
    page.goto(url)
    page.wait_for_selector("html[data-fk-kept]", state="attached", timeout=15_000)
    page.close()
    # Renamed on the server meanwhile: only a kept copy still shows the old name.
    Round.objects.filter(pk=round_.pk).update(name="改名后的轮次")

    context.set_offline(True)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    assert "浏览器核酸" in page.inner_text("h1")
    assert small_targets(page) == []  # the styles were kept with the page
    page.fill("#fk-tube", "SWK0001")
    page.press("#fk-tube", "Enter")
    page.fill("#fk-person", resident_code(people[0].pk))
    page.click("#fk-add")
    expect_text(page, "#fk-pending", "1")
    assert Sample.objects.count() == 0

    context.set_offline(False)
    page.click("#fk-send")
    poll(page, lambda: page.inner_text("#fk-pending") == "0")
    assert Sample.objects.filter(person=people[0], tube__barcode="SWK0001").count() == 1
    # Back on the network the page is the server's again, and it refreshes the copy.
    page.goto(url)
    assert "改名后的轮次" in page.inner_text("h1")

    # The sign-in page drops every kept page: offline, the page no longer opens.
    page.goto(f"{base}/accounts/login/")
    page.wait_for_timeout(500)
    context.set_offline(True)
    offline = context.new_page()
    from playwright.sync_api import Error as BrowserError

    with pytest.raises(BrowserError, match=r"ERR_INTERNET_DISCONNECTED|ERR_FAILED"):
        offline.goto(url)
    context.set_offline(False)
    assert not [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e], errors
    context.close()


def test_the_sampler_page_is_light_cold_as_served(browser, transactional_db, tmp_path):
    """≤ 100 KB over the wire on a cold load, served as production serves it (hashed,
    gzipped static files through WhiteNoise)."""
    with served_as_in_production(tmp_path / "static"), live_server_as_in_production() as base:
        world = build_world()
        round_, _people = _round(world, pool_size=10)
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        sign_in(page, base, "sx_sampler")
        session = context.storage_state()
        context.close()
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, storage_state=session
        )
        page = context.new_page()
        finished: list[Any] = []
        page.on("requestfinished", lambda r: finished.append(r))
        page.goto(f"{base}/testing/r/{round_.pk}/sample/", wait_until="load")
        page.wait_for_load_state("networkidle")
        weight = sum(
            r.sizes()["responseBodySize"] for r in finished if not r.url.startswith("data:")
        )
        assert weight <= 100 * 1024, weight
        assert small_targets(page) == []
        context.close()


def expect_text(page: Any, selector: str, text: str) -> None:
    poll(page, lambda: page.inner_text(selector).strip() == text)


def test_the_lab_uploads_a_file_sees_the_bad_row_named_and_the_positive_pool_is_recalled(
    browser, site
):
    """The lab's phone: an xlsx from its system (a merged title row, a barcode nobody
    sampled on row 5), the preview names that row before anything is recorded, the lab
    confirms, and the positive pool's members appear recalled on the round's page."""
    import io

    from openpyxl import Workbook

    from fangkong.testing.codes import resident_code
    from fangkong.testing.models import Recall, Result
    from fangkong.testing.sampling import Record, samples_sync

    world, base = site
    round_, people = _round(world, pool_size=5)
    now = timezone.now()
    samples_sync(
        round_=round_,
        records=[
            Record(uuid.uuid4(), "LAB0001", now, how="code", person=resident_code(p.pk))
            for p in people[:5]
        ]
        + [
            Record(uuid.uuid4(), "LAB0002", now, how="code", person=resident_code(p.pk))
            for p in people[5:]
        ]
        + [Record(uuid.uuid4(), "LAB0002", now, "close")],
        actor=world.users["sampler"],
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["王店镇核酸检测结果", "", "", ""])
    sheet.merge_cells("A1:D1")
    sheet.append(["样本条码", "检测结果", "ORF1ab", "N基因"])
    sheet.append(["LAB0001", "阳性", "28.5", "30.1"])
    sheet.append(["LAB0002", "阴性", "", ""])
    sheet.append(["NOBODY99", "阴性", "", ""])
    data = io.BytesIO()
    book.save(data)

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "wd_lab")
    page.goto(f"{base}/testing/")
    page.click(f"a[href='/testing/r/{round_.pk}/results/']")
    assert small_targets(page) == []
    page.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": "结果.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": data.getvalue(),
            }
        ],
    )
    page.click("form[enctype] button[type=submit]")
    page.wait_for_selector("#fk-results-check")
    bad = page.inner_text("#fk-results-check tbody")
    assert "5" in bad and "NOBODY99" in bad and "没有" in bad
    assert Result.objects.count() == 0  # the preview records nothing
    page.click("#fk-results-confirm")
    page.wait_for_selector("#fk-results-report")
    assert "LAB0001" in page.inner_text("#fk-results-positives")
    assert "NOBODY99" in page.inner_text("#fk-results-problems")
    assert Result.objects.count() == 2
    assert Recall.objects.filter(pool__barcode="LAB0001").count() == 5
    context.close()

    # The command post sees the pool's five members recalled on the round's page.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "wd_commander")
    page.goto(f"{base}/testing/r/{round_.pk}/")
    rows = page.locator("#fk-recalls tbody tr")
    assert rows.count() == 5
    assert "LAB0001" in rows.first.inner_text()
    assert not errors, errors
    context.close()


def test_the_command_post_pages_fit_a_phone_and_the_chase_is_one_tap(browser, site):
    """The new round, its points, the boxes and the round's chase button on a phone: big
    enough to tap, readable; one tap sends the chase, a second sends nothing new."""
    from fangkong.testing.kinds import CHASE_KIND
    from fangkong.testing.models import SamplingPoint
    from fangkong.workorders.models import WorkOrder
    from tests.browser_support import low_contrast

    world, base = site
    round_, people = _round(world, pool_size=10)
    SamplingPoint.objects.create(
        round=round_,
        jurisdiction=world.nodes["A1"],
        name="礼堂",
        opens_at="07:00",
        closes_at="18:00",
        capacity=500,
    )
    for username, paths in (
        ("wd_commander", ["/testing/new/", f"/testing/r/{round_.pk}/points/"]),
        ("sx_sampler", [f"/testing/r/{round_.pk}/boxes/out/"]),
        ("wd_lab", [f"/testing/r/{round_.pk}/boxes/in/"]),
    ):
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True
        )
        page = context.new_page()
        sign_in(page, base, username)
        for path in paths:
            page.goto(base + path)
            assert small_targets(page) == [], path
            assert low_contrast(page) == [], path
        context.close()

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True
    )
    page = context.new_page()
    sign_in(page, base, "sx_cadre")
    page.goto(f"{base}/testing/r/{round_.pk}/")
    assert small_targets(page) == []
    page.click("#fk-chase button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert WorkOrder.objects.filter(kind=CHASE_KIND).count() == len(people)
    page.click("#fk-chase button[type=submit]")
    page.wait_for_selector(".alert-success")
    said = page.inner_text(".alert-success")
    assert "派发 0 张工单" in said and f"{len(people)} 人的工单仍在办理中" in said
    assert WorkOrder.objects.filter(kind=CHASE_KIND).count() == len(people)
    context.close()
