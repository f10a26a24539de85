"""The limits every upload is read within (columns, cell length, unpacked size), the
encodings and delimiters of text files, and the preview a page shows (no database).

The two attack files of issue 12 are built here and must be refused while reading:
the wide csv before its 200,000 cells exist as strings, the 200 MB cell before
calamine sees the file and after reading about a megabyte of it.
"""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import python_calamine
from django.test import override_settings
from django.utils import translation

from fangkong.core.tabular import TableError, read_table
from tests.spreadsheet_files import (
    huge_inline_cell_xlsx,
    huge_shared_cell_xlsx,
    inline_row,
    raw_xlsx,
    unicode_text,
    wide_csv,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _peak(call: Callable[[], Any]) -> tuple[Exception | None, int]:
    """(what `call` raised, the peak of Python memory it allocated meanwhile); a first,
    untraced call loads what any first call loads (translations, modules)."""
    with contextlib.suppress(Exception):
        call()
    tracemalloc.start()
    raised = None
    try:
        call()
    except Exception as exc:
        raised = exc
    finally:
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


class _NoCalamine:
    @staticmethod
    def from_filelike(*_args: Any) -> Any:
        raise AssertionError("the file reached calamine")


# The attack files --------------------------------------------------------------------


def test_a_csv_of_200000_columns_is_refused_before_its_cells_exist():
    data = wide_csv()
    assert 1.8e6 < len(data) < 2e6
    raised, peak = _peak(lambda: read_table(data, "list.csv"))
    assert isinstance(raised, TableError)
    assert str(raised) == "Row 1, column GS: a file may have at most 200 columns."
    # The text itself is ~2 MB; 200,000 cell strings would be over 10 MB more.
    assert peak < 8 * 2**20, peak


@pytest.mark.parametrize(
    "build,where",
    [(huge_inline_cell_xlsx, "Row 3, column B"), (huge_shared_cell_xlsx, "Row 3, column D")],
    ids=["inline-string", "shared-string"],
)
def test_an_xlsx_with_a_200_mb_cell_is_refused_before_calamine(monkeypatch, build, where):
    data = build()
    assert len(data) < 2 * 2**20  # it compresses to next to nothing
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", _NoCalamine)
    raised, peak = _peak(lambda: read_table(data, "list.xlsx"))
    assert isinstance(raised, TableError)
    assert str(raised) == f"{where}: a cell may hold at most 2000 characters."
    # Refused after about a megabyte of the cell, never the whole 200 MB.
    assert peak < 16 * 2**20, peak


# Columns -----------------------------------------------------------------------------


def _xlsx(*rows: list[str], **kwargs: Any) -> bytes:
    return raw_xlsx([inline_row(i, cells, **kwargs) for i, cells in enumerate(rows, start=1)])


def test_columns_up_to_the_limit_are_read_and_one_more_is_named():
    header = [f"h{j}" for j in range(1, 201)]
    table = read_table(_xlsx(header, ["v"] * 200), "x.xlsx")
    assert len(table.headers) == 200 and len(table.rows[0][1]) == 200
    with pytest.raises(TableError, match=r"^Row 2, column GS: a file may have at most 200"):
        read_table(_xlsx(header, ["v"] * 201), "x.xlsx")
    with pytest.raises(TableError, match=r"^Row 2, column GS:"):
        read_table(_xlsx(header, ["v"] * 201, refs=False), "x.xlsx")
    text = "\n".join([",".join(header), ",".join(["v"] * 201)]).encode()
    with pytest.raises(TableError, match=r"^Row 2, column GS:"):
        read_table(text, "x.csv")
    quoted = "\n".join([",".join(header), ",".join(['"v"'] * 201)]).encode()
    with pytest.raises(TableError, match=r"^Row 2, column GS:"):
        read_table(quoted, "x.csv")


def test_empty_cells_past_the_limit_are_no_columns():
    """Spreadsheets leave formatted or empty cells far to the right; only a value counts."""
    styled = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>\xe5\xa7\x93\xe5\x90\x8d</t></is></c>'
        b'<c r="XFD1" s="1"/><c r="ZZ1" s="2"></c></row>'
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    table = read_table(raw_xlsx([styled]), "x.xlsx")
    assert table.headers == ["姓名"] and table.rows == [(2, ["x"])]
    trailing = ("姓名" + "," * 300 + "\n张伟" + "," * 300 + "\n").encode()
    table = read_table(trailing, "x.csv")
    assert table.rows[0][1][0] == "张伟" and len(table.rows[0][1]) == 200


@pytest.mark.parametrize(
    "tag",
    ["<c r='GS2' t='inlineStr'>", '<c\tr = "GS2" t="inlineStr">', '<c t="inlineStr"  r="GS2" >'],
    ids=["single-quotes", "spaces-and-tab", "reference-last"],
)
def test_a_value_past_the_limit_is_found_however_the_tag_is_written(tag):
    """XML allows either quote and spaces around "="; calamine reads them all."""
    sheet = [inline_row(1, ["姓名"]), f'<row r="2">{tag}<is><t>x</t></is></c></row>'.encode()]
    with pytest.raises(TableError, match=r"^Row 2, column GS: a file may have at most 200"):
        read_table(raw_xlsx(sheet), "x.xlsx")


def test_a_namespace_prefixed_sheet_is_checked_too():
    rows = [["姓名", "备注"], ["张伟", "z" * 2001]]
    data = _xlsx(*rows, prefix="x")
    with pytest.raises(TableError, match=r"^Row 2, column B: a cell may hold at most 2000"):
        read_table(data, "x.xlsx")
    ok = read_table(_xlsx(["姓名", "备注"], ["张伟", "z" * 2000], prefix="x"), "x.xlsx")
    assert ok.rows == [(2, ["张伟", "z" * 2000])]


# Cell length -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_cell_of_the_limit_is_read_and_one_character_more_is_named(kind):
    def data(remark: str) -> bytes:
        rows = [["姓名", "身份证号", "备注"], ["张伟", "110105198001010019", remark]]
        if kind == "xlsx":
            return _xlsx(*rows)
        return "\n".join(",".join(r) for r in rows).encode()

    # Chinese text is 3 bytes a character in the XML: counted in characters.
    fits = read_table(data("备" * 2000), f"x.{kind}")
    assert fits.rows[0][1][2] == "备" * 2000
    with pytest.raises(TableError) as caught:
        read_table(data("备" * 2001), f"x.{kind}")
    assert str(caught.value) == "Row 2, column C: a cell may hold at most 2000 characters."


def test_a_long_shared_string_in_many_formatted_runs_is_one_cell():
    runs = b"".join(b"<r><rPr><b/></rPr><t>" + b"w" * 500 + b"</t></r>" for _ in range(5))
    sheet = [
        inline_row(1, ["姓名", "备注"]),
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c>'
        b'<c r="B2" t="s"><v>0</v></c></row>',
    ]
    with pytest.raises(TableError, match=r"^Row 2, column B: a cell may hold at most 2000"):
        read_table(raw_xlsx(sheet, [b"<si>" + runs + b"</si>"]), "x.xlsx")


def test_entities_count_as_one_character():
    sheet = [inline_row(1, ["备注"]), inline_row(2, ["<&>" * 600])]  # 1,800 characters
    assert read_table(raw_xlsx(sheet), "x.xlsx").rows[0][1][0] == "<&>" * 600


def test_a_formula_longer_than_the_limit_is_not_text():
    formula = "+".join(["1"] * 1500)
    sheet = [
        inline_row(1, ["合计"]),
        f'<row r="2"><c r="A2"><f>{formula}</f><v>1500</v></c></row>'.encode(),
    ]
    assert read_table(raw_xlsx(sheet), "x.xlsx").rows == [(2, ["1500"])]


def test_an_unused_shared_string_that_is_too_long_is_still_refused():
    sheet = [inline_row(1, ["姓名"]), inline_row(2, ["张伟"])]
    with pytest.raises(TableError, match="holds a text of more than 2000 characters"):
        read_table(raw_xlsx(sheet, [b"<si><t>" + b"q" * 5000 + b"</t></si>"]), "x.xlsx")


@override_settings(FANGKONG_MAX_UNPACKED_BYTES=2**20)
def test_an_xlsx_that_unpacks_past_the_limit_is_refused():
    rows = [inline_row(1, ["姓名"])] + [inline_row(i, ["张伟" * 300]) for i in range(2, 2000)]
    with pytest.raises(TableError, match=r"unpacks to more than 1\.0 MB"):
        read_table(raw_xlsx(rows), "x.xlsx")


@override_settings(FANGKONG_MAX_IMPORT_COLUMNS=3, FANGKONG_MAX_CELL_CHARS=5)
def test_the_limits_come_from_settings():
    with pytest.raises(TableError, match=r"^Row 1, column D: a file may have at most 3 columns"):
        read_table(b"a,b,c,d\n1,2,3,4\n", "x.csv")
    with pytest.raises(TableError, match=r"^Row 2, column A: a cell may hold at most 5"):
        read_table(b"a,b\n123456,2\n", "x.csv")


# Text files: UTF-16 and the delimiter ------------------------------------------------


ROWS = [["姓名", "身份证号", "现住址"], ["張偉", "110105198001010019", "四喜社区, 幸福路1号"]]


@pytest.mark.parametrize("big_endian", [False, True], ids=["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_read(big_endian):
    data = unicode_text(ROWS, big_endian=big_endian)
    table = read_table(data, "名单.txt")
    assert table.headers == ROWS[0]
    assert table.rows == [(2, ROWS[1])]


def test_tab_separated_gbk_text_is_read():
    """Excel's "Text (tab delimited)" on a Chinese Windows: GBK and tabs."""
    rows = [["姓名", "身份证号", "现住址"], ["张伟", "110105198001010019", "四喜社区, 幸福路1号"]]
    data = "\r\n".join("\t".join(r) for r in rows).encode("gbk")
    table = read_table(data, "名单.txt")
    assert table.headers == rows[0] and table.rows == [(2, rows[1])]


def test_a_comma_separated_file_with_tabs_in_a_cell_stays_comma_separated():
    table = read_table("姓名,备注\n张伟,a\tb\n".encode(), "x.csv")
    assert table.rows == [(2, ["张伟", "a\tb"])]


@pytest.mark.parametrize(
    "data",
    [b"", b"  \r\n ", b"\xff\xfe", b"\xff\xfe \x00\r\x00\n\x00"],
    ids=["zero-bytes", "whitespace", "utf-16-bom-only", "utf-16-whitespace"],
)
def test_empty_files_are_refused(data):
    with pytest.raises(TableError, match=r"^The file is empty\.$"):
        read_table(data, "x.csv")


def test_a_broken_utf16_file_says_so():
    with pytest.raises(TableError, match="marked as UTF-16"):
        read_table(b"\xff\xfe\x00\xd8a\x00", "x.txt")
