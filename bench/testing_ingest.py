"""Ingest of sampling records through the app's own path (`testing.sampling.samples_sync`,
what the phones' queues and a city's feed call) against `save()` per row.

Run from the project root (the database must be migrated)::

    DATABASE_URL=postgres://... .venv/bin/python -m bench.testing_ingest --committed
    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.testing_ingest

A synthetic county (bench/search.py's registry) and a 10-in-1 round over it; --rows
sampling records (a person each, by registry id as the search sends them, or by resident
code with --codes) in batches of --batch go through `samples_sync`, which checks every
record (client id seen before, person in the registry and the round's area, sampled
already, tube of the round, open, not full) and writes tubes and samples (COPY on
PostgreSQL) with the round's counts. The baseline makes the same rows with
`Tube.save()`/`Sample.save()` one by one, timed on --naive rows and scaled. Sending the
first batch again checks idempotency: nothing is written twice.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta

from bench.common import Rollback, with_django


def measure(persons: int, rows: int, batch: int, naive_n: int, seed: int, codes: bool) -> None:
    from django.db import connection
    from django.utils import timezone

    from bench.search import build
    from fangkong.testing.codes import resident_code
    from fangkong.testing.models import Round, Sample, Tube
    from fangkong.testing.rounds import round_create
    from fangkong.testing.sampling import BY_CODE, BY_PERSON, RECORDED, Record, samples_sync

    started = time.perf_counter()
    world = build(persons, seed)
    town = world["town"]
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create

    sampler = staff_create(
        username="bench_sampler", name="采样", kind="other", jurisdiction=town
    ).user
    membership_grant(user=sampler, jurisdiction=town, role=Role.SAMPLER)
    today = timezone.localdate()
    commander = staff_create(
        username="bench_cmd_t", name="基准", kind="town_cadre", jurisdiction=town
    ).user
    membership_grant(user=commander, jurisdiction=town, role=Role.TOWN_COMMANDER)

    def new_round(name: str) -> Round:
        return round_create(
            actor=commander,
            jurisdiction=town,
            name=name,
            starts_on=today,
            ends_on=today,
            pool_size=10,
            scope=[town],
        )

    round_ = new_round("基准入库")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM people_person WHERE jurisdiction_id IN (SELECT id FROM "
            "org_jurisdiction WHERE path LIKE %s) ORDER BY id",
            [town.path + "%"],
        )
        ids = [r[0] for r in cursor.fetchall()]
    print(
        f"database: {connection.vendor}; {len(ids)} residents built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    now = timezone.now() - timedelta(minutes=1)
    how = BY_CODE if codes else BY_PERSON
    records = [
        Record(
            client_id=uuid.uuid4(),
            barcode=f"IN{i // 10:08d}",
            taken_at=now,
            how=how,
            person=resident_code(pk) if codes else str(pk),
        )
        for i, pk in enumerate(ids[:rows])
    ]
    total = 0
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        done = samples_sync(round_=round_, records=records[start : start + batch], actor=sampler)
        total += done.recorded
    ours_s = time.perf_counter() - started
    if total != len(records):
        bad = [a for a in done.answers if a.status != RECORDED][:3]
        raise RuntimeError(f"only {total} of {len(records)} recorded: {bad}")
    again = time.perf_counter()
    resent = samples_sync(round_=round_, records=records[:batch], actor=sampler)
    resent_s = time.perf_counter() - again
    if resent.recorded or Sample.objects.filter(round=round_).count() != len(records):
        raise RuntimeError("a resent batch wrote something")

    # The baseline: the same kind of rows, save() one by one, into another round.
    other = new_round("基准逐行")
    part = ids[:naive_n]
    started = time.perf_counter()
    tube = None
    for i, pk in enumerate(part):
        if i % 10 == 0:
            tube = Tube(
                barcode=f"NV{i // 10:08d}",
                round=other,
                jurisdiction_id=town.pk,
                pool_size=10,
                size=0,
                opened_at=now,
            )
            tube.save()
        assert tube is not None  # noqa: S101 - made on the first row
        Sample(
            tube=tube,
            round=other,
            person_id=pk,
            jurisdiction_id=town.pk,
            position=i % 10 + 1,
            pool_size=10,
            client_id=uuid.uuid4(),
            taken_at=now,
            received_at=now,
        ).save()
        tube.size += 1
        tube.save(update_fields=["size"])
    naive_s = (time.perf_counter() - started) / len(part)
    ours_rate = len(records) / ours_s
    print(
        f"\nours (samples_sync, batches of {batch}, {'codes' if codes else 'registry ids'}): "
        f"{len(records)} rows in {ours_s:.2f} s = {ours_rate:,.0f} rows/s\n"
        f"resending a batch of {batch}: {resent_s:.2f} s, 0 rows written\n"
        f"save() per row: {1 / naive_s:,.0f} rows/s (timed on {len(part)} rows)\n"
        f"ratio: {ours_rate * naive_s:.0f}x"
    )


def run(args: argparse.Namespace) -> None:
    from django.db import transaction

    def go() -> None:
        measure(args.persons, args.rows, args.batch, args.naive, args.seed, args.codes)

    if args.committed:  # a scratch database, dropped afterwards
        go()
        return
    try:
        with transaction.atomic():
            go()
            raise Rollback
    except Rollback:
        pass


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--naive", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--codes", action="store_true", help="name persons by resident code")
    parser.add_argument("--committed", action="store_true")
    args = parser.parse_args(argv)
    with_django(parser, args.committed, lambda: run(args))


if __name__ == "__main__":
    main()
