"""Reading and writing spreadsheets: xlsx and csv, with row numbers kept for errors.

Reading detects the real file type from its bytes (a renamed file is refused with a
clear message), reads xlsx, old .xls (python-calamine) and csv in UTF-8, UTF-8 with BOM or
GB18030 (a superset of GBK), bounds size and row count, and reports each row with the
number a person sees in Excel. It also notes what spreadsheet programs do to data that
an importer should explain: numbers of 16+ digits (IDs Excel has rounded), formulas
without a cached value, and merged cells in the header.
Writing is done here and nowhere else (csv_stream, write_workbook, write_xlsx; a test
fails on another module that writes a spreadsheet): rows are generated, never
collected, and every text cell is neutralised against formula injection.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from typing import IO, Any

import defusedcsv.csv as safe_csv
import opencc
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from fangkong.core import xlsx_scan
from fangkong.core.xlsx_scan import column_index, column_letters

_T2S = opencc.OpenCC("t2s")
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCODINGS = ("utf-8-sig", "gb18030")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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


@dataclass(frozen=True)
class Limits:
    """What a file may hold; the same on every import path (settings, env overrides)."""

    rows: int
    columns: int
    cell_chars: int
    unpacked_bytes: int

    @classmethod
    def from_settings(cls, *, rows: int | None = None) -> Limits:
        return cls(
            rows=rows or settings.FANGKONG_MAX_IMPORT_ROWS,
            columns=settings.FANGKONG_MAX_IMPORT_COLUMNS,
            cell_chars=settings.FANGKONG_MAX_CELL_CHARS,
            unpacked_bytes=settings.FANGKONG_MAX_UNPACKED_BYTES,
        )


def check_size(size: int) -> None:
    """Refuse a file over the upload limit (before it is read, when its size is known)."""
    limit = settings.FANGKONG_MAX_UPLOAD_BYTES
    if size > limit:
        shown, cap = _human_size(size), _human_size(limit)
        if shown == cap:
            shown, cap = f"{size} B", f"{limit} B"
        raise TableError(
            _("The file is %(size)s; the limit is %(limit)s.") % {"size": shown, "limit": cap}
        )


def _check_size(data: bytes) -> None:
    check_size(len(data))
    if not data or data.isspace():
        raise TableError(_("The file is empty."))


def sniff_kind(data: bytes, filename: str) -> str:
    name = filename.lower()
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        return "xls"
    if name.endswith((".xlsx", ".xls", ".xlsm")):
        raise TableError(_("The file is named like a spreadsheet but its content is not one."))
    # Excel's "Unicode text" is UTF-16 with a byte order mark: zero bytes, but text.
    if data.startswith(UTF16_BOMS):
        return "csv"
    if b"\x00" in data[:4096]:
        raise TableError(_("This file type is not supported; use .xlsx or .csv."))
    return "csv"


def _decode(data: bytes) -> str:
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16")  # the mark says which byte order, and is dropped
        except UnicodeDecodeError as exc:
            raise TableError(
                _("The file is marked as UTF-16 text but cannot be read as such.")
            ) from exc
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(_("The csv file is neither UTF-8 nor GBK/GB18030 encoded."))


def _delimiter(text: str) -> str:
    """Tab (Excel's "Unicode text" and "Text (tab delimited)") or comma, from the first
    line that has either."""
    for line in _lines(text[: 1 << 16]):
        tabs, commas = line.count("\t"), line.count(",")
        if tabs or commas:
            return "\t" if tabs > commas else ","
    return ","


def _columns_error(row: int, column: int, limits: Limits) -> TableError:
    return TableError(
        _("Row %(row)d, column %(column)s: a file may have at most %(limit)d columns.")
        % {"row": row, "column": column_letters(column), "limit": limits.columns}
    )


def _cell_error(row: int, column: int, limits: Limits) -> TableError:
    if not row:
        return TableError(
            _(
                "The spreadsheet holds a text of more than %(limit)d characters, the most a cell may hold."
            )
            % {"limit": limits.cell_chars}
        )
    return TableError(
        _("Row %(row)d, column %(column)s: a cell may hold at most %(limit)d characters.")
        % {"row": row, "column": column_letters(column), "limit": limits.cell_chars}
    )


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their ends, as io.StringIO gives them, without its copy
    of the whole text at four bytes a character."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


class _CsvLines:
    """The text's lines for csv.reader, looked at before csv splits them.

    A line at the start of a record with more delimiters than the column limit allows,
    and no quotes, is refused (or cut after its last empty cells) with `str.split`'s
    `maxsplit`: a line of 200,000 columns never becomes 200,000 strings. A quoted line is
    left to csv, bounded by the file size.
    """

    def __init__(self, text: str, delimiter: str, limits: Limits) -> None:
        self.lines = _lines(text)
        self.delimiter = delimiter
        self.limits = limits
        self.given = 0
        self.record_start = 0  # lines given when the last record was complete
        self.records = 0
        self.last = ""

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        at_start = self.given == self.record_start
        self.given += 1
        self.last = line
        limit = self.limits.columns
        if at_start and line.count(self.delimiter) >= limit and '"' not in line:
            parts = line.split(self.delimiter, limit)
            rest = parts[limit]
            filled = rest.lstrip(self.delimiter + " \t\r\n")
            if filled:
                skipped = rest[: len(rest) - len(filled)].count(self.delimiter)
                raise _columns_error(self.records + 1, limit + 1 + skipped, self.limits)
            line = self.delimiter.join(parts[:limit]) + "\n"
        return line

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(self, delimiter=self.delimiter)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise self._error(str(exc)) from exc
            self.records += 1
            self.record_start = reader.line_num
            yield self.records, [unneutralise(c.strip()) for c in cells]

    def _error(self, reason: str) -> TableError:
        row = self.records + 1
        if "field larger than field limit" in reason:
            # csv's own cap (131,072) is far above ours: the cell is too long anyway.
            cells = self.last.split(self.delimiter)
            longest = max(range(len(cells)), key=lambda j: len(cells[j]))
            return _cell_error(row, longest + 1, self.limits)
        return TableError(_("Row %(row)d cannot be read as csv.") % {"row": row})


def _bounded(
    rows: Iterable[tuple[int, list[str]]], limits: Limits
) -> Iterator[tuple[int, list[str]]]:
    """Every row within the column and cell limits (columns past the limit may be blank:
    spreadsheets leave empty cells behind)."""
    for number, cells in rows:
        if len(cells) > limits.columns:
            extra = next((j for j in range(limits.columns, len(cells)) if cells[j]), None)
            if extra is not None:
                raise _columns_error(number, extra + 1, limits)
            del cells[limits.columns :]
        if cells and max(map(len, cells)) > limits.cell_chars:
            j = next(j for j, c in enumerate(cells) if len(c) > limits.cell_chars)
            raise _cell_error(number, j + 1, limits)
        yield number, cells


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


_CELL_REF = re.compile(r"^([A-Z]+)([0-9]+)$")


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
    corners = []
    for part in ref.split(":"):
        m = _CELL_REF.match(part)
        if m is None:
            return (0, 0, 0, 0)
        corners.append((int(m.group(2)), column_index(m.group(1)) - 1))
    (r0, c0), (r1, c1) = corners[0], corners[-1]
    return r0, r1, c0, c1


def _is_long_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 10**15


def _read_xlsx(
    data: bytes, flags: dict[tuple[int, int], str], limits: Limits
) -> tuple[Any, list[str]]:
    """Values through python-calamine (Rust; openpyxl is ~10x slower at 100,000 rows).

    The sheet's XML is checked against the limits first (calamine would hold all of it
    in memory before anything could be checked on its result) and says whether there
    are merged cells and formulas; only when there are formulas does openpyxl read the
    file again, in formula mode, to find the ones whose value was never computed
    (calamine shows those as empty).
    """
    from python_calamine import CalamineWorkbook

    damaged = _("The spreadsheet cannot be opened: it may be damaged.")
    try:
        facts = xlsx_scan.scan(
            data,
            max_columns=limits.columns,
            max_cell_chars=limits.cell_chars,
            max_unpacked=limits.unpacked_bytes,
        )
    except xlsx_scan.Exceeded as exc:
        raise _exceeded(exc, limits) from None
    except (KeyError, OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise TableError(damaged) from exc
    try:
        values = (
            CalamineWorkbook.from_filelike(io.BytesIO(data))
            .get_sheet_by_index(0)
            .to_python(skip_empty_area=False)
        )
        formulas = _formula_cells(data) if facts.has_formula else set()
    except Exception as exc:
        raise TableError(damaged) from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        for i, row in enumerate(values, start=1):
            for j, value in enumerate(row):
                if value in (None, "") and (i, j) in formulas:
                    flags[(i, j)] = FORMULA_NO_VALUE
                elif _is_long_number(value):
                    flags[(i, j)] = LONG_NUMBER
            yield i, [unneutralise(_cell_text(None if v == "" else v)) for v in row]

    return rows(), facts.merges


def _exceeded(exc: xlsx_scan.Exceeded, limits: Limits) -> TableError:
    if exc.what == "columns":
        return _columns_error(exc.row, exc.column, limits)
    if exc.what == "cell":
        return _cell_error(exc.row, exc.column, limits)
    if exc.what == "row":
        return TableError(_("Row %(row)d is too large to read.") % {"row": exc.row})
    return TableError(
        _("The spreadsheet unpacks to more than %(limit)s; split it.")
        % {"limit": _human_size(limits.unpacked_bytes)}
    )


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
    data: bytes,
    filename: str,
    *,
    max_rows: int | None = None,
    skip_title: bool = False,
    require_rows: bool = False,
    limits: Limits | None = None,
) -> Table:
    """The first sheet as text rows; `skip_title` skips a merged title row above the
    header, `require_rows` refuses a file with a header and nothing under it."""
    _check_size(data)
    limits = limits or Limits.from_settings(rows=max_rows)
    kind = sniff_kind(data, filename)
    raw: Iterator[tuple[int, list[str]]]
    flags: dict[tuple[int, int], str] = {}
    merges: list[str] = []
    if kind == "xls":
        raw, merges = _read_xls(data, flags)
    elif kind == "xlsx":
        raw, merges = _read_xlsx(data, flags, limits)
    else:
        text = _decode(data)
        if not text or text.isspace():
            raise TableError(_("The file is empty."))
        raw = _CsvLines(text, _delimiter(text), limits).rows()
    title_row = None
    rows = _trim(_bounded(raw, limits), limits.rows + (1 if skip_title and merges else 0))
    first = next(rows, None)
    if skip_title and first is not None and _title_row(first, merges):
        title_row = first[0]
        first = next(rows, None)
    if first is None:
        raise TableError(_("The file has no header row."))
    table = Table(
        headers=first[1], kind=kind, header_row=first[0], cell_flags=flags, title_row=title_row
    )
    table.rows = list(rows)
    if len(table.rows) > limits.rows:
        raise TableError(
            _("The file has more than %(limit)d data rows; split it.") % {"limit": limits.rows}
        )
    if require_rows and not table.rows:
        raise TableError(_("The file has a header row but no data rows."))
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


def csv_stream(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = True
) -> Iterator[str]:
    """Yield csv text chunk by chunk, UTF-8 BOM first so Excel opens Chinese correctly
    (`bom=False` for a command's standard output, read by other programs)."""
    writer = safe_csv.writer(_Echo())
    if bom:
        yield "\ufeff"
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow(list(row))


@dataclass(frozen=True)
class Cell:
    """A value written with a look: a document's title, its bold totals, a signed change
    shown as "+3" but kept a number."""

    value: Any
    bold: bool = False
    size: float | None = None
    wrap: bool = False
    center: bool = False
    number_format: str | None = None


# A change from yesterday: a number that shows its sign.
SIGNED = "+0;-0;0"


# openpyxl's paperSize code for A4 (ECMA-376 ST_PaperSize).
A4 = 9


@dataclass(frozen=True)
class PageSetup:
    """How a sheet comes out of the printer: a document people print for a meeting
    must not cut its last columns off onto a second page."""

    landscape: bool = False
    paper: int = A4
    fit_width: bool = True  # every column on one page across; as many pages down as needed


@dataclass
class Sheet:
    """One sheet for `write_workbook`: rows of plain values or `Cell`s, generated lazily."""

    title: str
    rows: Iterable[Sequence[Any]]
    widths: Mapping[int, float] = field(default_factory=dict)  # 1-based column -> width
    merges: Sequence[str] = ()  # "A1:F1"
    freeze: str | None = None  # the top-left cell that does not scroll, "B4"
    page: PageSetup | None = None  # None: the spreadsheet program's defaults


def _styled(sheet: Any, cell: Cell) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    out = WriteOnlyCell(sheet, value=neutralise(cell.value))
    if cell.bold or cell.size:
        out.font = Font(bold=cell.bold, size=cell.size)
    if cell.wrap or cell.center:
        out.alignment = Alignment(
            horizontal="center" if cell.center else None,
            vertical="center" if cell.wrap else None,
            wrap_text=cell.wrap or None,
        )
    if cell.number_format:
        out.number_format = cell.number_format
    return out


def _page_setup(sheet: Any, spec: PageSetup) -> None:
    # Before the first row: a write-only sheet writes its properties (fitToPage) with
    # its header.
    sheet.page_setup.orientation = "landscape" if spec.landscape else "portrait"
    sheet.page_setup.paperSize = spec.paper
    if spec.fit_width:
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0  # 0: no limit down


def write_workbook(target: IO[bytes], sheets: Iterable[Sheet]) -> int:
    """The one xlsx writer: every workbook the product makes goes through here.

    Write-only (streaming) mode, so an export of 100,000 rows is never held as cells;
    every text cell is neutralised, so a value such as `=HYPERLINK(...)` typed by
    someone stays text. Returns the number of rows written.
    """
    book = Workbook(write_only=True)
    count = 0
    for spec in sheets:
        sheet = book.create_sheet(title=spec.title[:31] or None)
        for column, width in spec.widths.items():
            sheet.column_dimensions[get_column_letter(column)].width = width
        if spec.freeze:
            sheet.freeze_panes = spec.freeze
        if spec.page is not None:
            _page_setup(sheet, spec.page)
        for ref in spec.merges:
            sheet.merged_cells.add(ref)
        for row in spec.rows:
            sheet.append([_styled(sheet, v) if isinstance(v, Cell) else neutralise(v) for v in row])
            count += 1
    book.save(target)
    return count


def write_xlsx(target: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A single-sheet xlsx (the exports); returns the number of data rows."""
    return write_workbook(target, [Sheet(title="Sheet", rows=chain([header], rows))]) - 1
