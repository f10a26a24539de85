"""Coverage of a city's round on the analytical engine: 25,000,000 residents with 10-in-1
pools (`testing.coverage_olap.CoverageEngine` over a round extract), against pandas on the
same extract and against DuckDB joining residents with samples at query time (the plan
the extract avoids), in the same run.

Run from the project root (no database is needed: the extract is synthetic, in the
column contract `round_extract` writes)::

    .venv/bin/python -m bench.testing_coverage_olap               # 25,000,000
    .venv/bin/python -m bench.testing_coverage_olap --persons 1000000

The city: residents in 8,000 micro-grids (about 3,000 each); 2% not present, 1% excluded,
0.1% under centralised isolation, the rest expected; 90% of the residents sampled in
10-in-1 tubes, results back for 80% of the tubes, two positive tubes.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

GRIDS = 8000


def build(persons: int, seed: int) -> tuple[Any, dict[str, np.ndarray]]:
    from fangkong.testing.coverage_olap import RoundExtract

    rng = np.random.default_rng(seed)
    pid = np.arange(persons, dtype=np.int64)
    node = (pid * GRIDS // persons).astype(np.int32)
    present = rng.random(persons) >= 0.02
    excluded = np.zeros(persons, dtype=bool)
    excluded[::100] = True
    isolated = np.zeros(persons, dtype=bool)
    isolated[5::1000] = True
    expected = present & ~excluded & ~isolated
    tested = pid % 10 != 9
    sampled = pid[tested]
    tube = sampled // 10
    back = tube % 5 != 4
    positive = np.isin(tube, [7, 7007])
    extract = RoundExtract(
        pa.table(
            {
                "person_id": pid,
                "node_id": node,
                "expected": expected,
                "tested": tested,
            }
        ),
        pa.table({"node_id": node[sampled], "back": back, "positive": positive}),
    )
    # The raw relations a query-time join would start from.
    raw = {
        "pid": pid,
        "node": node,
        "expected": expected,
        "sampled": sampled,
        "back": back,
        "positive": positive,
    }
    return extract, raw


def best_of(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pandas_counts(extract: Any) -> int:
    r = extract.residents.to_pandas()
    s = extract.samples.to_pandas()
    r["et"] = r["expected"] & r["tested"]
    a = r.groupby("node_id").agg(expected=("expected", "sum"), tested=("et", "sum"))
    b = s.groupby("node_id").agg(
        samples=("back", "size"), results=("back", "sum"), positive=("positive", "sum")
    )
    return len(a.join(b, how="outer"))


JOIN_SQL = """
SELECT p.node_id, COUNT(*) FILTER (WHERE p.expected) AS expected,
       COUNT(s.person_id) FILTER (WHERE p.expected) AS tested
FROM people p LEFT JOIN sampled s ON s.person_id = p.person_id
GROUP BY p.node_id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=25_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20221127)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    from fangkong.testing.coverage_olap import CoverageEngine

    started = time.perf_counter()
    extract, raw = build(args.persons, args.seed)
    print(
        f"extract: {extract.residents.num_rows:,} residents, {extract.samples.num_rows:,} "
        f"samples in {GRIDS:,} grids, built in {time.perf_counter() - started:.1f} s"
    )
    loading = time.perf_counter()
    engine = CoverageEngine(extract)
    print(f"loaded into DuckDB in {time.perf_counter() - loading:.2f} s")
    counts = engine.counts()
    total = [sum(v[i] for v in counts.values()) for i in range(5)]
    print(
        f"counts: expected {total[0]:,}, tested {total[1]:,}, samples {total[2]:,}, "
        f"results {total[3]:,}, positive {total[4]:,} over {len(counts):,} grids"
    )
    ours = best_of(engine.counts, args.reps)
    wanted = list(range(0, GRIDS, 80))  # a hundred grids: a district's not-tested lists
    listed = len(engine.not_tested(wanted))
    lists = best_of(lambda: engine.not_tested(wanted), args.reps)
    pandas = best_of(lambda: pandas_counts(extract), max(1, args.reps // 2))
    con = duckdb.connect()
    con.register(
        "people",
        pa.table({"person_id": raw["pid"], "node_id": raw["node"], "expected": raw["expected"]}),
    )
    con.register("sampled", pa.table({"person_id": raw["sampled"]}))
    joined = best_of(lambda: con.execute(JOIN_SQL).fetchall(), max(1, args.reps // 2))
    print(f"{'coverage per grid (DuckDB over the extract)':<52} {ours:8.3f} s   goal ≤ 1 s")
    print(
        f"{'not-tested lists of 100 grids (' + format(listed, ',') + ' people)':<52} {lists:8.3f} s"
    )
    print(f"{'pandas group-by on the same extract':<52} {pandas:8.3f} s   ×{pandas / ours:.1f}")
    print(
        f"{'DuckDB joining residents and samples at query time':<52} {joined:8.3f} s   ×{joined / ours:.1f}"
    )


if __name__ == "__main__":
    main()
