"""Background jobs of the work-order engine (thin; the logic is in escalation.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.workorders.escalation import escalate_overdue


@task()
def escalate_overdue_task() -> dict[str, int]:
    return {str(k): v for k, v in escalate_overdue().items()}
