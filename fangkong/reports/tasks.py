"""Background jobs of daily reports (thin; the logic is in services.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.reports.services import flag_missing


@task()
def flag_missing_task() -> int:
    return flag_missing()
