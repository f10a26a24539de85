"""Coverage of a city's round on the analytical engine (DuckDB embedded): the same counts
as `counts.exact_counts` (the definition), from an extract of the round instead of the
live tables, for rounds too big to recount in the database while it serves the field.

The extract is two relations (Arrow tables) with a fixed column contract:

- ``residents``: one row per resident of the round's scope — ``person_id`` (int64),
  ``node_id`` (int32, where they live), ``expected`` (bool: present, of age, not
  excluded, not isolated at a site, as decided by ``counts.expected_q``) and ``tested``
  (bool: a routine sample this round);
- ``samples``: one row per routine sample — ``node_id`` (int32, where it was counted),
  ``back`` (bool: the tube's result is in) and ``positive`` (bool).

The join between residents and samples is done once, when the extract is made (in the
database, by index, or by the city's warehouse); every count and list after that is a
scan and a group-by, which is what makes 25 million residents a second's work (a hash
join of 25 million residents with 22 million samples alone takes several seconds on two
cores: bench/testing_coverage_olap.py prints both)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
from django.db.models import BooleanField, Case, Value, When

from fangkong.testing.counts import Counts, expected_q, tested_exists
from fangkong.testing.models import Outcome, Round, Sample

RESIDENTS = pa.schema(
    [
        ("person_id", pa.int64()),
        ("node_id", pa.int32()),
        ("expected", pa.bool_()),
        ("tested", pa.bool_()),
    ]
)
SAMPLES = pa.schema([("node_id", pa.int32()), ("back", pa.bool_()), ("positive", pa.bool_())])
CHUNK = 100_000

COUNTS_SQL = """
WITH r AS (
    SELECT node_id,
           COUNT(*) FILTER (WHERE expected) AS expected,
           COUNT(*) FILTER (WHERE expected AND tested) AS tested
    FROM residents GROUP BY node_id
), s AS (
    SELECT node_id, COUNT(*) AS samples,
           COUNT(*) FILTER (WHERE back) AS results,
           COUNT(*) FILTER (WHERE positive) AS positive
    FROM samples GROUP BY node_id
)
SELECT COALESCE(r.node_id, s.node_id) AS node_id,
       COALESCE(r.expected, 0), COALESCE(r.tested, 0),
       COALESCE(s.samples, 0), COALESCE(s.results, 0), COALESCE(s.positive, 0)
FROM r FULL OUTER JOIN s ON r.node_id = s.node_id
"""

NOT_TESTED_SQL = """
SELECT person_id FROM residents
WHERE expected AND NOT tested AND node_id IN (SELECT node_id FROM wanted)
ORDER BY node_id, person_id
"""


class ExtractError(ValueError):
    """An extract that does not follow the column contract (which relation, which column)."""


@dataclass(frozen=True)
class RoundExtract:
    residents: pa.Table
    samples: pa.Table

    def __post_init__(self) -> None:
        for name, table, schema in (
            ("residents", self.residents, RESIDENTS),
            ("samples", self.samples, SAMPLES),
        ):
            for field in schema:
                if field.name not in table.column_names:
                    raise ExtractError(f"{name}: no column {field.name}")
                if not table.schema.field(field.name).type.equals(field.type):
                    raise ExtractError(
                        f"{name}.{field.name}: {table.schema.field(field.name).type}, "
                        f"expected {field.type}"
                    )


def _batches(rows: Iterator[tuple[object, ...]], schema: pa.Schema) -> pa.Table:
    columns: list[list[object]] = [[] for _ in schema]
    batches: list[pa.RecordBatch] = []
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        if len(columns[0]) >= CHUNK:
            batches.append(pa.record_batch(columns, schema=schema))
            columns = [[] for _ in schema]
    batches.append(pa.record_batch(columns, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def round_extract(round_: Round, today: date) -> RoundExtract:
    """The extract of a round from the live tables: the database evaluates who is
    expected and tested (its indexes do the join), streamed into Arrow in chunks."""
    from fangkong.testing.coverage import residents

    people = (
        residents(round_)
        .annotate(
            is_expected=Case(
                When(expected_q(round_, today), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            done=tested_exists(round_),
        )
        .order_by()
        .values_list("pk", "jurisdiction_id", "is_expected", "done")
    )
    rows = (
        (pk, node, bool(expected), bool(done))
        for pk, node, expected, done in people.iterator(chunk_size=CHUNK)
    )
    samples = (
        Sample.objects.filter(round=round_, recall=False)
        .order_by()
        .values_list("jurisdiction_id", "tube__outcome")
    )
    sample_rows = (
        (node, outcome != "", outcome == Outcome.POSITIVE)
        for node, outcome in samples.iterator(chunk_size=CHUNK)
    )
    return RoundExtract(_batches(rows, RESIDENTS), _batches(sample_rows, SAMPLES))


class CoverageEngine:
    """One DuckDB connection holding a round's extract: counts per node and not-tested
    lists, each a scan of the extract."""

    def __init__(self, extract: RoundExtract, *, threads: int | None = None) -> None:
        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        # Loaded once into DuckDB's own columnar tables: every query after that scans
        # compressed columns in parallel instead of converting the Arrow buffers again.
        for name, table in (("residents", extract.residents), ("samples", extract.samples)):
            self.con.register(f"{name}_in", table)
            # `name` is one of the two fixed relation names of the contract.
            self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_in")  # noqa: S608
            self.con.unregister(f"{name}_in")

    def counts(self) -> Counts:
        """node id -> [expected, tested, samples, results, positive] (counts.FIELDS)."""
        return {
            int(row[0]): [int(v) for v in row[1:]]
            for row in self.con.execute(COUNTS_SQL).fetchall()
            if any(row[1:])
        }

    def not_tested(self, node_ids: list[int]) -> list[int]:
        """Person ids of the expected residents of these nodes without a sample."""
        self.con.register("wanted", pa.table({"node_id": pa.array(node_ids, pa.int32())}))
        try:
            return [int(r[0]) for r in self.con.execute(NOT_TESTED_SQL).fetchall()]
        finally:
            self.con.unregister("wanted")
