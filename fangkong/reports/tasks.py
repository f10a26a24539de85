"""Background jobs of daily reports (thin; the logic is in services.py, stats.py and
bulletin.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.reports import bulletin, stats
from fangkong.reports.services import flag_missing
from fangkong.reports.teams import flag_missing_teams


@task()
def flag_missing_task() -> int:
    return flag_missing() + flag_missing_teams()


@task()
def refresh_stats_task() -> int:
    return stats.refresh_now()


@task()
def bulletins_task() -> int:
    return len(bulletin.generate_due())
