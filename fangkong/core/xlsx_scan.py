"""A streamed look at an xlsx's XML before any reader builds the sheet in memory.

python-calamine reads the whole first sheet (and every shared string) at once, so a
200 MB cell or a sheet 16,384 columns wide would be in memory before a limit could be
checked on what it returns. This module checks the limits on the XML itself, read in
1 MB chunks: the text of every shared string and of every cell, the columns that hold
a value, and how far the two parts unpack. Nearly all of the work is done in C
(`bytes.split`, `count`, regular expressions); Python looks at single cells only where a
chunk holds a candidate. The same pass notes formulas and merged ranges, which
read-only openpyxl cannot report.

Each problem is reported with the row and column a person sees in Excel: a shared
string that is too long is looked up in the sheet to find the cell that shows it.
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

CHUNK = 1 << 20
# The most bytes one character can take in the XML: a numeric character reference such
# as "&#1114111;". A run of text longer than this many times the limit is too long
# whatever its content.
_MAX_BYTES_PER_CHAR = 10

_PREFIX = re.compile(rb"<(\w+:)?(?:worksheet|sst)\b")
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')
# Attributes as XML allows them (either quote, spaces around "="), not only as Excel
# writes them: a file written to slip past the check is read by calamine all the same.
_CELL_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Z]{1,3})([0-9]+)[\"']")
_ROW_REF = re.compile(rb"\sr\s*=\s*[\"']([0-9]+)[\"']")
_HAS_REF = re.compile(rb"\sr\s*=")
_REF_NAME = re.compile(rb"\sr\s*$")
_SHARED_TYPE = re.compile(rb"\st\s*=\s*[\"']s[\"']")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"")
_REL = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


class Exceeded(Exception):
    """A limit the file goes beyond; `what` is columns, cell, row or unpacked."""

    def __init__(self, what: str, row: int = 0, column: int = 0) -> None:
        super().__init__(what, row, column)
        self.what, self.row, self.column = what, row, column


@dataclass
class SheetFacts:
    has_formula: bool = False
    merges: list[str] = field(default_factory=list)


def column_index(letters: str) -> int:
    """1-based index of an Excel column ("A" -> 1, "GR" -> 200)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _beyond(limit: int) -> bytes:
    """A regex alternation of the column letters whose index is above `limit`."""
    edge = column_letters(limit)
    options = [b"[A-Z]{%d,3}" % (len(edge) + 1)] if len(edge) < 3 else []
    for i, ch in enumerate(edge):
        if ch != "Z":
            head = edge[:i].encode()
            nxt = chr(ord(ch) + 1).encode()
            options.append(head + b"[" + nxt + b"-Z]" + b"[A-Z]" * (len(edge) - i - 1))
    return b"|".join(options) or b"(?!)"


def _relations(archive: zipfile.ZipFile, part: str) -> list[tuple[bytes, bytes, str]]:
    """(id, type, path) of the relationships of `part` ("" for the package)."""
    folder, name = posixpath.split(part)
    out = []
    for tag in _REL.findall(archive.read(posixpath.join(folder, "_rels", f"{name}.rels"))):
        attrs = dict(_ATTR.findall(tag))
        target = bytes(attrs.get(b"Target", b"")).decode()
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(folder, target))
        out.append((bytes(attrs.get(b"Id", b"")), bytes(attrs.get(b"Type", b"")), path))
    return out


