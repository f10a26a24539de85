"""Importing and exporting the jurisdiction tree: files, row errors, web flow and CLI.

Every file is built here, in the format and encoding a county office really sends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from fangkong.audit.models import AuditEvent
from fangkong.core.models import Upload
from fangkong.core.tabular import TableError, read_table
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Role
from fangkong.org.services import (
    child_path,
    jurisdiction_create,
    membership_grant,
    staff_create,
)
from fangkong.org.tree_io import tree_import_commit
from fangkong.org.validation import RowError, TreePlan, plan_tree_import

pytestmark = pytest.mark.django_db

COUNTY = "433122000000"
TOWN = "433122102000"
TOWN2 = "433122103000"
V1 = "433122102201"
V2 = "433122102202"
ZH_HEADER = ["代码", "名称", "层级", "上级代码"]
EN_HEADER = ["Code", "Name", "Level", "Parent code"]

# (code, name, level word, parent code); the level words are the ones offices use.
TREE = [
    [COUNTY, "泸溪县", "县", ""],
    [TOWN, "浦市镇", "镇", COUNTY],
    [TOWN2, "潭溪街道", "街道", COUNTY],
    [V1, "浦市社区", "社区", TOWN],
    [V2, "吉家坪村", "村", TOWN],
    ["433122103201", "潭溪村", "村", TOWN2],
    [V1 + "-G01", "浦市一网格", "网格", V1],
    [V1 + "-G02", "浦市二网格", "网格", V1],
    [V2 + "-G01", "吉家坪一网格", "网格", V2],
    [V1 + "-G01-M01", "一组", "微网格", V1 + "-G01"],
    [V1 + "-G01-M02", "二组", "微网格", V1 + "-G01"],
    [V2 + "-G01-M1", "吉家坪一组", "微网格", V2 + "-G01"],
]
NUMERIC_LEVEL = {
    "县": "1",
    "镇": "2",
    "街道": "2",
    "村": "3",
    "社区": "3",
    "网格": "4",
    "微网格": "5",
}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list[str]], numeric_codes: bool = False) -> bytes:
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.append(header)
    for row in rows:
        cells: list[Any] = list(row)
        if numeric_codes and cells[0].isdigit():
            cells[0] = int(cells[0])  # Excel users type codes into number cells
            cells[3] = int(cells[3]) if cells[3].isdigit() else cells[3]
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FILES: dict[str, Callable[[], tuple[bytes, str]]] = {
    "xlsx": lambda: (xlsx_bytes(ZH_HEADER, TREE), "tree.xlsx"),
    "xlsx-numeric": lambda: (xlsx_bytes(ZH_HEADER, TREE, numeric_codes=True), "tree.xlsx"),
    "utf8": lambda: (csv_bytes(ZH_HEADER, TREE), "tree.csv"),
    "utf8-bom": lambda: (csv_bytes(ZH_HEADER, TREE, "utf-8-sig"), "tree.csv"),
    "gbk": lambda: (csv_bytes(ZH_HEADER, TREE, "gbk"), "tree.csv"),
    "gb18030": lambda: (csv_bytes(ZH_HEADER, TREE, "gb18030"), "tree.csv"),
    "english-numeric-levels": lambda: (
        csv_bytes(EN_HEADER, [[c, n, NUMERIC_LEVEL[lv], p] for c, n, lv, p in TREE]),
        "tree.csv",
    ),
    "english-words": lambda: (
        xlsx_bytes(
            ["code", "name", "level", "parent"],
            [
                [c, n, {"县": "county", "镇": "Town", "街道": "street"}.get(lv, lv), p]
                for c, n, lv, p in TREE
            ],
        ),
        "tree.xlsx",
    ),
}


def plan_of(data: bytes, filename: str) -> TreePlan:
    table = read_table(data, filename)
    return plan_tree_import(table.headers, table.rows)


def import_file(data: bytes, filename: str) -> dict[str, int]:
    plan = plan_of(data, filename)
    assert plan.errors == []
    return tree_import_commit(plan=plan)


def snapshot() -> dict[str, tuple[Any, ...]]:
    return {
        j.code: (j.name, j.level, j.parent_id, j.path, j.party_org_name, j.updated_at)
        for j in Jurisdiction.objects.all()
    }


# Valid files -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FILES))
def test_valid_tree_imports(kind):
    data, name = FILES[kind]()
    plan = plan_of(data, name)
    assert plan.errors == []
    assert (plan.creates, plan.updates, plan.unchanged) == (len(TREE), 0, 0)
    assert tree_import_commit(plan=plan) == {"created": len(TREE), "updated": 0, "unchanged": 0}
    assert Jurisdiction.objects.count() == len(TREE)
    nodes = {j.code: j for j in Jurisdiction.objects.select_related("parent")}
    for code, name_, _level, parent in TREE:
        node = nodes[code]
        assert node.name == name_
        assert (node.parent.code if node.parent else "") == parent
        assert node.path == child_path(node.parent, code)
    assert nodes[TOWN2].level == Level.TOWN
    assert nodes[V1].level == Level.VILLAGE
    assert nodes[V1 + "-G01-M01"].level == Level.MICROGRID
    assert nodes[TOWN].party_org_name == "浦市镇党委"
    assert set(Jurisdiction.objects.within(nodes[V1].path).values_list("code", flat=True)) == {
        V1,
        V1 + "-G01",
        V1 + "-G02",
        V1 + "-G01-M01",
        V1 + "-G01-M02",
    }


def test_rows_in_any_order_and_party_org_column():
    rows = [[*r, f"{r[1]}党组织"] for r in reversed(TREE)]
    data = csv_bytes([*ZH_HEADER, "党组织"], rows)
    assert import_file(data, "t.csv")["created"] == len(TREE)
    assert Jurisdiction.objects.get(code=V1).party_org_name == "浦市社区党组织"


def test_reimport_changes_nothing():
    data, name = FILES["xlsx"]()
    import_file(data, name)
    before = snapshot()
    plan = plan_of(data, name)
    assert (plan.creates, plan.updates, plan.unchanged) == (0, 0, len(TREE))
    assert tree_import_commit(plan=plan) == {"created": 0, "updated": 0, "unchanged": len(TREE)}
    assert snapshot() == before


def test_corrected_file_updates_exactly_that_node():
    data, name = FILES["utf8"]()
    import_file(data, name)
    before = snapshot()
    fixed = [list(r) for r in TREE]
    fixed[4][1] = "吉家坪社区"
    data2 = csv_bytes(ZH_HEADER, fixed)
    plan = plan_of(data2, "fixed.csv")
    assert (plan.creates, plan.updates, plan.unchanged) == (0, 1, len(TREE) - 1)
    assert tree_import_commit(plan=plan) == {"created": 0, "updated": 1, "unchanged": 11}
    after = snapshot()
    assert {c for c in after if after[c] != before[c]} == {V2}
    assert after[V2][0] == "吉家坪社区"
    assert after[V2][5] > before[V2][5]


def test_partial_file_adds_under_existing_nodes():
    data, name = FILES["utf8"]()
    import_file(data, name)
    more = [
        [V2 + "-G02", "吉家坪二网格", "网格", V2],
        [V2 + "-G02-M1", "吉家坪二组", "微网格", V2 + "-G02"],
    ]
    assert import_file(csv_bytes(ZH_HEADER, more), "more.csv") == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert Jurisdiction.objects.get(code=V2 + "-G02-M1").path.startswith(
        Jurisdiction.objects.get(code=V2).path
    )


def test_reparenting_in_a_file_moves_the_subtree_where_the_code_allows():
    data, name = FILES["utf8"]()
    import_file(data, name)
    # A grid's code names its village, so it cannot be moved to another village.
    plan = plan_of(csv_bytes(ZH_HEADER, [[V1 + "-G02", "浦市二网格", "网格", V2]]), "m.csv")
    assert [(e.row, e.column) for e in plan.errors] == [(2, "code")]
    # A town may move between two county nodes whose codes share its first 6 digits.
    rows = [["433122", "泸溪县(新)", "县", ""], [TOWN, "浦市镇", "镇", "433122"]]
    plan = plan_of(csv_bytes(ZH_HEADER, rows), "m.csv")
    assert (plan.creates, plan.updates, plan.unchanged) == (1, 1, 0)
    assert tree_import_commit(plan=plan) == {"created": 1, "updated": 1, "unchanged": 0}
    town = Jurisdiction.objects.get(code=TOWN)
    assert town.path == f"/433122/{TOWN}/"
    for j in Jurisdiction.objects.select_related("parent"):
        assert j.path == child_path(j.parent, j.code)
    assert Jurisdiction.objects.within(town.path).count() == 9


# Row errors: nothing is written -------------------------------------------------------


def _with(rows_change: Callable[[list[list[str]]], object]) -> list[list[str]]:
    rows = [list(r) for r in TREE]
    rows_change(rows)
    return rows


ERROR_CASES = {
    "bad-code-format": (
        lambda rows: rows.__setitem__(5, ["43312210320", "潭溪村", "村", TOWN2]),
        [RowError(7, "code", "43312210320", "A village/community code is 12 digits.")],
    ),
    "village-not-under-its-town": (
        lambda rows: rows.__setitem__(5, ["433122102209", "潭溪村", "村", TOWN2]),
        [
            RowError(
                7, "code", "433122102209", "A village code starts with its town's first 9 digits."
            )
        ],
    ),
    "unknown-level": (
        lambda rows: rows[4].__setitem__(2, "省"),
        [
            RowError(6, "level", "省", "Unknown level."),
            RowError(10, "parent_code", V2, "The parent row has errors."),
        ],
    ),
    "missing-name": (
        lambda rows: rows[7].__setitem__(1, "  "),
        [RowError(9, "name", "", "The name is empty.")],
    ),
    "unknown-parent": (
        lambda rows: rows[5].__setitem__(3, "433122109000"),
        [RowError(7, "parent_code", "433122109000", "No such parent in the file or the system.")],
    ),
    "duplicate-code": (
        lambda rows: rows.append([V1 + "-G02", "又一个二网格", "网格", V1]),
        [RowError(14, "code", V1 + "-G02", "Code repeated; first seen in row 9.")],
    ),
    "duplicate-of-an-invalid-row": (
        lambda rows: (rows[7].__setitem__(2, "片区"), rows.append(list(TREE[7]))),
        [
            RowError(9, "level", "片区", "Unknown level."),
            RowError(14, "code", V1 + "-G02", "Code repeated; first seen in row 9."),
        ],
    ),
    "parent-row-invalid": (
        lambda rows: rows[6].__setitem__(1, ""),
        [
            RowError(8, "name", "", "The name is empty."),
            RowError(11, "parent_code", V1 + "-G01", "The parent row has errors."),
            RowError(12, "parent_code", V1 + "-G01", "The parent row has errors."),
        ],
    ),
    "wrong-parent-level": (
        lambda rows: rows.__setitem__(8, [V2 + "-G01", "吉家坪一网格", "网格", TOWN]),
        [
            RowError(10, "code", V2 + "-G01", "A Grid cannot be placed under a Town / street."),
            RowError(
                10,
                "code",
                V2 + "-G01",
                "A grid or micro-grid code is its parent's code, '-', and 1-8 letters or digits.",
            ),
        ],
    ),
    "village-at-top": (
        lambda rows: rows[3].__setitem__(3, ""),
        [RowError(5, "code", V1, "Only a county or a town can be at the top; give a parent code.")],
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_row_errors_are_numbered_and_nothing_is_written(case, fmt):
    change, expected = ERROR_CASES[case]
    rows = _with(change)
    data = csv_bytes(ZH_HEADER, rows) if fmt == "csv" else xlsx_bytes(ZH_HEADER, rows)
    jurisdiction_create(code="433100", name="另一县", level=Level.COUNTY, parent=None)
    before = snapshot()
    plan = plan_of(data, f"bad.{fmt}")
    assert plan.errors == expected
    assert plan.rows == []
    with pytest.raises(ValidationError, match="nothing was imported"):
        tree_import_commit(plan=plan)
    assert snapshot() == before
    assert Jurisdiction.objects.count() == 1


def test_missing_required_header_column():
    rows = [[c, n, p] for c, n, _lv, p in TREE]
    plan = plan_of(csv_bytes(["代码", "名称", "上级代码"], rows), "t.csv")
    assert plan.errors == [
        RowError(1, "level", "", "Required columns are missing from the header.")
    ]
    plan = plan_of(csv_bytes(["编号", "名称"], [r[:2] for r in TREE]), "t.csv")
    assert plan.errors == [
        RowError(1, "code, level, parent_code", "", "Required columns are missing from the header.")
    ]
    assert Jurisdiction.objects.count() == 0


def test_existing_node_of_another_level():
    data, name = FILES["utf8"]()
    import_file(data, name)
    before = snapshot()
    plan = plan_of(csv_bytes(ZH_HEADER, [[V1 + "-G02", "二网格", "微网格", V1 + "-G01"]]), "x.csv")
    assert RowError(2, "level", "5", "The existing node has another level.") in plan.errors
    assert snapshot() == before


# Whole-file errors --------------------------------------------------------------------


def test_disguised_file():
    with pytest.raises(TableError, match="named like a spreadsheet but its content is not one"):
        read_table(csv_bytes(ZH_HEADER, TREE), "tree.xlsx")


def test_empty_file():
    with pytest.raises(TableError, match=r"The file is empty\."):
        read_table(b"", "tree.csv")


def test_oversized_file():
    data = csv_bytes(ZH_HEADER, TREE)
    with (
        override_settings(FANGKONG_MAX_UPLOAD_BYTES=len(data) - 1),
        pytest.raises(TableError) as info,
    ):
        read_table(data, "tree.csv")
    assert str(info.value) == f"The file is {len(data)} B; the limit is {len(data) - 1} B."


def test_too_many_rows():
    data = csv_bytes(ZH_HEADER, TREE)
    with override_settings(FANGKONG_MAX_IMPORT_ROWS=len(TREE)):
        assert len(read_table(data, "tree.csv").rows) == len(TREE)
    with (
        override_settings(FANGKONG_MAX_IMPORT_ROWS=len(TREE) - 1),
        pytest.raises(TableError) as info,
    ):
        read_table(data, "tree.csv")
    assert str(info.value) == f"The file has more than {len(TREE) - 1} data rows; split it."


# Web flow ---------------------------------------------------------------------------


@pytest.fixture
def town_setup():
    county = jurisdiction_create(code=COUNTY, name="泸溪县", level=Level.COUNTY, parent=None)
    town = jurisdiction_create(code=TOWN, name="浦市镇", level=Level.TOWN, parent=county)
    commander = staff_create(
        username="cmdr", name="指挥长", kind="town_cadre", jurisdiction=town
    ).user
    membership_grant(user=commander, jurisdiction=town, role=Role.TOWN_COMMANDER)
    village = jurisdiction_create(code=V1, name="浦市社区", level=Level.VILLAGE, parent=town)
    grid = jurisdiction_create(
        code=V1 + "-G01", name="浦市一网格", level=Level.GRID, parent=village
    )
    worker = staff_create(username="gw", name="网格员", kind="grid_worker", jurisdiction=grid).user
    membership_grant(user=worker, jurisdiction=grid, role=Role.GRID_WORKER)
    return {"county": county, "town": town, "commander": commander, "worker": worker}


TOWN_ROWS = [r for r in TREE if r[0].startswith("433122102") and r[0] != TOWN]
# Rows whose parent exists before the import; new-under-new rows have their own test.
WEB_ROWS = [r for r in TOWN_ROWS if not r[0].startswith(V2 + "-")]


def _client(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def _upload(client: Client, data: bytes, name: str) -> Any:
    return client.post(reverse("org:tree_import"), {"file": io.BytesIO(data) | _named(name)})


class _named:
    """`BytesIO | _named("x.csv")` gives the in-memory file a name for the test client."""

    def __init__(self, name: str):
        self.name = name

    def __ror__(self, buffer: io.BytesIO) -> io.BytesIO:
        buffer.name = self.name
        return buffer


def test_web_import_preview_then_confirm(town_setup):
    client = _client(town_setup["commander"])
    assert client.get(reverse("org:tree_import")).status_code == 200
    data = xlsx_bytes(ZH_HEADER, WEB_ROWS)
    before = Jurisdiction.objects.count()
    response = _upload(client, data, "村社网格.xlsx")
    assert response.status_code == 200, response.context["form"].errors
    plan = response.context["plan"]
    # The village and its first grid exist already.
    assert (plan.creates, plan.updates, plan.unchanged) == (len(WEB_ROWS) - 2, 0, 2)
    upload = Upload.objects.get(owner=town_setup["commander"])
    content = response.content.decode()
    assert 'id="fk-import-preview"' in content
    assert reverse("org:tree_import_confirm", args=[upload.pk]) in content
    assert Jurisdiction.objects.count() == before  # preview writes nothing

    response = client.post(reverse("org:tree_import_confirm", args=[upload.pk]))
    assert response.status_code == 200
    assert response.context["result"] == {
        "created": len(WEB_ROWS) - 2,
        "updated": 0,
        "unchanged": 2,
    }
    assert Jurisdiction.objects.count() == before + len(WEB_ROWS) - 2
    assert not Upload.objects.filter(pk=upload.pk).exists()
    event = AuditEvent.objects.get(action="import")
    assert event.actor_id == town_setup["commander"].pk
    assert event.detail["created"] == len(WEB_ROWS) - 2


def test_web_import_of_new_nodes_under_new_nodes(town_setup):
    """New grids under a village that the same file creates are inside the town too."""
    client = _client(town_setup["commander"])
    before = Jurisdiction.objects.count()
    response = _upload(client, xlsx_bytes(ZH_HEADER, TOWN_ROWS), "t.xlsx")
    assert response.status_code == 200, response.context["form"].errors
    upload = Upload.objects.get()
    response = client.post(reverse("org:tree_import_confirm", args=[upload.pk]))
    assert response.context["result"]["created"] == len(TOWN_ROWS) - 2
    assert Jurisdiction.objects.count() == before + len(TOWN_ROWS) - 2


def test_web_import_with_errors_shows_them_and_stores_nothing(town_setup):
    client = _client(town_setup["commander"])
    rows = [list(r) for r in TOWN_ROWS]
    rows[2][2] = "片区"
    before = Jurisdiction.objects.count()
    response = _upload(client, csv_bytes(ZH_HEADER, rows, "gbk"), "bad.csv")
    assert response.status_code == 400
    assert response.context["plan"].errors[0] == RowError(4, "level", "片区", "Unknown level.")
    assert 'id="fk-import-errors"' in response.content.decode()
    assert not Upload.objects.exists()
    assert Jurisdiction.objects.count() == before


def test_web_import_refuses_rows_outside_the_jurisdiction(town_setup):
    client = _client(town_setup["commander"])
    response = _upload(client, csv_bytes(ZH_HEADER, TREE), "all.csv")
    assert response.status_code == 400
    assert "outside your jurisdiction" in response.content.decode()
    assert not Upload.objects.exists()
    assert Jurisdiction.objects.count() == 4


def test_web_import_table_error(town_setup):
    client = _client(town_setup["commander"])
    response = _upload(client, csv_bytes(ZH_HEADER, TOWN_ROWS), "renamed.xlsx")
    assert response.status_code == 400
    assert "its content is not one" in response.content.decode()


def test_grid_worker_gets_403(town_setup):
    commander = _client(town_setup["commander"])
    _upload(commander, csv_bytes(ZH_HEADER, WEB_ROWS), "t.csv")
    upload = Upload.objects.get()
    before = Jurisdiction.objects.count()
    worker = _client(town_setup["worker"])
    assert worker.get(reverse("org:tree_import")).status_code == 403
    response = _upload(worker, csv_bytes(ZH_HEADER, TOWN_ROWS), "t.csv")
    assert response.status_code == 403
    assert Upload.objects.count() == 1
    assert worker.post(reverse("org:tree_import_confirm", args=[upload.pk])).status_code == 403
    assert Jurisdiction.objects.count() == before
    assert worker.get(reverse("org:tree_export", args=["csv"])).status_code == 403


def test_confirm_of_someone_elses_upload_is_404(town_setup):
    _upload(_client(town_setup["commander"]), csv_bytes(ZH_HEADER, WEB_ROWS), "t.csv")
    upload = Upload.objects.get()
    other = staff_create(
        username="cmdr2", name="另一指挥长", kind="town_cadre", jurisdiction=town_setup["town"]
    ).user
    membership_grant(user=other, jurisdiction=town_setup["town"], role=Role.TOWN_COMMANDER)
    response = _client(other).post(reverse("org:tree_import_confirm", args=[upload.pk]))
    assert response.status_code == 404


# Export -----------------------------------------------------------------------------


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _exported_rows(response: Any, fmt: str) -> list[list[Any]]:
    body = _body(response)
    if fmt == "csv":
        text = body.decode("utf-8")
        assert text.startswith("\ufeff")
        return list(csv.reader(io.StringIO(text[1:])))
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def exported_tree(town_setup):
    import_file(xlsx_bytes(ZH_HEADER, TOWN_ROWS), "t.xlsx")
    grid = Jurisdiction.objects.get(code=V2 + "-G01")
    Jurisdiction.objects.create(
        code=V2 + "-G09",
        name='=HYPERLINK("x")',
        level=Level.GRID,
        parent=Jurisdiction.objects.get(code=V2),
        path=child_path(Jurisdiction.objects.get(code=V2), V2 + "-G09"),
    )
    assert grid.pk
    return town_setup


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_rows_parents_neutralised_and_audited(exported_tree, fmt):
    client = _client(exported_tree["commander"])
    response = client.get(reverse("org:tree_export", args=[fmt]))
    assert response.status_code == 200
    assert f".{fmt}" in response["Content-Disposition"]
    rows = _exported_rows(response, fmt)
    assert rows[0] == ["代码", "名称", "层级", "上级代码", "党组织", "户数", "人数"]
    by_code = {str(r[0]): r for r in rows[1:]}
    # The commander sees the town's subtree, not the county.
    expected = {TOWN, V2 + "-G09"} | {r[0] for r in TOWN_ROWS}
    assert set(by_code) == expected
    assert by_code[TOWN][3] == COUNTY
    for code, name, _lv, parent in TOWN_ROWS:
        assert by_code[code][1] == name
        assert by_code[code][3] == parent
    assert by_code[V1][2] == "村/社区"
    assert by_code[V1 + "-G01-M01"][2] == "微网格"
    assert by_code[V2 + "-G09"][1] == '\'=HYPERLINK("x")'
    # Tree order: every parent comes before its children.
    seen = {COUNTY}
    for row in rows[1:]:
        assert row[3] in seen
        seen.add(str(row[0]))
    event = AuditEvent.objects.get(action="export")
    assert event.actor_id == exported_tree["commander"].pk
    assert event.detail["format"] == fmt


def test_export_of_one_node(exported_tree):
    client = _client(exported_tree["commander"])
    response = client.get(reverse("org:tree_export", args=["csv"]) + f"?node={V2}")
    codes = {r[0] for r in _exported_rows(response, "csv")[1:]}
    assert codes == {V2, V2 + "-G01", V2 + "-G01-M1", V2 + "-G09"}
    assert AuditEvent.objects.get(action="export").detail["node"] == V2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_reimport_changes_nothing(exported_tree, fmt):
    client = _client(exported_tree["commander"])
    body = _body(client.get(reverse("org:tree_export", args=[fmt])))
    before = snapshot()
    plan = plan_of(body, f"export.{fmt}")
    assert plan.errors == []
    assert (plan.creates, plan.updates) == (0, 0)
    assert tree_import_commit(plan=plan) == {
        "created": 0,
        "updated": 0,
        "unchanged": len(before) - 1,  # all but the county, which is outside the export
    }
    assert snapshot() == before
    # And through the web: preview says nothing to do.
    response = _upload(client, body, f"export.{fmt}")
    assert response.status_code == 200
    assert (response.context["plan"].creates, response.context["plan"].updates) == (0, 0)


# Command line -----------------------------------------------------------------------


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_cli_import_dry_run_then_commit(tmp_path):
    path = _write(tmp_path, "tree.xlsx", xlsx_bytes(ZH_HEADER, TREE))
    out = io.StringIO()
    call_command("import_tree", str(path), "--dry-run", stdout=out)
    assert f"{len(TREE)} to create, 0 to update, 0 unchanged" in out.getvalue()
    assert Jurisdiction.objects.count() == 0
    assert not AuditEvent.objects.exists()

    out = io.StringIO()
    call_command("import_tree", str(path), stdout=out)
    assert f"{len(TREE)} created, 0 updated, 0 unchanged" in out.getvalue()
    assert Jurisdiction.objects.count() == len(TREE)
    event = AuditEvent.objects.get(action="import")
    assert (event.actor_id, event.actor_name) == (None, "cli")
    assert event.detail["created"] == len(TREE)

    out = io.StringIO()
    call_command("import_tree", str(path), stdout=out)
    assert "0 created, 0 updated, 12 unchanged" in out.getvalue()


def test_cli_import_errors_go_to_stderr_and_nothing_is_written(tmp_path):
    rows = [list(r) for r in TREE]
    rows[5][0] = "43312210320"
    rows[7][1] = ""
    path = _write(tmp_path, "bad.csv", csv_bytes(ZH_HEADER, rows, "gb18030"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 error"):
        call_command("import_tree", str(path), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        'row 7, column code, value "43312210320": A village/community code is 12 digits.',
        'row 9, column name, value "": The name is empty.',
    ]
    assert Jurisdiction.objects.count() == 0
    assert not AuditEvent.objects.exists()


def test_cli_import_table_error_and_missing_file(tmp_path):
    path = _write(tmp_path, "tree.xlsx", b"not a spreadsheet")
    with pytest.raises(CommandError, match="named like a spreadsheet"):
        call_command("import_tree", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_tree", str(tmp_path / "missing.csv"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_export_and_round_trip(tmp_path, fmt):
    import_file(csv_bytes(ZH_HEADER, TREE), "t.csv")
    target = tmp_path / f"out.{fmt}"
    out = io.StringIO()
    call_command("export_tree", "-o", str(target), stdout=out)
    assert f"Exported {len(TREE)} nodes" in out.getvalue()
    table = read_table(target.read_bytes(), target.name)
    assert [cells[0] for _, cells in table.rows] == sorted(
        (r[0] for r in TREE), key=lambda c: Jurisdiction.objects.get(code=c).path
    )
    event = AuditEvent.objects.get(action="export")
    assert (event.actor_id, event.actor_name, event.detail["format"]) == (None, "cli", fmt)
    before = snapshot()
    call_command("import_tree", str(target), stdout=io.StringIO())
    assert snapshot() == before


def test_cli_export_subtree_and_bad_arguments(tmp_path):
    import_file(csv_bytes(ZH_HEADER, TREE), "t.csv")
    target = tmp_path / "v1.csv"
    call_command("export_tree", "-o", str(target), "--node", V1, stdout=io.StringIO())
    codes = [cells[0] for _, cells in read_table(target.read_bytes(), "v1.csv").rows]
    assert codes == [V1, V1 + "-G01", V1 + "-G01-M01", V1 + "-G01-M02", V1 + "-G02"]
    with pytest.raises(CommandError, match=r"\.xlsx or \.csv"):
        call_command("export_tree", "-o", str(tmp_path / "x.txt"))
    with pytest.raises(CommandError, match="No jurisdiction"):
        call_command("export_tree", "-o", str(target), "--node", "999")
    assert AuditEvent.objects.filter(action="export").count() == 1


@pytest.mark.django_db
def test_existing_node_with_blank_parent_is_an_error_not_a_silent_update():
    from fangkong.core.tabular import read_table
    from fangkong.org.models import Jurisdiction, Level
    from fangkong.org.services import jurisdiction_create
    from fangkong.org.validation import plan_tree_import

    county = jurisdiction_create(code="330411", name="秀洲区", level=Level.COUNTY, parent=None)
    jurisdiction_create(code="330411102000", name="王店镇", level=Level.TOWN, parent=county)
    data = "代码,名称,层级,上级代码\n330411102000,王店镇,镇,\n".encode()
    table = read_table(data, "t.csv")
    with translation.override("en"):
        plan = plan_tree_import(table.headers, table.rows)
    assert [(e.row, e.column, e.message) for e in plan.errors] == [
        (2, "parent_code", "The existing node has a parent; give its code.")
    ]
    assert Jurisdiction.objects.get(code="330411102000").parent == county
