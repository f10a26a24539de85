"""Reading and writing spreadsheets: xlsx and csv, with row numbers kept for errors.

Reading detects the real file type from its bytes (a renamed file is refused with a
clear message), reads xlsx, old .xls (python-calamine) and csv in UTF-8, UTF-8 with BOM or
GB18030 (a superset of GBK), bounds size and row count, and reports each row with the
number a person sees in Excel. It also notes what spreadsheet programs do to data that
an importer should explain: numbers of 16+ digits (IDs Excel has rounded), formulas
without a cached value, and merged cells in the header.
Writing streams: rows are generated, never collected, and every text cell is
neutralised against formula injection.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import defusedcsv.csv as safe_csv
import opencc
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

_T2S = opencc.OpenCC("t2s")
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCODINGS = ("utf-8-sig", "gb18030")


class TableError(ValueError):
    """The file as a whole cannot be read (type, size, encoding, header)."""


# Cell notes (Table.cell_flags): what the reader saw that the cell text no longer shows.
LONG_NUMBER = "long_number"  # a numeric cell of 16+ digits: Excel keeps only 15
FORMULA_NO_VALUE = "formula_no_value"  # a formula the file holds no computed value for


@dataclass
class Table:
    headers: list[str]
    # (row number as shown in the spreadsheet, cell texts)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    kind: str = "csv"
    header_row: int = 1
    # (row number, column index) -> LONG_NUMBER | FORMULA_NO_VALUE
    cell_flags: dict[tuple[int, int], str] = field(default_factory=dict)
    # Merged ranges touching the header ("A1:B1"): a two-row header in disguise.
    header_merges: list[str] = field(default_factory=list)
    # A merged title row above the header, skipped when the caller asked for that.
    title_row: int | None = None


# What our own exports put behind a quote (neutralise() and defusedcsv's escaping).
# defusedcsv also turns every "|" of such a cell into "\|".
_NEUTRALISED_START = ("=", "+", "-", "@", "%", "\t", "\r")


def unneutralise(text: str) -> str:
    """Undo the export's formula guard, so an exported file re-imports unchanged."""
    if not text.startswith("'"):
        return text
    body = text[1:]
    if body.startswith("\\|"):
        return body.replace("\\|", "|")
    if body.startswith(_NEUTRALISED_START):
        return body
    return text


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _human_size(size: int) -> str:
    """Bytes as people read them; whole-MB rounding would say "20 MB > 20 MB"."""
    if size < 2**10:
        return f"{size} B"
    if size < 2**20:
        return f"{size / 2**10:.1f} KB"
    return f"{size / 2**20:.1f} MB"


def _check_size(data: bytes) -> None:
    limit = settings.FANGKONG_MAX_UPLOAD_BYTES
    if len(data) > limit:
        size, cap = _human_size(len(data)), _human_size(limit)
        if size == cap:
            size, cap = f"{len(data)} B", f"{limit} B"
        raise TableError(
            _("The file is %(size)s; the limit is %(limit)s.") % {"size": size, "limit": cap}
        )
    if not data.strip():
        raise TableError(_("The file is empty."))


def sniff_kind(data: bytes, filename: str) -> str:
    name = filename.lower()
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        return "xls"
    if name.endswith((".xlsx", ".xls", ".xlsm")):
        raise TableError(_("The file is named like a spreadsheet but its content is not one."))
    if b"\x00" in data[:4096]:
        raise TableError(_("This file type is not supported; use .xlsx or .csv."))
    return "csv"


def _decode(data: bytes) -> str:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(_("The csv file is neither UTF-8 nor GBK/GB18030 encoded."))


