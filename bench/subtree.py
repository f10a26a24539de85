"""Subtree queries on the materialised path, against parent-walk baselines.

Run from the project root::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.subtree --nodes 100000

It uses the database DATABASE_URL points at (migrated), builds a synthetic county of
`--nodes` jurisdictions under a code prefix no real division uses (999901...), measures,
and rolls the whole transaction back: nothing is left behind and existing rows (the demo
town included) are never modified.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from bench.common import Rollback as _Rollback
from bench.common import Timing, time_it

BENCH_COUNTY = "999901000000"


def build_tree(n_nodes: int, towns: int, villages: int, seed: int) -> dict[str, Any]:
    """Bulk-create one county of about `n_nodes` nodes; returns a few probe nodes."""
    from fangkong.org.models import Jurisdiction, Level
    from fangkong.org.services import child_path

    rng = random.Random(seed)

    def make(code: str, name: str, level: int, parent: Jurisdiction | None) -> Jurisdiction:
        return Jurisdiction(
            code=code, name=name, level=level, parent=parent, path=child_path(parent, code)
        )

    county = make(BENCH_COUNTY, "基准县", Level.COUNTY, None)
    county.save()
    town_nodes = [
        make(f"999901{100 + t:03d}000", f"基准镇{t}", Level.TOWN, county) for t in range(towns)
    ]
    Jurisdiction.objects.bulk_create(town_nodes, batch_size=2000)
    village_nodes = [
        make(f"{town.code[:9]}{200 + v:03d}", f"{town.name}村{v}", Level.VILLAGE, town)
        for town in town_nodes
        for v in range(villages)
    ]
    Jurisdiction.objects.bulk_create(village_nodes, batch_size=2000)
    grid_nodes = [
        make(f"{village.code}-G{g:02d}", f"网格{g}", Level.GRID, village)
        for village in village_nodes
        for g in range(1, rng.randint(5, 8) + 1)
    ]
    Jurisdiction.objects.bulk_create(grid_nodes, batch_size=2000)
    remaining = max(0, n_nodes - 1 - len(town_nodes) - len(village_nodes) - len(grid_nodes))
    # Spread the micro-grids unevenly but deterministically over the grids.
    weights = [rng.uniform(0.5, 1.5) for _ in grid_nodes]
    total = sum(weights)
    per_grid = [int(remaining * w / total) for w in weights]
    for i in range(remaining - sum(per_grid)):
        per_grid[i % len(per_grid)] += 1
    batch: list[Jurisdiction] = []
    for grid, count in zip(grid_nodes, per_grid, strict=True):
        for m in range(1, count + 1):
            batch.append(make(f"{grid.code}-M{m:03d}", f"微网格{m}", Level.MICROGRID, grid))
        if len(batch) >= 5000:
            Jurisdiction.objects.bulk_create(batch, batch_size=5000)
            batch = []
    Jurisdiction.objects.bulk_create(batch, batch_size=5000)
    # Probe nodes: a middle town, its biggest village, and one of that village's grids.
    town = town_nodes[len(town_nodes) // 2]
    its_villages = [v for v in village_nodes if v.parent_id == town.pk]
    size = {g.pk: c for g, c in zip(grid_nodes, per_grid, strict=True)}
    village = max(
        its_villages, key=lambda v: sum(size[g.pk] for g in grid_nodes if g.parent_id == v.pk)
    )
    grid = next(g for g in grid_nodes if g.parent_id == village.pk)
    return {"county": county, "town": town, "village": village, "grid": grid}


def bfs_ids(root_id: int) -> list[int]:
    """Naive baseline: walk parent -> children, one query per level."""
    from fangkong.org.models import Jurisdiction

    ids = [root_id]
    frontier = [root_id]
    while frontier:
        frontier = list(
            Jurisdiction.objects.filter(parent_id__in=frontier)
            .order_by()
            .values_list("id", flat=True)
        )
        ids.extend(frontier)
    return ids


def fetch(sql: str, params: Sequence[Any]) -> list[Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[Any] = cursor.fetchall()
        return rows


def cte_ids(root_id: int) -> list[int]:
    """Second baseline: one recursive CTE over parent_id."""
    from django.db import connection

    from fangkong.org.models import Jurisdiction

    table = connection.ops.quote_name(Jurisdiction._meta.db_table)
    sql = (
        f"WITH RECURSIVE sub(id) AS (SELECT id FROM {table} WHERE id = %s "
        f"UNION ALL SELECT j.id FROM {table} j JOIN sub ON j.parent_id = sub.id) "
        "SELECT id FROM sub"
    )
    return [row[0] for row in fetch(sql, [root_id])]


def ids_len(qs: Any) -> int:
    return len(list(qs.values_list("id", flat=True)))


def fetch_len(sql: str, params: Sequence[Any]) -> int:
    return len(fetch(sql, params))


def bfs_len(root_id: int) -> int:
    return len(bfs_ids(root_id))


def cte_len(root_id: int) -> int:
    return len(cte_ids(root_id))


def report(rows: Sequence[Timing], baseline_of: dict[str, str]) -> None:
    by_label = {t.label: t for t in rows}
    print(f"{'query':<44} {'rows':>7} {'median ms':>10} {'p95 ms':>9} {'/ ours':>8}")
    for t in rows:
        ratio = ""
        ours = baseline_of.get(t.label)
        if ours:
            ratio = f"{t.median / by_label[ours].median:7.1f}x"
        print(f"{t.label:<44} {t.size:>7} {t.median:>10.2f} {t.p95:>9.2f} {ratio:>8}")


def run(n_nodes: int, reps: int, seed: int) -> None:
    from django.db import connection, transaction

    from fangkong.accounts.models import User
    from fangkong.org.models import Jurisdiction, Membership
    from fangkong.org.roles import Role
    from fangkong.org.scoping import forget_grants

    vendor = connection.vendor
    settings_db = connection.settings_dict
    print(f"database: {vendor} {settings_db.get('NAME')}")
    if Jurisdiction.objects.filter(code__startswith=BENCH_COUNTY[:6]).exists():
        raise SystemExit(f"Codes starting {BENCH_COUNTY[:6]} already exist; refusing to run.")
    existing = Jurisdiction.objects.count()
    try:
        with transaction.atomic():
            start = time.perf_counter()
            probes = build_tree(n_nodes, towns=20, villages=30, seed=seed)
            built = Jurisdiction.objects.within(probes["county"].path).count()
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Jurisdiction._meta.db_table}")
            print(
                f"built {built} nodes in {time.perf_counter() - start:.1f} s "
                f"(plus {existing} existing rows, untouched); {reps} repetitions each"
            )
            user = User.objects.create(username=f"bench-gw-{seed}")
            Membership.objects.create(user=user, jurisdiction=probes["grid"], role=Role.GRID_WORKER)
            timings: list[Timing] = []
            baseline_of: dict[str, str] = {}
            for key in ("village", "town", "county"):
                node = probes[key]
                qs = Jurisdiction.objects.within(node.path).order_by()
                expected = set(qs.values_list("id", flat=True))
                if set(bfs_ids(node.pk)) != expected or set(cte_ids(node.pk)) != expected:
                    raise RuntimeError(f"The baselines disagree with within() for the {key}.")
                timings.append(time_it(f"{key}: within(path).count()", qs.count, reps))
                ours = f"{key}: within(path) ids"
                timings.append(time_it(ours, partial(ids_len, qs), reps))
                # The same query as raw SQL, to compare with the raw-SQL CTE fairly.
                raw = f"{key}: within(path) ids, raw SQL"
                sql, params = qs.values_list("id", flat=True).query.sql_with_params()
                timings.append(time_it(raw, partial(fetch_len, sql, params), reps))
                label = f"{key}: baseline BFS parent_id__in"
                timings.append(time_it(label, partial(bfs_len, node.pk), reps))
                baseline_of[label] = ours
                label = f"{key}: baseline WITH RECURSIVE (raw)"
                timings.append(time_it(label, partial(cte_len, node.pk), reps))
                baseline_of[label] = raw

            def visible() -> int:
                forget_grants(user)
                return len(list(Jurisdiction.objects.visible_to(user).values_list("id", flat=True)))

            def visible_cached() -> int:
                return len(list(Jurisdiction.objects.visible_to(user).values_list("id", flat=True)))

            timings.append(time_it("grid worker: visible_to(user) ids", visible, reps))
            ours = "grid worker: same, memberships cached"
            timings.append(time_it(ours, visible_cached, reps))
            grid_pk = probes["grid"].pk
            label = "grid worker: baseline BFS from the grid"
            timings.append(time_it(label, partial(bfs_len, grid_pk), reps))
            baseline_of[label] = ours
            print()
            report(timings, baseline_of)
            for key in ("village", "town"):
                print(f"\nEXPLAIN of within() for the {key}:")
                print(
                    Jurisdiction.objects.within(probes[key].path).order_by().values("id").explain()
                )
            raise _Rollback
    except _Rollback:
        pass
    left = Jurisdiction.objects.count()
    print(f"\nrolled back: {left} jurisdiction rows remain (was {existing}).")
    if left != existing:
        raise RuntimeError("The rollback left rows behind.")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    run(args.nodes, args.reps, args.seed)


if __name__ == "__main__":
    main()
