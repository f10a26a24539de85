"""COPY text written by the bulk writers reads back as the values sent: separators and
the escape character inside text, none, booleans, dates, times with offsets, JSON,
numbers, ids and bytes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection
from psycopg.types.json import Jsonb

from fangkong.core.copytext import copy_blocks, copy_value

ROWS = [
    (
        "tab\there, line\nbreak, back\\slash, 回车\r",
        None,
        True,
        date(2022, 4, 3),
        datetime(2022, 4, 3, 23, 59, 30, 250000, tzinfo=timezone(timedelta(hours=8))),
        Jsonb({"天": [1, 2], "q": 'a"\\b'}),
        Decimal("37.35"),
        uuid.UUID(int=7),
        b"\x00\xff\\",
        [1, 2, 5],
    ),
    ("", 0, False, None, None, None, None, None, None, None),
]


@pytest.mark.django_db
def test_values_round_trip_through_copy() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE copy_probe (t text, n int, b boolean, d date, "
            "ts timestamptz, j jsonb, x numeric, u uuid, y bytea, a jsonb)"
        )
        with cursor.cursor.copy("COPY copy_probe FROM STDIN") as copy:
            for block in copy_blocks(ROWS):
                copy.write(block)
        cursor.execute("SELECT t, n, b, d, ts, j, x, u, y, a FROM copy_probe ORDER BY t DESC")
        first, second = cursor.fetchall()
    sent = ROWS[0]
    assert first[0] == sent[0] and first[1] is None and first[2] is True
    assert first[3] == sent[3]
    assert first[4] == sent[4] and first[4].astimezone(UTC).hour == 15
    # Django reads jsonb as text (it decodes JSON itself).
    assert json.loads(first[5]) == {"天": [1, 2], "q": 'a"\\b'}
    assert first[6] == Decimal("37.35") and first[7] == sent[7]
    assert bytes(first[8]) == sent[8] and json.loads(first[9]) == [1, 2, 5]
    assert second[:3] == ("", 0, False) and set(second[3:]) == {None}


def test_an_unknown_type_is_refused_not_guessed() -> None:
    assert copy_value(time(7, 30)) == "07:30:00"
    with pytest.raises(TypeError, match="set"):
        copy_value({1, 2})
