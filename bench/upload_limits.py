"""Refusing the attack files of issue 12: time and peak memory (RSS) of `read_table` on
a csv of 200,000 columns and on xlsx files holding one 200 MB cell (inline, and as a
shared string the way Excel writes it), plus a legitimate 100,000-row xlsx and csv for
the cost of the checks on a file that passes.

Each file is read in a fresh process, whose peak RSS is reset just before the read
(Linux: /proc/self/clear_refs), so "peak RSS" is what the read itself added. Nothing
touches the database.

    DJANGO_SETTINGS_MODULE=fangkong.settings .venv/bin/python -m bench.upload_limits
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

_READ = """
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
import django
django.setup()
from fangkong.core.tabular import TableError, read_table

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))

path = sys.argv[1]
data = open(path, "rb").read()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS:")
start = time.perf_counter()
try:
    table = read_table(data, os.path.basename(path))
    outcome = f"read {len(table.rows)} rows x {len(table.headers)} columns"
except TableError as exc:
    outcome = f"refused: {exc}"
took = time.perf_counter() - start
print(f"{took:.3f}\\t+{(status('VmHWM:') - before) / 1024:.0f}\\t{outcome}")
"""


def _legit(rows: int) -> tuple[bytes, bytes]:
    header = ["姓名", "身份证号", "联系电话", "户号", "所属网格", "与户主关系", "住址", "备注"]
    body = [
        [
            f"张{i % 997}",
            f"11010519800101{i % 10000:04d}",
            f"139{i:08d}",
            f"H{i // 3}",
            "330411102201-G01",
            "户主",
            f"幸福路{i % 300}号",
            "常住",
        ]
        for i in range(rows)
    ]
    text = io.StringIO()
    csv.writer(text).writerows([header, *body])
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in [header, *body]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return text.getvalue().encode("utf-8-sig"), out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the legitimate files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file; the fastest counts")
    args = parser.parse_args()
    from tests.spreadsheet_files import huge_inline_cell_xlsx, huge_shared_cell_xlsx, wide_csv

    legit_csv, legit_xlsx = _legit(args.rows)
    files = {
        "wide.csv": wide_csv(),
        "huge-inline.xlsx": huge_inline_cell_xlsx(),
        "huge-shared.xlsx": huge_shared_cell_xlsx(),
        "registry.csv": legit_csv,
        "registry.xlsx": legit_xlsx,
    }
    print(f"{'file':18} {'size':>9} {'time':>8} {'peak RSS':>10}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            path = Path(tmp) / name
            path.write_bytes(data)
            runs = []
            for _ in range(args.repeat):
                result = subprocess.run(  # noqa: S603 - our own interpreter and script
                    [sys.executable, "-c", _READ, str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(result.stdout.strip().split("\t", 2))
            took, rss, outcome = min(runs, key=lambda run: float(run[0]))
            size = f"{len(data) / 2**20:.1f} MB"
            print(f"{name:18} {size:>9} {took + ' s':>8} {rss + ' MB':>10}  {outcome}")


if __name__ == "__main__":
    main()
