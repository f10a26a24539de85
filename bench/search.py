"""Registry search on a million persons: our indexed keys against the naive ORM way.

Run from the project root (the database must be migrated)::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.search --persons 1000000

It builds a synthetic county under the code prefix 999902 (no real division uses it) with
households and persons written the fast way (COPY on PostgreSQL, executemany on SQLite),
with the same encrypted columns and derived keys the application writes, times the
searches a grid worker and a town commander make through `selectors.person_list` (the
page's count plus its first page of 50), and rolls everything back.
"""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import opencc

from bench.common import Rollback as _Rollback
from bench.common import bench_town, copy_rows, time_it

BENCH_PREFIX = "999902"
BENCH_COUNTY = f"{BENCH_PREFIX}000000"
REGIONS = ["433122", "433101", "433123", "433124", "433125", "433126", "433127", "433130"]


def build(n_persons: int, seed: int) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from fangkong.core.crypto import blind_index, encrypt
    from fangkong.core.identity import check_character
    from fangkong.people.demo import GIVEN, SURNAMES
    from fangkong.people.models import Household
    from fangkong.people.names import name_initials, name_key
    from fangkong.people.services import last4_key

    rng = random.Random(seed)
    town, grids = bench_town(BENCH_PREFIX, "基准", villages=40, grids=8)
    now = timezone.now().isoformat()
    n_households = n_persons // 3
    hh_rows = [
        (
            grids[i % len(grids)].pk,
            f"{rng.randint(1, 12)}组",
            "",
            f"{i}号",
            "",
            "",
            "",
            f"{grids[i % len(grids)].parent.name} {rng.randint(1, 12)}组 {i}号",
            "owned",
            "",
            "",
            "",
            now,
            now,
        )
        for i in range(n_households)
    ]
    copy_rows(
        "people_household",
        [
            "jurisdiction_id",
            "village_group",
            "street",
            "house_number",
            "building",
            "unit",
            "room",
            "address",
            "housing_type",
            "landlord_name",
            "landlord_phone",
            "landlord_phone_hash",
            "created_at",
            "updated_at",
        ],
        hh_rows,
    )
    households = list(
        Household.objects.filter(jurisdiction__in=grids)
        .order_by("pk")
        .values_list("pk", "jurisdiction_id")
    )
    p_rows = []
    probes: dict[str, str] = {}
    start = date(1930, 1, 1)
    for i in range(n_persons):
        household_id, grid_id = households[i // 3 % len(households)]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        # Unique by construction (8 regions x 990 sequence codes x 34,000 birth days) and
        # with realistic last four characters: the rows are rolled back, never shown.
        birth = start + timedelta(days=(i // 7920) * 37 % 34000 + rng.randint(0, 36))
        body = f"{REGIONS[i % 8]}{birth:%Y%m%d}{(i // 8) % 990 + 1:03d}"
        number = body + check_character(body)
        phone = f"172{i:08d}"
        p_rows.append(
            (
                grid_id,
                household_id,
                "",
                name,
                name_key(name),
                name_initials(name),
                "ric",
                encrypt(number),
                blind_index(number),
                last4_key(number),
                "",
                "M" if int(number[16]) % 2 else "F",
                birth.isoformat(),
                encrypt(phone),
                blind_index(phone),
                "",
                None,
                "huji",
                None,
                "",
                "",
                "present",
                None,
                "",
                now,
                now,
            )
        )
        if i == n_persons // 2:
            probes = {"name": name, "id": number, "phone": phone, "grid": str(grid_id)}
    copy_rows(
        "people_person",
        [
            "jurisdiction_id",
            "household_id",
            "relationship",
            "name",
            "name_key",
            "name_initials",
            "id_type",
            "id_number",
            "id_number_hash",
            "id_last4_hash",
            "no_id_reason",
            "sex",
            "birth_date",
            "phone",
            "phone_hash",
            "phone2",
            "phone2_hash",
            "residency",
            "arrival_date",
            "occupation",
            "workplace",
            "status",
            "away_since",
            "away_where",
            "created_at",
            "updated_at",
        ],
        p_rows,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"town": town, "grids": grids, "probes": probes}


def run(n_persons: int, reps: int, seed: int, explain: bool = False) -> None:
    import time

    from django.db import connection, transaction
    from django.utils import timezone

    from fangkong.core.paging import CappedPaginator
    from fangkong.org.models import Jurisdiction
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create
    from fangkong.people.models import Person
    from fangkong.people.names import to_simplified
    from fangkong.people.selectors import PersonFilters, person_list

    if Jurisdiction.objects.filter(code=BENCH_COUNTY).exists():
        raise SystemExit(f"{BENCH_COUNTY} exists already; not touching it")
    settings_db = connection.settings_dict["NAME"]
    print(f"database: {connection.vendor} {settings_db}")
    try:
        with transaction.atomic():
            started = time.perf_counter()
            world = build(n_persons, seed)
            print(
                f"built {n_persons} persons in {n_persons // 3} households "
                f"in {time.perf_counter() - started:.1f} s"
            )
            town, grids, probes = world["town"], world["grids"], world["probes"]
            commander = staff_create(
                username="bench_cmd", name="基准", kind="town_cadre", jurisdiction=town
            ).user
            membership_grant(user=commander, jurisdiction=town, role=Role.TOWN_COMMANDER)
            grid = next(g for g in grids if str(g.pk) == probes["grid"])
            worker = staff_create(
                username="bench_gw", name="网格", kind="grid_worker", jurisdiction=grid
            ).user
            membership_grant(user=worker, jurisdiction=grid, role=Role.GRID_WORKER)
            today = timezone.localdate()
            traditional = str(opencc.OpenCC("s2t").convert(probes["name"]))

            def page(user: Any, **kw: Any) -> Callable[[], int]:
                def go() -> int:
                    # Exactly what the page does: a capped count and the first 50 rows.
                    paginator = CappedPaginator(
                        person_list(user, PersonFilters(**kw), today=today), 50
                    )
                    list(paginator.get_page(1))
                    return paginator.count

                return go

            def naive(term: str) -> Callable[[], int]:
                def go() -> int:
                    qs = Person.objects.filter(name__icontains=term).select_related("household")
                    count = qs.count()
                    list(qs[:50])
                    return count

                return go

            def naive_address(term: str) -> Callable[[], int]:
                def go() -> int:
                    # The plain substring LIKE: a scan of every household on SQLite.
                    qs = Person.objects.filter(household__address__contains=term)
                    count = qs[:1001].count()
                    list(qs.select_related("household")[:50])
                    return count

                return go

            cases: list[tuple[str, Callable[[], int]]] = [
                ("commander: full name (simplified)", page(commander, q=probes["name"])),
                ("commander: full name (traditional)", page(commander, q=traditional)),
                ("commander: surname only", page(commander, q=probes["name"][0])),
                ("commander: pinyin initials", page(commander, q="zw")),
                ("commander: phone", page(commander, q=probes["phone"])),
                ("commander: ID number", page(commander, q=probes["id"])),
                ("commander: last 4 of ID", page(commander, q=probes["id"][-4:])),
                ("commander: address contains", page(commander, address="3组 1234")),
                ("commander: 60+ first page", page(commander, age="60+")),
                ("grid worker: surname only", page(worker, q=probes["name"][0])),
                ("grid worker: pinyin initials", page(worker, q="zw")),
                ("grid worker: whole grid, first page", page(worker)),
                ("naive ORM: name__icontains full name", naive(probes["name"])),
                ("naive ORM: traditional (finds nothing)", naive(traditional)),
            ]
            address_ours = time_it(
                "ours: address contains", page(commander, address="3组 1234"), reps
            )
            address_naive = time_it("naive: address LIKE", naive_address("3组 1234"), reps)
            results = [time_it(label, fn, reps) for label, fn in cases]
            naive_ms = results[-2].median
            print(f"\n{'query':<42}{'rows':>9}{'median ms':>11}{'p95 ms':>10}{'naive/ours':>12}")
            for t in results:
                ratio = f"{naive_ms / t.median:.1f}x" if not t.label.startswith("naive") else ""
                print(f"{t.label:<42}{t.size:>9}{t.median:>11.2f}{t.p95:>10.2f}{ratio:>12}")
            print(
                f"\naddress contains '3组 1234' ({connection.vendor}): ours "
                f"p50 {address_ours.median:.2f} ms p95 {address_ours.p95:.2f} ms, "
                f"naive p50 {address_naive.median:.2f} ms p95 {address_naive.p95:.2f} ms, "
                f"{address_naive.median / address_ours.median:.1f}x "
                f"(rows {address_ours.size} / {address_naive.size})"
            )
            print(
                f"\n(the traditional-script name {traditional!r} maps to "
                f"{to_simplified(traditional)!r}; the naive search cannot find it)"
            )
            if explain:
                for label, kw in (
                    ("phone", {"q": probes["phone"]}),
                    ("name", {"q": probes["name"]}),
                    ("address", {"address": "3组 1234"}),
                ):
                    qs = person_list(commander, PersonFilters(**kw), today=today)
                    print(
                        f"\nEXPLAIN commander {label}:\n{qs.explain(analyze=True) if connection.vendor == 'postgresql' else qs.explain()}"
                    )
            raise _Rollback
    except _Rollback:
        pass
    if Jurisdiction.objects.filter(code=BENCH_COUNTY).exists():
        raise RuntimeError("the rollback left rows behind")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--explain", action="store_true", help="print query plans")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    run(args.persons, args.reps, args.seed, args.explain)


if __name__ == "__main__":
    main()
