"""Where a field worker's request goes: queries (count, time, plans) and Python time.

Run in-process (Django's test client, no HTTP server) against a copy of the load
benchmark's county (bench/load.py builds it), on PostgreSQL::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<copy> FANGKONG_ENCRYPTION_KEY=... \\
        .venv/bin/python -m bench.request_profile --user bench_wo_gw001 --reps 50

For 我的任务, a task of the user's, a result submit and a registry search it prints the
median and p95 wall time per request, the queries with their mean database time, and
with `--explain` each query's EXPLAIN ANALYZE; with `--profile` the functions taking
most of the Python time (cProfile, cumulative). The result submit completes real orders
of the copy (one per repetition), as the load benchmark does.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()


def _pages(client: Any, user: Any) -> dict[str, Callable[[], Any]]:
    from fangkong.workorders.kinds import get_kind
    from fangkong.workorders.models import WorkOrder

    def open_order() -> WorkOrder:
        order = (
            WorkOrder.objects.filter(assignee=user, status="accepted").order_by("due_at").first()
        )
        if order is None:
            raise SystemExit(f"{user.username} has no accepted order left")
        return order

    def task() -> Any:
        # Looked up when asked for: profiling 我的任务 alone needs no accepted order.
        return client.get(f"/tasks/{open_order().pk}/")

    def submit() -> Any:
        order = open_order()
        form: dict[str, str] = {"client_id": str(uuid.uuid4()), "version": str(order.version)}
        for f in get_kind(order.kind).fields:
            if f.kind == "choice":
                form[f"r_{f.key}"] = str(f.choices[0][0])
            elif f.kind == "int":
                form[f"r_{f.key}"] = "1"
            elif f.kind == "bool":
                form[f"r_{f.key}"] = "on"
            else:
                form[f"r_{f.key}"] = "基准"
        return client.post(
            f"/tasks/{order.pk}/result/", form, headers={"HX-Request": "true"}, secure=False
        )

    return {
        "my tasks": lambda: client.get("/tasks/"),
        "task": task,
        "result": submit,
        "search": lambda: client.get("/people/?q=王"),
    }


def _explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join("      " + row[0] for row in cursor.fetchall())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--user", default="bench_wo_gw001")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--pages", nargs="*", default=["my tasks", "task", "result", "search"])
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    _setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from fangkong.accounts.models import User

    user = User.objects.get(username=args.user)
    client = Client()
    client.force_login(user)
    pages = _pages(client, user)
    for name in args.pages:
        fn = pages[name]
        for _ in range(3):  # warm: templates compiled, connection open, caches filled
            response = fn()
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code}")
        samples = []
        cpu0 = time.process_time()
        for _ in range(args.reps):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        cpu = (time.process_time() - cpu0) / args.reps * 1000
        with CaptureQueriesContext(connection) as ctx:
            response = fn()
        q = statistics.quantiles(samples, n=20, method="inclusive")
        print(
            f"\n== {name}: median {statistics.median(samples):.1f} ms, p95 {q[18]:.1f} ms, "
            f"Python CPU {cpu:.1f} ms, "
            f"{len(response.content)} bytes, {len(ctx.captured_queries)} queries"
        )
        for query in ctx.captured_queries:
            print(f"  {float(query['time']) * 1000:6.2f} ms  {query['sql'][:220]}")
            if args.explain and query["sql"].lstrip().upper().startswith("SELECT"):
                print(_explain(query["sql"]))
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.reps):
                fn()
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
