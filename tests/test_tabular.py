"""Unit tests of the spreadsheet reader and writers (no database)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django.utils import translation
from openpyxl import Workbook, load_workbook

from fangkong.core.tabular import (
    SIGNED,
    Cell,
    Sheet,
    TableError,
    csv_stream,
    map_headers,
    neutralise,
    read_table,
    sniff_kind,
    unneutralise,
    write_workbook,
    write_xlsx,
)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.worksheets[0]
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=r, column=c, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Reading ---------------------------------------------------------------------------


def test_xlsx_rows_numbered_as_in_excel_and_blank_rows_skipped():
    data = xlsx_bytes(
        [
            ["代码", "名称"],
            ["433122102000", "浦市镇"],
            [None, None],  # a blank row in the middle keeps the numbering
            ["433122102201", "  浦市社区  "],
            [None, None],
            [None, None],
        ]
    )
    table = read_table(data, "tree.xlsx")
    assert table.headers == ["代码", "名称"]
    assert table.rows == [(2, ["433122102000", "浦市镇"]), (4, ["433122102201", "浦市社区"])]


def test_xlsx_leading_blank_rows_and_trailing_formatted_rows():
    book = Workbook()
    sheet = book.worksheets[0]
    sheet["A3"], sheet["B3"] = "code", "name"
    sheet["A4"], sheet["B4"] = "X1", "one"
    sheet["A20"] = ""  # an "empty" cell Excel keeps after a deletion
    sheet.row_dimensions[30].height = 30
    out = io.BytesIO()
    book.save(out)
    table = read_table(out.getvalue(), "t.xlsx")
    assert table.headers == ["code", "name"]
    assert table.rows == [(4, ["X1", "one"])]


def test_xlsx_numeric_codes_come_back_as_integer_text():
    data = xlsx_bytes(
        [
            ["代码", "户数", "比例", "日期"],
            [433122102201.0, 12, 0.5, None],
            [433122102000, 3.0, 1.25, None],
        ]
    )
    table = read_table(data, "n.xlsx")
    assert table.rows[0] == (2, ["433122102201", "12", "0.5", ""])
    assert table.rows[1] == (3, ["433122102000", "3", "1.25", ""])


def test_xlsx_dates():
    from datetime import date, datetime

    # Spreadsheet cells hold naive local times.

    naive = [datetime(2022, 4, 1), datetime(2022, 4, 1, 8, 30)]  # noqa: DTZ001
    data = xlsx_bytes([["d", "t"], naive, [date(2022, 5, 2), None]])
    table = read_table(data, "d.xlsx")
    assert table.rows[0][1] == ["2022-04-01", "2022-04-01T08:30:00"]
    assert table.rows[1][1][0] == "2022-05-02"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(encoding):
    text = "代码,名称,层级\r\n433122102000,浦市镇,镇\r\n433122102201,河街社区,社区\r\n"
    table = read_table(text.encode(encoding), "tree.csv")
    assert table.headers == ["代码", "名称", "层级"]
    assert table.rows == [
        (2, ["433122102000", "浦市镇", "镇"]),
        (3, ["433122102201", "河街社区", "社区"]),
    ]


def test_csv_gb18030_only_characters():
    text = "代码,名称\n1,𠀀村\n"  # a character outside GBK, inside GB18030
    assert read_table(text.encode("gb18030"), "x.csv").rows == [(2, ["1", "𠀀村"])]


def test_csv_blank_rows_skipped_and_numbering_kept():
    text = "a,b\n\n1,2\n,\n  ,  \n3,4\n\n\n"
    table = read_table(text.encode(), "x.csv")
    assert table.rows == [(3, ["1", "2"]), (6, ["3", "4"])]


def test_csv_quoted_cells():
    text = 'a,b\n"x, y","say ""hi"""\n'
    assert read_table(text.encode(), "x.csv").rows == [(2, ["x, y", 'say "hi"'])]


def test_csv_undecodable():
    data = b"a,b\n\xff\xfe\xfd\x80,1\n" + bytes([0x81, 0x20])
    with pytest.raises(TableError, match="neither UTF-8 nor GBK"):
        read_table(data, "x.csv")


