"""What every benchmark here shares: timing with median/p95, and undoing its writes."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


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
