"""The extract the co-location job reads: scans as (person, place, arrival, departure).

The job never reads an app's tables. It reads an **extract**, an Arrow table (or the
Parquet file of one) with this column contract:

=============  ==========================================  ================================
column         type                                        meaning
=============  ==========================================  ================================
person_key     string (required, not null)                 who: a keyed hash of the phone,
                                                           never the phone itself
place_id       integer (required, not null)                where: the place code's id
t_in           timestamp with a time zone, or int64 epoch  arrival; the column may be named
               seconds (required, not null)                ``scanned_at`` instead
t_out          same type as t_in (optional, nullable)      departure; missing or null means
                                                           ``t_in + assumed stay`` (a rule)
=============  ==========================================  ================================

A :class:`ScanSource` yields such a table for a time range; :func:`extract` checks it
against the contract (a clear error naming the row and column, and nothing read on), fills
departures, turns times into epoch seconds and person keys into dense integer ids, and
returns an :class:`Extract` that both engines load. The lead points a source at the places
app's scan table with :class:`ModelSource` (field names are parameters), so this module
depends on no other app.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.utils.translation import gettext as _

TIME_COLUMNS = ("t_in", "scanned_at")


class ExtractError(ValueError):
    """An extract that breaks the column contract; the message names the row and column."""


@dataclass(frozen=True)
class Extract:
    """Scans ready for an engine: ``visits`` has int64 columns pid, place_id, t_in, t_out
    (epoch seconds, t_out >= t_in); ``persons[pid]`` is the person key of a pid."""

    visits: pa.Table
    persons: pa.Array

    @property
    def rows(self) -> int:
        return int(self.visits.num_rows)

    def max_stay(self) -> int:
        if not self.rows:
            return 0
        stay = pc.max(pc.subtract(self.visits["t_out"], self.visits["t_in"])).as_py()
        return int(stay or 0)

    def pids(self, keys: Iterable[str]) -> dict[str, int]:
        """The pid of each key that has scans in the extract (keys without scans are left
        out: they cannot have co-location contacts)."""
        wanted = pa.array(list(keys), type=pa.string())
        found = pc.index_in(wanted, value_set=self.persons)
        return {
            k: int(i)
            for k, i in zip(wanted.to_pylist(), found.to_pylist(), strict=True)
            if i is not None
        }

    def key(self, pid: int) -> str:
        return str(self.persons[pid].as_py())

    def write_parquet(self, path: Path) -> None:
        """Writes the extract in the contract's form (person_key, place_id, t_in, t_out)."""
        keys = pc.take(self.persons, self.visits["pid"])
        table = pa.table(
            {
                "person_key": keys,
                "place_id": self.visits["place_id"],
                "t_in": self.visits["t_in"],
                "t_out": self.visits["t_out"],
            }
        )
        pq.write_table(table, path)


class ScanSource(Protocol):
    """Anything that yields the contract's table for scans that may overlap [start, end)."""

    def read(self, *, start: datetime, end: datetime) -> pa.Table: ...


@dataclass(frozen=True)
class ArrowSource:
    table: pa.Table

    def read(self, *, start: datetime, end: datetime) -> pa.Table:
        return _in_range(self.table, start, end)


@dataclass(frozen=True)
class ParquetSource:
    path: Path

    def read(self, *, start: datetime, end: datetime) -> pa.Table:
        return _in_range(pq.read_table(self.path), start, end)


