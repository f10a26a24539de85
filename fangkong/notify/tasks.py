"""Background jobs of notifications (thin; the logic is in services.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.notify.services import send_due


@task()
def send_due_task() -> dict[str, int]:
    return send_due()
