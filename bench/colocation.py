"""Co-location at scale (issue 20): first- and second-degree contacts of 100 index cases in
10,000,000 scans at Zipf-distributed places, on DuckDB (ours: the time-slot plan), against
pandas (the same plan), a naive DuckDB range join (place only, the overlap as a residual)
and the same SQL on Spark local[2]. Every engine's answer is compared with ours.

    .venv/bin/python -m bench.colocation --scans 1000000            # while iterating
    .venv/bin/python -m bench.colocation                            # 10M, with Spark
    .venv/bin/python -m bench.colocation --no-spark --no-pandas     # ours and naive only

The data (seeded) follow the reference's set-up: ~1M persons (uniform), 200,000 places
(weight ∝ rank^-0.8), 14 days, arrivals uniform between 06:00 and 22:00, stays 30-60 min.
Each index case is a person drawn from the scan rows with onset the day after that scan and
isolation a day after onset; the look-back is 2 days (the national default).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

T0 = int(datetime(2022, 6, 1, tzinfo=UTC).timestamp()) - 8 * 3600  # local midnight


def generate(scans: int, persons: int, places: int, days: int, zipf: float, seed: int) -> pa.Table:
    """The contract's table (person_key, place_id, t_in, t_out), vectorised."""
    rng = np.random.default_rng(seed)
    pid = rng.integers(0, persons, scans, dtype=np.int64)
    weights = np.arange(1, places + 1, dtype=np.float64) ** -zipf
    cumulative = np.cumsum(weights / weights.sum())
    place = np.searchsorted(cumulative, rng.random(scans), side="right").astype(np.int64)
    place = np.minimum(place, places - 1)
    day = rng.integers(0, days, scans, dtype=np.int64)
    second = rng.integers(6 * 3600, 22 * 3600, scans, dtype=np.int64)
    t_in = T0 + day * 86400 + second
    t_out = t_in + rng.integers(1800, 3601, scans, dtype=np.int64)
    # One key string per person, then taken per scan (formatting 10M numbers is slow).
    names = pc.binary_join_element_wise("k", pc.cast(pa.array(np.arange(persons)), pa.string()), "")
    keys = pc.take(names, pa.array(pid))
    return pa.table(
        {
            "person_key": keys,
            "place_id": place,
            "t_in": pa.array(t_in).cast(pa.timestamp("s", tz="UTC")),
            "t_out": pa.array(t_out).cast(pa.timestamp("s", tz="UTC")),
        }
    )


def index_cases(extract: Any, count: int, seed: int) -> list[Any]:
    from fangkong.tracing.colocation import IndexCase

    rng = np.random.default_rng(seed + 1)
    rows = rng.choice(extract.rows, size=count * 3, replace=False)
    cases, seen = [], set()
    for row in rows.tolist():
        pid = int(extract.visits["pid"][row].as_py())
        if pid in seen:
            continue
        seen.add(pid)
        arrived = datetime.fromtimestamp(extract.visits["t_in"][row].as_py(), tz=UTC)
        onset = arrived + timedelta(days=1)
        cases.append(IndexCase(extract.key(pid), onset, onset + timedelta(days=1)))
        if len(cases) == count:
            break
    return cases


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """The median of `reps` runs after one warm-up (with no reps: the one run), and the
    last answer."""
    start = time.perf_counter()
    result = fn()
    if reps == 0:
        return time.perf_counter() - start, result
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples)), result


def canonical(table: pa.Table) -> pa.Table:
    from fangkong.tracing.colocation import COLUMNS

    table = table.select(list(COLUMNS)).cast(pa.schema([(c, pa.int64()) for c in COLUMNS]))
    return table.sort_by([(c, "ascending") for c in COLUMNS])


# -- baselines ---------------------------------------------------------------------------


def naive_sql() -> tuple[str, str]:
    """Our SQL with the slot taken out of the join: place alone is the equi-key, the
    overlap a residual (what the reference measured at 26 s for second degree)."""
    from fangkong.tracing.colocation import FIRST_DEGREE_SQL, SECOND_DEGREE_SQL

    def unbinned(sql: str) -> str:
        return sql.replace(" AND s.tbin = pr.tbin", "").replace(
            "JOIN offsets o\n      ON o.k <=", "JOIN offsets o\n      ON o.k = 0 AND o.k <="
        )

    first, second = unbinned(FIRST_DEGREE_SQL), unbinned(SECOND_DEGREE_SQL)
    if first == FIRST_DEGREE_SQL or second == SECOND_DEGREE_SQL:
        raise SystemExit("the naive variant no longer matches the SQL's text")
    return first, second


