"""The town bulletin with the clock set: A and B report before 17:00, C at 17:05, D never.
The bulletin names C late and D missing, and both documents, opened back with
python-docx and openpyxl, hold the right numbers; a county sees its towns one level up."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from fangkong.notify.models import Channel, Delivery
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.services import jurisdiction_create
from fangkong.reports.bulletin import bulletin_generate, generate_due
from fangkong.reports.models import Bulletin
from fangkong.reports.services import flag_missing, report_submit
from fangkong.screening.models import ReturneeReport
from fangkong.workorders.models import WorkOrderTally

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _returnees(node: Jurisdiction, n: int, when: datetime, seed: int) -> None:
    """n returnee reports filed in `node` at `when` (written directly: the bulletin only
    counts them)."""
    for i in range(n):
        r = ReturneeReport.objects.create(
            name=f"返乡{seed}{i}",
            jurisdiction=node,
            origin_code="310115005",
            left_on=when.date() - timedelta(days=1),
            arrived_on=when.date(),
            mode="train",
            code=f"B{seed:03d}{i:03d}",
            address="某处",
        )
        ReturneeReport.objects.filter(pk=r.pk).update(created_at=when)


@pytest.fixture
def four(world):
    town = world.nodes["T"]
    c = jurisdiction_create(code="330411102203", name="丙村", level=Level.VILLAGE, parent=town)
    d = jurisdiction_create(code="330411102204", name="丁村", level=Level.VILLAGE, parent=town)
    return {"A": world.nodes["A"], "B": world.nodes["B"], "C": c, "D": d}


@pytest.fixture
def day_of_work(world, four):
    """Returnees of the day (A1: 2, B: 1, C: 3, D: 4) and of the day before (A: 1, D: 1),
    and work orders done (A1: 5, D: 2) and overdue (B1: 3)."""
    for key, n in (("A1", 2), ("B", 1)):
        _returnees(world.nodes[key], n, at(9), seed=len(key) + n)
    _returnees(four["C"], 3, at(10), seed=30)
    _returnees(four["D"], 4, at(11), seed=40)
    _returnees(four["A"], 1, at(9, day=DAY - timedelta(days=1)), seed=50)
    _returnees(four["D"], 1, at(9, day=DAY - timedelta(days=1)), seed=60)
    WorkOrderTally.objects.create(jurisdiction=world.nodes["A1"], kind="visit", day=DAY, done=5)
    WorkOrderTally.objects.create(jurisdiction=four["D"], kind="visit", day=DAY, done=2)
    WorkOrderTally.objects.create(
        jurisdiction=world.nodes["B1"], kind="visit", day=DAY - timedelta(days=2), open=3
    )


def _submit_the_day(world, four) -> None:
    cadre = world.users["cadre_a"]
    report_submit(
        actor=cadre,
        village=four["A"],
        day=DAY,
        now=at(16, 30),
        entered={"propaganda": "3", "problems": "口罩不足", "needs": ""},
    )
    report_submit(
        actor=cadre, village=four["B"], day=DAY, now=at(16, 59), entered={"propaganda": "1"}
    )
    flag_missing(at(17, 0))
    report_submit(
        actor=cadre, village=four["C"], day=DAY, now=at(17, 5), entered={"propaganda": "0"}
    )


def _docx_text_and_table(data: bytes) -> tuple[str, list[list[str]]]:
    doc = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    grid = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    return text, grid


def test_the_bulletin_names_late_and_missing_and_the_files_hold_the_numbers(
    world, four, day_of_work
):
    _submit_the_day(world, four)
    bulletin = bulletin_generate(
        node=world.nodes["T"],
        day=DAY,
        now=at(17, 30),
        actor=world.users["commander"],
        highlights="全镇开展敲门行动\n",
    )
    s = bulletin.summary
    assert s["counts"] == {"villages": 4, "on_time": 2, "late": 1, "missing": 1, "pending": 0}
    assert s["late"] == [["丙村", "17:05"]] and s["missing"] == ["丁村"]
    # D never confirmed; it is counted with fangkong's own numbers for the day.
    assert s["totals"]["returnees_new"] == 2 + 1 + 3 + 4
    assert s["totals"]["orders_done"] == 7 and s["totals"]["orders_overdue"] == 3
    assert s["totals"]["propaganda"] == 4
    assert s["yesterday"]["returnees_new"] == 2 and s["change"]["returnees_new"] == 8

    text, grid = _docx_text_and_table(bytes(bulletin.docx))
    assert "王店镇" in text and "2026" in text
    assert "丙村（17:05）" in text and "丁村" in text.split("丙村（17:05）")[1]
    assert "全镇开展敲门行动" in text and "口罩不足" in text
    header = grid[0]
    col = {label: i for i, label in enumerate(header)}
    rows = {row[0]: row for row in grid[1:]}
    assert set(rows) >= {"四喜社区", "建设村", "丙村", "丁村"}
    returnees = col["新增报备返乡人员"]
    assert [rows[v][returnees] for v in ("四喜社区", "建设村", "丙村", "丁村")] == [
        "2",
        "1",
        "3",
        "4",
    ]
    total = next(r for r in grid if r[0] == "合计")
    assert total[returnees] == "10" and total[col["完成工单"]] == "7"
    change = next(r for r in grid if r[0] == "较昨日")
    assert change[returnees] == "+8"
    assert rows["丙村"][1].startswith("迟报") and rows["丁村"][1] == "未报"
    assert rows["四喜社区"][1] == "按时 16:30"

    wb = load_workbook(io.BytesIO(bytes(bulletin.xlsx)))
    ws = wb.worksheets[0]
    cells = [list(r) for r in ws.iter_rows(values_only=True)]
    head = cells[2]
    xcol = {label: i for i, label in enumerate(head)}
    xrows = {r[0]: r for r in cells[3:]}
    assert xrows["丙村"][xcol["新增报备返乡人员"]] == 3  # numbers stay numbers
    assert xrows["合计"][xcol["新增报备返乡人员"]] == 10
    assert xrows["合计"][xcol["宣传活动（次）"]] == 4
    named = [list(r) for r in wb.worksheets[1].iter_rows(values_only=True)]
    assert ["丙村", "迟报", "17:05"] in named and ["丁村", "未报", None] in named


def test_the_workbook_keeps_the_change_a_signed_number_and_prints_on_one_a4_across(
    world, four, day_of_work
):
    _submit_the_day(world, four)
    bulletin = bulletin_generate(node=world.nodes["T"], day=DAY, now=at(17, 30))
    wb = load_workbook(io.BytesIO(bytes(bulletin.xlsx)))
    ws = wb.worksheets[0]
    head = [c.value for c in ws[3]]
    change = next(row for row in ws.iter_rows() if row[0].value == "较昨日")
    cell = change[head.index("新增报备返乡人员")]
    # 较昨日 is a number Excel can add up, shown with its sign (+8), not the text "+8".
    assert (cell.value, cell.data_type, cell.number_format) == (8, "n", "+0;-0;0")
    assert all(c.data_type == "n" for c in change[2:])
    # A4 landscape, every column on one page across, as many pages down as needed.
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    fit = ws.sheet_properties.pageSetUpPr
    assert fit is not None and fit.fitToPage is True
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    for other in wb.worksheets[1:]:
        assert (other.page_setup.paperSize, other.page_setup.fitToWidth) == (9, 1)


def test_remaking_keeps_one_bulletin_per_day_and_its_highlights(world, four, day_of_work):
    _submit_the_day(world, four)
    first = bulletin_generate(node=world.nodes["T"], day=DAY, now=at(17, 30), highlights="亮点")
    # D reports at last; the remade bulletin no longer names it missing.
    report_submit(
        actor=world.users["commander"], village=four["D"], day=DAY, now=at(18), entered={}
    )
    again = bulletin_generate(node=world.nodes["T"], day=DAY, now=at(18, 5))
    assert again.pk == first.pk and again.version == 2
    assert Bulletin.objects.count() == 1
    assert again.summary["missing"] == [] and [n for n, _t in again.summary["late"]] == [
        "丙村",
        "丁村",
    ]
    assert again.summary["highlights"] == ["亮点"]


def test_the_scheduled_job_makes_it_after_the_deadline_and_tells_the_group(world, four):
    Channel.objects.create(
        key="town-robot",
        name="镇指挥部群",
        kind="console",
        jurisdiction=world.nodes["T"],
        events=["bulletin"],
    )
    assert generate_due(at(16, 50)) == []
    made = generate_due(at(17, 10))
    # Each town's, then the county's once both towns have theirs.
    assert [b.node.code for b in made] == [world.nodes[k].code for k in ("T", "U", "C")]
    assert generate_due(at(17, 25)) == []  # once a day
    sent = Delivery.objects.get(event="bulletin")  # the town's robot hears of the town's
    assert "王店镇" in sent.title and "丁村" in sent.body


def test_a_county_sees_its_towns_one_level_up(world, four, day_of_work):
    county, e = world.nodes["C"], world.nodes["P"]
    _returnees(e, 5, at(8), seed=70)
    _submit_the_day(world, four)
    report_submit(actor=world.users["commander"], village=e, day=DAY, now=at(12), entered={})
    made = generate_due(at(17, 10))
    assert {b.node.name for b in made} == {"王店镇", "洪合镇", "秀洲区"}
    s = Bulletin.objects.get(node=county, day=DAY).summary
    rows = {r["name"]: r for r in s["rows"]}
    assert rows["王店镇"]["villages"] == 4 and rows["王店镇"]["missing"] == 1
    assert rows["王店镇"]["values"]["returnees_new"] == 10
    assert rows["洪合镇"]["values"]["returnees_new"] == 5 and rows["洪合镇"]["on_time"] == 1
    assert s["totals"]["returnees_new"] == 15
    assert s["missing"] == ["王店镇丁村"]
    _text, grid = _docx_text_and_table(bytes(Bulletin.objects.get(node=county, day=DAY).docx))
    assert grid[0][:5] == ["镇/街道", "村（社区）数", "按时", "迟报", "未报"]


def test_a_bulletin_made_before_the_deadline_is_made_again_by_the_job(world, four):
    Channel.objects.create(
        key="town-robot",
        name="镇指挥部群",
        kind="console",
        jurisdiction=world.nodes["T"],
        events=["bulletin"],
    )
    draft = bulletin_generate(node=world.nodes["T"], day=DAY, now=at(15), highlights="上午亮点")
    assert draft.summary["counts"]["pending"] == 4
    [final] = [b for b in generate_due(at(17, 10)) if b.node_id == world.nodes["T"].pk]
    assert final.pk == draft.pk and final.version == 2
    assert final.summary["counts"]["missing"] == 4 and final.summary["highlights"] == ["上午亮点"]
    assert Delivery.objects.filter(event="bulletin").count() == 1
    assert generate_due(at(17, 40)) == []


def test_a_past_day_counts_unconfirmed_villages_as_counted_that_evening(world, four):
    from fangkong.reports.bulletin import village_values
    from fangkong.reports.models import VillageDay

    yesterday = timezone.localdate() - timedelta(days=1)
    VillageDay.objects.create(
        village=four["D"],
        day=yesterday,
        refreshed_at=timezone.now(),
        values={"orders_overdue": 4, "pushed_pending": 6},
    )
    values, _reports = village_values([four["D"]], yesterday)
    assert values[four["D"].pk]["orders_overdue"] == 4
    assert values[four["D"].pk]["pushed_pending"] == 6
