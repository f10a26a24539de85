"""The re-check after an area change on a million persons: the fast path against the
per-person ORM loop, in the same run.

Run from the project root::

    .venv/bin/python -m bench.recheck --persons 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fk_i16a_bench \\
        .venv/bin/python -m bench.recheck --persons 1000000

Without DATABASE_URL it uses a scratch SQLite file (created and migrated, then
deleted); with a PostgreSQL URL it creates that database when missing and migrates
it. It writes a town of 320 grids with `--persons` residents, each with one arrival
from 北京市朝阳区 (110105, several streets) spread over the last 15 days, and an active
control order for every 20th (of every type and source), the fast way (COPY on
PostgreSQL, executemany on SQLite). Then 朝阳区 becomes a high-risk area (backdated 5
days) and the re-check runs:

- fast: `recheck.recheck_bulk` over everyone (read, group, decide once per group with
  the one decision function, write the proposals in bulk);
- loop: `recheck_each.recheck_each` (per person: its report, its order, `decide`, the
  proposal) on a random sample of `--sample` persons, extrapolated to all of them;
  its proposals are compared with the fast path's for the same persons.

Everything is rolled back at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bench.common import Rollback, bench_town, copy_rows

BENCH_PREFIX = "999903"
STREETS = ["110105001000", "110105002000", "110105003000", "110105010000", "110105"]


def build(n: int, as_of: date, seed: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from fangkong.control.models import ControlOrder, OrderSource, OrderType
    from fangkong.people.models import Person

    rng = random.Random(seed)
    _town, grids = bench_town(BENCH_PREFIX, "复核", villages=40, grids=8)
    now = timezone.now().isoformat()
    t0 = time.perf_counter()
    copy_rows(
        "people_person",
        [
            "jurisdiction_id",
            "relationship",
            "name",
            "name_key",
            "name_initials",
            "id_type",
            "id_number",
            "no_id_reason",
            "sex",
            "phone",
            "phone2",
            "residency",
            "occupation",
            "workplace",
            "status",
            "away_where",
            "created_at",
            "updated_at",
        ],
        [
            (
                grids[i % len(grids)].pk,
                "",
                f"复核{i}",
                f"复核{i}",
                "fh",
                "ric",
                "",
                "",
                "",
                "",
                "",
                "huji",
                "",
                "",
                "present",
                "",
                now,
                now,
            )
            for i in range(n)
        ],
    )
    persons = list(
        Person.objects.filter(name_initials="fh", jurisdiction__in=grids)
        .order_by("pk")
        .values_list("pk", "jurisdiction_id")
    )
    rows = []
    for i, (pk, grid_id) in enumerate(persons):
        arrived = as_of - timedelta(days=rng.randint(0, 14))
        left = arrived - timedelta(days=rng.choice((0, 0, 0, 1, 1, 2, 3, 5)))
        code = STREETS[i % len(STREETS)]
        rows.append(
            (
                grid_id,
                f"复核{i}",
                "",
                "",
                "",
                "",
                code,
                "",
                code,
                left.isoformat(),
                arrived.isoformat(),
                "car",
                "",
                "复核地址",
                False,
                "",
                0,
                f"B{i:09d}",
                "staff",
                "verified",
                pk,
                "returnee",
                "none",
                "{}",
                now,
                now,
            )
        )
    copy_rows(
        "screening_returneereport",
        [
            "jurisdiction_id",
            "name",
            "id_number",
            "id_number_hash",
            "phone",
            "phone_hash",
            "origin_code",
            "origin_place",
            "origin_label",
            "left_on",
            "arrived_on",
            "mode",
            "vehicle",
            "address",
            "symptoms",
            "symptoms_note",
            "vaccination",
            "code",
            "source",
            "status",
            "person_id",
            "category",
            "proposed_place",
            "decision",
            "created_at",
            "updated_at",
        ],
        rows,
    )
    types = list(OrderType)
    sources = [OrderSource.REPORT, OrderSource.REPORT, OrderSource.PUSHED, OrderSource.MANUAL]
    orders = []
    for i, (pk, grid_id) in enumerate(persons[::20]):
        start = as_of - timedelta(days=rng.randint(0, 10))
        orders.append(
            ControlOrder(
                person_id=pk,
                jurisdiction_id=grid_id,
                type=types[i % len(types)],
                status="active",
                starts_on=start,
                ends_on=start + timedelta(days=rng.choice((2, 6, 9, 13))),
                source=sources[i % len(sources)],
            )
        )
    ControlOrder.objects.bulk_create(orders, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE people_person, screening_returneereport, control_controlorder")
    print(
        f"built {n:,} persons, {len(rows):,} arrivals, {len(orders):,} active orders "
        f"in {time.perf_counter() - t0:.1f} s"
    )


def run(n: int, sample: int, seed: int, profile: bool = False) -> None:
    from django.db import connection, transaction
    from django.utils import translation

    from fangkong.control import recheck, recheck_each
    from fangkong.control.models_recheck import RecheckProposal, RecheckRun
    from fangkong.policy.engine import Rules
    from fangkong.policy.services import AreaData, area_save

    as_of = date(2022, 7, 10)  # inside the 9th edition
    translation.activate("zh-hans")
    try:
        with transaction.atomic():
            build(n, as_of, seed)
            area_save(
                actor=None,
                data=AreaData(code="110105", level="high", effective_from=as_of - timedelta(5)),
            )
            rules = Rules.load()
            scope = recheck.Scope(
                as_of=as_of,
                codes=frozenset({"110105"}),
                horizon_days=recheck.horizon_days(as_of, rules),
            )
            everyone = sorted(recheck_each.candidates(scope))
            chosen = random.Random(seed).sample(everyone, min(sample, len(everyone)))
            # The loop first, on its sample, undone afterwards so the fast path starts
            # from the same state.
            sid = transaction.savepoint()
            t0 = time.perf_counter()
            slow = recheck_each.recheck_each(RecheckRun.objects.create(as_of=as_of), scope, chosen)
            slow_s = time.perf_counter() - t0
            reference = _rows(RecheckProposal.objects.filter(person_id__in=chosen))
            transaction.savepoint_rollback(sid)

            profiler = cProfile.Profile() if profile else None
            t0 = time.perf_counter()
            if profiler:
                profiler.enable()
            fast = recheck.recheck_bulk(RecheckRun.objects.create(as_of=as_of), scope, Rules.load())
            fast_s = time.perf_counter() - t0
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            same = reference == _rows(RecheckProposal.objects.filter(person_id__in=chosen))
            t0 = time.perf_counter()
            again = recheck.recheck_bulk(RecheckRun.objects.create(as_of=as_of), scope)
            again_s = time.perf_counter() - t0

            per_person = slow_s / max(len(chosen), 1)
            slow_all = per_person * fast.checked
            print(f"database: {connection.vendor}")
            print(
                f"fast path: {fast.checked:,} persons re-checked, {fast.groups:,} groups "
                f"decided, {fast.proposed:,} proposals written in {fast_s:.2f} s"
            )
            print(
                f"per-person ORM loop: {len(chosen):,} persons (a random sample) in "
                f"{slow_s:.2f} s = {per_person * 1000:.2f} ms/person; extrapolated to "
                f"{fast.checked:,} persons: {slow_all:.0f} s"
            )
            print(f"ratio (loop extrapolated / fast): {slow_all / fast_s:.0f}x")
            print(
                f"same proposals for the sample ({slow.proposed:,} by the loop): "
                f"{'yes' if same else 'NO'}"
            )
            print(
                f"second run (idempotent): {again.proposed:,} proposed, "
                f"{again.outdated:,} outdated, {again_s:.2f} s"
            )
            raise Rollback
    except Rollback:
        pass


def _rows(qs: Any) -> set[tuple[Any, ...]]:
    return {
        tuple(tuple(v) if isinstance(v, list) else v for v in row)
        for row in qs.values_list(
            "person_id",
            "order_id",
            "kind",
            "type",
            "starts_on",
            "ends_on",
            "test_days",
            "then_type",
            "then_days",
            "reason",
            "fingerprint",
        )
    }


def _database() -> str | None:
    """The database to use; a scratch SQLite file (returned, to delete) by default."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return None
    if url:
        return None
    path = os.path.join(tempfile.mkdtemp(prefix="fk-recheck-"), "bench.sqlite3")
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000, help="persons the loop re-checks")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--profile", action="store_true", help="print where the fast path's time goes"
    )
    args = parser.parse_args(argv)
    scratch = _database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    try:
        run(args.persons, args.sample, args.seed, args.profile)
    finally:
        if scratch:
            os.remove(scratch)


if __name__ == "__main__":
    main()
