"""Load on the production server (`fangkong serve`) against the development server.

Run from the project root, on PostgreSQL (`make bench-load`)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fk_serve .venv/bin/python -m bench.load --small

It builds a county-sized database once into a template (`fangkong_load_tpl_<size>`:
bench/workorders.py's town of 180 grid workers with `--orders` open orders, and
bench/search.py's registry of `--persons` residents, each grid worker also holding a
grid of it), copies it for the run (`CREATE DATABASE ... TEMPLATE`, seconds instead of
the build's minutes), logs in as the grid workers through the real login page, and
drives their real pages with an async load generator (aiohttp), first against
`fangkong serve` (gunicorn), then against `fangkong runserver` on the same copy:

* saturation: `--connections` (50) clients requesting 我的任务 (/tasks/) with no pause;
* the working day's peak: `--users` (200) field users each going round 我的任务, a task
  of theirs, submitting its result, and a registry search, pausing 5-15 s between.

For each it prints requests per second, p50/p95/p99 in ms, errors (anything but the
expected status), the server's CPU time per request (its processes' user+system time
over the run, from /proc, the task worker left out) and the load generator's own CPU
share of one core — on a shared machine the generator and the server compete.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-load-2022"  # noqa: S105 - synthetic accounts of a scratch database
KEY = "q1ZbJ9sK2m0b8x5w3c7v1n4b6m8a0s2d4f6g8h0j2k4="  # the template's encryption key
SECRET = "bench-load-secret-key-not-for-production-0123456789abcdefghijklmnopq"  # noqa: S105
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"]


def _db_url(base: str, name: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def _admin(base: str) -> Any:
    import psycopg

    return psycopg.connect(_db_url(base, "postgres"), autocommit=True)


def _exists(base: str, name: str) -> bool:
    with _admin(base) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        )


def _env(url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DJANGO_"))}
    env.update(
        DATABASE_URL=url,
        FANGKONG_DATA_DIR=str(data_dir),
        FANGKONG_STATIC_ROOT=str(ROOT / "var" / "static"),
        FANGKONG_ENCRYPTION_KEY=KEY,
        FANGKONG_SECRET_KEY=SECRET,
        FANGKONG_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


# -- the template database ---------------------------------------------------------------


def build_template(orders: int, persons: int, seed: int) -> None:
    """In this process's DATABASE_URL (a new database): migrate and fill it."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench import search, workorders
    from fangkong.accounts.models import User
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    town = workorders.build(orders, min(20_000, orders // 10), 0, seed, timezone.now())
    print(f"  {orders} open orders in {time.perf_counter() - started:.0f} s", flush=True)
    registry = search.build(persons, seed)
    print(f"  {persons} persons in {time.perf_counter() - started:.0f} s", flush=True)
    grids = registry["grids"]
    for i, user in enumerate(town["workers"]):
        membership_grant(user=user, jurisdiction=grids[i % len(grids)], role=Role.GRID_WORKER)
    User.objects.filter(pk__in=[u.pk for u in town["workers"]]).update(
        password=make_password(PASSWORD), must_change_password=False
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  template built in {time.perf_counter() - started:.0f} s", flush=True)


def ensure_template(base: str, name: str, orders: int, persons: int, seed: int) -> None:
    if _exists(base, name):
        print(f"template {name}: exists (drop it to rebuild)")
        return
    building = f"{name}_building"
    with _admin(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{building}"')
    print(f"template {name}: building ({orders} orders, {persons} persons)", flush=True)
    argv = [sys.executable, "-m", "bench.load", "--build-template", str(orders), str(persons)]
    with tempfile.TemporaryDirectory() as data:
        env = _env(_db_url(base, building), Path(data), DJANGO_SETTINGS_MODULE="fangkong.settings")
        subprocess.run([*argv, "--seed", str(seed)], cwd=ROOT, env=env, check=True)  # noqa: S603
    with _admin(base) as conn:
        conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')


def copy_database(base: str, template: str, name: str) -> str:
    with _admin(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _db_url(base, name)


# -- servers -------------------------------------------------------------------------------


@dataclass
class Server:
    label: str
    proc: subprocess.Popen[bytes]
    base: str

    def cpu_seconds(self) -> float:
        """User+system time of the server's processes (reaped children included),
        without `fangkong jobs`."""
        ticks = 0
        tree = _tree(self.proc.pid)
        for pid in tree:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if b"jobs" in cmd:
                continue
            ticks += sum(int(v) for v in stat[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def start_server(label: str, argv: list[str], env: dict[str, str], port: int) -> Server:
    import urllib.request

    log = open(Path(env["FANGKONG_DATA_DIR"]) / f"{label}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{label} exited {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"{base}/accounts/login/", timeout=5):  # noqa: S310
                return Server(label, proc, base)
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"{label} did not answer in 180 s")


# -- the load ------------------------------------------------------------------------------


@dataclass
class Account:
    username: str
    cookie: str = ""
    csrf: str = ""
    tasks: list[tuple[int, str, int]] = field(default_factory=list)  # id, kind, version


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)  # "page status" of each error

    def add(self, page: str, ms: float, ok: bool, code: int = 0) -> None:
        self.latencies.setdefault(page, []).append(ms)
        if not ok:
            self.errors[page] = self.errors.get(page, 0) + 1
            key = f"{page} {code or 'no answer'}"
            self.codes[key] = self.codes.get(key, 0) + 1


async def login(session: Any, base: str, account: Account) -> None:
    async with session.get(f"{base}/accounts/login/") as r:
        csrf = r.cookies["csrftoken"].value
        await r.read()
    data = {"username": account.username, "password": PASSWORD, "csrfmiddlewaretoken": csrf}
    headers = {"Cookie": f"csrftoken={csrf}"}
    async with session.post(
        f"{base}/accounts/login/", data=data, headers=headers, allow_redirects=False
    ) as r:
        if r.status != 302 or "sessionid" not in r.cookies:
            raise SystemExit(f"login of {account.username} failed: {r.status}")
        account.cookie = f"sessionid={r.cookies['sessionid'].value}; csrftoken={csrf}"
        account.csrf = csrf


async def _request(
    session: Any, stats: Stats, page: str, method: str, url: str, account: Account, **kw: Any
) -> None:
    headers = {"Cookie": account.cookie, "Accept-Encoding": "gzip"}
    if method == "POST":
        headers |= {"X-CSRFToken": account.csrf, "HX-Request": "true"}
    started = time.perf_counter()
    ok, code = False, 0
    try:
        async with session.request(method, url, headers=headers, allow_redirects=False, **kw) as r:
            body = await r.read()
            ok, code = r.status == 200, r.status
            if not ok and os.environ.get("BENCH_LOAD_DEBUG"):
                print(method, url, r.status, body[:300].decode(errors="replace"), flush=True)
    except Exception as error:  # a refused or reset connection: an error, counted
        ok = False
        if os.environ.get("BENCH_LOAD_DEBUG"):
            print(method, url, repr(error), flush=True)
    stats.add(page, (time.perf_counter() - started) * 1000, ok, code)


def _result_values(kind: str) -> dict[str, str]:
    from fangkong.workorders.kinds import get_kind

    values = {}
    for f in get_kind(kind).fields:
        if f.kind == "choice":
            values[f"r_{f.key}"] = str(f.choices[0][0])
        elif f.kind == "int":
            values[f"r_{f.key}"] = "1"
        elif f.kind == "bool":
            values[f"r_{f.key}"] = "on"
        else:
            values[f"r_{f.key}"] = "基准"
    return values


async def saturation(base: str, accounts: list[Account], conns: int, seconds: float) -> Stats:
    import aiohttp

    stats = Stats()
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=conns)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:

        async def client(i: int) -> None:
            account = accounts[i % len(accounts)]
            while time.monotonic() < stop:
                await _request(session, stats, "my tasks", "GET", f"{base}/tasks/", account)

        await asyncio.gather(*(client(i) for i in range(conns)))
    return stats


async def peak(
    base: str, accounts: list[Account], users: int, seconds: float, pause: tuple[float, float]
) -> Stats:
    import aiohttp

    stats = Stats()
    stop = time.monotonic() + seconds
    rng = random.Random(7)
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:

        async def user(i: int) -> None:
            account = accounts[i % len(accounts)]
            await asyncio.sleep(rng.uniform(0, pause[1]))  # not all at 8:00:00
            step = 0
            while time.monotonic() < stop:
                page = ("my tasks", "task", "result", "search")[step % 4]
                if page == "my tasks":
                    await _request(session, stats, page, "GET", f"{base}/tasks/", account)
                elif page in ("task", "result") and account.tasks:
                    order_id, kind, version = account.tasks[0]
                    if page == "task":
                        url = f"{base}/tasks/{order_id}/"
                        await _request(session, stats, page, "GET", url, account)
                    else:
                        account.tasks.pop(0)
                        form = _result_values(kind) | {
                            "client_id": str(uuid.uuid4()),
                            "version": str(version),
                        }
                        url = f"{base}/tasks/{order_id}/result/"
                        await _request(session, stats, page, "POST", url, account, data=form)
                elif page == "search":
                    q = rng.choice(SURNAMES)
                    await _request(session, stats, page, "GET", f"{base}/people/?q={q}", account)
                step += 1
                await asyncio.sleep(rng.uniform(*pause))

        await asyncio.gather(*(user(i) for i in range(users)))
    return stats


def _settle(url: str, label: str, limit: float = 900) -> None:
    """Wait for the task worker's queue to empty before measuring.

    A fresh copy has run none of today's daily jobs, so `fangkong jobs` catches them up
    as soon as it starts (the 03:00 retention purge over a million persons, the 03:30
    and 03:40 ones...): minutes of work that a county runs at night, not at the day's
    peak; measured on top of it, the production server looked slower than runserver,
    which runs no worker."""
    import psycopg

    started = time.monotonic()
    pending = -1
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() - started < limit:
            time.sleep(5)
            row = conn.execute(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                "WHERE status IN ('READY', 'RUNNING')"
            ).fetchone()
            pending = int(row[0]) if row else 0
            # The worker needs some seconds to start and enqueue what is due.
            if pending == 0 and time.monotonic() - started > 30:
                break
    print(
        f"{label}: task queue {'empty' if pending == 0 else f'still {pending}'} "
        f"after {time.monotonic() - started:.0f} s",
        flush=True,
    )


def _tasks_of(url: str, accounts: list[Account], per_user: int) -> None:
    """Accepted orders of each grid worker, to open and complete (one each time)."""
    import psycopg

    with psycopg.connect(url) as conn:
        for account in accounts:
            account.tasks = [
                (int(r[0]), str(r[1]), int(r[2]))
                for r in conn.execute(
                    "SELECT o.id, o.kind, o.version FROM workorders_workorder o "
                    "JOIN accounts_user u ON u.id = o.assignee_id "
                    "WHERE u.username = %s AND o.status = 'accepted' ORDER BY o.due_at LIMIT %s",
                    (account.username, per_user),
                ).fetchall()
            ]


def _row(label: str, stats: Stats, wall: float, server_cpu: float, gen_cpu: float) -> list[str]:
    rows = []
    pages = list(stats.latencies)
    total = sum(len(v) for v in stats.latencies.values())
    for page in [*pages, "all"] if len(pages) > 1 else pages:
        lat = (
            [x for v in stats.latencies.values() for x in v]
            if page == "all"
            else stats.latencies[page]
        )
        errors = sum(stats.errors.values()) if page == "all" else stats.errors.get(page, 0)
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
        rows.append(
            f"| {label} | {page} | {len(lat)} | {len(lat) / wall:.1f} | {q[49]:.0f} | "
            f"{q[94]:.0f} | {q[98]:.0f} | {errors} | "
            f"{server_cpu / max(total, 1) * 1000:.1f} | {gen_cpu / wall * 100:.0f}% |"
        )
    return rows


def measure(server: Server, label: str, run: Any) -> list[str]:
    cpu0, gen0, wall0 = server.cpu_seconds(), time.process_time(), time.monotonic()
    stats = asyncio.run(run)
    wall = time.monotonic() - wall0
    if stats.codes:
        print(f"{server.label}, {label}: errors {stats.codes}")
    return _row(
        f"{server.label}, {label}",
        stats,
        wall,
        server.cpu_seconds() - cpu0,
        time.process_time() - gen0,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="20,000 orders, 50,000 persons")
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=180, help="grid workers logged in")
    parser.add_argument("--seconds", type=float, default=60, help="saturation run")
    parser.add_argument("--peak-seconds", type=float, default=180, help="peak run")
    parser.add_argument("--pause", type=float, nargs=2, default=(5.0, 15.0))
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (0: 2 x cores + 1)"
    )
    parser.add_argument("--skip-runserver", action="store_true")
    parser.add_argument(
        "--no-jobs",
        action="store_true",
        help="fangkong serve without its task worker (to see what the worker's jobs cost)",
    )
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument(
        "--template", default="", help="template database (default fangkong_load_tpl_<size>)"
    )
    parser.add_argument(
        "--run-db", default="", help="the run's copy (default fangkong_load_run_<pid>)"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build the template if missing, then stop"
    )
    parser.add_argument("--build-template", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_template:
        orders, persons = args.build_template
        build_template(orders, persons, seed=args.seed)
        return
    if args.small:
        args.orders, args.persons = 20_000, 50_000
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        parser.error("needs DATABASE_URL=postgres://... (its server holds the scratch databases)")
    size = "small" if args.small else f"{args.orders}_{args.persons}"
    template = args.template or f"fangkong_load_tpl_{size}"
    ensure_template(base, template, args.orders, args.persons, args.seed)
    if args.build_only:
        return
    run_db = args.run_db or f"fangkong_load_run_{os.getpid()}"
    url = copy_database(base, template, run_db)
    # The template may be older than the code: bring the copy's schema (its indexes)
    # to this checkout's migrations, as an upgrade of a county's database would.
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as data:
        subprocess.run(
            [sys.executable, "-m", "fangkong", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=_env(url, Path(data), DJANGO_SETTINGS_MODULE="fangkong.settings"),
            check=True,
        )
    print(f"{run_db}: migrated in {time.monotonic() - started:.0f} s", flush=True)
    os.environ.update(_env(url, ROOT / "var", DJANGO_SETTINGS_MODULE="fangkong.settings"))
    import django

    django.setup()
    results: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as data:
            env = _env(url, Path(data))
            servers = [
                (
                    "fangkong serve",
                    ["serve"]
                    + (["--workers", str(args.workers)] if args.workers else [])
                    + (["--no-jobs"] if args.no_jobs else []),
                )
            ]
            if not args.skip_runserver:
                servers.append(("runserver", ["runserver", "--noreload"]))
            accounts = [Account(f"bench_wo_gw{i:03d}") for i in range(1, args.accounts + 1)]
            for label, command in servers:
                port = 8790 + len(results)
                argv = [sys.executable, "-m", "fangkong", *command]
                argv += (
                    ["--port", str(port)] if label == "fangkong serve" else [f"127.0.0.1:{port}"]
                )
                server = start_server(label, argv, env, port)
                try:
                    results += run_scenarios(server, accounts, url, args)
                except SystemExit:
                    # The data directory goes with the run: show why the server failed.
                    log = Path(env["FANGKONG_DATA_DIR"]) / f"{label}.log"
                    print(log.read_text(errors="replace")[-6000:], file=sys.stderr)
                    raise
                finally:
                    server.stop()
    finally:
        from django.db import connections

        connections.close_all()
        with _admin(base) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{run_db}" WITH (FORCE)')
    cores = len(os.sched_getaffinity(0))
    print(
        f"\n{args.orders} open orders, {args.persons} persons; {cores} cores shared with the "
        f"load generator (and anything else running); saturation {args.connections} "
        f"connections for {args.seconds:.0f} s, peak {args.users} users pausing "
        f"{args.pause[0]:.0f}-{args.pause[1]:.0f} s for {args.peak_seconds:.0f} s\n"
    )
    print(
        "| server, scenario | page | requests | req/s | p50 ms | p95 ms | p99 ms | errors "
        "| server CPU ms/req | generator CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(results))


def run_scenarios(server: Server, accounts: list[Account], url: str, args: Any) -> list[str]:
    import aiohttp

    async def login_all() -> None:
        # A few at a time: each login is a deliberately slow password hash.
        sem = asyncio.Semaphore(4)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:

            async def one(account: Account) -> None:
                async with sem:
                    await login(session, server.base, account)

            await asyncio.gather(*(one(a) for a in accounts))

    if server.label == "fangkong serve" and not args.no_jobs:  # no worker, nothing to settle
        _settle(url, server.label)
    if not accounts[0].cookie:  # the sessions are in the database both servers share
        started = time.monotonic()
        asyncio.run(login_all())
        print(f"{server.label}: {len(accounts)} logged in in {time.monotonic() - started:.0f} s")
    _tasks_of(url, accounts, per_user=50)
    rows = measure(
        server,
        "saturation",
        saturation(server.base, accounts, args.connections, args.seconds),
    )
    print("\n".join(rows), flush=True)
    more = measure(
        server,
        "peak",
        peak(server.base, accounts, args.users, args.peak_seconds, tuple(args.pause)),
    )
    print("\n".join(more), flush=True)
    return rows + more


if __name__ == "__main__":
    main()
