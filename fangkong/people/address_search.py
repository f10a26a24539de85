""" "Address contains ...": one filter, served by an index on both databases.

PostgreSQL: the pg_trgm GIN index on people_household.address (migration 0004) serves
the `LIKE '%...%'` Django writes for `contains`. SQLite: an FTS5 table with the trigram
tokenizer over the same column (migration 0007, kept in step by triggers) finds the
candidate households, and the same LIKE then decides, so the rows are exactly what the
plain substring search gives (FTS5 folds case more widely than LIKE does; the LIKE
keeps LIKE's answer). Terms under three characters have no trigram: LIKE alone.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from fangkong.core.normalise import fold_width

FTS_TABLE = "people_household_address_fts"
TRIGGERS = ("people_household_fts_ai", "people_household_fts_ad", "people_household_fts_au")
# The trigram tokenizer arrived in SQLite 3.34.0.
TRIGRAM_SQLITE = (3, 34, 0)


# Names spelled out (FTS_TABLE, TRIGGERS): static statements, nothing from outside.
_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS people_household_address_fts USING fts5("
    "address, content='people_household', content_rowid='id', tokenize='trigram')",
    "INSERT INTO people_household_address_fts(people_household_address_fts) VALUES ('rebuild')",
    "CREATE TRIGGER IF NOT EXISTS people_household_fts_ai AFTER INSERT ON people_household "
    "BEGIN INSERT INTO people_household_address_fts(rowid, address) "
    "VALUES (new.id, new.address); END",
    "CREATE TRIGGER IF NOT EXISTS people_household_fts_ad AFTER DELETE ON people_household "
    "BEGIN INSERT INTO people_household_address_fts(people_household_address_fts, rowid, "
    "address) VALUES ('delete', old.id, old.address); END",
    "CREATE TRIGGER IF NOT EXISTS people_household_fts_au AFTER UPDATE OF address "
    "ON people_household BEGIN "
    "INSERT INTO people_household_address_fts(people_household_address_fts, rowid, address) "
    "VALUES ('delete', old.id, old.address); "
    "INSERT INTO people_household_address_fts(rowid, address) VALUES (new.id, new.address); "
    "END",
)
_MATCH = (
    "SELECT rowid FROM people_household_address_fts WHERE people_household_address_fts MATCH %s"
)


def create_sqlite_index(conn: Any) -> bool:
    """Create the FTS5 table, fill it and create its triggers; False when this SQLite
    has no trigram tokenizer (the search then stays on LIKE)."""
    if sqlite3.sqlite_version_info < TRIGRAM_SQLITE:
        return False
    with conn.cursor() as cursor:
        for statement in _CREATE:
            cursor.execute(statement)
    return True


def _sqlite_index_ready() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name = %s) "
            "OR (type = 'trigger' AND name IN (%s, %s, %s))",
            [FTS_TABLE, *TRIGGERS],
        )
        row = cursor.fetchone()
    return bool(row and row[0] == 1 + len(TRIGGERS))


_READY: dict[str, bool] = {}


def sqlite_index_ready() -> bool:
    """Whether the FTS5 table and all its triggers exist (asked once per database)."""
    name = str(connection.settings_dict["NAME"])
    if name not in _READY:
        _READY[name] = _sqlite_index_ready()
    return _READY[name]


def fts_phrase(term: str) -> str:
    """The term as one FTS5 string: quoted, a quote doubled; nothing in it is syntax."""
    return '"' + term.replace('"', '""') + '"'


def address_q(text: str, prefix: str = "") -> Q:
    """The filter for addresses containing `text` (full-width folded, trimmed).

    `prefix` is the path to the household ("household__" from persons)."""
    term = fold_width(text).strip()
    q = Q(**{f"{prefix}address__contains": term})
    if connection.vendor == "sqlite" and len(term) >= 3 and sqlite_index_ready():
        # A static statement; the term is a parameter (and quoted as one FTS5 string).
        ids = RawSQL(_MATCH, (fts_phrase(term),))  # noqa: S611
        q &= Q(**{f"{prefix}id__in": ids})
    return q


def naive(qs: QuerySet[Any], text: str, prefix: str = "") -> QuerySet[Any]:
    """The plain substring search, for the tests and the benchmark to compare against."""
    return qs.filter(**{f"{prefix}address__contains": fold_width(text).strip()})
