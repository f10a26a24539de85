"""The co-location job: one SQL text, run unchanged by DuckDB and by Spark SQL (ADR 0026).

Every engine loads the same four relations and runs the same two statements:

* ``visits(pid, place_id, t_in, t_out, tbin)`` — the extract, epoch seconds; ``tbin`` is
  the time slot of the arrival (``t_in // slot``);
* ``cases(pid, win_start, win_end)`` — the index cases and their windows (the look-back
  before onset or sample, until isolation);
* ``params(tol, reach, slot, grace)`` — the tolerance, how far before an index visit a
  contact's arrival can lie (the longest stay + tolerance), the slot width, and how long
  after a case's isolation its contacts are taken to be under control;
* ``offsets(k)`` — 0..K, so that each index visit is repeated once per slot a contact's
  arrival could fall in, without any engine's own "explode" function.

The join key is ``(place_id, tbin)``: the time-slot binning plan of the reference
(a hot place's scans are split by slot, not all compared with all). The overlap is then
checked exactly. A contact visit [s, e] and an index visit [a, b] are co-located when
``s <= b + tol`` and ``e >= a - tol``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import pyarrow as pa
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.tracing.extract import Extract

# The index visits of the step, each once per candidate slot.
_PROBE = """
probe AS (
    SELECT i.src_pid, i.place_id, i.t_in, i.t_out, i.win_end, p.tol, p.grace,
           CAST(FLOOR((i.t_in - p.reach) / p.slot) AS BIGINT) + o.k AS tbin
    FROM idx i
    CROSS JOIN params p
    JOIN offsets o
      ON o.k <= CAST(FLOOR((i.t_out + p.tol) / p.slot) AS BIGINT)
              - CAST(FLOOR((i.t_in - p.reach) / p.slot) AS BIGINT)
),
pairs AS (
    SELECT pr.src_pid, s.pid AS contact_pid, s.place_id, s.t_in, s.t_out,
           pr.t_in AS src_in, pr.t_out AS src_out, pr.win_end + pr.grace AS until_,
           LEAST(s.t_out, pr.t_out) - GREATEST(s.t_in, pr.t_in) AS overlap
    FROM probe pr
    JOIN visits s ON s.place_id = pr.place_id AND s.tbin = pr.tbin
    WHERE s.t_in <= pr.t_out + pr.tol
      AND s.t_out >= pr.t_in - pr.tol
      AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.pid = s.pid)
      {exclude}
)
"""

# The statements are built once, from this module's fixed fragments only.
FIRST_DEGREE_SQL = "".join(
    (
        """
WITH idx AS (
    SELECT v.pid AS src_pid, v.place_id, v.t_in, v.t_out, c.win_end
    FROM visits v
    JOIN cases c ON v.pid = c.pid
    WHERE v.t_out >= c.win_start AND v.t_in <= c.win_end
),""",
        _PROBE.replace("{exclude}", ""),
        """,
ranked AS (
    SELECT src_pid, contact_pid, place_id, t_in, t_out, src_in, src_out, overlap,
           ROW_NUMBER() OVER (
               PARTITION BY src_pid, contact_pid
               ORDER BY overlap DESC, t_in, place_id, t_out, src_in, src_out
           ) AS rn,
           MIN(GREATEST(t_in, src_in)) OVER (PARTITION BY contact_pid) AS since,
           MAX(until_) OVER (PARTITION BY contact_pid) AS until_
    FROM pairs
)
SELECT src_pid, contact_pid, place_id, t_in, t_out, src_in, src_out, overlap, since, until_
FROM ranked
WHERE rn = 1
""",
    )
)

# Second degree: the first-degree contacts' visits from their first contact with a case
# until they are under control (domain-rules R1.2.1; taken as the case's isolation plus
# the rule's hours to put contacts under control), against everyone who is neither a
# case nor a first-degree contact; one row per person, their strongest link. Sorting
# millions of pairs by the whole tie order is the expensive part, so the best
# (overlap, arrival) is found by a grouped MIN of both packed into one BIGINT (overlap
# within ±2^29 s, arrival before 2106), and only the pairs that reach it are ranked.
SECOND_DEGREE_SQL = "".join(
    (
        """
