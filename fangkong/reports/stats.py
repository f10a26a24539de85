"""Pre-aggregated village numbers (`VillageDay`) for the dashboard and the bulletin.

A job recounts today (and yesterday, until it settles) every minute with the grouped
queries of metrics.py; the dashboard then reads a few hundred small rows instead of
recounting returnees, measures and orders under a county on every refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from fangkong.org.models import Jurisdiction, Level
from fangkong.reports.metrics import AT_TOWN, METRICS, compute, overdue_breakdown
from fangkong.reports.models import VillageDay

TREND_DAYS = 14
# Beside the metrics in `VillageDay.values`: {kind: open orders past due} and {days past
# due, "1" to "7" (or more): open orders}.
OVERDUE_BY_KIND = "overdue_by_kind"
OVERDUE_BY_AGE = "overdue_by_age"


def _villages() -> list[Jurisdiction]:
    return list(Jurisdiction.objects.filter(level=Level.VILLAGE).only("id", "path"))


def refresh(
    days: Iterable[date] | None = None,
    now: datetime | None = None,
    villages: Sequence[Jurisdiction] | None = None,
) -> int:
    """Recount the given days (today and yesterday by default) for every village (and,
    when not given villages, what each town counts at its own node); returns the number
    of rows written."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    towns: list[Jurisdiction] = []
    if villages is None:
        villages = _villages()
        towns = list(Jurisdiction.objects.filter(level=Level.TOWN).only("id", "path"))
    rows = []
    for day in days if days is not None else (today, today - timedelta(days=1)):
        overdue = overdue_breakdown(villages, day)
        for pk, counted in compute(METRICS, villages, day).items():
            kinds, ages = overdue.get(pk, ({}, {}))
            values: dict[str, Any] = {**counted, OVERDUE_BY_KIND: kinds, OVERDUE_BY_AGE: ages}
            rows.append(VillageDay(village_id=pk, day=day, values=values, refreshed_at=now))
        if towns:
            # What stands at a town's own node, under no village (`metrics.AT_TOWN`:
            # posts on the town's roads), kept in a row of the town for the dashboard.
            counted_at = compute(AT_TOWN, [*villages, *towns], day)
            for town in towns:
                values = {k: counted_at[town.pk][k] for k in sorted(AT_TOWN)}
                if not any(values.values()):
                    continue  # most towns have no post of their own: no row
                rows.append(
                    VillageDay(village_id=town.pk, day=day, values=values, refreshed_at=now)
                )
    VillageDay.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["village", "day"],
        update_fields=["values", "refreshed_at"],
        batch_size=500,
    )
    return len(rows)


def backfill(now: datetime | None = None, days: int = TREND_DAYS) -> int:
    """Count the (village, day) pairs of the trend window that were never counted (a new
    install, a new village); pairs already counted keep the numbers they had that
    evening."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    villages = _villages()
    wanted = [today - timedelta(days=n) for n in range(days)]
    have = set(VillageDay.objects.filter(day__in=wanted).values_list("village_id", "day"))
    written = 0
    for day in wanted:
        missing = [v for v in villages if (v.pk, day) not in have]
        if missing:
            written += refresh([day], now, missing)
    return written


def refresh_now(now: datetime | None = None) -> int:
    """The minute job: fill any gap in the trend window, then recount today and yesterday."""
    return backfill(now) + refresh(now=now)
