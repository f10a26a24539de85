"""What every benchmark here shares: timing with median/p95, and undoing its writes."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


class Rollback(Exception):
    """Raised at the end of a benchmark's transaction to undo everything it wrote."""


@dataclass
class Timing:
    label: str
    size: int
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]


def time_it(label: str, fn: Callable[[], int], reps: int, warmup: int = 3) -> Timing:
    size = 0
    for _ in range(warmup):
        size = fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        size = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return Timing(label, size, samples)


def _scratch_database(url: str) -> tuple[str, Callable[[], None]]:
    """A new PostgreSQL database beside the one in `url`, and a function dropping it."""
    import psycopg

    base = url.rsplit("/", 1)[0]
    name = f"fangkong_bench_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


def with_django(parser: argparse.ArgumentParser, committed: bool, body: Callable[[], None]) -> None:
    """Set Django up and run `body`. With `committed` (PostgreSQL only), in a migrated
    scratch database that is dropped afterwards: index-only plans need committed,
    vacuumed rows, which a rolled-back benchmark never has."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    drop: Callable[[], None] | None = None
    if committed:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith("postgres"):
            parser.error("--committed needs DATABASE_URL=postgres://...")
        os.environ["DATABASE_URL"], drop = _scratch_database(url)
    import django

    django.setup()
    try:
        if committed:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        body()
    finally:
        if drop is not None:
            drop()


def bench_town(prefix: str, label: str, villages: int, grids: int) -> tuple[Any, list[Any]]:
    """A county `{prefix}000000` with one town and its villages and grids, written in bulk;
    `prefix` (six digits, 9999xx) keeps each benchmark's codes apart. Returns the town and
    its grids (with their ids)."""
    from fangkong.org.models import Jurisdiction, Level
    from fangkong.org.services import child_path

    def node(code: str, name: str, level: int, parent: Any) -> Any:
        return Jurisdiction(
            code=code, name=name, level=level, parent=parent, path=child_path(parent, code)
        )

    county = node(f"{prefix}000000", f"{label}县", Level.COUNTY, None)
    county.save()
    town = node(f"{prefix}101000", f"{label}镇", Level.TOWN, county)
    town.save()
    vs = [
        node(f"{prefix}101{v:03d}", f"{label}村{v}", Level.VILLAGE, town)
        for v in range(1, villages + 1)
    ]
    Jurisdiction.objects.bulk_create(vs)
    gs = [
        node(f"{v.code}-G{g:02d}", f"{v.name}{g}网格", Level.GRID, v)
        for v in vs
        for g in range(1, grids + 1)
    ]
    Jurisdiction.objects.bulk_create(gs)
    # bulk_create gives ids back on PostgreSQL only: read them.
    return town, list(
        Jurisdiction.objects.filter(code__startswith=f"{prefix}101", level=Level.GRID)
    )


def copy_rows(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Rows straight into a table: COPY on PostgreSQL, executemany on SQLite."""
    import io

    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            for row in rows:
                buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
            buffer.seek(0)
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(buffer.read())
        else:
            marks = ", ".join("%s" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
