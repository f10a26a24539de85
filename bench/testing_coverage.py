"""Coverage (应检尽检) of a round over a million residents with 10-in-1 pools: ours
(`testing.coverage.coverage`, the per-grid table) against the naive ORM loop.

Run from the project root (the database must be migrated)::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.testing_coverage
    DATABASE_URL=postgres://... .venv/bin/python -m bench.testing_coverage --committed

The registry is bench/search.py's synthetic county (1,000,000 persons in 320 grids, the
same columns the application writes); 90% of them are sampled in 10-in-1 tubes, results
are back for 80% of the tubes, two are positive; 1% of the residents are declared away.
The naive loop asks, for each resident, whether they are excluded and whether they have a
sample, one query each, as a first version would: it is timed on the first --naive
residents and scaled to all of them (a full run would take hours). Everything is rolled
back (or, with --committed on PostgreSQL, written to a scratch database that is dropped).
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Sequence
from typing import Any

from bench.common import Rollback, time_it, with_django


def build_round(persons: int, seed: int) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from bench.common import copy_rows
    from bench.search import build
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create
    from fangkong.testing.models import Exclusion, Round, Tube
    from fangkong.testing.rounds import round_create

    rng = random.Random(seed)
    started = time.perf_counter()
    world = build(persons, seed)
    town = world["town"]
    commander = staff_create(
        username="bench_testing", name="基准", kind="town_cadre", jurisdiction=town
    ).user
    membership_grant(user=commander, jurisdiction=town, role=Role.TOWN_COMMANDER)
    today = timezone.localdate()
    round_: Round = round_create(
        actor=commander,
        jurisdiction=town,
        name="基准全员核酸",
        starts_on=today,
        ends_on=today,
        pool_size=10,
        scope=[town],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, jurisdiction_id FROM people_person p WHERE jurisdiction_id IN "
            "(SELECT id FROM org_jurisdiction WHERE path LIKE %s) ORDER BY jurisdiction_id, id",
            [town.path + "%"],
        )
        people = cursor.fetchall()
    print(f"built {len(people)} residents in {time.perf_counter() - started:.1f} s")
    away = people[::100]
    Exclusion.objects.bulk_create(
        [Exclusion(round=round_, person_id=pk, reason="other") for pk, _g in away],
        batch_size=5000,
    )
    sampled = [p for i, p in enumerate(people) if i % 10 != 9]  # 90%
    now = timezone.now()
    tubes = []
    for start in range(0, len(sampled), 10):
        pool = sampled[start : start + 10]
        tubes.append(pool)
    tube_rows = []
    for i, pool in enumerate(tubes):
        outcome = "" if i % 5 == 4 else ("positive" if i in (7, 7007) else "negative")
        tube_rows.append(
            (
                f"B{i:09d}",
                round_.pk,
                pool[0][1],
                10,
                len(pool),
                "closed",
                False,
                outcome,
                now.isoformat(),
            )
        )
    copy_rows(
        "testing_tube",
        [
            "barcode",
            "round_id",
            "jurisdiction_id",
            "pool_size",
            "size",
            "status",
            "recall",
            "outcome",
            "opened_at",
        ],
        tube_rows,
    )
    ids = dict(Tube.objects.filter(round=round_).values_list("barcode", "pk"))
    sample_rows = []
    for i, pool in enumerate(tubes):
        tube_id = ids[f"B{i:09d}"]
        for pos, (pk, grid) in enumerate(pool, start=1):
            sample_rows.append(
                (
                    tube_id,
                    round_.pk,
                    pk,
                    grid,
                    pos,
                    10,
                    False,
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    now.isoformat(),
                    now.isoformat(),
                )
            )
    copy_rows(
        "testing_sample",
        [
            "tube_id",
            "round_id",
            "person_id",
            "jurisdiction_id",
            "position",
            "pool_size",
            "recall",
            "client_id",
            "taken_at",
            "received_at",
        ],
        sample_rows,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # The rows above were written around the app (to build a big round quickly): its
    # counts come from the exact recount, the periodic job's path.
    from fangkong.testing.counts import counts_recount

    counting = time.perf_counter()
    counts_recount(round_, timezone.localdate())
    print(f"exact recount (the periodic job): {time.perf_counter() - counting:.2f} s")
    print(
        f"round: {len(sample_rows)} samples in {len(tube_rows)} tubes, {len(away)} excluded, "
        f"{time.perf_counter() - started:.1f} s in all"
    )
    return {"round": round_, "people": people, "expected_tested": None}


def naive_coverage(
    round_: Any, people: Sequence[tuple[int, int]], today: Any
) -> dict[int, list[int]]:
    """The first version one writes: per resident, is it expected, has it a sample."""
    from fangkong.people.models import Person
    from fangkong.testing.models import Exclusion, Sample

    out: dict[int, list[int]] = {}
    for pk, _grid in people:
        person = Person.objects.get(pk=pk)
        if person.status != "present":
            continue
        if Exclusion.objects.filter(round=round_, person=person).exists():
            continue
        row = out.setdefault(person.jurisdiction_id, [0, 0])
        row[0] += 1
        if Sample.objects.filter(round=round_, person=person, recall=False).exists():
            row[1] += 1
    return out


def run(persons: int, reps: int, naive_n: int, seed: int, committed: bool) -> None:
    from django.db import connection, transaction

    print(f"database: {connection.vendor}")
    if committed:  # a scratch database, dropped afterwards
        measure(persons, reps, naive_n, seed)
        return
    try:
        with transaction.atomic():
            measure(persons, reps, naive_n, seed)
            raise Rollback
    except Rollback:
        pass


def measure(persons: int, reps: int, naive_n: int, seed: int) -> None:
    from django.utils import timezone

    from fangkong.testing.coverage import coverage

    built = build_round(persons, seed)
    round_, people = built["round"], built["people"]
    today = timezone.localdate()
    result = coverage(round_, today=today)
    total = result.total
    print(
        f"coverage: expected {total.expected}, tested {total.tested}, not tested "
        f"{total.not_tested}, results back {total.results}, positive {total.positive}, "
        f"{len(result.grids)} grids"
    )
    # The naive loop on the first residents agrees with ours on their grids.
    part = people[:naive_n]
    naive = naive_coverage(round_, part, today)
    ours = time_it("ours", lambda: len(coverage(round_, today=today).grids), reps, 1)
    started = time.perf_counter()
    naive_coverage(round_, part, today)
    naive_s = (time.perf_counter() - started) * len(people) / len(part)
    full_grids = {g for _p, g in part}
    last = part[-1][1]
    check = {r.node.pk: r for r in result.grids}
    for grid, (expected, tested) in naive.items():
        if grid in full_grids and grid != last:
            row = check[grid]
            if (row.expected, row.tested) != (expected, tested):
                raise AssertionError(f"grid {grid}: ours {row}, naive {naive[grid]}")
    print(
        f"\nours (per-grid table): median {ours.median:.1f} ms, p95 {ours.p95:.1f} ms "
        f"({reps} runs)\n"
        f"naive ORM loop: {naive_s:.0f} s for {len(people)} residents (timed on "
        f"{len(part)}, scaled)\nratio: {naive_s * 1000 / ours.median:.0f}x"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--naive", type=int, default=3000, help="residents the naive loop runs")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--committed", action="store_true")
    args = parser.parse_args(argv)
    with_django(
        parser,
        args.committed,
        lambda: run(args.persons, args.reps, args.naive, args.seed, args.committed),
    )


if __name__ == "__main__":
    main()
