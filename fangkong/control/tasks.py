"""Background jobs of control (thin; the logic is in the modules they call)."""

from __future__ import annotations

from django_tasks import task

from fangkong.control import checks


@task()
def missed_checks_task() -> int:
    return len(checks.missed_checks())