class PandasJob:
    """The same binned plan in pandas (merge on place and slot, filter, keep the best)."""

    def __init__(self, visits: pa.Table, params: Any, cases: pa.Table) -> None:
        self.v = visits.to_pandas()
        self.p = params
        self.cases = cases.to_pandas()

    def _pairs(self, idx: Any, exclude: Any) -> Any:
        import pandas as pd

        p = self.p
        low = np.floor((idx["t_in"] - p.reach) / p.slot).astype("int64")
        high = np.floor((idx["t_out"] + p.tol) / p.slot).astype("int64")
        parts = []
        for k in range(p.offsets + 1):
            part = idx[high - low >= k].copy()
            part["tbin"] = low[high - low >= k] + k
            parts.append(part)
        probe = pd.concat(parts).rename(columns={"t_in": "src_in", "t_out": "src_out"})
        pairs = probe.merge(self.v, on=["place_id", "tbin"])
        keep = (pairs["t_in"] <= pairs["src_out"] + p.tol) & (
            pairs["t_out"] >= pairs["src_in"] - p.tol
        )
        pairs = pairs[keep & ~pairs["pid"].isin(exclude)].rename(columns={"pid": "contact_pid"})
        pairs["overlap"] = np.minimum(pairs["t_out"], pairs["src_out"]) - np.maximum(
            pairs["t_in"], pairs["src_in"]
        )
        return pairs

    def first(self) -> Any:
        idx = self.v.merge(self.cases, on="pid")
        idx = idx[(idx["t_out"] >= idx["win_start"]) & (idx["t_in"] <= idx["win_end"])]
        idx = idx.rename(columns={"pid": "src_pid"})
        idx = idx[["src_pid", "place_id", "t_in", "t_out", "win_end"]]
        pairs = self._pairs(idx, self.cases["pid"])
        pairs["neg"] = -pairs["overlap"]
        order = ["src_pid", "contact_pid", "neg", "t_in", "place_id", "t_out", "src_in", "src_out"]
        best = pairs.sort_values(order).drop_duplicates(["src_pid", "contact_pid"])
        pairs["from"] = np.maximum(pairs["t_in"], pairs["src_in"])
        pairs["until"] = pairs["win_end"] + self.p.grace
        grouped = pairs.groupby("contact_pid")
        self.since = grouped["from"].min().rename("since").to_frame()
        self.since["until"] = grouped["until"].max()
        return best

    def second(self) -> Any:
        since = self.since.reset_index().rename(columns={"contact_pid": "pid"})
        idx = self.v.merge(since, on="pid")
        idx = idx[(idx["t_out"] >= idx["since"]) & (idx["t_in"] <= idx["until"])]
        idx = idx.rename(columns={"pid": "src_pid"})[["src_pid", "place_id", "t_in", "t_out"]]
        exclude = np.concatenate([self.cases["pid"].to_numpy(), since["pid"].to_numpy()])
        pairs = self._pairs(idx, exclude)
        pairs["neg"] = -pairs["overlap"]
        order = ["contact_pid", "neg", "t_in", "place_id", "src_pid", "t_out", "src_in", "src_out"]
        return pairs.sort_values(order).drop_duplicates(["contact_pid"])


