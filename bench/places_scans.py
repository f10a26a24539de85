"""Scan ingest: how many place-code scans a day one machine takes, through the app's own
paths, against the naive per-row ORM way.

Run from the project root::

    createdb fk_mine_bench   # a scratch database of yours: it is migrated and written
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fk_mine_bench \\
        .venv/bin/python -m bench.places_scans --committed
    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.places_scans

A synthetic town (code prefix 999925) with --places shops over its grids and a pool of
--visitors phones. Paths timed, one scan at a time as the visitors' phones send them:

- `page`: the public page itself (`POST /s/<code>/` through Django's test client: the
  form, the three rate-limit counters, the token check, the same-visit check, the insert
  and the rendered answer), a tenth of the scans first-time (name and mobile: the
  visitor's row written, encrypted) and the rest sending the phone's token;
- `service`: the same without HTTP (`services.key_of_token` / `visitor_remember`,
  `scan_record`);
- `bulk`: `services.scans_bulk`, a feed from another system, in batches of 5,000;
- naive: per scan, the place by its code, the visitor by the phone's hash, re-saved with
  its name and phone (both encrypted again) or created, then `Scan.save()`.

With --committed every scan commits on its own, as requests do; without it the run is
one transaction rolled back at the end (savepoints per scan: cheaper commits). Reads:
today's count of one busy place (the manager's figure) and one person's scans in 14
days (what tracing starts from).
"""

from __future__ import annotations

import argparse
import html
import random
import re
import time
from collections.abc import Sequence
from datetime import timedelta

from bench.common import Rollback, bench_town, time_it, with_django

TOKEN = re.compile(r'data-token="([^"]+)"')


