"""A 10,000-row list pushed from the county: import, match, dispatch — time and quality.

Run from the project root::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.pushed \
        --persons 30000 --rows 10000

It builds the synthetic town of bench/matching.py (code prefix 999902, the demo
generator, one grid worker per grid), writes an xlsx list of `--rows` rows in a
county's layout with that benchmark's noise (traditional script, typos, swapped,
missing and Excel-damaged IDs, another member's phone, people not registered at all),
then times what the pages and the jobs worker do: receive and read the file, hold it
for the mapping step (`pushed.pushed_hold`), make the list on confirmation
(`pushed.pushed_list_open`), and run its import job (`import_jobs.run_job`: read the
held file again, match every row, store it, create and dispatch the verification
orders, notify the villages), and the feedback file. It prints precision and recall
of the automatic matches, and rolls everything back.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bench.common import Rollback as _Rollback
from bench.matching import BENCH_TOWN, Resident, build_registry, make_records

HEADERS = ["序号", "姓名", "身份证号码", "联系电话", "现住址", "出生日期", "推送原因"]


def _commander(town: Any) -> Any:
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create

    user = staff_create(
        username="bench_push_commander", name="指挥长", kind="town_cadre", jurisdiction=town
    ).user
    membership_grant(user=user, jurisdiction=town, role=Role.TOWN_COMMANDER)
    return user


def _grid_workers(town: Any) -> int:
    from fangkong.org.models import Jurisdiction, Level, Responsibility
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create

    grids = Jurisdiction.objects.within(town.path).filter(level=Level.GRID)
    for i, grid in enumerate(grids, 1):
        user = staff_create(
            username=f"bench_push_gw{i:04d}",
            name=f"网格员{i}",
            kind="grid_worker",
            jurisdiction=grid,
        ).user
        membership_grant(
            user=user, jurisdiction=grid, role=Role.GRID_WORKER, responsibility=Responsibility.GRID
        )
    return grids.count()


def run(n_persons: int, n_rows: int, seed: int) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from openpyxl import Workbook

    from fangkong.core import uploads
    from fangkong.org.models import Jurisdiction
    from fangkong.people.import_jobs import run_job
    from fangkong.people.models import ImportJob, ImportStatus, Person
    from fangkong.screening import pushed
    from fangkong.screening.models import PushedRow, RowMatch
    from fangkong.workorders.models import WorkOrder

    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    if Jurisdiction.objects.filter(code__startswith=BENCH_TOWN[:6]).exists():
        raise SystemExit(f"Codes starting {BENCH_TOWN[:6]} already exist; refusing to run.")
    today = timezone.localdate()
    try:
        with transaction.atomic():
            start = time.perf_counter()
            town = build_registry(n_persons, seed, today)
            grids = _grid_workers(town)
            commander = _commander(town)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Person._meta.db_table}")
            scope = Person.objects.within(town.path).select_related("household")
            residents = [
                Resident(
                    p.pk,
                    p.name,
                    p.id_number,
                    p.phone,
                    p.birth_date,
                    p.household_id or 0,
                    p.household.address if p.household else "",
                    p.household.village_group if p.household else "",
                    p.household.house_number if p.household else "",
                )
                for p in scope
            ]
            print(
                f"registry: {len(residents)} persons, {grids} grids with a grid worker, "
                f"built in {time.perf_counter() - start:.1f} s"
            )
            rows = make_records(residents, town.name, n_rows, seed, today)
            wb = Workbook(write_only=True)
            ws = wb.create_sheet()
            ws.append(HEADERS)
            for i, (_kind, _truth, r) in enumerate(rows, 1):
                ws.append([i, r.name, r.id_number, r.phone, r.address, r.birth_date, "红码"])
            out = io.BytesIO()
            wb.save(out)
            data = out.getvalue()
            print(f"list: {n_rows} rows, {len(data) / 1024:.0f} KB xlsx")

            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                # The upload page: receive, read, hold for the mapping step.
                received = uploads.receive_bytes(data, "list.xlsx", pushed.PUSHED_UPLOAD)
                table = uploads.read(received, pushed.PUSHED_UPLOAD)
                job = pushed.pushed_hold(
                    actor=commander,
                    received=received,
                    table=table,
                    mapping={},
                    name="基准推送",
                    source="县指挥部",
                    category="red_code",
                    deadline=timezone.now() + timedelta(days=1),
                )
                problems = pushed.mapping_problems(table, job.mapping)
                if problems:
                    raise RuntimeError(f"the list was refused: {problems}")
                # The mapping step's confirmation, then the jobs worker.
                the_list, _started = pushed.pushed_list_open(
                    actor=commander, node=town, job=job, table=table, sha256=received.sha256
                )
                ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
                t1 = time.perf_counter()
                run_job(job.pk)
                t2 = time.perf_counter()
            job.refresh_from_db()
            if job.status != ImportStatus.DONE:
                raise RuntimeError(f"the import failed: {job.message}")
            result = job.counts
            header, feedback = pushed.feedback_rows(
                the_list, PushedRow.objects.filter(pushed=the_list)
            )
            t3 = time.perf_counter()
            n_feedback = sum(1 for _line in feedback)
            t4 = time.perf_counter()

            stored = {r.row_number - 1: r for r in PushedRow.objects.filter(pushed=the_list)}
            auto_right = auto_wrong = registered = 0
            for i, (_kind, truth, _r) in enumerate(rows, 1):
                row = stored[i]
                registered += truth is not None
                if row.match == RowMatch.MATCHED:
                    if row.person_id == truth:
                        auto_right += 1
                    else:
                        auto_wrong += 1
            orders = WorkOrder.objects.filter(kind="verify_pushed")
            assigned = orders.exclude(assignee=None).count()
            kinds = Counter(
                q["sql"].split(" ")[0] + " " + q["sql"].split('"')[1]
                for q in queries.captured_queries
                if '"' in q["sql"]
            )
            print("queries by statement and table:", dict(kinds.most_common(8)))
            print(f"\nreceive, read, hold, make the list: {t1 - t0:6.2f} s")
            print(
                f"import job (read again, match, store, dispatch): {t2 - t1:6.2f} s  "
                f"({n_rows / (t2 - t1):,.0f} rows/s, {len(queries)} queries in all)"
            )
            print(f"upload to orders, total:  {t2 - t0:6.2f} s")
            print(
                f"feedback rows:            {t4 - t3:6.2f} s  ({n_feedback} rows + header "
                f"of {len(header)} columns)"
            )
            print(
                f"\nmatched automatically {result['matched']}, to confirm "
                f"{result['to_confirm']}, not found {result['unmatched']}; orders "
                f"{orders.count()} ({assigned} assigned)"
            )
            auto = auto_right + auto_wrong
            print(
                f"precision {auto_right / max(auto, 1):.2%} ({auto_wrong} wrong of {auto}); "
                f"recall {auto_right / max(registered, 1):.2%} of {registered} registered"
            )
            raise _Rollback
    except _Rollback:
        pass
    if Jurisdiction.objects.filter(code__startswith=BENCH_TOWN[:6]).exists():
        raise RuntimeError("The rollback left rows behind.")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=30_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    run(args.persons, args.rows, args.seed)


if __name__ == "__main__":
    main()