WITH fc AS (
    SELECT contact_pid AS pid, MIN(since) AS since, MAX(until_) AS until_
    FROM first_degree
    GROUP BY contact_pid
),
idx AS (
    SELECT v.pid AS src_pid, v.place_id, v.t_in, v.t_out, CAST(0 AS BIGINT) AS win_end
    FROM visits v
    JOIN fc ON v.pid = fc.pid
    WHERE v.t_out >= fc.since AND v.t_in <= fc.until_
),""",
        _PROBE.replace("{exclude}", "AND NOT EXISTS (SELECT 1 FROM fc WHERE fc.pid = s.pid)"),
        """,
keyed AS (
    SELECT src_pid, contact_pid, place_id, t_in, t_out, src_in, src_out, overlap,
           (CAST(536870912 AS BIGINT) - overlap) * 4294967296 + t_in AS pack
    FROM pairs
),
best AS (
    SELECT contact_pid AS best_pid, MIN(pack) AS best_pack FROM keyed GROUP BY contact_pid
),
ranked AS (
    SELECT k.*,
           ROW_NUMBER() OVER (
               PARTITION BY contact_pid
               ORDER BY overlap DESC, t_in, place_id, src_pid, t_out, src_in, src_out
           ) AS rn
    FROM keyed k
    JOIN best b ON k.contact_pid = b.best_pid AND k.pack = b.best_pack
)
SELECT src_pid, contact_pid, place_id, t_in, t_out, src_in, src_out, overlap,
       GREATEST(t_in, src_in) AS since
FROM ranked
WHERE rn = 1
""",
    )
)

COLUMNS = ("src_pid", "contact_pid", "place_id", "t_in", "t_out", "src_in", "src_out", "overlap")


@dataclass(frozen=True)
class Settings:
    """The job's rules, resolved to numbers (see :mod:`fangkong.tracing.rules`)."""

    lookback_days: int = 2
    tolerance_minutes: int = 0
    assumed_stay_minutes: int = 30
    slot_minutes: int = 60
    second_degree: bool = True
    contacts_controlled_within_hours: int = 24


@dataclass(frozen=True)
class IndexCase:
    """An index person and their window: from ``lookback_days`` before onset (or the first
    positive sample) until isolation."""

    person_key: str
    onset: datetime
    isolated_at: datetime


@dataclass(frozen=True)
class Params:
    tol: int
    reach: int
    slot: int
    grace: int
    offsets: int

    def row(self) -> dict[str, int]:
        return {"tol": self.tol, "reach": self.reach, "slot": self.slot, "grace": self.grace}


class Engine(Protocol):
    """An engine runs the module's SQL over the relations described above."""

    name: str

    def load(self, extract: Extract, *, slot: int) -> None: ...

    def close(self) -> None: ...

    def run(
        self, *, cases: pa.Table, params: Params, second_degree: bool
    ) -> tuple[pa.Table, pa.Table | None]: ...


def cases_table(extract: Extract, cases: list[IndexCase], settings: Settings) -> pa.Table:
    pids = extract.pids(c.person_key for c in cases)
    rows = [
        (
            pids[c.person_key],
            int(c.onset.timestamp()) - settings.lookback_days * 86400,
            int(c.isolated_at.timestamp()),
        )
        for c in cases
        if c.person_key in pids
    ]
    return pa.table(
        {
            "pid": pa.array([r[0] for r in rows], pa.int64()),
            "win_start": pa.array([r[1] for r in rows], pa.int64()),
            "win_end": pa.array([r[2] for r in rows], pa.int64()),
        }
    )


