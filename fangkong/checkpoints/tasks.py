"""Background jobs of checkpoints (thin; the logic is in rosters.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.checkpoints import rosters


@task()
def late_shifts_task() -> int:
    return rosters.late_shifts_alert()
