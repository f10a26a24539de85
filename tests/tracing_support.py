"""Synthetic extracts for the co-location tests and a brute-force reference of the job's
definition (domain-rules R1.1.1, R1.2.1) that the engines are checked against."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from fangkong.tracing.colocation import IndexCase, Params, Settings, params_for
from fangkong.tracing.extract import Extract, from_rows

T0 = datetime(2022, 6, 1, 0, 0, tzinfo=UTC)


def random_extract(seed: int, *, persons: int = 60, places: int = 6, scans: int = 600):
    """Scans over 5 days at a few places (so that people meet), stays of 5 minutes to
    3 hours (longer than a slot) or none (the assumed stay)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(scans):
        start = T0 + timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        stay = rng.choice([None, *(timedelta(minutes=m) for m in (5, 20, 45, 90, 180))])
        rows.append(
            (
                f"p{rng.randrange(persons):03d}",
                rng.randrange(places),
                start,
                None if stay is None else start + stay,
            )
        )
    extract = from_rows(rows, assumed_stay=timedelta(minutes=30))
    cases = [
        IndexCase(
            f"p{i:03d}",
            T0 + timedelta(days=2, hours=rng.randrange(24)),
            T0 + timedelta(days=3, hours=rng.randrange(24)),
        )
        for i in rng.sample(range(persons), 3)
    ]
    return extract, cases


def reference(extract: Extract, cases: list[IndexCase], settings: Settings):
    """The job's answer computed the obvious way, as sorted rows like `Result.rows`."""
    params: Params = params_for(extract, cases, settings)
    v = extract.visits
    visits = list(
        zip(*(v[c].to_pylist() for c in ("pid", "place_id", "t_in", "t_out")), strict=True)
    )
    pids = extract.pids(c.person_key for c in cases)
    windows = {
        pids[c.person_key]: (
            int(c.onset.timestamp()) - settings.lookback_days * 86400,
            int(c.isolated_at.timestamp()),
        )
        for c in cases
        if c.person_key in pids
    }
    tol = params.tol

    def pairs(sources, exclude):
        for src, place, a, b in sources:
            for pid, s_place, s_in, s_out in visits:
                if pid in exclude or s_place != place:
                    continue
                if s_in <= b + tol and s_out >= a - tol:
                    yield (src, pid, place, s_in, s_out, a, b, min(s_out, b) - max(s_in, a))

    index_visits = [
        (pid, place, a, b)
        for pid, place, a, b in visits
        if pid in windows and b >= windows[pid][0] and a <= windows[pid][1]
    ]
    best: dict[tuple[int, int], tuple[int, ...]] = {}
    since: dict[int, int] = {}
    until: dict[int, int] = {}
    for row in pairs(index_visits, set(windows)):
        src, pid, place, s_in, s_out, a, b, overlap = row
        until[pid] = max(until.get(pid, 0), windows[src][1] + params.grace)
        key = (-overlap, s_in, place, s_out, a, b)
        old = best.get((src, pid))
        if old is None or key < (-old[7], old[3], old[2], old[4], old[5], old[6]):
            best[(src, pid)] = row
        since[pid] = min(since.get(pid, max(s_in, a)), max(s_in, a))
    first = sorted(best.values())
    second_sources = [
        (pid, place, a, b)
        for pid, place, a, b in visits
        if pid in since and b >= since[pid] and a <= until[pid]
    ]
    best2: dict[int, tuple[int, ...]] = {}
    for row in pairs(second_sources, set(windows) | set(since)):
        src, pid, place, s_in, s_out, a, b, overlap = row
        rank = (-overlap, s_in, place, src, s_out, a, b)
        old = best2.get(pid)
        if old is None or rank < (-old[7], old[3], old[2], old[0], old[4], old[5], old[6]):
            best2[pid] = row
    return first, sorted(best2.values())
