"""Background jobs of daily reports (thin; the logic is in services.py, stats.py and
bulletin.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.reports import bulletin, stats
from fangkong.reports.services import flag_missing


@task()
def flag_missing_task() -> int:
    return flag_missing()


@task()
def refresh_stats_task() -> int:
    return stats.refresh_now()


@task()
def bulletins_task() -> int:
    return len(bulletin.generate_due())
