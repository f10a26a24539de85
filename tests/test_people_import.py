"""Importing households and persons from the spreadsheets towns keep.

Every file is built here (xlsx with openpyxl, csv in each encoding), except the .xls,
which was written once with xlwt (tests/data/people_import.xls: 张三 and 李四 of household
X1 in grid A2, 李四's ID 110105198502150025 stored as a number, 张三's birth date as a
date cell).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook
from stdnum.cn import ric

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.core.tabular import read_table
from fangkong.people import import_commit, matching
from fangkong.people.importer import (
    ImportOptions,
    ImportPlan,
    commit_plan,
    plan_people_import,
    scope_for_user,
)
from fangkong.people.models import (
    Household,
    ImportJob,
    ImportMapping,
    ImportStatus,
    Person,
    PersonChange,
    Relationship,
)
from tests.world import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Assertions read the English msgids; the interface default is zh-Hans.
    with translation.override("en"):
        yield


@pytest.fixture
def login(login):
    """The conftest personas, with the language switcher set to English."""

    def make(persona: str):
        client = login(persona)
        client.cookies["django_language"] = "en"
        return client

    return make


A1 = "330411102201-G01"
A1M1 = "330411102201-G01-M01"
A2 = "330411102201-G02"
B1 = "330411102202-G01"
HEADER = ["姓名", "身份证号", "联系电话", "户号", "所属网格", "与户主关系", "住址", "特殊人群"]
DATA = Path(__file__).parent / "data"


def rid(seq: int, birth: str = "19800101") -> str:
    """A valid resident ID number (Beijing Chaoyang region code)."""
    base = f"110105{birth}{seq % 1000:03d}"
    number = base + ric.calc_check_digit(base + "0")
    assert ric.is_valid(number)
    return number


def phone(seq: int) -> str:
    return f"139{seq:08d}"


def family(no: str, grid: str, start: int) -> list[list[str]]:
    return [
        ["张伟", rid(start), phone(start), no, grid, "户主", "幸福路1号", ""],
        [
            "李娜",
            rid(start + 1, "19820305"),
            phone(start + 1),
            no,
            grid,
            "妻子",
            "幸福路1号",
            "孕妇",
        ],
        ["張小明", rid(start + 2, "20100510"), "", no, grid, "儿子", "幸福路1号", ""],
    ]


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], setup: Callable[[Any], None] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if setup:
        setup(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plan_of(
    world: World, data: bytes, name: str, persona: str = "cadre_a", **opts: Any
) -> ImportPlan:
    table = read_table(data, name, skip_title=True)
    return plan_people_import(
        table, scope_for_user(world.users[persona]), ImportOptions(filename=name, **opts)
    )


def commit(world: World, plan: ImportPlan, name: str = "f.csv") -> dict[str, int]:
    return commit_plan(plan=plan, actor=world.users["cadre_a"], source=f"import:{name}")


def messages(plan: ImportPlan) -> list[str]:
    return [e.message for e in plan.errors] + plan.file_errors


# Formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_import_households_and_persons(world, encoding):
    data = csv_bytes([HEADER, *family("H1", A2, 1), *family("H2", A1M1, 10)], encoding)
    plan = plan_of(world, data, "p.csv")
    assert plan.errors == [] and plan.file_errors == []
    assert plan.counts["persons_created"] == 6 and plan.counts["households_created"] == 2
    result = commit(world, plan)
    assert result["persons_created"] == 6 and result["households_created"] == 2
    household = Household.objects.get(jurisdiction=world.nodes["A2"])
    assert household.head is not None and household.head.name == "张伟"
    assert household.address == "四喜社区 幸福路1号"
    child = Person.objects.get(
        name="張小明", jurisdiction=world.nodes["A2"]
    )  # traditional script kept, key simplified
    assert child.name_key == "张小明" and child.relationship == Relationship.CHILD
    assert set(
        Person.objects.get(name="李娜", jurisdiction=world.nodes["A2"]).tags.values_list(
            "tag", flat=True
        )
    ) == {"pregnant"}
    change = PersonChange.objects.filter(person=child).get()
    assert change.source == "import:f.csv" and "*" in change.changes["id_number"][1]


def test_xls_file_is_read_and_its_numeric_id_explained(world):
    plan = plan_of(world, (DATA / "people_import.xls").read_bytes(), "people_import.xls")
    assert [(e.row, e.column) for e in plan.errors] == [(3, "身份证号")]
    assert "stored as a number" in plan.errors[0].message
    assert "110105198502150" not in plan.errors[0].value + plan.errors[0].message
    assert plan.counts["persons_created"] == 1  # the valid row; the file as a whole is blocked


def test_xlsx_damage_numeric_id_serial_date_formula(world):
    header: list[Any] = [
        "姓名",
        "身份证号",
        "无证件原因",
        "出生日期",
        "所属网格",
        "住址",
        "联系电话",
    ]
    rows: list[list[Any]] = [
        header,
        ["王五", int(rid(1)), "", "", A2, "东路1号", ""],  # ID stored as a number
        ["赵六", "", "婴儿未办证", 43831, A2, "东路2号", ""],  # serial date = 2020-01-01
        ["孙七", rid(3), "", "", A2, "东路3号", "=B2"],  # formula without cached value
    ]
    plan = plan_of(world, xlsx_bytes(rows), "d.xlsx")
    by_row = {e.row: e for e in plan.errors}
    assert set(by_row) == {2, 4}
    assert "stored as a number" in by_row[2].message and by_row[2].column == "身份证号"
    assert rid(1) not in by_row[2].value and "*" in by_row[2].value
    assert "formula without a value" in by_row[4].message.lower()
    commit(world, plan_of(world, xlsx_bytes(rows[:1] + rows[2:3]), "d.xlsx"))
    assert str(Person.objects.get(name="赵六").birth_date) == "2020-01-01"


def test_merged_header_is_reported_and_merged_title_skipped(world):
    def two_rows(sheet: Any) -> None:
        sheet.merge_cells("A1:B1")

    rows: list[list[Any]] = [
        ["人员", None, "所属网格"],
        ["姓名", "身份证号", ""],
        ["王五", rid(1), A2],
    ]
    plan = plan_of(world, xlsx_bytes(rows, two_rows), "m.xlsx")
    assert plan.file_errors and "A1:B1" in plan.file_errors[0]

    def title(sheet: Any) -> None:
        sheet.merge_cells("A1:C1")

    rows2: list[list[Any]] = [
        ["四喜社区人口登记表", None, None],
        ["姓名", "身份证号", "所属网格"],
        ["王五", rid(1), A2],
        [None, None, None],
        [None, None, None],
    ]
    plan = plan_of(world, xlsx_bytes(rows2, title), "t.xlsx")
    assert plan.file_errors == [] and plan.errors == [] and plan.counts["persons_created"] == 1
    assert plan.households[0].persons[0].row == 3  # Excel's row number, title counted


def test_excel_damaged_ids_in_csv_and_duplicates(world):
    rows = [
        HEADER,
        ["甲", "1.10105E+17", "", "", A2, "户主", "一路1号", ""],
        ["乙", rid(2)[:15] + "000", "", "", A2, "户主", "一路2号", ""],
        ["丙", rid(3), phone(3), "", A2, "户主", "一路3号", ""],
        ["丁", rid(3), "12345", "", A2, "户主", "一路4号", ""],
    ]
    plan = plan_of(world, csv_bytes(rows), "x.csv")
    by_row: dict[int, list[str]] = {}
    for e in plan.errors:
        by_row.setdefault(e.row, []).append(e.message)
        assert rid(3) not in e.value + e.message and rid(2)[:15] not in e.value + e.message
    assert "Excel turned this ID number into a number" in by_row[2][0]
    assert "zeros" in by_row[3][0]
    assert 4 not in by_row
    assert any("already in row 4" in m for m in by_row[5])


def test_grid_outside_scope_and_leaf_rule(world):
    rows = [
        HEADER,
        ["甲", rid(1), "", "", B1, "户主", "一路1号", ""],
        ["乙", rid(2), "", "", A1, "户主", "一路2号", ""],
        ["丙", rid(3), "", "", "东风网格", "户主", "一路3号", ""],
    ]
    plan = plan_of(world, csv_bytes(rows), "g.csv")
    by_row = {e.row: e for e in plan.errors}
    assert "not a grid in your jurisdiction" in by_row[2].message and by_row[2].column == "所属网格"
    assert "micro-grid" in by_row[3].message
    assert 4 not in by_row  # a grid may be given by name


# Modes, re-import, corrections ------------------------------------------------------


def test_valid_only_drops_a_partly_invalid_household_whole(world):
    bad = family("H2", A2, 10)
    bad[1][1] = "110105198203050000"
    data = csv_bytes([HEADER, *family("H1", A2, 1), *bad])
    plan = plan_of(world, data, "v.csv")
    assert plan.blocked
    with pytest.raises(Exception, match="nothing was imported"):
        commit(world, plan)
    assert Person.objects.count() == 0
    plan = plan_of(world, data, "v.csv", valid_only=True)
    assert not plan.blocked
    dropped = [e for e in plan.errors if "Not imported" in e.message]
    assert sorted(e.row for e in dropped) == [5, 7] and "row 6" in dropped[0].message
    result = commit(world, plan)
    assert result["persons_created"] == 3 and result["rows_skipped"] == 3
    assert Household.objects.count() == 1


def test_reimport_changes_nothing_and_correction_updates_with_history(world):
    rows = [HEADER, *family("H1", A2, 1)]
    commit(world, plan_of(world, csv_bytes(rows), "f.csv"))
    changes = PersonChange.objects.count()
    stamps = list(Person.objects.values_list("updated_at", flat=True))
    again = plan_of(world, csv_bytes(rows), "f.csv")
    result = commit(world, again)
    assert result["persons_created"] == result["persons_updated"] == 0
    assert result["households_created"] == result["households_updated"] == 0
    assert result["persons_unchanged"] == 3
    assert PersonChange.objects.count() == changes
    assert list(Person.objects.values_list("updated_at", flat=True)) == stamps
    fixed = [HEADER, *family("H1", A2, 1)]
    fixed[2][2] = phone(77)
    fixed[3][7] = "独居"
    plan = plan_of(world, csv_bytes(fixed), "fixed.csv")
    assert plan.counts["persons_updated"] == 2
    result = commit_plan(plan=plan, actor=world.users["cadre_a"], source="import:fixed.csv")
    assert result["persons_updated"] == 2 and result["persons_created"] == 0
    wife = Person.objects.get(name="李娜")
    assert wife.phone == phone(77)
    last = wife.changes.first()
    assert last is not None and last.source == "import:fixed.csv"
    assert last.changes["phone"] == ["139****0002", "139****0077"]
    assert Person.objects.count() == 3


def test_person_without_id_is_matched_exactly_on_reimport(world):
    rows = [
        ["姓名", "无证件原因", "出生日期", "所属网格", "住址"],
        ["刘一", "未办理", "2020-03-04", A2, "南路9号"],
    ]
    commit(world, plan_of(world, csv_bytes(rows), "n.csv"))
    plan = plan_of(world, csv_bytes(rows), "n.csv")
    assert plan.counts["persons_unchanged"] == 1 and plan.counts["persons_created"] == 0


def test_failure_while_writing_leaves_nothing(world, monkeypatch):
    real = import_commit.insert_rows

    def boom(model: Any, names: Any, rows: Any, *, ids: bool = False) -> list[int]:
        if model is PersonChange:  # the last write: persons and households exist by then
            raise RuntimeError("disk full")
        return real(model, names, rows, ids=ids)

    plan = plan_of(world, csv_bytes([HEADER, *family("H1", A2, 1)]), "f.csv")
    monkeypatch.setattr(import_commit, "insert_rows", boom)
    with pytest.raises(RuntimeError):
        commit(world, plan)
    assert Person.objects.count() == 0 and Household.objects.count() == 0


def test_all_or_nothing_with_an_error_at_row_90000(world, tmp_path):
    lines = ["姓名,无证件原因,户号,所属网格,住址"]
    lines += [f"居民{i},未办理,H{i // 4},{A2},北路{i // 4}号" for i in range(1, 90_000)]
    lines.append(f"居民90000,未办理,H90000,{B1},北路1号")  # row 90,001 in Excel: not in scope
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    start = time.perf_counter()
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", "people", str(path), "--jurisdiction", "330411102201", stderr=err)
    assert "row 90001, column 所属网格" in err.getvalue()
    assert Person.objects.count() == 0 and Household.objects.count() == 0
    assert time.perf_counter() - start < 60


# Matcher confirmation -----------------------------------------------------------------


def test_unsure_match_is_confirmed_or_registered_new(world, login, monkeypatch, settings):
    settings.FANGKONG_IMPORT_SYNC = True
    commit(world, plan_of(world, csv_bytes([HEADER, *family("H1", A2, 1)]), "f.csv"))
    wife = Person.objects.get(name="李娜")

    def fake(records: list[Any], *, persons: Any) -> list[list[matching.Candidate]]:
        # Below the automatic threshold: the user must say.
        return [[matching.Candidate(wife.pk, 0.7, ["name + phone"])] for _ in records]

    monkeypatch.setattr(matching, "match_records", fake)
    rows = [
        ["姓名", "联系电话", "无证件原因", "所属网格", "住址"],
        ["李娜", phone(2), "遗失", A2, "幸福路1号"],
    ]
    client = login("cadre_a")
    response = client.post(
        reverse("people:import_upload"), {"file": _upload("m.csv", csv_bytes(rows))}
    )
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'name="confirm:2"' in page and phone(2) not in page
    response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 400  # every listed row needs a decision
    response = client.post(
        reverse("people:import_commit", args=[job.pk]), {"mode": "all", "confirm:2": str(wife.pk)}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.counts["persons_updated"] == 1
    wife.refresh_from_db()
    assert wife.no_id_reason == "遗失" and Person.objects.count() == 3


# CLI --------------------------------------------------------------------------------


def test_cli_reports_errors_masked_and_writes_nothing(world, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(
        csv_bytes(
            [
                HEADER,
                *family("H1", A2, 1),
                ["坏", rid(9)[:-1] + "0", "1381234567", "", A2, "户主", "x", ""],
            ]
        )
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", "people", str(path), stderr=err)
    report = err.getvalue()
    assert "row 5, column 身份证号" in report and rid(9)[:-1] not in report
    assert "row 5, column 联系电话" in report and "1381234567" not in report
    assert (
        Person.objects.count() == 0
        and not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()
    )


def test_cli_dry_run_then_import_then_reimport(world, tmp_path):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(xlsx_bytes([HEADER, *family("H1", A2, 1)]))
    out = io.StringIO()
    call_command("import", "people", str(path), "--dry-run", stdout=out)
    assert "3 persons to create" in out.getvalue() and Person.objects.count() == 0
    out = io.StringIO()
    call_command("import", "people", str(path), "--source", "四喜社区周报", stdout=out)
    assert "3 persons created" in out.getvalue() and "written 3/3 rows" in out.getvalue()
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert event.actor_name == "cli" and event.detail["persons_created"] == 3
    assert PersonChange.objects.first().source == "import:四喜社区周报"  # type: ignore[union-attr]
    world.nodes["A2"].refresh_from_db()
    assert world.nodes["A2"].resident_count == 3
    out = io.StringIO()
    call_command("import", "people", str(path), stdout=out)
    assert "0 persons created, 0 updated, 3 unchanged" in out.getvalue()


def test_cli_valid_only(world, tmp_path):
    path = tmp_path / "v.csv"
    path.write_bytes(
        csv_bytes([HEADER, *family("H1", A2, 1), ["坏", "123", "", "H9", A2, "户主", "x", ""]])
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "people", str(path), "--valid-only", stdout=out, stderr=err)
    assert "3 persons created" in out.getvalue() and "row 5" in err.getvalue()


# Web --------------------------------------------------------------------------------


def _upload(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_web_flow_as_village_cadre(world, login, settings):
    settings.FANGKONG_IMPORT_SYNC = True
    client = login("cadre_a")
    assert client.get(reverse("people:import_upload")).status_code == 200
    bad = [*family("H2", A2, 10)]
    bad[0][2] = "1381234567"
    data = csv_bytes([HEADER, *family("H1", A1M1, 1), *bad])
    response = client.post(
        reverse("people:import_upload"), {"file": _upload("w.csv", data), "source": "周报"}
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "fk-import-errors" in page and "1381234567" not in page
    for seq in range(1, 13):
        assert rid(seq) not in page and phone(seq) not in page
    response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 400 and Person.objects.count() == 0
    response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "valid_only"})
    assert response.status_code == 302
    progress = client.get(response["Location"])
    assert "fk-import-result" in progress.content.decode()
    fragment = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "hx-trigger" not in fragment  # finished: polling stops
    assert Person.objects.count() == 3
    world.nodes["A1M1"].refresh_from_db()
    assert world.nodes["A1M1"].resident_count == 3 and world.nodes["A1M1"].household_count == 1
    assert AuditEvent.objects.filter(
        action=AuditAction.IMPORT, actor=world.users["cadre_a"]
    ).exists()
    assert client.post(reverse("people:import_commit", args=[job.pk])).status_code == 400
    # Someone else's job is not found, whatever their rights.
    assert (
        login("commander").get(reverse("people:import_preview", args=[job.pk])).status_code == 404
    )


def test_progress_fragment_polls_while_running(world, login):
    job = ImportJob.objects.create(
        owner=world.users["cadre_a"],
        filename="x.csv",
        status=ImportStatus.RUNNING,
        rows_total=10,
        rows_done=4,
    )
    html = (
        login("cadre_a")
        .get(reverse("people:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert 'hx-trigger="every 1s"' in html and "4 of 10" in html and "<script" not in html


def test_grid_worker_cannot_import(world, login):
    assert login("gw_a1").get(reverse("people:import_upload")).status_code == 403


def test_unknown_headers_are_mapped_and_remembered(world, login, settings):
    settings.FANGKONG_IMPORT_SYNC = True
    client = login("cadre_a")
    rows = [["居民", "身份证号", "所属网格", "住址"], ["王五", rid(1), A2, "东路1号"]]
    response = client.post(
        reverse("people:import_upload"),
        {"file": _upload("u.csv", csv_bytes(rows)), "source": "卫生院名单"},
    )
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'name="map:居民"' in page and job.error_count == 1
    client.post(reverse("people:import_preview", args=[job.pk]), {"map:居民": "name"})
    job.refresh_from_db()
    assert job.error_count == 0 and job.counts["persons_created"] == 1
    assert ImportMapping.objects.get(source="卫生院名单").columns == {"居民": "name"}
    client.post(
        reverse("people:import_upload"),
        {"file": _upload("u2.csv", csv_bytes(rows)), "source": "卫生院名单"},
    )
    assert ImportJob.objects.order_by("-pk").first().error_count == 0  # type: ignore[union-attr]


def test_a_column_of_phones_nothing_reads_is_not_dropped_unasked(world, login, settings):
    """The mapping step the registry shares with pushed lists: a column whose values
    look like phones (or IDs) and that no field reads blocks the import until the user
    says what it holds, or that it is not used; the answer is remembered."""
    settings.FANGKONG_IMPORT_SYNC = True
    client = login("cadre_a")
    rows = [
        [*HEADER, "家属号码"],
        *([*r, phone(90 + i)] for i, r in enumerate(family("H1", A2, 1))),
    ]
    response = client.post(
        reverse("people:import_upload"),
        {"file": _upload("k.csv", csv_bytes(rows)), "source": "家属表"},
    )
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "家属号码" in job.message and 'name="map:家属号码"' in page
    assert phone(90) not in page
    response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 400 and Person.objects.count() == 0
    client.post(reverse("people:import_preview", args=[job.pk]), {"map:家属号码": "-"})
    job.refresh_from_db()
    assert job.error_count == 0
    assert ImportMapping.objects.get(source="家属表").columns == {"家属号码": ""}
    response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 302 and Person.objects.count() == 3


def test_web_import_runs_as_a_queued_task(world, login, django_capture_on_commit_callbacks):
    """The real path: the commit is enqueued through django-tasks' database backend when
    the request commits, and the jobs worker runs it."""
    from django_tasks_db.models import DBTaskResult

    from fangkong.core.management.commands.jobs import run_queued

    client = login("cadre_a")
    response = client.post(
        reverse("people:import_upload"),
        {"file": _upload("q.csv", csv_bytes([HEADER, *family("H1", A2, 1)]))},
    )
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED and Person.objects.count() == 0
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    run_queued()
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Person.objects.count() == 3
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