def _trim(rows: Iterable[tuple[int, list[str]]], max_rows: int) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows: one header and at most `max_rows` data rows."""
    count = 0
    for number, cells in rows:
        if not any(cells):
            continue  # blank rows, including Excel's trailing ones
        count += 1
        if count > max_rows + 1:
            raise TableError(
                _("The file has more than %(limit)d data rows; split it.") % {"limit": max_rows}
            )
        yield number, cells


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_REF = re.compile(r"^([A-Z]+)([0-9]+)$")


_FIRST_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"")
_REL = re.compile(rb"<Relationship\b[^>]*>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    rid = _FIRST_SHEET.search(archive.read("xl/workbook.xml"))
    if rid is None:
        raise KeyError("no sheet")
    for tag in _REL.findall(archive.read("xl/_rels/workbook.xml.rels")):
        attrs = dict(_ATTR.findall(tag))
        if attrs.get(b"Id") == rid.group(1):
            target = bytes(attrs[b"Target"]).decode()
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise KeyError("no sheet target")


def _scan_sheet_xml(data: bytes) -> tuple[bool, list[str]]:
    """(has formulas, merged ranges) from the first sheet's XML, streamed in chunks.

    Read-only openpyxl exposes neither, and loading the sheet in full mode to get them
    would cost the memory and time read-only mode exists to save.
    """
    has_formula = False
    merges: list[str] = []
    try:
        with (
            zipfile.ZipFile(io.BytesIO(data)) as archive,
            archive.open(_first_sheet_path(archive)) as source,
        ):
            tail = b""
            while chunk := source.read(1 << 20):
                buffer = tail + chunk
                if not has_formula and _FORMULA_TAG.search(buffer):
                    has_formula = True
                if b"mergeCell" in buffer:
                    merges.extend(m.decode() for m in _MERGE_REF.findall(buffer))
                tail = buffer[-200:]
    except (KeyError, OSError, zipfile.BadZipFile):
        return False, []
    # The overlap between chunks can see the same range twice.
    return has_formula, sorted(set(merges), key=merges.index)


def _formula_cells(data: bytes) -> set[tuple[int, int]]:
    """Positions of formula cells (second, formula-mode read; only when there are some)."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    found: set[tuple[int, int]] = set()
    for i, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
        for j, value in enumerate(row):
            if isinstance(value, str) and value.startswith("="):
                found.add((i, j))
    book.close()
    return found


def _range_rows(ref: str) -> tuple[int, int, int, int]:
    """(first row, last row, first column index, last column index) of "A1:C2"."""
    from openpyxl.utils import column_index_from_string

    corners = []
    for part in ref.split(":"):
        m = _CELL_REF.match(part)
        if m is None:
            return (0, 0, 0, 0)
        corners.append((int(m.group(2)), column_index_from_string(m.group(1)) - 1))
    (r0, c0), (r1, c1) = corners[0], corners[-1]
    return r0, r1, c0, c1


def _is_long_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 10**15


def _read_xlsx(data: bytes, flags: dict[tuple[int, int], str]) -> tuple[Any, list[str]]:
    """Values through python-calamine (Rust; openpyxl is ~10x slower at 100,000 rows).

    The sheet's XML says whether there are merged cells and formulas; only when there
    are formulas does openpyxl read the file again, in formula mode, to find the ones
    whose value was never computed (calamine shows those as empty).
    """
    from python_calamine import CalamineWorkbook

    try:
        values = (
            CalamineWorkbook.from_filelike(io.BytesIO(data))
            .get_sheet_by_index(0)
            .to_python(skip_empty_area=False)
        )
    except Exception as exc:
        raise TableError(_("The spreadsheet cannot be opened: it may be damaged.")) from exc
    has_formula, merges = _scan_sheet_xml(data)
    try:
        formulas = _formula_cells(data) if has_formula else set()
    except Exception as exc:
        raise TableError(_("The spreadsheet cannot be opened: it may be damaged.")) from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        for i, row in enumerate(values, start=1):
            for j, value in enumerate(row):
                if value in (None, "") and (i, j) in formulas:
                    flags[(i, j)] = FORMULA_NO_VALUE
                elif _is_long_number(value):
                    flags[(i, j)] = LONG_NUMBER
            yield i, [unneutralise(_cell_text(None if v == "" else v)) for v in row]

    return rows(), merges


