"""Rows as PostgreSQL COPY text, for the bulk writers (the registry import, sampling
ingest, the re-check's proposals).

The driver's `write_row` adapts every value through its type registry, about a
microsecond each: at a few hundred thousand rows of fifteen columns that was most of a
bulk write's time on the client. Values prepared for the database are a handful of
plain types, turned into text here directly and sent in blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.types.json import Json, Jsonb

NULL = "\\N"
BLOCK_ROWS = 20_000


def escape(text: str) -> str:
    """Text with COPY's own separators and escape character escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_value(value: Any) -> str:
    """One value in COPY's text format (a datetime is written with its offset)."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal | UUID):
        return str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Json | Jsonb):
        dumped = (value.dumps or json.dumps)(value.obj)
        return escape(dumped if isinstance(dumped, str) else bytes(dumped).decode())
    if isinstance(value, list | dict):
        return escape(json.dumps(value))
    if isinstance(value, bytes | memoryview):
        return "\\\\x" + bytes(value).hex()
    raise TypeError(f"no COPY text for a value of type {type(value).__name__}")


def copy_line(values: Iterable[Any]) -> str:
    return "\t".join(map(copy_value, values)) + "\n"


def copy_blocks(rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The rows as COPY text, a block of lines at a time, for `copy.write`."""
    return in_blocks(map(copy_line, rows))


def in_blocks(lines: Iterable[str]) -> Iterator[bytes]:
    """COPY text lines (each ending in a newline) joined into blocks for `copy.write`."""
    block: list[str] = []
    for line in lines:
        block.append(line)
        if len(block) >= BLOCK_ROWS:
            yield "".join(block).encode()
            block.clear()
    if block:
        yield "".join(block).encode()