def _parts(archive: zipfile.ZipFile) -> tuple[str, str | None]:
    """(first sheet, shared strings) paths inside the archive."""
    books = [p for _i, t, p in _relations(archive, "") if t.endswith(b"/officeDocument")]
    book = books[0] if books else "xl/workbook.xml"
    rels = {rid: (kind, path) for rid, kind, path in _relations(archive, book)}
    rid = _SHEET.search(archive.read(book))
    if rid is None or rid.group(1) not in rels:
        raise KeyError("no sheet")
    shared = next((p for t, p in rels.values() if t.endswith(b"/sharedStrings")), None)
    return rels[rid.group(1)][1], shared


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def chunks(self, archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
        with archive.open(name) as source:
            while chunk := source.read(CHUNK):
                self.left -= len(chunk)
                if self.left < 0:
                    raise Exceeded("unpacked")
                yield chunk


def _text_length(xml: bytes, prefix: bytes) -> int:
    """Characters of text inside <t> and <v> elements of an XML fragment (formulas and
    formatting do not count: they are not what the cell shows)."""
    names = (b"t", b"v", prefix + b"t", prefix + b"v")
    total = 0
    for part in xml.split(b"<"):
        end = part.find(b">")
        if end < 0:
            continue
        name = (part[:end].split(None, 1) or [b""])[0]
        if name in names:
            text = part[end + 1 :]
            total += len(html.unescape(text.decode("utf-8", "replace"))) if text else 0
    return total


def _prefix(first_chunk: bytes) -> bytes:
    found = _PREFIX.search(first_chunk)
    return (found.group(1) or b"") if found else b""


def _long_shared_string(
    archive: zipfile.ZipFile, name: str, limit: int, budget: _Budget
) -> int | None:
    """Index of the first shared string longer than `limit` characters, if any. Stops
    reading as soon as one is found (a 200 MB string is refused after its first MB)."""
    carry = b""
    first_index = -1  # the piece before the first <si> is the preamble
    prefix: bytes | None = None
    cap = 16 * max(limit * _MAX_BYTES_PER_CHAR, 1 << 20)
    next_check = limit
    for chunk in budget.chunks(archive, name):
        if prefix is None:
            prefix = _prefix(chunk)
        pieces = (carry + chunk).split(b"<" + prefix + b"si")
        carry = pieces.pop()
        if pieces and max(map(len, pieces)) > limit:
            for k, piece in enumerate(pieces):
                if len(piece) > limit and _text_length(piece, prefix) > limit:
                    return first_index + k
        if pieces:
            first_index += len(pieces)
            next_check = limit
        # A string still open at the chunk's end is measured as it grows (doubling, so
        # a long one costs linear time), and refused past any legitimate size.
        if len(carry) > next_check:
            if len(carry) > cap or _text_length(carry, prefix) > limit:
                return first_index
            next_check = 2 * len(carry)
    if len(carry) > limit and _text_length(carry, prefix or b"") > limit:
        return first_index
    return None


@dataclass
class _SheetScan:
    max_columns: int
    max_chars: int
    shared_index: int | None
    rows_before: int = 0
    # Whether cells lack the `r` attribute and are placed by their order in the row.
    positional: bool | None = None
    # Rows are counted only when they lack `r` too (counting costs a pass over the XML).
    count_rows: bool = False
    facts: SheetFacts = field(default_factory=SheetFacts)

    def __post_init__(self) -> None:
        # An attribute value naming a column past the last allowed one (row references
        # are digits only); the leading "=" is a literal the regex engine finds fast.
        self.beyond = re.compile(rb"=\s*[\"'](" + _beyond(self.max_columns) + rb")([0-9]+)[\"']")
        self.set_prefix(b"")

    def set_prefix(self, prefix: bytes) -> None:
        self.prefix = prefix
        # "<c " and not "<c": <col> and <cfRule> are no cells.
        self.cell_open = b"<" + prefix + b"c "
        self.cell_tag = re.compile(b"<" + re.escape(prefix) + rb"c[\s>/]")
        self.cell_close = b"</" + prefix + b"c>"
        self.row_open = b"<" + prefix + b"row"
        self.row_end = b"</" + prefix + b"row>"
        self.values = (b"<" + prefix + b"v", b"<" + prefix + b"is")
        self.formula = re.compile(b"<" + re.escape(prefix) + rb"f[\s>/]")
        index = str(self.shared_index).encode()
        self.shared_value = b"<" + prefix + b"v>" + index + b"</"

    def note(self, xml: bytes) -> None:
        if not self.facts.has_formula and self.formula.search(xml):
            self.facts.has_formula = True
        if b"mergeCell" in xml:
            self.facts.merges.extend(m.decode() for m in _MERGE_REF.findall(xml))

    def check(self, xml: bytes) -> None:
        """Raise Exceeded for the first problem (in file order) among the cells of `xml`,
        which starts at a row boundary after `rows_before` rows."""
        found: list[tuple[int, Exceeded]] = []
        if self.positional is None and (first := self.cell_tag.search(xml)):
            tag_end = xml.find(b">", first.start())
            self.positional = not _HAS_REF.search(xml, first.start(), tag_end)
            row = xml.find(self.row_open)
            self.count_rows = row < 0 or not _HAS_REF.search(xml, row, xml.find(b">", row))
        if self.positional:
            found.extend(self._positional_columns(xml))
        else:
            for m in self.beyond.finditer(xml):
                start = xml.rfind(b"<", 0, m.start())
                end = xml.find(b">", m.end())
                if (
                    not self.cell_tag.match(xml, start)
                    or not _REF_NAME.search(xml, start, m.start())
                    or end < 0
                    or xml[end - 1 : end] == b"/"
                ):
                    continue  # not a cell's reference, or <c r="XA1" s="3"/>: no value
                close = xml.find(self.cell_close, end)
                body = xml[end : close if close >= 0 else len(xml)]
                if any(v in body for v in self.values):
                    exceeded = Exceeded("columns", int(m.group(2)), column_index(m[1].decode()))
                    found.append((start, exceeded))
                    break
        pieces = xml.split(self.cell_open)
        if max(map(len, pieces)) > self.max_chars:
            for k, piece in enumerate(pieces):
                if (
                    len(piece) > self.max_chars
                    and _text_length(piece, self.prefix) > self.max_chars
                ):
                    step = len(self.cell_open)
                    start = sum(len(p) + step for p in pieces[:k]) - step if k else 0
                    found.append((start, self._at(xml, start, "cell")))
                    break
        if self.shared_index is not None:
            at = xml.find(self.shared_value)
            while at >= 0:
                start = xml.rfind(self.cell_open, 0, at)
                if start >= 0 and _SHARED_TYPE.search(xml, start, xml.find(b">", start)):
                    found.append((start, self._at(xml, start, "cell")))
                    break
                at = xml.find(self.shared_value, at + 1)
        if found:
            raise min(found, key=lambda f: f[0])[1]

    def _positional_columns(self, xml: bytes) -> list[tuple[int, Exceeded]]:
        offset = 0
        for number, row in enumerate(xml.split(self.row_end), start=self.rows_before + 1):
            if len(self.cell_tag.findall(row)) > self.max_columns:
                cells = self.cell_tag.split(row)[1:]
                for j, cell in enumerate(cells[self.max_columns :], start=self.max_columns + 1):
                    if any(v in cell for v in self.values):
                        return [(offset, Exceeded("columns", self._row_number(row, number), j))]
            offset += len(row) + len(self.row_end)
        return []

    def _row_number(self, xml: bytes, default: int) -> int:
        start = xml.rfind(self.row_open)
        m = _ROW_REF.search(xml, start, xml.find(b">", start)) if start >= 0 else None
        return int(m.group(1)) if m else default

    def _at(self, xml: bytes, offset: int, what: str) -> Exceeded:
        """The row and column of the cell whose tag starts at `offset`."""
        row_start = xml.rfind(self.row_open, 0, offset)
        row = self.rows_before + xml.count(self.row_end, 0, offset) + 1
        if row_start >= 0:
            row = self._row_number(xml[row_start : row_start + 200], row)
        m = _CELL_REF.search(xml, offset, max(xml.find(b">", offset), offset))
        if m:
            return Exceeded(what, int(m.group(2)), column_index(m.group(1).decode()))
        return Exceeded(what, row, xml.count(self.cell_open, max(row_start, 0), offset) + 1)


def scan(data: bytes, *, max_columns: int, max_cell_chars: int, max_unpacked: int) -> SheetFacts:
    """Check the first sheet of an xlsx against the limits; raises Exceeded, or KeyError /
    zipfile.BadZipFile / OSError for a file that is not a readable workbook."""
    budget = _Budget(max_unpacked)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # calamine unpacks more than the two parts read below (styles, for one); the
        # sizes the archive declares bound those, the bytes actually read bound these.
        if sum(info.file_size for info in archive.infolist()) > max_unpacked:
            raise Exceeded("unpacked")
        sheet_path, shared_path = _parts(archive)
        long_index = None
        if shared_path is not None and shared_path in archive.namelist():
            long_index = _long_shared_string(archive, shared_path, max_cell_chars, budget)
        scanner = _SheetScan(max_columns, max_cell_chars, long_index)
        # A row longer than this cannot be within the limits, whatever it holds.
        row_cap = max_columns * (max_cell_chars * _MAX_BYTES_PER_CHAR + 512) + (1 << 16)
        carry = b""
        next_check = max_cell_chars
        for number, chunk in enumerate(budget.chunks(archive, sheet_path)):
            if number == 0:
                scanner.set_prefix(_prefix(chunk))
            buf = carry + chunk
            scanner.note(buf[max(len(carry) - 200, 0) :])
            end = buf.rfind(scanner.row_end)
            if end < 0:
                carry = buf
                # A row still open: looked at as it grows (doubling, so linear time),
                # so a huge cell is refused after its first megabyte.
                if len(carry) > next_check:
                    scanner.check(carry)
                    if len(carry) > row_cap:
                        raise scanner._at(carry, max(carry.rfind(scanner.cell_open), 0), "row")
                    next_check = 2 * len(carry)
                continue
            end += len(scanner.row_end)
            segment, carry = buf[:end], buf[end:]
            scanner.check(segment)
            if scanner.count_rows:
                scanner.rows_before += segment.count(scanner.row_end)
            next_check = max_cell_chars
        if carry:
            scanner.check(carry)
        if long_index is not None:
            # The string is in the file but no cell shows it; still too long to read.
            raise Exceeded("cell")
    merges = scanner.facts.merges
    return SheetFacts(scanner.facts.has_formula, sorted(set(merges), key=merges.index))