def _read_xls(data: bytes, flags: dict[tuple[int, int], str]) -> tuple[Any, list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
        values = sheet.to_python(skip_empty_area=False)
    except Exception as exc:
        # The OLE container is shared by .doc, .ppt and encrypted workbooks too.
        raise TableError(
            _(
                "Old .xls files are not supported when they cannot be read as an Excel "
                "97-2003 workbook; this one may be damaged, encrypted or another kind of "
                "Office file. Save it as .xlsx."
            )
        ) from exc
    merges = []
    for (r0, c0), (r1, c1) in getattr(sheet, "merged_cell_ranges", None) or []:
        merges.append(f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}")

    def rows() -> Iterator[tuple[int, list[str]]]:
        for i, row in enumerate(values, start=1):
            for j, value in enumerate(row):
                if _is_long_number(value):
                    flags[(i, j)] = LONG_NUMBER
            yield i, [unneutralise(_cell_text(None if v == "" else v)) for v in row]

    return rows(), merges


def _title_row(first: tuple[int, list[str]], merges: list[str]) -> bool:
    """Whether the first row is a title ("XX村人口登记表") merged across the columns."""
    number, cells = first
    if sum(1 for c in cells if c) != 1:
        return False
    return any(
        r0 == number and r1 == number and c1 - c0 >= 1
        for r0, r1, c0, c1 in map(_range_rows, merges)
    )


def read_table(
    data: bytes, filename: str, *, max_rows: int | None = None, skip_title: bool = False
) -> Table:
    """The first sheet as text rows; `skip_title` skips a merged title row above the header."""
    _check_size(data)
    max_rows = max_rows or settings.FANGKONG_MAX_IMPORT_ROWS
    kind = sniff_kind(data, filename)
    raw: Iterator[tuple[int, list[str]]]
    flags: dict[tuple[int, int], str] = {}
    merges: list[str] = []
    if kind == "xls":
        raw, merges = _read_xls(data, flags)
    elif kind == "xlsx":
        raw, merges = _read_xlsx(data, flags)
    else:
        text = _decode(data)
        raw = (
            (i, [unneutralise(c.strip()) for c in row])
            for i, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        )
    title_row = None
    rows = _trim(raw, max_rows + (1 if skip_title and merges else 0))
    first = next(rows, None)
    if skip_title and first is not None and _title_row(first, merges):
        title_row = first[0]
        first = next(rows, None)
    if first is None:
        raise TableError(_("The file has no header row."))
    table = Table(headers=first[1], kind=kind, header_row=first[0], cell_flags=flags,
                  title_row=title_row)  # fmt: skip
    table.rows = list(rows)
    if len(table.rows) > max_rows:
        raise TableError(
            _("The file has more than %(limit)d data rows; split it.") % {"limit": max_rows}
        )
    table.header_merges = [
        ref for ref in merges if (bounds := _range_rows(ref))[0] <= table.header_row <= bounds[1]
    ]
    return table


def map_headers(headers: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Column index per field, matching headers case- and space-insensitively."""

    def norm(text: str) -> str:
        # Headers typed in traditional script (身份證號) match the simplified aliases.
        folded = "".join(text.split()).lower().replace("（", "(").replace("）", ")")
        return str(_T2S.convert(folded))

    index = {norm(h): i for i, h in enumerate(headers) if h}
    found: dict[str, int] = {}
    for field_name, names in aliases.items():
        for name in (field_name, *names):
            if norm(name) in index:
                found[field_name] = index[norm(name)]
                break
    return found


# Writing ----------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Make a text cell inert in spreadsheet programs (OWASP CSV-injection advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Yield csv text chunk by chunk, UTF-8 BOM first so Excel opens Chinese correctly."""
    writer = safe_csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow(list(row))


def write_xlsx(target: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a single-sheet xlsx in write-only (streaming) mode; returns the row count."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(header))
    count = 0
    for row in rows:
        sheet.append([neutralise(v) for v in row])
        count += 1
    book.save(target)
    return count
