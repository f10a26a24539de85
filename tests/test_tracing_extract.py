"""The extract's column contract: what is accepted, what is refused (naming the row and
column), departures filled from the assumed stay, Parquet in and out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from django.utils import translation

from fangkong.tracing.extract import (
    ExtractError,
    ParquetSource,
    extract,
    from_rows,
    normalise,
)

T = datetime(2022, 6, 1, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _english():
    # The messages are matched in English; the default language is zh-hans.
    with translation.override("en"):
        yield


STAY = timedelta(minutes=30)


def table(**columns):
    return pa.table(columns)


def ts(*values):
    return pa.array(list(values), pa.timestamp("s", tz="UTC"))


def test_scanned_at_with_the_assumed_stay():
    ex = normalise(
        table(
            person_key=pa.array(["a", "b", "a"]),
            place_id=pa.array([1, 2, 3]),
            scanned_at=ts(T, T, T + timedelta(hours=1)),
        ),
        assumed_stay=STAY,
    )
    assert ex.visits["t_out"].to_pylist() == [
        int(T.timestamp()) + 1800,
        int(T.timestamp()) + 1800,
        int(T.timestamp()) + 3600 + 1800,
    ]
    assert ex.pids(["a", "b", "zz"]) == {"a": 0, "b": 1}
    assert ex.key(ex.visits["pid"][2].as_py()) == "a"


def test_a_null_departure_is_the_assumed_stay_and_integers_are_epoch_seconds():
    start = int(T.timestamp())
    ex = normalise(
        table(
            person_key=pa.array(["a", "b"]),
            place_id=pa.array([1, 2]),
            t_in=pa.array([start, start]),
            t_out=pa.array([start + 60, None], pa.int64()),
        ),
        assumed_stay=STAY,
    )
    assert ex.visits["t_out"].to_pylist() == [start + 60, start + 1800]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"place_id": pa.array([1]), "t_in": ts(T)}, "no column person_key"),
        ({"person_key": pa.array(["a"]), "place_id": pa.array([1])}, "no column t_in"),
        (
            {"person_key": pa.array(["a", None]), "place_id": pa.array([1, 2]), "t_in": ts(T, T)},
            "Row 2: person_key is empty",
        ),
        (
            {"person_key": pa.array(["a"]), "place_id": pa.array(["x"]), "t_in": ts(T)},
            "place_id must hold integer ids",
        ),
        (
            {
                "person_key": pa.array(["a"]),
                "place_id": pa.array([1]),
                "t_in": pa.array([datetime(2022, 6, 1)], pa.timestamp("s")),  # noqa: DTZ001
            },
            "without a time zone",
        ),
        (
            {
                "person_key": pa.array(["a", "b"]),
                "place_id": pa.array([1, 1]),
                "t_in": ts(T, T),
                "t_out": ts(T, T - timedelta(minutes=1)),
            },
            "Row 2: t_out is before the arrival",
        ),
        (
            {"person_key": pa.array(["a"]), "place_id": pa.array([1]), "t_in": pa.array(["x"])},
            "must be a time or epoch seconds",
        ),
    ],
)
def test_a_broken_extract_is_refused_with_the_row_and_column(columns, message):
    with pytest.raises(ExtractError, match=message):
        normalise(table(**columns), assumed_stay=STAY)


def test_parquet_round_trip_keeps_the_range(tmp_path):
    ex = from_rows(
        [
            ("a", 1, T, T + timedelta(minutes=40)),
            ("b", 1, T + timedelta(days=5), None),
            ("c", 2, T - timedelta(days=3), None),
        ],
        assumed_stay=STAY,
    )
    path = tmp_path / "scans.parquet"
    ex.write_parquet(path)
    back = extract(
        ParquetSource(path),
        start=T - timedelta(hours=1),
        end=T + timedelta(days=1),
        assumed_stay=STAY,
    )
    assert [back.key(p) for p in back.visits["pid"].to_pylist()] == ["a"]
    assert back.visits["t_out"].to_pylist() == [int(T.timestamp()) + 2400]
    with pytest.raises(ExtractError, match="aware"):
        extract(ParquetSource(path), start=datetime(2022, 6, 1), end=T, assumed_stay=STAY)  # noqa: DTZ001


def test_a_model_source_reads_any_table_by_its_field_names(db):
    # The places app's scans will be read this way; any model with a text key, an integer
    # and a time stands in for it here (the audit log: name, id, time).
    from django.utils import timezone

    from fangkong.audit.models import AuditAction, AuditEvent
    from fangkong.tracing.extract import ModelSource

    for name in ("k1", "k2", "k1"):
        AuditEvent.objects.create(actor_name=name, action=AuditAction.CREATE)
    source = ModelSource(
        model=AuditEvent, person_key="actor_name", place_id="id", scanned_at="at", chunk=2
    )
    now = timezone.now()
    ex = extract(
        source, start=now - timedelta(hours=1), end=now + timedelta(hours=1), assumed_stay=STAY
    )
    assert ex.rows == 3
    assert sorted(ex.key(p) for p in ex.visits["pid"].to_pylist()) == ["k1", "k1", "k2"]
    assert set(ex.visits["place_id"].to_pylist()) == set(
        AuditEvent.objects.values_list("id", flat=True)
    )
    later = extract(
        source, start=now + timedelta(days=3), end=now + timedelta(days=4), assumed_stay=STAY
    )
    assert later.rows == 0