# -- the run -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=0, help="default: scans / 10")
    parser.add_argument("--places", type=int, default=0, help="default: scans / 50")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--zipf", type=float, default=0.8)
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    from fangkong.tracing.colocation import Settings, cases_table, params_for
    from fangkong.tracing.engines import DuckDBEngine, binned
    from fangkong.tracing.extract import normalise

    persons = args.persons or args.scans // 10
    places = args.places or args.scans // 50
    start = time.perf_counter()
    table = generate(args.scans, persons, places, args.days, args.zipf, args.seed)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    extract = normalise(table, assumed_stay=timedelta(minutes=30))
    normalised = time.perf_counter() - start
    del table
    busiest = int(pc.max(pc.value_counts(extract.visits["place_id"]).field("counts")).as_py())
    print(
        f"{extract.rows:,} scans, {len(extract.persons):,} persons, {places:,} places "
        f"(zipf {args.zipf}; busiest place {busiest:,} scans), {args.days} days"
    )
    print(
        f"generated in {generated:.2f} s (numpy); extract checked and keyed in {normalised:.2f} s"
    )

    settings = Settings()
    cases = index_cases(extract, args.cases, args.seed)
    cases_t = cases_table(extract, cases, settings)
    params = params_for(extract, cases, settings)
    slot = settings.slot_minutes * 60

    duck = DuckDBEngine()
    start = time.perf_counter()
    duck.load(extract, slot=slot)
    print(f"DuckDB load {time.perf_counter() - start:.2f} s; {len(cases)} index cases")
    duck.prepare(cases=cases_t, params=params)
    first_s, first = timed(duck.first, args.reps)
    second_s, second = timed(duck.second, args.reps)
    first, second = canonical(first), canonical(second)
    rows: list[tuple[str, float, float, str]] = [
        ("DuckDB, time slots (ours)", first_s, second_s, "")
    ]
    print(
        f"first degree: {first.num_rows:,} (case, contact) pairs; second degree: {second.num_rows:,} persons"
    )

    def same(label: str, f: pa.Table | None, s: pa.Table | None) -> str:
        ok = (f is None or canonical(f).equals(first)) and (
            s is None or canonical(s).equals(second)
        )
        if not ok:
            print(f"!! {label}: a different answer")
        return "same" if ok else "DIFFERENT"

    if not args.no_naive:
        naive_first, naive_second = naive_sql()
        con = duck.con

        def n_first() -> pa.Table:
            con.execute(f"CREATE OR REPLACE TEMP TABLE first_degree AS {naive_first}")
            return con.sql("SELECT * FROM first_degree").to_arrow_table()

        nf_s, nf = timed(n_first, 1)
        ns_s, ns = timed(lambda: con.sql(naive_second).to_arrow_table(), 0)
        rows.append(("DuckDB, range join on place", nf_s, ns_s, same("naive", nf, ns)))

    if not args.no_pandas:
        start = time.perf_counter()
        job = PandasJob(binned(extract, slot), params, cases_t)
        print(f"pandas load {time.perf_counter() - start:.2f} s")
        pf_s, pf = timed(job.first, 1)
        ps_s, ps = timed(job.second, 0)
        rows.append(
            (
                "pandas, time slots",
                pf_s,
                ps_s,
                same("pandas", pa.Table.from_pandas(pf), pa.Table.from_pandas(ps)),
            )
        )
        del job

    if not args.no_spark:
        from fangkong.tracing.engines import SparkEngine, spark_session

        start = time.perf_counter()
        session = spark_session(args.master, **{"spark.driver.memory": "4g"})
        session.sparkContext.setLogLevel("ERROR")
        started = time.perf_counter() - start
        spark = SparkEngine(session)
        start = time.perf_counter()
        spark.load(extract, slot=slot)
        loaded = time.perf_counter() - start
        spark.prepare(cases=cases_t, params=params)
        sf_s, sf = timed(spark.first, 1)
        ss_s, ss = timed(spark.second, 1)
        print(
            f"Spark {args.master}: session {started:.1f} s, load (Parquet, cached) {loaded:.1f} s"
        )
        rows.append((f"Spark {args.master}, same SQL", sf_s, ss_s, same("spark", sf, ss)))
        spark.close()
        session.stop()

    print()
    print(f"{'method':34} {'first s':>9} {'/ ours':>7} {'second s':>9} {'/ ours':>7}  answer")
    for label, f_s, s_s, answer in rows:
        print(
            f"{label:34} {f_s:9.3f} {f_s / first_s:6.1f}x {s_s:9.3f} {s_s / second_s:6.1f}x  {answer}"
        )
    print()
    print(
        f"targets: first <= 0.1 s ({first_s:.3f}), second <= 1.5 s ({second_s:.3f}); "
        "pandas >= 30x / 35x, range join >= 15x on second"
    )


if __name__ == "__main__":
    main()
