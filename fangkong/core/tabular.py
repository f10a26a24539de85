"""Reading and writing spreadsheets: xlsx and csv, with row numbers kept for errors.

Reading detects the real file type from its bytes (a renamed file is refused with a
clear message), the csv encoding (UTF-8, UTF-8 with BOM, GB18030 — a superset of GBK),
bounds size and row count, and reports each row with the number a person sees in Excel.
Writing streams: rows are generated, never collected, and every text cell is
neutralised against formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import defusedcsv.csv as safe_csv
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCODINGS = ("utf-8-sig", "gb18030")


class TableError(ValueError):
    """The file as a whole cannot be read (type, size, encoding, header)."""


@dataclass
class Table:
    headers: list[str]
    # (row number as shown in the spreadsheet, cell texts)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


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


def read_table(data: bytes, filename: str, *, max_rows: int | None = None) -> Table:
    _check_size(data)
    max_rows = max_rows or settings.FANGKONG_MAX_IMPORT_ROWS
    kind = sniff_kind(data, filename)
    raw: Iterator[tuple[int, list[str]]]
    if kind == "xls":
        raise TableError(_("Old .xls files are not supported yet; save the file as .xlsx."))
    if kind == "xlsx":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise TableError(_("The spreadsheet cannot be opened: it may be damaged.")) from exc
        sheet = book.worksheets[0]
        raw = (
            (i, [unneutralise(_cell_text(v)) for v in row])
            for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
    else:
        text = _decode(data)
        raw = (
            (i, [unneutralise(c.strip()) for c in row])
            for i, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        )
    rows = _trim(raw, max_rows)
    first = next(rows, None)
    if first is None:
        raise TableError(_("The file has no header row."))
    table = Table(headers=first[1])
    table.rows = list(rows)
    if len(table.rows) > max_rows:
        raise TableError(
            _("The file has more than %(limit)d data rows; split it.") % {"limit": max_rows}
        )
    return table


def map_headers(headers: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Column index per field, matching headers case- and space-insensitively."""

    def norm(text: str) -> str:
        return "".join(text.split()).lower().replace("（", "(").replace("）", ")")

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
