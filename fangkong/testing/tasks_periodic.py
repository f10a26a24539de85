"""Background job of periodic testing (thin, idempotent: one alert per town and day)."""

from __future__ import annotations

from django_tasks import task

from fangkong.testing.periodic import overdue_alerts


@task()
def overdue_alerts_task() -> int:
    return overdue_alerts()
