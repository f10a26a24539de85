"""Reading a spreadsheet on disk row by row, for files too large to hold (a county's
million-row register).

`read_table` (tabular) holds the whole file and its rows; that is right for an upload,
whose size is capped, and it is the one way files come in through the pages. The
command line's large files come here instead: csv through `csv.reader` over the open
file (the encoding decided from its first megabyte), xlsx through openpyxl's read-only
worksheet, which parses the sheet's XML as a stream. The same row, column and cell
limits apply, checked as the rows go by (`tabular._bounded`, `tabular._trim`), and rows
carry the numbers a person sees in Excel. What a streamed xlsx cannot tell without a
second whole-file pass: merged cells (a title row above the header is recognised as a
row with one filled cell) and formulas without a cached value (they read as empty).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import load_workbook

from fangkong.core.tabular import (
    LONG_NUMBER,
    OLE_MAGIC,
    UTF16_BOMS,
    XLSX_MAGIC,
    Limits,
    Table,
    TableError,
    _bounded,
    _cell_text,
    _CsvLines,
    _delimiter,
    _is_long_number,
    _trim,
    unneutralise,
)

_SNIFF_BYTES = 1 << 20


@dataclass
class RowStream:
    """The header of a file on disk and an iterator over its data rows."""

    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    kind: str
    header_row: int
    # (row number, column index) -> LONG_NUMBER, filled as the rows are read.
    cell_flags: dict[tuple[int, int], str] = field(default_factory=dict)
    title_row: int | None = None
    handle: IO[Any] | None = None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def table(self, rows: list[tuple[int, list[str]]]) -> Table:
        """A `Table` of some of the rows, for code written against whole tables."""
        first, last = (rows[0][0], rows[-1][0]) if rows else (0, -1)
        flags = {k: v for k, v in self.cell_flags.items() if first <= k[0] <= last}
        return Table(
            headers=self.headers,
            rows=rows,
            kind=self.kind,
            header_row=self.header_row,
            cell_flags=flags,
            title_row=self.title_row,
        )


def _encoding(head: bytes) -> str:
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    try:
        # Not final: the megabyte may end inside a character.
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _csv_rows(path: Path, limits: Limits) -> tuple[Iterator[tuple[int, list[str]]], IO[Any]]:
    with path.open("rb") as raw:
        head = raw.read(_SNIFF_BYTES)
    encoding = _encoding(head)
    text = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    sample = head.decode(encoding, errors="ignore")
    reader = _CsvLines("", _delimiter(sample), limits)
    reader.lines = iter(text)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from reader.rows()
        except UnicodeDecodeError as exc:
            raise TableError(_("The csv file is neither UTF-8 nor GBK/GB18030 encoded.")) from exc

    return rows(), text


def _xlsx_rows(
    path: Path, flags: dict[tuple[int, int], str]
) -> tuple[Iterator[tuple[int, list[str]]], Any]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as exc:
        raise TableError(_("The spreadsheet cannot be opened: it may be damaged.")) from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = []
            for j, value in enumerate(row):
                if _is_long_number(value):
                    flags[(i, j)] = LONG_NUMBER
                cells.append(unneutralise(_cell_text(None if value == "" else value)))
            yield i, cells

    return rows(), book


def open_rows(path: Path, *, limits: Limits, skip_title: bool = True) -> RowStream:
    """The file's header and its rows as they are read; close() the stream after."""
    with path.open("rb") as f:
        head = f.read(8)
    flags: dict[tuple[int, int], str] = {}
    handle: Any
    if head.startswith(XLSX_MAGIC):
        raw, handle = _xlsx_rows(path, flags)
        kind = "xlsx"
    elif head.startswith(OLE_MAGIC):
        raise TableError(_("Old .xls files cannot be read row by row; save the file as .xlsx."))
    else:
        raw, handle = _csv_rows(path, limits)
        kind = "csv"
    rows = _trim(_bounded(raw, limits), limits.rows + 1)
    first = next(rows, None)
    title_row = None
    if skip_title and first is not None and sum(1 for c in first[1] if c) == 1:
        # Without merge information: a lone filled cell above the header is its title.
        title_row = first[0]
        first = next(rows, None)
    if first is None:
        handle.close()
        raise TableError(_("The file has no header row."))
    return RowStream(
        headers=first[1],
        rows=rows,
        kind=kind,
        header_row=first[0],
        cell_flags=flags,
        title_row=title_row,
        handle=handle,
    )


def _key(cells: list[str], column: int | None) -> str:
    return cells[column] if column is not None and column < len(cells) else ""


def row_chunks(
    stream: RowStream, size: int, key_column: int | None = None
) -> Iterator[list[tuple[int, list[str]]]]:
    """The rows in lists of about `size`; with `key_column`, a list is cut where that
    column's value changes, so a household's adjacent rows usually stay together (a
    list is cut anyway at four times the size: the caller must not rely on it)."""
    chunk: list[tuple[int, list[str]]] = []
    for number, cells in stream.rows:
        if len(chunk) >= size:
            key = _key(cells, key_column)
            if not key or key != _key(chunk[-1][1], key_column) or len(chunk) >= 4 * size:
                yield chunk
                chunk = []
        chunk.append((number, cells))
    if chunk:
        yield chunk
