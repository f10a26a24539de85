"""Spreadsheets written byte by byte for the upload tests: the attack files of issue 12
(a csv of 200,000 columns, an xlsx holding one 200 MB cell), xlsx files in the layouts
Excel and other producers write (shared strings, namespace prefixes, cells without a
reference), and Excel's "Unicode text" (UTF-16, tab-separated).

The 200 MB cell is streamed into the zip, so building it never holds it in memory.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache
from xml.sax.saxutils import escape

HUGE_CELL = 200 * 2**20  # bytes of text in the huge cell
WIDE_COLUMNS = 200_000

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="' + _REL + '/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="' + _REL + '/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="' + _REL + '/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def raw_xlsx(
    sheet_data: Iterable[bytes], shared: Iterable[bytes] = (), *, prefix: str = ""
) -> bytes:
    """An xlsx whose sheetData and shared-string table are the given XML pieces
    (written with `prefix` as the namespace prefix when one is given)."""
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{_MAIN}"' if prefix else f'xmlns="{_MAIN}"'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><{p}sst {ns}>'.encode())
            for piece in shared:
                part.write(piece)
            part.write(f"</{p}sst>".encode())
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            head = f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {ns}><{p}sheetData>'
            part.write(head.encode())
            for piece in sheet_data:
                part.write(piece)
            part.write(f"</{p}sheetData></{p}worksheet>".encode())
    return out.getvalue()


def inline_row(number: int, cells: list[str], *, prefix: str = "", refs: bool = True) -> bytes:
    """A row of inline-string cells, A, B, C ... (without `r` references if asked)."""
    from openpyxl.utils import get_column_letter

    p = f"{prefix}:" if prefix else ""
    out = [f'<{p}row r="{number}">']
    for j, text in enumerate(cells, start=1):
        ref = f' r="{get_column_letter(j)}{number}"' if refs else ""
        out.append(f'<{p}c{ref} t="inlineStr"><{p}is><{p}t>{escape(text)}</{p}t></{p}is></{p}c>')
    out.append(f"</{p}row>")
    return "".join(out).encode()


def _repeat(chunk: bytes, total: int) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


def _people_header_rows() -> list[bytes]:
    return [
        inline_row(1, ["姓名", "身份证号", "联系电话", "住址"]),
        inline_row(2, ["张伟", "110105198001010019", "13912345678", "幸福路1号"]),
    ]


@cache
def huge_inline_cell_xlsx() -> bytes:
    """Row 3, column B holds 200 MB of text as an inline string."""

    def pieces() -> Iterator[bytes]:
        yield from _people_header_rows()
        yield '<row r="3"><c r="A3" t="inlineStr"><is><t>李娜</t></is></c>'.encode()
        yield b'<c r="B3" t="inlineStr"><is><t>'
        yield from _repeat(b"x" * 2**20, HUGE_CELL)
        yield b"</t></is></c></row>"

    return raw_xlsx(pieces())


@cache
def huge_shared_cell_xlsx() -> bytes:
    """Row 3, column D shows shared string 2, which is 200 MB long (Excel's own layout:
    every text in the shared-string table)."""

    def shared() -> Iterator[bytes]:
        yield "<si><t>李娜</t></si><si><t>110105198001010027</t></si>".encode()
        yield b"<si><t>"
        yield from _repeat(b"y" * 2**20, HUGE_CELL)
        yield b"</t></si>"

    rows = [
        *_people_header_rows(),
        b'<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" t="s"><v>1</v></c>'
        b'<c r="D3" t="s"><v>2</v></c></row>',
    ]
    return raw_xlsx(rows, shared())


@cache
def wide_csv() -> bytes:
    """A 1.9 MB csv: a header of 200,000 columns and one row under it."""
    header = ",".join(f"c{i}" for i in range(WIDE_COLUMNS))
    row = ",".join("x" for _ in range(WIDE_COLUMNS))
    return f"{header}\n{row}\n".encode()


def unicode_text(rows: list[list[str]], *, big_endian: bool = False) -> bytes:
    """Excel's "Unicode text": UTF-16 with a byte order mark, tab-separated, CRLF."""
    text = "\r\n".join("\t".join(cells) for cells in rows) + "\r\n"
    bom, codec = (b"\xfe\xff", "utf-16-be") if big_endian else (b"\xff\xfe", "utf-16-le")
    return bom + text.encode(codec)
