"""The registry import at 100,000 rows: phase 1 (read + validate + match) and phase 2 (write).

Run from the project root::

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.people_import --rows 100000

It uses the database DATABASE_URL points at (migrated), builds a scratch town under a
code prefix no real division uses (999902...), writes a realistic xlsx and csv of
`--rows` persons (households of 1-6, IDs, phones, tags, renters with landlords) to a
temporary directory, imports each file inside a savepoint that is rolled back, and
finally rolls the whole transaction back: nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import Rollback as _Rollback

BENCH_TOWN = "999902001000"
HEADER = [
    "户号",
    "姓名",
    "公民身份号码",
    "性别",
    "出生日期",
    "联系电话",
    "与户主关系",
    "所属网格",
    "小组",
    "现住址",
    "门牌号",
    "住房类型",
    "房东",
    "房东电话",
    "人口类型",
    "职业",
    "特殊人群",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def id_number(seq: int) -> str:
    """A valid resident ID, unique by construction (a birth day per thousand rows, the
    sequence code within it): no set of a million numbers is needed to avoid repeats."""
    from fangkong.core.identity import check_character

    birth = date(1940, 1, 1) + timedelta(days=(seq // 1000) * 17 % 25000)
    base = f"110105{birth:%Y%m%d}{seq % 1000:03d}"
    return base + check_character(base)


def generate_rows(n: int, grids: list[str], seed: int) -> Iterator[list[Any]]:
    """The rows, generated as they are written: a million rows are never held."""
    rng = random.Random(seed)
    done = 0
    household = 0
    while done < n:
        household += 1
        grid = grids[household % len(grids)]
        rented = rng.random() < 0.2
        size = min(rng.randint(1, 6), n - done)
        for member in range(size):
            number = id_number(done)
            done += 1
            yield (
                [
                    f"H{household:06d}",
                    rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)),
                    number,
                    "",
                    "",
                    f"13{rng.randint(0, 999999999):09d}" if rng.random() < 0.8 else "",
                    "户主"
                    if member == 0
                    else rng.choice(["配偶", "儿子", "女儿", "父亲", "母亲", "孙子"]),
                    grid,
                    f"{household % 12 + 1}组",
                    f"幸福路{household}号",
                    str(household % 300),
                    "租住" if rented else "自有",
                    "房东甲" if rented else "",
                    "13900000000" if rented else "",
                    "流动" if rented else "户籍",
                    rng.choice(["务农", "个体", "学生", "退休", ""]),
                    rng.choice(["", "", "", "", "慢性病", "独居", "孕妇"]),
                ]
            )


def write_files(
    rows: Callable[[], Iterator[list[Any]]], directory: Path, xlsx: bool = True
) -> tuple[Path, Path]:
    import csv

    from openpyxl import Workbook

    csv_path = directory / "people.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows())
    xlsx_path = directory / "people.xlsx"
    if not xlsx:  # writing it costs more than importing it; --only csv skips it
        xlsx_path.write_bytes(b"")
        return csv_path, xlsx_path
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in rows():
        sheet.append(row)
    book.save(xlsx_path)
    return csv_path, xlsx_path


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _deferred_checks() -> float:
    """Run the foreign-key checks PostgreSQL defers to COMMIT, and time them.

    The import commits its transaction, and COMMIT runs a check per new row and foreign
    key (Django's constraints are DEFERRABLE INITIALLY DEFERRED); inside this bench's
    outer transaction, rolled back, they would never run and the time would be missing.
    SET CONSTRAINTS ALL IMMEDIATE runs the pending ones now, as the commit would."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return time.perf_counter() - start


def run_stream(label: str, path: Path, town: Any, chunk_rows: int) -> None:
    """The streamed import (people.import_stream): the file is read in parts, twice."""
    from django.db import transaction

    from fangkong.core.tabular import Limits
    from fangkong.people.import_stream import import_people_stream
    from fangkong.people.importer import ImportOptions, scope_for_root

    limits = Limits(rows=10_000_000, columns=200, cell_chars=2000, unpacked_bytes=2**34)
    savepoint = transaction.savepoint()
    before = peak_rss_mb()
    marks: list[float] = []
    start = time.perf_counter()
    out = import_people_stream(
        path,
        scope_for_root(town),
        ImportOptions(filename=path.name),
        actor=None,
        source=f"import:{path.name}",
        limits=limits,
        chunk_rows=chunk_rows,
        progress=lambda done: marks.append(time.perf_counter()),
    )
    checks = _deferred_checks()
    total = time.perf_counter() - start
    if out.written is None:
        raise SystemExit(f"the generated file does not import: {out.file_errors} {out.errors[:5]}")
    n = out.rows_total
    print(
        f"{label} (streamed, parts of {chunk_rows}): {n} rows, "
        f"{out.written['persons_created']} persons and "
        f"{out.written['households_created']} households created"
    )
    print(f"  validate + commit: {total:6.1f} s {n / total:8.0f} rows/s")
    print(f"    of which the commit's deferred checks: {checks:6.1f} s")
    print(
        f"  peak RSS: {peak_rss_mb():6.0f} MB (before the import {before:.0f} MB; "
        f"file {path.stat().st_size / 2**20:.0f} MB)"
    )
    transaction.savepoint_rollback(savepoint)


def build_town(n_grids: int) -> tuple[Any, list[str]]:
    from fangkong.org.models import Level
    from fangkong.org.services import jurisdiction_create

    town = jurisdiction_create(code=BENCH_TOWN, name="基准镇", level=Level.TOWN, parent=None)
    village = jurisdiction_create(
        code="999902001201", name="基准村", level=Level.VILLAGE, parent=town
    )
    grids = [
        jurisdiction_create(
            code=f"999902001201-G{i:02d}", name=f"基准网格{i}", level=Level.GRID, parent=village
        ).code
        for i in range(1, n_grids + 1)
    ]
    return town, grids


def run_one(label: str, path: Path, town: Any) -> None:
    from django.db import transaction

    from fangkong.core.tabular import read_table
    from fangkong.people.importer import (
        ImportOptions,
        commit_plan,
        plan_people_import,
        scope_for_root,
    )

    savepoint = transaction.savepoint()
    start = time.perf_counter()
    table = read_table(path.read_bytes(), path.name, skip_title=True)
    t_read = time.perf_counter() - start
    plan = plan_people_import(table, scope_for_root(town), ImportOptions(filename=path.name))
    t_plan = time.perf_counter() - start
    if plan.blocked:
        raise SystemExit(
            f"the generated file does not validate: {plan.file_errors} {plan.errors[:5]}"
        )
    result = commit_plan(plan=plan, actor=None, source=f"import:{path.name}")
    t_written = time.perf_counter() - start - t_plan
    checks = _deferred_checks()
    t_commit = time.perf_counter() - start - t_plan
    start = time.perf_counter()
    again = plan_people_import(
        read_table(path.read_bytes(), path.name, skip_title=True),
        scope_for_root(town),
        ImportOptions(filename=path.name),
    )
    t_again = time.perf_counter() - start
    n = len(table.rows)
    print(
        f"{label}: {n} rows, {result['persons_created']} persons and "
        f"{result['households_created']} households created"
    )
    print(
        f"  phase 1 (read {t_read:5.1f} s + validate/match): {t_plan:6.1f} s "
        f"{n / t_plan:8.0f} rows/s"
    )
    print(f"  phase 2 (write, one transaction):       {t_commit:6.1f} s {n / t_commit:8.0f} rows/s")
    print(f"    of which the commit's deferred checks: {checks:6.1f} s (written {t_written:.1f} s)")
    print(f"  total:                                  {t_plan + t_commit:6.1f} s")
    print(f"  peak RSS so far:                        {peak_rss_mb():6.0f} MB")
    print(
        f"  re-import check of the same file:       {t_again:6.1f} s "
        f"({again.counts['persons_unchanged']} unchanged, "
        f"{again.counts['persons_created']} to create)"
    )
    transaction.savepoint_rollback(savepoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--grids", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--only", choices=["csv", "xlsx"], default=None)
    parser.add_argument(
        "--stream",
        action="store_true",
        help="import through people.import_stream (parts; for --rows 1000000)",
    )
    parser.add_argument("--chunk", type=int, default=20_000, help="rows per part with --stream")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction

    from fangkong.org.models import Jurisdiction
    from fangkong.people.models import Person

    settings.FANGKONG_MAX_UPLOAD_BYTES = 200 * 2**20
    if Jurisdiction.objects.filter(code__startswith="999902").exists():
        raise SystemExit("codes starting 999902 exist; refusing to run")
    before = Person.objects.count()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        try:
            with transaction.atomic():
                town, grids = build_town(args.grids)
                csv_path, xlsx_path = write_files(
                    lambda: generate_rows(args.rows, grids, args.seed),
                    Path(tmp),
                    xlsx=args.only != "csv",
                )
                print(
                    f"generated {args.rows} rows in {time.perf_counter() - start:.1f} s: "
                    f"csv {csv_path.stat().st_size / 2**20:.1f} MB, "
                    f"xlsx {xlsx_path.stat().st_size / 2**20:.1f} MB"
                )
                for label, path in (("csv", csv_path), ("xlsx", xlsx_path)):
                    if args.only in (None, label):
                        if args.stream:
                            run_stream(label, path, town, args.chunk)
                        else:
                            run_one(label, path, town)
                raise _Rollback
        except _Rollback:
            pass
    print(f"rolled back: {Person.objects.count() - before} persons remain from the run.")


if __name__ == "__main__":
    main()
