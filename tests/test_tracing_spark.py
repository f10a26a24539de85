"""The same job on Spark (local[2]): identical contacts to DuckDB on the same data.

One Spark session for the module (starting one costs ~5-15 s on this machine); the data
are small so the whole module stays well under a minute. Java 17 is needed (on the
machine image; .ci/run installs it where missing)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from fangkong.tracing.colocation import IndexCase, Settings, colocate
from fangkong.tracing.engines import DuckDBEngine, SparkEngine, spark_session
from tests.tracing_support import T0, random_extract, reference

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java 17 (apt-get install openjdk-17-jre-headless)")
    # py4j logs its shutdown at exit, after pytest has closed the captured streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    session = spark_session(
        "local[2]",
        **{
            "spark.sql.shuffle.partitions": "2",
            # Tiny data: compiling whole stages costs more than it saves.
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.adaptive.enabled": "false",
        },
    )
    yield session
    session.stop()


def _both(spark, extract, cases, rules):
    duck = DuckDBEngine()
    duck.load(extract, slot=rules.slot_minutes * 60)
    sparked = SparkEngine(spark)
    sparked.load(extract, slot=rules.slot_minutes * 60)
    try:
        return colocate(duck, extract, cases, rules), colocate(sparked, extract, cases, rules)
    finally:
        duck.close()
        sparked.close()


def test_spark_and_duckdb_give_identical_contacts(spark):
    extract, cases = random_extract(7, persons=80, scans=900)
    rules = Settings(tolerance_minutes=10, slot_minutes=30)
    duck, sparked = _both(spark, extract, cases, rules)
    first, second = reference(extract, cases, rules)
    assert first and second
    assert duck.rows(1) == sparked.rows(1) == first
    assert duck.rows(2) == sparked.rows(2) == second
    # `since` (each contact's first contact with a case) agrees too.
    assert sorted(duck.first["since"].to_pylist()) == sorted(sparked.first["since"].to_pylist())


def test_spark_with_no_contacts_returns_empty_tables(spark):
    extract, _ = random_extract(8)
    nobody = [IndexCase("nobody", onset=T0, isolated_at=T0)]
    duck, sparked = _both(spark, extract, nobody, Settings())
    assert duck.rows(1) == sparked.rows(1) == []
    assert duck.rows(2) == sparked.rows(2) == []
