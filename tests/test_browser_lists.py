"""Real browser: the town commander receives a county list on a phone.

The list comes in another office's layout (names under 被核查人, the phone under 手机,
a column of relatives' phones): the mapping step shows how each column is read and
asks about the phones nothing reads; the import runs in the jobs worker while the
list's page shows its progress and then the villages; a row's page shows no ID or
phone in clear, in any column, and says whom the row was matched to and why.
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

# Importing it skips this module as it skips that one when there is no chromium (or
# fails with FANGKONG_REQUIRE_BROWSER=1); its fixtures start chromium and the server.
from tests.test_browser import ARTIFACTS, sign_in, site  # noqa: F401 - fixtures
from tests.world import REGISTRY, ensure_registry

pytestmark = pytest.mark.browser

HEADERS = ["序号", "被核查人", "公民身份号码", "手机", "家属电话", "现住址", "备注"]
STRANGER = ("赵思远", "320512198501011234", "17712345678")
RELATIVE = "13912345678"


def _swap(number: str, i: int) -> str:
    return number[:i] + number[i + 1] + number[i] + number[i + 2 :]


def _list() -> tuple[bytes, dict[str, str]]:
    """The county's file and the rows' names as written."""
    a1, a2, b1 = REGISTRY["A1M1"], REGISTRY["A2"], REGISTRY["B1"]
    rows = [
        # Exact ID and phone; no ID, the phone under 手机; an ID with two neighbouring
        # digits swapped (in the birth year) and no phone; someone not in town.
        [1, a1[1], a1[2], a1[3], "139 1234 5678", a1[0], ""],
        [2, a2[1], "", a2[3], "", a2[0], ""],
        [3, b1[1], _swap(b1[2], 8), "", "", b1[0], f"家属 {RELATIVE[:3]}-{RELATIVE[3:]}"],
        [4, STRANGER[0], STRANGER[1], STRANGER[2], RELATIVE, "苏州市吴中区", ""],
    ]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), {"exact": a1[1], "phone": a2[1], "swapped": b1[1]}


def _clear_numbers(text: str) -> list[str]:
    """ID- and mobile-shaped numbers in a page's text, however spaced."""
    compact = re.sub(r"[\s\-()]", "", text)
    return re.findall(r"\d{17}[\dX]|1[3-9]\d{9}", compact)


def test_a_county_list_is_mapped_imported_in_the_worker_and_shown_masked(browser, site):  # noqa: F811
    from fangkong.core.management.commands.jobs import run_queued
    from fangkong.screening.models import PushedList, PushedRow, RowMatch

    world, base = site
    ensure_registry(world)
    data, names = _list()
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in(page, base, "wd_commander")

    page.goto(f"{base}/screening/lists/new/")
    page.fill("#id_name", "红码人员核查名单（第38批）")
    page.fill("#id_source", "县指挥部")
    page.select_option("#id_category", "red_code")
    page.fill("#id_deadline", "2030-07-01T18:00")
    page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "第38批.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": data,
            }
        ],
    )
    page.click("#fk-list-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/screening/lists/import/\d+/$"))

    # How each column is read: 手机 is the phone; the relatives' phones are asked about.
    expect(page.locator('#fk-columns [data-field="phone"] label')).to_have_text("手机")
    asked = page.locator("#fk-columns .list-group-item-warning")
    expect(asked).to_have_count(1)
    expect(asked.locator("label")).to_have_text("家属电话")
    assert not _clear_numbers(page.inner_text("body"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "list-mapping-390.png"), full_page=True)

    # Confirming without an answer keeps the list out and says why.
    page.click("#fk-mapping-confirm")
    expect(page.locator("#fk-mapping-problems")).to_contain_text("家属电话")
    assert not PushedList.objects.exists()
    errors.clear()  # that 400 was the answer asked for
    page.select_option('select[name="map:被核查人"]', "name")
    page.select_option('select[name="map:家属电话"]', "-")
    page.click("#fk-mapping-confirm")
    page.wait_for_url(re.compile(r".*/screening/lists/\d+/$"))

    # The import waits for the worker; the page follows it and then shows the villages.
    expect(page.locator("#fk-list-import")).to_be_visible()
    pushed = PushedList.objects.get()
    assert not PushedRow.objects.filter(pushed=pushed).exists()
    run_queued()
    expect(page.locator("#fk-list-progress")).to_be_visible(timeout=15_000)
    expect(page.locator("#fk-list-imported")).to_contain_text("3")
    rows = {r.name: r for r in PushedRow.objects.filter(pushed=pushed)}
    assert all(rows[n].match == RowMatch.MATCHED for n in names.values())
    assert rows[STRANGER[0]].match == RowMatch.UNMATCHED
    page.screenshot(path=str(ARTIFACTS / "list-imported-390.png"), full_page=True)

    # No row's page shows an ID or a phone in clear, whichever column holds it.
    for row in rows.values():
        page.goto(f"{base}/screening/rows/{row.pk}/")
        found = _clear_numbers(page.inner_text("body"))
        assert not found, (row.row_number, found)
    # Whom a row was matched to, masked, with their grid, and why.
    page.goto(f"{base}/screening/rows/{rows[names['swapped']].pk}/")
    match = page.locator("#fk-row-match")
    expect(match).to_contain_text("杨*居")
    expect(match).to_contain_text(world.nodes["B1"].name)
    expect(page.locator("#fk-row-why")).not_to_be_empty()
    page.screenshot(path=str(ARTIFACTS / "list-row-390.png"), full_page=True)
    assert not errors, errors
    context.close()