def measure(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from fangkong.core.crypto import blind_index
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create
    from fangkong.places import selectors, services
    from fangkong.places.models import Place, PlaceCategory, Scan, Visitor

    rng = random.Random(args.seed)
    town, grids = bench_town("999925", "扫码", villages=10, grids=5)
    commander = staff_create(
        username="bench_places_cmd", name="基准", kind="town_cadre", jurisdiction=town
    ).user
    membership_grant(user=commander, jurisdiction=town, role=Role.TOWN_COMMANDER)
    shop = PlaceCategory.objects.get(code="shop")
    places = [
        services.place_create(
            actor=commander, jurisdiction=grids[i % len(grids)], category=shop, name=f"店{i}"
        )
        for i in range(args.places)
    ]
    phones = [f"139{n:08d}" for n in rng.sample(range(10**8), args.visitors)]
    tokens: dict[str, str] = {}
    print(
        f"database: {connection.vendor}; {len(places)} places, {len(phones)} phones; "
        f"{'committed per scan' if args.committed else 'one rolled-back transaction'}"
    )

    def pick() -> tuple[Place, str]:
        return places[rng.randrange(len(places))], phones[rng.randrange(len(phones))]

    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "testserver"
    client = Client(HTTP_HOST=host)
    client.get(f"/s/{places[0].code}/")  # the URLconf and templates load once, untimed
    now = timezone.now()
    counter = {"page": 0, "service": 0}

    def page_one() -> None:
        n = counter["page"] = counter["page"] + 1
        place, phone = pick()
        token = tokens.get(phone)
        # A tenth arrive for the first time; every network its own (the limit is per address).
        data = {"token": token} if token and n % 10 else {"name": "扫码人", "phone": phone}
        response = client.post(
            f"/s/{place.code}/",
            data,
            REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
        )
        found = TOKEN.search(response.content.decode())
        if response.status_code != 200 or found is None:
            raise RuntimeError(f"the page answered {response.status_code}")
        tokens[phone] = html.unescape(found.group(1))

    def service_one() -> None:
        n = counter["service"] = counter["service"] + 1
        place, phone = pick()
        token = tokens.get(phone)
        key = services.key_of_token(token) if token and n % 10 else None
        if key is None:
            key = services.visitor_remember(name="扫码人", phone=phone)
            token = tokens[phone] = services.visitor_token(key)
        services.scan_record(
            place=place, key=key, token=token or "", now=now + timedelta(seconds=n)
        )

    def naive_one() -> None:
        place_ref, phone = pick()
        place = Place.objects.select_related("jurisdiction").get(code=place_ref.code)
        key = blind_index(phone)
        visitor = Visitor.objects.filter(key=key).first()
        if visitor is None:
            visitor = Visitor(key=key)
        visitor.name, visitor.phone, visitor.last_seen = "扫码人", phone, timezone.now()
        visitor.save()
        Scan(
            place=place,
            person_key=key,
            node_path=place.jurisdiction.path,
            scanned_at=timezone.now(),
        ).save()

    # Interleaved in rounds, so a busy machine slows every path alike and the ratios hold.
    spent = {"page": 0.0, "service": 0.0, "naive": 0.0}
    done = {"page": 0, "service": 0, "naive": 0}
    paths = (
        ("page", page_one, args.page),
        ("service", service_one, args.rows),
        ("naive", naive_one, args.naive),
    )
    rounds = 20
    for _round in range(rounds):
        for name, one, total_n in paths:
            n = total_n // rounds
            started = time.perf_counter()
            for _ in range(n):
                one()
            spent[name] += time.perf_counter() - started
            done[name] += n
    page_s = spent["page"] / max(1, done["page"])
    service_s = spent["service"] / max(1, done["service"])
    naive_s = spent["naive"] / max(1, done["naive"])

    # Bulk -----------------------------------------------------------------------------
    keys = [blind_index(p) for p in phones]
    rows = []
    for n in range(args.bulk):
        place = places[rng.randrange(len(places))]
        rows.append(
            (
                place.pk,
                keys[rng.randrange(len(keys))],
                place.jurisdiction.path,
                now - timedelta(seconds=n),
            )
        )
    started = time.perf_counter()
    for i in range(0, len(rows), 5000):
        services.scans_bulk(rows[i : i + 5000])
    bulk_s = (time.perf_counter() - started) / max(1, len(rows))

    total = Scan.objects.filter(node_path__startswith=town.path).count()
    busy = max(places, key=lambda p: Scan.objects.filter(place=p).count())
    today = time_it("today", lambda: selectors.scans_today(busy), reps=20)
    key = keys[0]
    since = now - timedelta(days=14)
    person = time_it(
        "person",
        lambda: len(
            list(
                Scan.objects.filter(person_key=key, scanned_at__gte=since).values_list(
                    "place_id", "scanned_at"
                )
            )
        ),
        reps=20,
    )
    size = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('places_scan')")
            (bytes_,) = cursor.fetchone()
        size = f"; places_scan with its indexes: {bytes_ / max(1, total):.0f} bytes per scan"
    day = 86400
    print(
        f"scans written: {total:,}{size}\n"
        f"public page (HTTP):  {page_s * 1000:6.2f} ms/scan = {1 / page_s:8,.0f}/s = {day / page_s / 1e6:6.1f} M/day (one process)\n"
        f"service:             {service_s * 1000:6.2f} ms/scan = {1 / service_s:8,.0f}/s = {day / service_s / 1e6:6.1f} M/day\n"
        f"bulk feed:           {bulk_s * 1000:6.3f} ms/scan = {1 / bulk_s:8,.0f}/s = {day / bulk_s / 1e6:6.1f} M/day\n"
        f"naive ORM per row:   {naive_s * 1000:6.2f} ms/scan = {1 / naive_s:8,.0f}/s = {day / naive_s / 1e6:6.1f} M/day\n"
        f"ratios: service/naive {naive_s / service_s:.1f}x, page/naive {naive_s / page_s:.1f}x, "
        f"bulk/naive {naive_s / bulk_s:.0f}x\n"
        f"today's count of the busiest place: median {today.median:.2f} ms, p95 {today.p95:.2f} ms\n"
        f"one person's scans in 14 days: median {person.median:.2f} ms, p95 {person.p95:.2f} ms"
    )


def run(args: argparse.Namespace) -> None:
    from django.db import transaction

    if args.committed:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        measure(args)
        return
    try:
        with transaction.atomic():
            measure(args)
            raise Rollback
    except Rollback:
        pass


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--places", type=int, default=500)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=2_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bulk", type=int, default=200_000)
    parser.add_argument("--naive", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument(
        "--committed",
        action="store_true",
        help="DATABASE_URL names a scratch database of yours: migrate it, commit every scan",
    )
    args = parser.parse_args(argv)
    if args.committed and not __import__("os").environ.get("DATABASE_URL", "").startswith(
        "postgres"
    ):
        parser.error("--committed needs DATABASE_URL=postgres://... (a scratch database)")
    with_django(parser, False, lambda: run(args))


if __name__ == "__main__":
    main()