def params_for(extract: Extract, cases: list[IndexCase], settings: Settings) -> Params:
    slot = settings.slot_minutes * 60
    tol = settings.tolerance_minutes * 60
    longest = extract.max_stay()
    reach = longest + tol
    # Slots an index visit's candidates span: its own length (at most the longest stay)
    # plus the reach before it and the tolerance after it.
    offsets = (longest + reach + tol) // slot + 2
    grace = settings.contacts_controlled_within_hours * 3600
    return Params(tol=tol, reach=reach, slot=slot, grace=grace, offsets=offsets)


@dataclass(frozen=True)
class Result:
    """First- and second-degree rows (columns :data:`COLUMNS` plus ``since``), pids as in
    the extract."""

    first: pa.Table
    second: pa.Table | None

    def rows(self, degree: int) -> list[tuple[int, ...]]:
        table = self.first if degree == 1 else self.second
        if table is None:
            return []
        return sorted(
            tuple(int(v) for v in row)
            for row in zip(*(table[c].to_pylist() for c in COLUMNS), strict=True)
        )


def colocate(
    engine: Engine, extract: Extract, cases: list[IndexCase], settings: Settings
) -> Result:
    """Runs the job for `cases` on `engine` (which must have loaded `extract`)."""
    first, second = engine.run(
        cases=cases_table(extract, cases, settings),
        params=params_for(extract, cases, settings),
        second_degree=settings.second_degree,
    )
    return Result(first=first, second=second)


@dataclass(frozen=True)
class Contact:
    """A contact found by co-location, with what the reason is made of."""

    person_key: str
    degree: int
    source_key: str  # the index case (degree 1) or the close contact (degree 2)
    place_id: int
    t_in: datetime
    t_out: datetime
    source_in: datetime
    source_out: datetime
    overlap_seconds: int

    def reason(self, place: str, source: str = "") -> str:
        """The reason in words, e.g. "同在 太子农庄 06-01 12:05-12:50, 与病例重叠 40 分钟"."""
        start = timezone.localtime(self.t_in)
        end = timezone.localtime(self.t_out)
        words = {
            "place": place,
            "start": f"{start:%m-%d %H:%M}",
            "end": f"{end:%H:%M}" if end.date() == start.date() else f"{end:%m-%d %H:%M}",
            "minutes": abs(self.overlap_seconds) // 60,
            "source": source or self.source_key[:6],
        }
        if self.degree == 1 and self.overlap_seconds > 0:
            return (
                _(
                    "Both at %(place)s %(start)s–%(end)s, overlapping the case by %(minutes)d minutes"
                )
                % words
            )
        if self.degree == 1:
            return (
                _(
                    "At %(place)s %(start)s–%(end)s, %(minutes)d minutes apart from the case (within the tolerance)"
                )
                % words
            )
        if self.overlap_seconds > 0:
            return (
                _(
                    "At %(place)s %(start)s–%(end)s with close contact %(source)s, overlapping by %(minutes)d minutes"
                )
                % words
            )
        return (
            _(
                "At %(place)s %(start)s–%(end)s, %(minutes)d minutes apart from close contact %(source)s (within the tolerance)"
            )
            % words
        )


def contacts(extract: Extract, result: Result) -> list[Contact]:
    """The result's rows as contacts, first degree first, each person once per source."""

    def moment(seconds: int) -> datetime:
        return datetime.fromtimestamp(seconds, tz=UTC)

    found = []
    for degree in (1, 2):
        for src, pid, place, t_in, t_out, s_in, s_out, overlap in result.rows(degree):
            found.append(
                Contact(
                    person_key=extract.key(pid),
                    degree=degree,
                    source_key=extract.key(src),
                    place_id=place,
                    t_in=moment(t_in),
                    t_out=moment(t_out),
                    source_in=moment(s_in),
                    source_out=moment(s_out),
                    overlap_seconds=overlap,
                )
            )
    return found
