"""Work orders at 200,000 open orders: 我的任务, the 日清日结 board, and bulk dispatch.

Run from the project root (the database must be migrated)::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.workorders --orders 200000

It builds a synthetic town under the code prefix 999903 (no real division uses it): 28
villages, 180 grids, one grid worker responsible for each grid (包网格) and a town
commander, then `--orders` open orders spread over the grids (mostly assigned to the
grid's worker, assigned/accepted, due from 3 days ago to 5 days ahead, of the kinds the
app registers) plus orders done today, written the fast way (COPY on PostgreSQL,
bulk_create on SQLite), and recounts the tallies with `services.tally_rebuild()`.

It times, with median and p95 over `--reps`:

* a grid worker's 我的任务: what `views_field.my_tasks` does (`selectors.my_counts` and
  `selectors.my_orders` for the "today" tab), and the real page through the test client;
* the town commander's board: `selectors.board(town, now)` and the real page;
* the baseline: the same board computed by scanning the town's orders (GROUP BY village
  and kind with conditional counts), checked cell by cell against ours;
* a bulk dispatch of `--dispatch` orders with `services.orders_create` (strategy GRID),
  each repetition in a savepoint that is rolled back;

prints the query count of each page, and rolls everything back.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from bench.common import Rollback as _Rollback
from bench.common import Timing, time_it, with_django

PREFIX = "999903"
BENCH_COUNTY = f"{PREFIX}000000"
BENCH_TOWN = f"{PREFIX}101000"

# Columns written by COPY (every NOT NULL column; the nullable rest stay NULL).
ORDER_COLUMNS = [
    "kind",
    "jurisdiction_id",
    "subject_label",
    "title",
    "note",
    "assignee_id",
    "source",
    "priority",
    "due_at",
    "status",
    "version",
    "escalation_level",
    "created_at",
    "updated_at",
    "done_at",
    "done_by_id",
    "result",
]


def _tree(villages: int, grids: int) -> tuple[Any, list[Any], list[Any]]:
    from fangkong.org.models import Jurisdiction, Level
    from fangkong.org.services import child_path

    def node(code: str, name: str, level: int, parent: Any) -> Any:
        return Jurisdiction(
            code=code, name=name, level=level, parent=parent, path=child_path(parent, code)
        )

    county = node(BENCH_COUNTY, "工单基准县", Level.COUNTY, None)
    county.save()
    town = node(BENCH_TOWN, "工单基准镇", Level.TOWN, county)
    town.save()
    vs = [
        node(f"{PREFIX}101{v:03d}", f"工单基准{v}村", Level.VILLAGE, town)
        for v in range(1, villages + 1)
    ]
    Jurisdiction.objects.bulk_create(vs)
    # `grids` over the villages as evenly as they go (180 over 28: 12 villages of 7, 16 of 6).
    per, extra = divmod(grids, villages)
    gs = [
        node(f"{v.code}-G{g:02d}", f"{v.name}{g}网格", Level.GRID, v)
        for i, v in enumerate(vs)
        for g in range(1, per + (i < extra) + 1)
    ]
    Jurisdiction.objects.bulk_create(gs)
    return town, vs, gs


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _write_orders(rows: Iterator[dict[str, Any]], batch: int = 20_000) -> int:
    """COPY on PostgreSQL, bulk_create in batches elsewhere. Returns the rows written."""
    from django.db import connection

    from fangkong.workorders.models import WorkOrder

    written = 0
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if not pending:
            return
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            for row in pending:
                buffer.write("\t".join(_copy_value(row[c]) for c in ORDER_COLUMNS) + "\n")
            with connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(
                    f"COPY workorders_workorder ({', '.join(ORDER_COLUMNS)}) FROM STDIN"
                ) as copy:
                    copy.write(buffer.getvalue())
        else:
            WorkOrder.objects.bulk_create([WorkOrder(**row) for row in pending], batch_size=2000)
        pending.clear()

    for row in rows:
        pending.append(row)
        written += 1
        if len(pending) >= batch:
            flush()
    flush()
    return written


def build(n_orders: int, n_done: int, n_history: int, seed: int, now: datetime) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from fangkong.org.models import Responsibility
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create
    from fangkong.workorders.kinds import KINDS
    from fangkong.workorders.models import Priority, Status
    from fangkong.workorders.selectors import day_bounds
    from fangkong.workorders.services import tally_rebuild

    rng = random.Random(seed)
    town, villages, grids = _tree(villages=28, grids=180)
    workers: list[Any] = []
    for i, grid in enumerate(grids, 1):
        user = staff_create(
            username=f"bench_wo_gw{i:03d}", name=f"网格员{i}", kind="grid_worker", jurisdiction=grid
        ).user
        membership_grant(
            user=user, jurisdiction=grid, role=Role.GRID_WORKER, responsibility=Responsibility.GRID
        )
        workers.append(user)
    commander = staff_create(
        username="bench_wo_cmd", name="指挥长", kind="town_cadre", jurisdiction=town
    ).user
    membership_grant(user=commander, jurisdiction=town, role=Role.TOWN_COMMANDER)

    kinds = list(KINDS)
    kind_weights = [len(kinds) - i for i in range(len(kinds))]  # the first kinds commonest
    priorities = [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
    today_start, _end = day_bounds(timezone.localdate(now))
    since_midnight = (now - today_start).total_seconds()

    def order(i: int, status: str, due_at: datetime, g: int, **kw: Any) -> dict[str, Any]:
        assigned = status != Status.NEW
        return {
            "kind": rng.choices(kinds, kind_weights)[0],
            "jurisdiction_id": grids[g].pk,
            "subject_label": f"{grids[g].name}{i % 997 + 1}号",
            "title": "",
            "note": "",
            "assignee_id": workers[g].pk if assigned else None,
            "source": "bench",
            "priority": rng.choices(priorities, (3, 12, 75, 10))[0],
            "due_at": due_at,
            "status": status,
            "version": 0 if status in (Status.NEW, Status.ASSIGNED) else 1,
            "escalation_level": 0,
            "created_at": due_at - timedelta(hours=24),
            "updated_at": now,
            "done_at": None,
            "done_by_id": None,
            "result": {},
        } | kw

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(n_orders):
            r = rng.random()
            # 4% found nobody and wait for a cadre; the rest are assigned or accepted.
            status = Status.NEW if r < 0.04 else Status.ASSIGNED if r < 0.6 else Status.ACCEPTED
            due = now + timedelta(seconds=rng.uniform(-3 * 86400, 5 * 86400))
            yield order(i, status, due, rng.randrange(len(grids)))
        # Done today, between midnight and now; a fifth already verified.
        for i in range(n_done):
            g = rng.randrange(len(grids))
            done_at = today_start + timedelta(seconds=rng.uniform(0, since_midnight))
            status = Status.VERIFIED if rng.random() < 0.2 else Status.DONE
            yield order(
                i,
                status,
                done_at + timedelta(hours=rng.uniform(-6, 24)),
                g,
                done_at=done_at,
                done_by_id=workers[g].pk,
                result={"note": "基准"},
            )
        # History: done on the 60 days before today (what a worker accumulates).
        for i in range(n_history):
            g = rng.randrange(len(grids))
            done_at = today_start - timedelta(seconds=rng.uniform(1, 60 * 86400))
            yield order(
                i,
                Status.VERIFIED,
                done_at + timedelta(hours=rng.uniform(-6, 24)),
                g,
                done_at=done_at,
                done_by_id=workers[g].pk,
                result={"note": "基准"},
            )

    written = _write_orders(rows())
    tallies = tally_rebuild()
    with connection.cursor() as cursor:
        for table in (
            "workorders_workorder",
            "workorders_workordertally",
            "org_jurisdiction",
            "org_membership",
        ):
            cursor.execute(f"ANALYZE {table}")
    return {
        "town": town,
        "villages": villages,
        "grids": grids,
        "workers": workers,
        "commander": commander,
        "written": written,
        "tallies": tallies,
    }


def naive_board(node: Any, now: datetime) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The board the obvious way: one GROUP BY over every order of the subtree, by row
    node (a town's villages, a village's grids) and kind."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from fangkong.org.models import Jurisdiction, Level
    from fangkong.workorders.models import DONE_STATUSES, OPEN_STATUSES, WorkOrder
    from fangkong.workorders.selectors import day_bounds

    start, end = day_bounds(timezone.localdate(now))
    row_nodes: dict[int | None, str] = dict(
        Jurisdiction.objects.filter(parent=node).values_list("pk", "code")
    )
    group = "jurisdiction__parent_id" if node.level < Level.VILLAGE else "jurisdiction_id"
    rows = (
        WorkOrder.objects.filter(jurisdiction__path__startswith=node.path)
        .values(group, "kind")
        .annotate(
            done=Count(
                "id", filter=Q(status__in=DONE_STATUSES, done_at__gte=start, done_at__lt=end)
            ),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            overdue=Count("id", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now)),
        )
    )
    return {
        (row_nodes[r[group]], r["kind"]): (r["done"], r["open"], r["overdue"])
        for r in rows
        if r["done"] or r["open"] or r["overdue"]
    }


def board_cells(data: Any) -> dict[tuple[str, str], tuple[int, int, int]]:
    out = {}
    for row in data.rows:
        for kind, cell in row.cells.items():
            value = (cell.get("done", 0), cell.get("open", 0), cell.get("overdue", 0))
            if any(value):
                out[(row.node.code, kind)] = value
    return out


def _explain(label: str, queries: Sequence[dict[str, Any]]) -> None:
    from django.db import connection

    prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    for q in queries:
        sql = q["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        print(f"\n-- {label} ({q['time']} s): {sql[:300]}")
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            for row in cursor.fetchall():
                print("   ", " ".join(str(c) for c in row))


def run(
    n_orders: int,
    reps: int,
    seed: int,
    n_dispatch: int,
    dispatch_reps: int,
    n_history: int,
    explain: bool = False,
    show_queries: bool = False,
    committed: bool = False,
) -> None:
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from fangkong.org.models import Jurisdiction
    from fangkong.workorders import selectors, services
    from fangkong.workorders.dispatch import Strategy
    from fangkong.workorders.kinds import KINDS
    from fangkong.workorders.models import WorkOrder, WorkOrderTally

    if Jurisdiction.objects.filter(code__startswith=PREFIX).exists():
        raise SystemExit(f"codes starting {PREFIX} exist already; not touching them")
    if not KINDS:
        raise SystemExit("no work-order kinds are registered")
    # The test client's host; the default list has it, FANGKONG_ALLOWED_HOSTS may not.
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    n_done = max(1, n_orders // 40)
    started = time.perf_counter()
    if committed:
        # A live database: the rows committed and vacuumed, so the visibility map lets
        # PostgreSQL answer from an index alone (rows written in the open transaction
        # below never are).
        world = build(n_orders, n_done, n_history, seed, timezone.now())
        with connection.cursor() as cursor:
            for table in ("workorders_workorder", "workorders_workordertally"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    try:
        with transaction.atomic():
            if not committed:
                world = build(n_orders, n_done, n_history, seed, timezone.now())
            town, villages, grids = world["town"], world["villages"], world["grids"]
            workers, commander = world["workers"], world["commander"]
            print(
                f"built {world['written']} orders ({n_orders} open, {n_done} done today, "
                f"{n_history} done before) in {time.perf_counter() - started:.1f} s; "
                f"tally_rebuild wrote {world['tallies']} tallies"
            )
            town_orders = WorkOrder.objects.filter(jurisdiction__in=grids).count()
            town_tallies = WorkOrderTally.objects.filter(jurisdiction__in=grids).count()
            all_orders = WorkOrder.objects.count()
            all_tallies = WorkOrderTally.objects.count()
            # A worker with a typical load: the grid in the middle of the list.
            worker = workers[len(workers) // 2]
            mine = WorkOrder.objects.filter(assignee=worker).count()
            print(
                f"town: {len(villages)} villages, {len(grids)} grids, {len(workers)} grid "
                f"workers; {town_orders} orders, {town_tallies} tallies (database: "
                f"{all_orders} orders, {all_tallies} tallies); the timed worker has "
                f"{mine} orders"
            )

            def my_tasks() -> int:
                # Exactly what views_field.my_tasks does for tab "today".
                now = timezone.now()
                counts = selectors.my_counts(worker, now)
                selectors.my_orders(worker, "today", now)
                return counts["today"] + counts["overdue"]

            def get(
                client: Any, url: str, size: int, headers: dict[str, str] | None = None
            ) -> Callable[[], int]:
                def go() -> int:
                    response = client.get(url, headers=headers)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {url}: {response.status_code}")
                    return size

                return go

            def our_board(node: Any, at: datetime | None = None) -> Callable[[], int]:
                def go() -> int:
                    return selectors.board(node, at or timezone.now()).open

                return go

            def naive(node: Any, at: datetime | None = None) -> Callable[[], int]:
                def go() -> int:
                    return sum(v[1] for v in naive_board(node, at or timezone.now()).values())

                return go

            # Late in the evening the board's one query over orders (due today, already
            # late) has the most rows: time the board then too.
            midnight, _end = selectors.day_bounds(timezone.localdate())
            evening = max(timezone.now(), midnight + timedelta(hours=23, minutes=30))
            village = villages[0]

            # Correctness first: the tallies' board against the scan, at fixed moments.
            for node, at, when in (
                (town, timezone.now(), "now"),
                (town, evening, "23:30"),
                (village, timezone.now(), "now"),
            ):
                ours_cells, naive_cells = (
                    board_cells(selectors.board(node, at)),
                    naive_board(node, at),
                )
                if ours_cells != naive_cells:
                    print(f"\n!! {node.name} at {when}: the board differs from the scan:")
                    for key in sorted(set(ours_cells) | set(naive_cells)):
                        if ours_cells.get(key) != naive_cells.get(key):
                            print(
                                f"   {key}: board {ours_cells.get(key)}  "
                                f"scan {naive_cells.get(key)}"
                            )
                else:
                    print(
                        f"board of {node.name} at {when} checked against the scan: "
                        f"{len(ours_cells)} (row, kind) cells, all equal"
                    )

            worker_client, commander_client = Client(), Client()
            worker_client.force_login(worker)
            commander_client.force_login(commander)
            n_mine = my_tasks()
            n_town = our_board(town)()
            naive_town, naive_evening = (
                "naive: town board, scan",
                "naive: town board at 23:30, scan",
            )
            naive_village = "naive: village board, scan"
            api = "/api/v1/orders/mine"
            cases: list[tuple[str, Callable[[], int], str | None]] = [
                ("worker: my_counts + my_orders(today)", my_tasks, None),
                ("worker: GET /tasks/", get(worker_client, "/tasks/", n_mine), None),
                (
                    "worker: GET /tasks/?tab=overdue (htmx)",
                    get(worker_client, "/tasks/?tab=overdue", n_mine, {"HX-Request": "true"}),
                    None,
                ),
                (f"worker: GET {api}", get(worker_client, api, n_mine), None),
                ("commander: board(town) selector", our_board(town), naive_town),
                (
                    "commander: GET /orders/board/",
                    get(commander_client, "/orders/board/", n_town),
                    naive_town,
                ),
                ("commander: board(town) at 23:30", our_board(town, evening), naive_evening),
                ("commander: board(village) selector", our_board(village), naive_village),
                (naive_town, naive(town), None),
                (naive_evening, naive(town, evening), None),
                (naive_village, naive(village), None),
            ]
            results = [time_it(label, fn, reps) for label, fn, _base in cases]
            by_label = {t.label: t for t in results}
            baselines = {label: base for label, _fn, base in cases}

            # Query counts (and, on request, the queries and their plans).
            query_counts = []
            for i in (0, 1, 3, 4, 5):
                label, fn, _base = cases[i]
                with CaptureQueriesContext(connection) as ctx:
                    fn()
                query_counts.append((label, ctx.captured_queries))
            html = {
                "/tasks/": len(worker_client.get("/tasks/").content),
                "/orders/board/": len(commander_client.get("/orders/board/").content),
            }

            # Bulk dispatch, each repetition in a savepoint rolled back.
            kind = next(iter(KINDS))
            subjects = [
                services.Subject(grids[i % len(grids)], f"派单对象{i}") for i in range(n_dispatch)
            ]
            samples: list[float] = []
            dispatch_queries: list[dict[str, Any]] = []
            unassigned = -1
            open_before = selectors.board(town, timezone.now()).open
            open_after = open_before
            for rep in range(dispatch_reps + 1):  # the first is a warm-up
                sid = transaction.savepoint()
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    orders = services.orders_create(
                        kind=kind, subjects=subjects, actor=None, strategy=Strategy.GRID
                    )
                    elapsed = time.perf_counter() - start
                if rep:
                    samples.append(elapsed * 1000)
                else:
                    dispatch_queries = ctx.captured_queries
                    unassigned = sum(1 for o in orders if o.assignee_id is None)
                    open_after = selectors.board(town, timezone.now()).open
                transaction.savepoint_rollback(sid)
            dispatch = Timing(f"dispatch {n_dispatch} orders (GRID)", len(orders), samples)

            print(f"\n{'measure':<42}{'size':>9}{'median ms':>11}{'p95 ms':>10}{'naive/ours':>12}")
            for t in results:
                base = baselines[t.label]
                ratio = f"{by_label[base].median / t.median:.1f}x" if base else ""
                print(f"{t.label:<42}{t.size:>9}{t.median:>11.2f}{t.p95:>10.2f}{ratio:>12}")
            t = dispatch
            print(f"{t.label:<42}{t.size:>9}{t.median:>11.1f}{t.p95:>10.1f}")
            print(
                f"\n(size: the worker's open orders; the open orders of the town or village; "
                f"the orders created. {reps} repetitions after 3 warm-ups; dispatch "
                f"{dispatch_reps} after 1 warm-up. naive/ours: the scan at the same "
                f"moment for the same node, median over median.)"
            )
            print(
                f"\nbulk dispatch: {t.median / 1000:.2f} s median, {t.p95 / 1000:.2f} s p95, "
                f"{n_dispatch / (t.median / 1000):,.0f} orders/s; {len(dispatch_queries)} "
                f"queries; {unassigned} found nobody; board open {open_before} -> "
                f"{open_after} (+{open_after - open_before})"
            )
            print("\nqueries per page:")
            for label, queries in query_counts:
                print(f"  {label:<40}{len(queries):>3}")
            print(
                f"  HTML: /tasks/ {html['/tasks/'] / 1024:.1f} KB, "
                f"/orders/board/ {html['/orders/board/'] / 1024:.1f} KB"
            )
            if show_queries:
                for label, queries in [*query_counts, ("dispatch", dispatch_queries)]:
                    print(f"\n{label}:")
                    for q in queries[:12]:
                        print(f"  {q['time']:>6} s  {q['sql'][:220]}")
                    if len(queries) > 12:
                        print(f"  ... and {len(queries) - 12} more")
            if explain:
                for label, queries in query_counts:
                    if "GET" not in label:
                        _explain(label, queries)
            raise _Rollback
    except _Rollback:
        pass
    if not committed and Jurisdiction.objects.filter(code__startswith=PREFIX).exists():
        raise RuntimeError("the rollback left rows behind")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200_000, help="open orders")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--dispatch", type=int, default=10_000, help="orders per bulk dispatch")
    parser.add_argument("--dispatch-reps", type=int, default=5)
    parser.add_argument(
        "--history", type=int, default=0, help="verified orders done on the 60 days before today"
    )
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--show-queries", action="store_true", help="print each page's SQL")
    parser.add_argument(
        "--committed",
        action="store_true",
        help="PostgreSQL: commit and VACUUM the data first, in a scratch "
        "database that is dropped afterwards",
    )
    args = parser.parse_args(argv)
    if args.reps < 2 or args.dispatch_reps < 2:
        parser.error("--reps and --dispatch-reps need at least 2 (for the p95)")
    with_django(
        parser,
        args.committed,
        lambda: run(
            args.orders,
            args.reps,
            args.seed,
            args.dispatch,
            args.dispatch_reps,
            args.history,
            args.explain,
            args.show_queries,
            args.committed,
        ),
    )


if __name__ == "__main__":
    main()