def test_disguised_text_named_xlsx():
    with pytest.raises(TableError, match="named like a spreadsheet but its content is not one"):
        read_table("代码,名称\n1,2\n".encode(), "tree.xlsx")


def test_damaged_zip_named_xlsx():
    with pytest.raises(TableError, match="cannot be opened"):
        read_table(b"PK\x03\x04" + b"\x00" * 100, "tree.xlsx")


def test_old_xls_refused():
    with pytest.raises(TableError, match=r"Old \.xls files are not supported"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "tree.xls")


def test_binary_named_csv_refused():
    with pytest.raises(TableError, match="not supported"):
        read_table(b"\x00\x01\x02binary", "tree.csv")


def test_sniff_kind_uses_content_not_name():
    assert sniff_kind(xlsx_bytes([["a"]]), "renamed.csv") == "xlsx"
    assert sniff_kind(b"a,b\n", "tree.CSV") == "csv"


@pytest.mark.parametrize("data", [b"", b"   \n\r\n  ", b"\n\n"])
def test_empty_file(data):
    with pytest.raises(TableError, match=r"The file is empty\."):
        read_table(data, "x.csv")


def test_only_blank_cells_has_no_header():
    with pytest.raises(TableError, match="no header row"):
        read_table(b",,\n,,\n", "x.csv")


def test_empty_xlsx_has_no_header():
    with pytest.raises(TableError, match="no header row"):
        read_table(xlsx_bytes([]), "x.xlsx")


@override_settings(FANGKONG_MAX_UPLOAD_BYTES=100)
def test_oversized_file_message_is_readable():
    with pytest.raises(TableError) as info:
        read_table(b"a,b\n" + b"1,2\n" * 50, "x.csv")
    assert str(info.value) == "The file is 204 B; the limit is 100 B."


@override_settings(FANGKONG_MAX_UPLOAD_BYTES=20 * 2**20)
def test_oversized_file_just_over_a_whole_mb_limit():
    with pytest.raises(TableError) as info:
        read_table(b"a" * (20 * 2**20 + 1), "x.csv")
    assert str(info.value) == f"The file is {20 * 2**20 + 1} B; the limit is {20 * 2**20} B."
    with pytest.raises(TableError, match=r"The file is 25.0 MB; the limit is 20.0 MB."):
        read_table(b"a" * (25 * 2**20), "x.csv")


@override_settings(FANGKONG_MAX_IMPORT_ROWS=3)
def test_row_limit_from_settings():
    ok = "h\n1\n2\n\n3\n"
    assert len(read_table(ok.encode(), "x.csv").rows) == 3
    with pytest.raises(TableError, match="more than 3 data rows"):
        read_table((ok + "4\n").encode(), "x.csv")


def test_row_limit_argument_and_xlsx():
    data = xlsx_bytes([["h"], *([i] for i in range(1, 12))])
    assert len(read_table(data, "x.xlsx", max_rows=11).rows) == 11
    with pytest.raises(TableError, match="more than 10 data rows"):
        read_table(data, "x.xlsx", max_rows=10)


# Headers ---------------------------------------------------------------------------


def test_map_headers_aliases_case_spaces_and_full_width_parentheses():
    aliases = {
        "code": ("代码", "编码"),
        "parent_code": ("上级代码", "parent code"),
        "id_number": ("身份证号(选填)",),
        "phone": ("联系电话",),
    }
    headers = ["  编 码 ", "Parent  Code", "身份证号（选填）", "", "其他"]
    assert map_headers(headers, aliases) == {"code": 0, "parent_code": 1, "id_number": 2}


def test_map_headers_field_name_itself_and_first_alias_wins():
    aliases = {"code": ("代码", "编码"), "name": ("名称",)}
    assert map_headers(["NAME", "CODE"], aliases) == {"code": 1, "name": 0}
    assert map_headers(["编码", "代码"], aliases) == {"code": 1}


def test_map_headers_ascii_parentheses_alias_in_full_width_header_and_back():
    aliases = {"count": ("人数（人）",)}
    assert map_headers(["人数 (人)"], aliases) == {"count": 0}
    assert map_headers(["人数（人）"], aliases) == {"count": 0}


