"""The national division codes (统计用区划代码) down to townships and streets.

Shipped as data (`data/divisions.tsv.gz`, 44,703 divisions, NBS 2023-06-30, see
`data/build_divisions.py`) and read once into memory: the pickers of the public report
form and the risk-area catalogue need children and full names, not a table to join.
Codes: province 2 digits, prefecture 4, county 6, township/street 9; a community may
extend a street's code to 12 digits in the catalogue.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data") / "divisions.tsv.gz"
# Prefecture names that are placeholders for a municipality's districts.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
LEVELS = (2, 4, 6, 9)


@cache
def _by_name() -> dict[str, list[str]]:
    index: dict[str, list[str]] = defaultdict(list)
    for code, text in _table()[0].items():
        index[text].append(code)
    return dict(index)


@cache
def _table() -> tuple[dict[str, str], dict[str, list[str]]]:
    names: dict[str, str] = {}
    children: dict[str, list[str]] = defaultdict(list)
    with gzip.open(_DATA, "rt", encoding="utf-8") as f:
        for line in f:
            code, name = line.rstrip("\n").split("\t")
            names[code] = name
            parent = parent_code(code)
            children[parent].append(code)
    return names, dict(children)


def parent_code(code: str) -> str:
    """The code one level up ("" above a province)."""
    for length in reversed(LEVELS):
        if len(code) > length:
            return code[:length]
    return ""


def name(code: str) -> str | None:
    return _table()[0].get(code)


def exists(code: str) -> bool:
    return code in _table()[0]


def children(code: str = "") -> list[tuple[str, str]]:
    """(code, name) of the divisions directly under `code` ("" for the provinces)."""
    names, kids = _table()
    return [(c, names[c]) for c in kids.get(code, [])]


def chain(code: str) -> list[tuple[str, str]]:
    """(code, name) from the province down to `code`, for the known prefixes."""
    names = _table()[0]
    out = []
    for length in (*LEVELS, 12):
        if len(code) >= length and code[:length] in names:
            out.append((code[:length], names[code[:length]]))
    return out


def full_name(code: str) -> str:
    """ "上海市浦东新区陆家嘴街道": the chain's names without placeholder levels."""
    return "".join(n for _c, n in chain(code) if n not in _PLACEHOLDERS)


def find(text: str, under: str = "", length: int | None = None) -> list[tuple[str, str]]:
    """Divisions whose name equals `text` (or `text` + a common suffix), under `under`,
    with codes of `length` digits when given."""
    text = text.strip()
    if not text:
        return []
    index = _by_name()
    found = []
    for wanted in (text, *(text + s for s in ("省", "市", "区", "县", "镇", "乡", "街道"))):
        found += [
            (c, wanted)
            for c in index.get(wanted, [])
            if c.startswith(under) and (length is None or len(c) == length)
        ]
    return sorted(found)