@dataclass(frozen=True)
class ModelSource:
    """A Django model's rows: ``model`` with the fields named here (``stay_until`` may be
    empty when the table has only the scan time). Read in chunks, in time order."""

    model: Any
    person_key: str = "person_key"
    place_id: str = "place_id"
    scanned_at: str = "scanned_at"
    stay_until: str = ""
    chunk: int = 50_000

    def read(self, *, start: datetime, end: datetime) -> pa.Table:
        from django.db import connection

        fields = [self.person_key, self.place_id, self.scanned_at]
        if self.stay_until:
            fields.append(self.stay_until)
        if connection.vendor == "postgresql":
            return self._copy(fields, start=start, end=end)
        rows = (
            self.model.objects.filter(**{f"{self.scanned_at}__lt": end})
            .filter(**{f"{self.scanned_at}__gte": start - timedelta(days=1)})
            .order_by(self.scanned_at)
            .values_list(*fields)
        )
        columns: list[list[Any]] = [[] for _ in fields]
        for row in rows.iterator(chunk_size=self.chunk):
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        names = ["person_key", "place_id", "t_in", "t_out"][: len(fields)]
        types = [pa.string(), pa.int64(), pa.timestamp("us", tz="UTC"), pa.timestamp("us", "UTC")]
        return pa.table(
            {
                n: pa.array(c, type=t)
                for n, c, t in zip(names, columns, types[: len(fields)], strict=True)
            }
        )

    def _copy(self, fields: list[str], *, start: datetime, end: datetime) -> pa.Table:
        """PostgreSQL streams the rows as CSV (times as epoch seconds) into a file that
        Arrow parses in bulk: a county's weeks of scans never become Python objects."""
        from django.db import connection

        meta = self.model._meta
        qn = connection.ops.quote_name
        cols = [qn(meta.get_field(f).column) for f in fields]
        epoch = [f"EXTRACT(EPOCH FROM {c})::bigint" for c in cols[2:]]
        low = int((start - timedelta(days=1)).timestamp())
        high = int(end.timestamp())
        # Only quoted column names from the model's meta and two integers.
        sql = (
            f"COPY (SELECT {cols[0]}, {cols[1]}, {', '.join(epoch)} "  # noqa: S608
            f"FROM {qn(meta.db_table)} WHERE {cols[2]} >= to_timestamp({low}) "
            f"AND {cols[2]} < to_timestamp({high}) ORDER BY {cols[2]}) "
            "TO STDOUT WITH (FORMAT csv)"
        )
        names = ["person_key", "place_id", "t_in", "t_out"][: len(fields)]
        types = dict(zip(names, [pa.string(), pa.int64(), pa.int64(), pa.int64()], strict=False))
        with tempfile.TemporaryFile() as buffer:
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for data in copy:
                    buffer.write(data)
            if not buffer.tell():
                return pa.table({n: pa.array([], t) for n, t in types.items()})
            buffer.seek(0)
            return pacsv.read_csv(
                buffer,
                read_options=pacsv.ReadOptions(column_names=names),
                convert_options=pacsv.ConvertOptions(
                    column_types=types,
                    # NULL is an unquoted empty field; an empty key is quoted.
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )


@dataclass(frozen=True)
class WithVisits:
    """`source`'s scans and some visits more (a case's declared stays): the rows
    (key, place, arrival, departure) that overlap the range are added to what it reads."""

    source: ScanSource
    visits: Sequence[tuple[str, int, datetime, datetime]]

    def read(self, *, start: datetime, end: datetime) -> pa.Table:
        base = self.source.read(start=start, end=end)
        if not self.visits:
            return base
        name = _time_column(base)
        t_out = (
            _seconds(base["t_out"], "t_out")
            if "t_out" in base.column_names
            else pa.nulls(base.num_rows, pa.int64())
        )
        low, high = int((start - timedelta(days=1)).timestamp()), int(end.timestamp())
        extra = [v for v in self.visits if low <= int(v[2].timestamp()) < high]
        return pa.concat_tables(
            [
                pa.table(
                    {
                        "person_key": pc.cast(base["person_key"], pa.string()),
                        "place_id": pc.cast(base["place_id"], pa.int64()),
                        "t_in": _seconds(base[name], name),
                        "t_out": pc.cast(t_out, pa.int64()),
                    }
                ),
                pa.table(
                    {
                        "person_key": pa.array([v[0] for v in extra], pa.string()),
                        "place_id": pa.array([v[1] for v in extra], pa.int64()),
                        "t_in": pa.array([int(v[2].timestamp()) for v in extra], pa.int64()),
                        "t_out": pa.array([int(v[3].timestamp()) for v in extra], pa.int64()),
                    }
                ),
            ]
        )


def _time_column(table: pa.Table) -> str:
    for name in TIME_COLUMNS:
        if name in table.column_names:
            return name
    raise ExtractError(_("The extract has no column t_in (or scanned_at)."))


def _seconds(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_integer(kind):
        return pc.cast(column, pa.int64())
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise ExtractError(
                _("Column %(column)s holds times without a time zone; give them in UTC.")
                % {"column": name}
            )
        as_seconds = pc.cast(column, pa.timestamp("s", tz="UTC"), safe=False)
        return pc.cast(as_seconds, pa.int64())
    raise ExtractError(
        _("Column %(column)s must be a time or epoch seconds, not %(type)s.")
        % {"column": name, "type": str(kind)}
    )


def _in_range(table: pa.Table, start: datetime, end: datetime) -> pa.Table:
    """Rows whose arrival is before `end` and not more than a day before `start` (a stay
    never spans a day: the extract keeps what may overlap the range)."""
    if not table.num_rows:
        return table
    name = _time_column(table)
    seconds = _seconds(table[name], name)
    low = int((start - timedelta(days=1)).timestamp())
    high = int(end.timestamp())
    keep = pc.and_(pc.greater_equal(seconds, low), pc.less(seconds, high))
    return table.filter(pc.fill_null(keep, True))


def _first_bad(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """The 1-based row number of the first true in `mask`, or None."""
    found = pc.index(mask, True).as_py()
    return None if found is None or found < 0 else int(found) + 1


def normalise(table: pa.Table, *, assumed_stay: timedelta) -> Extract:
    """Checks `table` against the contract and turns it into an :class:`Extract`."""
    for column in ("person_key", "place_id"):
        if column not in table.column_names:
            raise ExtractError(_("The extract has no column %(column)s.") % {"column": column})
    time_name = _time_column(table)
    if not pa.types.is_integer(table["place_id"].type):
        raise ExtractError(_("Column place_id must hold integer ids."))
    if not (
        pa.types.is_string(table["person_key"].type)
        or pa.types.is_large_string(table["person_key"].type)
    ):
        raise ExtractError(_("Column person_key must hold text keys."))
    for column in ("person_key", "place_id", time_name):
        row = _first_bad(pc.is_null(table[column]))
        if row is not None:
            raise ExtractError(
                _("Row %(row)d: %(column)s is empty.") % {"row": row, "column": column}
            )
    t_in = _seconds(table[time_name], time_name)
    stay = int(assumed_stay.total_seconds())
    assumed = pc.add(t_in, stay)
    if "t_out" in table.column_names:
        t_out = pc.coalesce(_seconds(table["t_out"], "t_out"), assumed)
        row = _first_bad(pc.less(t_out, t_in))
        if row is not None:
            raise ExtractError(
                _("Row %(row)d: t_out is before the arrival (%(column)s).")
                % {"row": row, "column": time_name}
            )
    else:
        t_out = assumed
    keys = pc.cast(table["person_key"], pa.string()).combine_chunks()
    encoded = pc.dictionary_encode(keys)
    visits = pa.table(
        {
            "pid": pc.cast(encoded.indices, pa.int64()),
            "place_id": pc.cast(table["place_id"], pa.int64()),
            "t_in": t_in,
            "t_out": t_out,
        }
    )
    return Extract(visits=visits, persons=encoded.dictionary)


def extract(
    source: ScanSource, *, start: datetime, end: datetime, assumed_stay: timedelta
) -> Extract:
    """The scans of `source` that may overlap [start, end), checked and normalised."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ExtractError(_("The extract's range needs aware times."))
    return normalise(source.read(start=start, end=end), assumed_stay=assumed_stay)


def from_rows(
    rows: Sequence[tuple[str, int, datetime, datetime | None]], *, assumed_stay: timedelta
) -> Extract:
    """A small extract from Python rows (tests, a case entered by hand)."""
    table = pa.table(
        {
            "person_key": pa.array([r[0] for r in rows], type=pa.string()),
            "place_id": pa.array([r[1] for r in rows], type=pa.int64()),
            "t_in": pa.array([r[2].astimezone(UTC) for r in rows], pa.timestamp("s", "UTC")),
            "t_out": pa.array(
                [None if r[3] is None else r[3].astimezone(UTC) for r in rows],
                pa.timestamp("s", "UTC"),
            ),
        }
    )
    return normalise(table, assumed_stay=assumed_stay)


def place_scans() -> ModelSource:
    """The county's own extract: the place-code scans the places app keeps (a scan has a
    time and no stay; the rule's assumed stay applies)."""
    from fangkong.places.models import Scan

    return ModelSource(Scan)


def place_names(ids: Iterable[int]) -> dict[int, str]:
    """The places' names for the reasons, where the ids are the places app's."""
    from fangkong.places.models import Place

    return dict(Place.objects.filter(pk__in=set(ids)).values_list("pk", "name"))