# Writing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("浦市镇", "浦市镇"),
        ("433122102201-G01", "433122102201-G01"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


@pytest.mark.parametrize("value", ["=1+2", "+x", "-x", "@x", "|x|y", "%x", "plain", "'quoted"])
def test_unneutralise_reverses_both_writers(value):
    assert unneutralise(neutralise(value)) == value
    written = "".join(csv_stream(["h"], [[value]]))
    cell = next(iter(csv.reader(io.StringIO(written.lstrip("\ufeff")))))  # header
    assert cell == ["h"]
    (row,) = list(csv.reader(io.StringIO(written.lstrip("\ufeff"))))[1:]
    assert unneutralise(row[0]) == value


def test_csv_stream_bom_header_and_neutralised_cells():
    chunks = list(
        csv_stream(["代码", "名称", "户数"], iter([["1", '=HYPERLINK("x")', 3], ["2", "镇", -4]]))
    )
    assert chunks[0] == "\ufeff"
    text = "".join(chunks)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows == [["代码", "名称", "户数"], ["1", '\'=HYPERLINK("x")', "3"], ["2", "镇", "-4"]]
    # Streams row by row: one chunk per row after the BOM.
    assert len(chunks) == 1 + 1 + 2


def test_csv_stream_is_lazy():
    def rows() -> Iterator[list[str]]:
        yield ["a"]
        raise AssertionError("consumed too far")

    stream = csv_stream(["h"], rows())
    assert next(stream) == "\ufeff"
    assert next(stream) == "h\r\n"
    assert next(stream) == "a\r\n"


def test_csv_stream_round_trips_through_read_table():
    rows = [["433122102201", "浦市社区", "村/社区"], ["x", "=1+1", "-"]]
    data = "".join(csv_stream(["代码", "名称", "层级"], rows)).encode("utf-8")
    table = read_table(data, "t.csv")
    assert table.headers == ["代码", "名称", "层级"]
    assert [cells for _, cells in table.rows] == rows


def test_write_xlsx_neutralises_and_counts():
    out = io.BytesIO()
    count = write_xlsx(
        out,
        ["代码", "名称", "户数"],
        iter([["433122102201", '=HYPERLINK("x")', 7], ["433122102202", "河街", 0]]),
    )
    assert count == 2
    sheet = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values == [
        ["代码", "名称", "户数"],
        ["433122102201", '\'=HYPERLINK("x")', 7],
        ["433122102202", "河街", 0],
    ]
    assert sheet["B2"].data_type == "s"  # text, not a formula
    table = read_table(out.getvalue(), "x.xlsx")
    assert table.rows[0] == (2, ["433122102201", '=HYPERLINK("x")', "7"])


def test_the_writer_styles_sheets_and_neutralises_every_text_cell():
    rows: list[list[Any]] = [
        ["=cmd", "名称"],
        [Cell("+1", bold=True), Cell(-3, number_format=SIGNED)],
    ]
    out = io.BytesIO()
    count = write_workbook(
        out,
        [
            Sheet(
                title="名单",
                rows=iter(rows),
                widths={2: 30},
                merges=["A3:B3"],
                freeze="A2",
            ),
            Sheet(title="备注" * 20, rows=[["@x"]]),
        ],
    )
    assert count == 3
    book = load_workbook(io.BytesIO(out.getvalue()))
    first, second = book.worksheets
    assert "A3:B3" in str(first.merged_cells)
    assert [[c.value for c in row] for row in first.iter_rows(max_row=2)] == [
        ["'=cmd", "名称"],
        ["'+1", -3],
    ]
    assert first["A2"].font.b and first["B2"].number_format == SIGNED
    assert first.column_dimensions["B"].width == 30 and first.freeze_panes == "A2"
    assert second.title == ("备注" * 20)[:31] and second["A1"].value == "'@x"
    table = read_table(out.getvalue(), "x.xlsx")
    assert table.headers == ["=cmd", "名称"]  # our own guard is undone on re-import
