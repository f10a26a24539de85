"""The command dashboard of a whole county, read from the pre-aggregated `VillageDay` rows.

Run from the project root (the database must be migrated)::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.dashboard

It builds a county under the code prefix 999905 (no real division uses it): `--towns`
towns of `--villages` villages of `--grids` grids, a town commander's membership at the
county, and 14 days of raw data spread over the grids and hours: returnee reports,
person measures (most verified), rows of one pushed list (some still pending), work-order
tallies per grid, kind and day, and today's daily reports of most villages. It fills
`VillageDay` with `stats.backfill` + `stats.refresh` and times the minute job
`stats.refresh_now`, then, with median and p95 over `--reps`:

* `selectors.dashboard` for the county and for one town;
* the htmx panel and the full page through the test client, as the commander;
* the naive baseline: the same figures counted live from the raw tables, one
  `metrics.compute` of the key and trend metrics per day shown, checked equal to ours;

prints the query count of each page, and rolls everything back.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bench.common import Rollback as _Rollback
from bench.common import time_it, with_django
from bench.workorders import _explain

PREFIX = "999905"
BENCH_COUNTY = f"{PREFIX}000000"
TABLES = (
    "org_jurisdiction",
    "screening_returneereport",
    "screening_personmeasure",
    "screening_pushedrow",
    "workorders_workordertally",
    "reports_dailyreport",
    "reports_reportconfig",
    "reports_villageday",
)


def _tree(towns: int, villages: int, grids: int) -> tuple[Any, list[Any], list[Any], list[Any]]:
    from fangkong.org.models import Jurisdiction, Level
    from fangkong.org.services import child_path

    def node(code: str, name: str, level: int, parent: Any) -> Any:
        return Jurisdiction(
            code=code, name=name, level=level, parent=parent, path=child_path(parent, code)
        )

    county = node(BENCH_COUNTY, "看板基准县", Level.COUNTY, None)
    county.save()
    ts = [
        node(f"{PREFIX}{t:03d}000", f"看板基准{t}镇", Level.TOWN, county)
        for t in range(1, towns + 1)
    ]
    Jurisdiction.objects.bulk_create(ts)
    vs = [
        node(f"{t.code[:9]}{v:03d}", f"{t.name}{v}村", Level.VILLAGE, t)
        for t in ts
        for v in range(1, villages + 1)
    ]
    Jurisdiction.objects.bulk_create(vs)
    gs = [
        node(f"{v.code}-G{g:02d}", f"{v.name}{g}网格", Level.GRID, v)
        for v in vs
        for g in range(1, grids + 1)
    ]
    Jurisdiction.objects.bulk_create(gs, batch_size=2000)
    return county, ts, vs, gs


def _slots(now: datetime, days: int) -> list[datetime]:
    """Half past each hour of the last `days` days, up to now: when the rows happened."""
    from django.utils import timezone

    today = timezone.localdate(now)
    out = []
    for d in range(days):
        start = timezone.make_aware(
            datetime.combine(today - timedelta(days=d), datetime.min.time())
        )
        for h in range(24):
            if start + timedelta(hours=h) <= now:
                out.append(min(start + timedelta(hours=h, minutes=30), now))
    return out


def _stamp(model: Any, field: str, made: dict[datetime, list[Any]]) -> None:
    """`auto_now_add` overwrites what bulk_create is given: set the time afterwards."""
    for at, objs in made.items():
        for i in range(0, len(objs), 500):
            model.objects.filter(pk__in=[o.pk for o in objs[i : i + 500]]).update(**{field: at})


def build(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create
    from fangkong.policy.models import Category, Place
    from fangkong.reports.models import DailyReport, ReportConfig, ReportStatus
    from fangkong.screening.kinds import VERIFY_OUTCOMES
    from fangkong.screening.models import (
        MeasureStatus,
        Mode,
        PersonMeasure,
        PushedCategory,
        PushedList,
        PushedRow,
        ReturneeReport,
    )
    from fangkong.workorders.kinds import KINDS
    from fangkong.workorders.models import WorkOrderTally

    rng = random.Random(args.seed)
    county, towns, villages, grids = _tree(args.towns, args.villages, args.grids)
    commander = staff_create(
        username="bench_dash_cmd", name="指挥长", kind="town_cadre", jurisdiction=county
    ).user
    membership_grant(user=commander, jurisdiction=county, role=Role.TOWN_COMMANDER)
    ReportConfig.objects.create(jurisdiction=county)
    slots = _slots(now, 14)
    today = timezone.localdate(now)

    by_slot: dict[datetime, list[Any]] = {}
    for i in range(args.returnees):
        at = rng.choice(slots)
        by_slot.setdefault(at, []).append(
            ReturneeReport(
                jurisdiction=grids[rng.randrange(len(grids))],
                name=f"基准{i}",
                id_number="",
                id_number_hash="",
                phone="",
                phone_hash="",
                origin_code="110101000000",
                origin_label="北京市东城区",
                left_on=at.date() - timedelta(days=1),
                arrived_on=at.date(),
                mode=Mode.CAR,
                address="基准路1号",
                code=f"0{i:011d}",
                category=Category.RETURNEE,
                proposed_place=Place.TESTS_ONLY,
            )
        )
    for objs in by_slot.values():
        ReturneeReport.objects.bulk_create(objs, batch_size=1000)
    _stamp(ReturneeReport, "created_at", by_slot)

    by_slot = {}
    places = [Place.CENTRAL, Place.HOME_ISOLATION, Place.HOME_MONITORING, Place.TESTS_ONLY]
    for _i in range(args.measures):
        at = rng.choice(slots)
        status = MeasureStatus.VERIFIED if rng.random() < 0.9 else MeasureStatus.PROPOSED
        by_slot.setdefault(at, []).append(
            PersonMeasure(
                jurisdiction=grids[rng.randrange(len(grids))],
                category=Category.RETURNEE,
                place=rng.choices(places, (10, 25, 40, 25))[0],
                status=status,
            )
        )
    for objs in by_slot.values():
        PersonMeasure.objects.bulk_create(objs, batch_size=2000)
    _stamp(PersonMeasure, "decided_at", by_slot)

    pushed = PushedList.objects.create(
        jurisdiction=county,
        name="基准推送",
        source="县指挥部",
        category=PushedCategory.OTHER,
        deadline=now,
        filename="bench.xlsx",
        sha256="0" * 64,
    )
    outcomes = [key for key, _label in VERIFY_OUTCOMES]
    rows = []
    for i in range(args.pushed):
        verified = rng.random() < 0.6  # the rest still to verify: "lists pending"
        rows.append(
            PushedRow(
                pushed=pushed,
                row_number=i + 1,
                cells="",
                match="matched",
                jurisdiction=grids[rng.randrange(len(grids))],
                outcome=rng.choice(outcomes) if verified else "",
                verified_at=rng.choice(slots) if verified else None,
            )
        )
    PushedRow.objects.bulk_create(rows, batch_size=2000)

    # Every grid, kind and day of the window and three days ahead, half of them with
    # something: done that day, open orders due that day (a few past ones still open).
    tallies = []
    for g in grids:
        for kind in KINDS:
            for d in range(-13, 4):
                day = today + timedelta(days=d)
                if rng.random() < 0.5:
                    continue
                n_done = rng.randint(0, 6) if d <= 0 else 0
                overdue = d < 0 and rng.random() < 0.08
                n_open = rng.randint(1, 3) if overdue else rng.randint(0, 5) if d >= 0 else 0
                if n_done or n_open:
                    tallies.append(
                        WorkOrderTally(jurisdiction=g, kind=kind, day=day, open=n_open, done=n_done)
                    )
    WorkOrderTally.objects.bulk_create(tallies, batch_size=2000)

    reports = []
    for v in villages:
        r = rng.random()
        if r < 0.6:
            late = rng.random() < 0.15
            reports.append(
                DailyReport(
                    village=v,
                    day=today,
                    status=ReportStatus.SUBMITTED,
                    late=late,
                    submitted_at=now,
                    submitted_by=commander,
                )
            )
        elif r < 0.65:
            reports.append(DailyReport(village=v, day=today, status=ReportStatus.MISSING))
    DailyReport.objects.bulk_create(reports)
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    return {
        "county": county,
        "towns": towns,
        "villages": villages,
        "grids": grids,
        "commander": commander,
        "tallies": len(tallies),
        "reports": len(reports),
    }


def naive(node: Any, now: datetime) -> dict[date, dict[str, int]]:
    """What the dashboard shows, counted live: every key and trend metric for every day
    of the window, over the raw tables (one grouped query per metric and day: 98)."""
    from django.utils import timezone

    from fangkong.reports.metrics import compute
    from fangkong.reports.selectors import KEY_METRICS, TREND_METRICS, villages_under
    from fangkong.reports.stats import TREND_DAYS

    today = timezone.localdate(now)
    villages = villages_under(node)
    keys = sorted(set(KEY_METRICS) | set(TREND_METRICS))
    out = {}
    for n in range(TREND_DAYS):
        day = today - timedelta(days=n)
        counts = compute(keys, villages, day)
        out[day] = {k: sum(c[k] for c in counts.values()) for k in keys}
    return out


def check(node: Any, now: datetime) -> None:
    """The pre-aggregated figures must be the live counts (the data did not move since)."""
    from fangkong.reports.selectors import KEY_METRICS, TREND_METRICS, dashboard

    d, live = dashboard(node, now), naive(node, now)
    days = sorted(live)
    want_trends = {k: [live[day][k] for day in days] for k in TREND_METRICS}
    wrong = [k for k in KEY_METRICS if d.totals[k] != live[d.day][k]]
    wrong += [f"yesterday {k}" for k in KEY_METRICS if d.yesterday[k] != live[days[-2]][k]]
    wrong += [f"trend {k}" for k in TREND_METRICS if d.trends[k] != want_trends[k]]
    if wrong:
        raise RuntimeError(
            f"{node.name}: dashboard differs from the live count: {wrong}; "
            f"ours {d.totals} {d.trends}, live {live[d.day]} {want_trends}"
        )
    print(
        f"{node.name}: totals today and yesterday ({len(KEY_METRICS)} metrics) and the "
        f"{len(days)}-day trend ({len(TREND_METRICS)} metrics) checked against the live "
        f"count: equal (today {d.totals['returnees_new']} returnees, "
        f"{sum(d.trends['returnees_new'])} over {len(days)} days)"
    )


def fill(now: datetime) -> tuple[int, float]:
    from fangkong.reports import stats

    start = time.perf_counter()
    rows = stats.backfill(now) + stats.refresh(now=now)
    return rows, time.perf_counter() - start


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from fangkong.org.models import Jurisdiction
    from fangkong.reports import selectors, stats
    from fangkong.reports.models import VillageDay
    from fangkong.screening.models import PersonMeasure, ReturneeReport

    if Jurisdiction.objects.filter(code__startswith=PREFIX).exists():
        raise SystemExit(f"codes starting {PREFIX} exist already; not touching them")
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    now = timezone.now()
    started = time.perf_counter()
    if args.committed:
        # As in a live database: committed and vacuumed, so PostgreSQL may answer from
        # an index alone (never for rows of the bench's own open transaction).
        world = build(args, now)
        filled, fill_s = fill(now)
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
    try:
        with transaction.atomic():
            if not args.committed:
                world = build(args, now)
                filled, fill_s = fill(now)
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE reports_villageday")
            county, towns, villages = world["county"], world["towns"], world["villages"]
            town = towns[len(towns) // 2]
            ours = {
                "county": VillageDay.objects.filter(village__in=villages).count(),
                "all": VillageDay.objects.count(),
            }
            verified = PersonMeasure.objects.filter(
                jurisdiction__in=world["grids"], status="verified"
            ).count()
            print(
                f"built in {time.perf_counter() - started - fill_s:.1f} s: 1 county, "
                f"{len(towns)} towns, {len(villages)} villages, {len(world['grids'])} grids; "
                f"{ReturneeReport.objects.filter(code__startswith='0').count()} returnee "
                f"reports, {args.measures} measures ({verified} verified), {args.pushed} "
                f"pushed rows, {world['tallies']} work-order tallies, {world['reports']} "
                f"daily reports today; no sweep visits (each needs a household)"
            )
            print(
                f"backfill + refresh wrote {filled} VillageDay rows in {fill_s:.2f} s "
                f"({ours['county']} for the county, {ours['all']} in the database)"
            )
            check(county, now)
            check(town, now)

            job = "minute job: stats.refresh_now()"
            refresh = time_it(job, stats.refresh_now, args.job_reps, warmup=1)

            client = Client()
            client.force_login(world["commander"])

            def get(url: str, size: int) -> Callable[[], int]:
                def go() -> int:
                    response = client.get(url)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {url}: {response.status_code}")
                    return size

                return go

            def ours_at(node: Any) -> Callable[[], int]:
                return lambda: selectors.dashboard(node, timezone.now()).counts["villages"]

            def live(node: Any, size: int) -> Callable[[], int]:
                def go() -> int:
                    naive(node, timezone.now())
                    return size

                return go

            n_town = len(selectors.villages_under(town))
            naive_c, naive_t = "naive: county, live 14 days", "naive: town, live 14 days"
            panel = f"/reports/dashboard/panel/?node={county.code}"
            page = f"/reports/dashboard/?node={county.code}"
            cases: list[tuple[str, Callable[[], int], str | None, int]] = [
                ("dashboard(county) selector", ours_at(county), naive_c, args.reps),
                ("dashboard(town) selector", ours_at(town), naive_t, args.reps),
                ("GET panel (county, htmx)", get(panel, len(villages)), naive_c, args.reps),
                ("GET /reports/dashboard/ (county)", get(page, len(villages)), naive_c, args.reps),
                (naive_c, live(county, len(villages)), None, args.naive_reps),
                (naive_t, live(town, n_town), None, args.naive_reps),
            ]
            # One warm-up for the live count: it takes seconds, and has no cache to warm.
            results = [
                time_it(label, fn, reps, warmup=3 if reps == args.reps else 1)
                for label, fn, _base, reps in cases
            ]
            by_label = {t.label: t for t in results}
            queries = {}
            for label, fn, _base, _reps in cases:
                with CaptureQueriesContext(connection) as ctx:
                    fn()
                queries[label] = ctx.captured_queries
            html = {u: len(client.get(u).content) for u in (panel, page)}

            print(
                f"\n{'measure':<40}{'villages':>9}{'median ms':>11}{'p95 ms':>10}"
                f"{'naive/ours':>12}{'queries':>9}"
            )
            for t, (_label, _fn, base, _reps) in zip(results, cases, strict=True):
                ratio = f"{by_label[base].median / t.median:.1f}x" if base else ""
                print(
                    f"{t.label:<40}{t.size:>9}{t.median:>11.2f}{t.p95:>10.2f}{ratio:>12}"
                    f"{len(queries[t.label]):>9}"
                )
            t = refresh
            print(f"{t.label:<40}{len(villages):>9}{t.median:>11.1f}{t.p95:>10.1f}{'':>12}{'':>9}")
            print(
                f"\n({args.reps} repetitions after 3 warm-ups; naive {args.naive_reps} and "
                f"the minute job {args.job_reps} after 1. naive/ours: the live count's median "
                f"over ours, same node. The minute job recounts today and yesterday for "
                f"every village in the database, {t.size} rows a run.)"
            )
            print(f"HTML: panel {html[panel] / 1024:.1f} KB, page {html[page] / 1024:.1f} KB")
            if args.show_queries:
                for label in ("dashboard(county) selector", "GET panel (county, htmx)"):
                    print(f"\n{label}:")
                    for q in queries[label]:
                        print(f"  {q['time']:>6} s  {q['sql'][:220]}")
            if args.explain:
                _explain("dashboard(county)", queries["dashboard(county) selector"])
            raise _Rollback
    except _Rollback:
        pass
    if not args.committed and Jurisdiction.objects.filter(code__startswith=PREFIX).exists():
        raise RuntimeError("the rollback left rows behind")
    if not args.committed:
        print(
            f"\nrolled back: {Jurisdiction.objects.filter(code__startswith=PREFIX).count()} "
            f"bench nodes, {VillageDay.objects.count()} VillageDay rows remain"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--towns", type=int, default=15)
    parser.add_argument("--villages", type=int, default=20, help="villages per town")
    parser.add_argument("--grids", type=int, default=6, help="grids per village")
    parser.add_argument("--returnees", type=int, default=60_000)
    parser.add_argument("--measures", type=int, default=20_000)
    parser.add_argument("--pushed", type=int, default=3_000, help="rows of one pushed list")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--naive-reps", type=int, default=5)
    parser.add_argument("--job-reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--explain", action="store_true", help="plans of the selector's queries")
    parser.add_argument(
        "--show-queries", action="store_true", help="the selector's and panel's SQL"
    )
    parser.add_argument(
        "--committed",
        action="store_true",
        help="PostgreSQL: commit and VACUUM the data first, in a scratch "
        "database that is dropped afterwards",
    )
    args = parser.parse_args(argv)
    if min(args.reps, args.naive_reps, args.job_reps) < 2:
        parser.error("--reps, --naive-reps and --job-reps need at least 2 (for the p95)")
    with_django(parser, args.committed, lambda: run(args))


if __name__ == "__main__":
    main()
