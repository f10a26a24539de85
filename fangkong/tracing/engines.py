"""The two engines that run :mod:`fangkong.tracing.colocation`'s SQL: DuckDB embedded (the
default: a county on one machine, no server) and Spark SQL (a city: ``local[2]`` in CI, a
cluster by its master URL). Each only loads the relations and runs the shared text."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fangkong.tracing.colocation import FIRST_DEGREE_SQL, SECOND_DEGREE_SQL, Engine, Params
from fangkong.tracing.extract import Extract

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def binned(extract: Extract, slot: int) -> pa.Table:
    """The visits with the slot of each arrival, in arrival order (so that engines that
    keep min/max per block skip the blocks a join cannot reach)."""
    visits = extract.visits.append_column("tbin", pc.divide(extract.visits["t_in"], slot))
    return visits.sort_by([("t_in", "ascending")])


def _params(params: Params) -> pa.Table:
    return pa.table({k: pa.array([v], pa.int64()) for k, v in params.row().items()})


def _offsets(params: Params) -> pa.Table:
    return pa.table({"k": pa.array(range(params.offsets + 1), pa.int64())})


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute("SET memory_limit = ?", [memory_limit])

    def load(self, extract: Extract, *, slot: int) -> None:
        table = binned(extract, slot)
        self.con.register("visits_in", table)
        self.con.execute("CREATE OR REPLACE TABLE visits AS SELECT * FROM visits_in")
        self.con.unregister("visits_in")

    def _put(self, name: str, table: pa.Table) -> None:
        self.con.register(f"{name}_in", table)
        # `name` is one of the job's fixed relation names.
        self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{name}_in"')  # noqa: S608
        self.con.unregister(f"{name}_in")

    def prepare(self, *, cases: pa.Table, params: Params) -> None:
        self._put("cases", cases)
        self._put("params", _params(params))
        self._put("offsets", _offsets(params))

    def first(self) -> pa.Table:
        """First degree; kept as `first_degree` for the second step."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE first_degree AS {FIRST_DEGREE_SQL}")
        return self.con.sql("SELECT * FROM first_degree").to_arrow_table()

    def second(self) -> pa.Table:
        return self.con.sql(SECOND_DEGREE_SQL).to_arrow_table()

    def run(
        self, *, cases: pa.Table, params: Params, second_degree: bool
    ) -> tuple[pa.Table, pa.Table | None]:
        self.prepare(cases=cases, params=params)
        first = self.first()
        return first, self.second() if second_degree else None

    def close(self) -> None:
        self.con.close()


def spark_session(master: str = "local[2]", **conf: str) -> SparkSession:
    """A Spark session for the job; small shuffles and no UI by default (the job's data
    after the join is small; a cluster's master URL overrides them through `conf`)."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("fangkong-colocation")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkEngine:
    """Runs the same SQL on a Spark session. The visits go to Spark as Parquet (in a
    scratch directory a local session reads; a cluster needs `directory` on storage its
    executors see)."""

    name = "spark"

    def __init__(self, session: SparkSession, *, directory: Path | None = None) -> None:
        self.spark = session
        self._own = directory is None
        self.directory = directory or Path(tempfile.mkdtemp(prefix="fk-colocation-"))
        self._first: Any = None

    def load(self, extract: Extract, *, slot: int) -> None:
        path = self.directory / "visits.parquet"
        pq.write_table(binned(extract, slot), path)
        frame = self.spark.read.parquet(str(path)).cache()
        frame.count()
        frame.createOrReplaceTempView("visits")

    def _put(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def prepare(self, *, cases: pa.Table, params: Params) -> None:
        self._put("cases", cases)
        self._put("params", _params(params))
        self._put("offsets", _offsets(params))

    def first(self) -> pa.Table:
        """First degree; kept (cached) as `first_degree` for the second step."""
        if self._first is not None:
            self._first.unpersist()
        self._first = self.spark.sql(FIRST_DEGREE_SQL).cache()
        self._first.createOrReplaceTempView("first_degree")
        return _arrow(self._first)

    def second(self) -> pa.Table:
        return _arrow(self.spark.sql(SECOND_DEGREE_SQL))

    def run(
        self, *, cases: pa.Table, params: Params, second_degree: bool
    ) -> tuple[pa.Table, pa.Table | None]:
        self.prepare(cases=cases, params=params)
        first = self.first()
        return first, self.second() if second_degree else None

    def close(self) -> None:
        self.spark.catalog.clearCache()
        if self._own:
            shutil.rmtree(self.directory, ignore_errors=True)


def _arrow(frame: Any) -> pa.Table:
    table: pa.Table = frame.toArrow()
    return table


def engine_for(name: str, *, master: str = "local[2]") -> Engine:
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine(spark_session(master))
    raise ValueError(name)
