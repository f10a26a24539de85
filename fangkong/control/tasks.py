"""Background jobs of control (thin; the logic is in the modules they call)."""

from __future__ import annotations

from django_tasks import task

from fangkong.control import checks, release, transfers


@task()
def missed_checks_task() -> int:
    return len(checks.missed_checks())


@task()
def propose_releases_task() -> int:
    return release.propose_releases()


@task()
def transfers_overdue_task() -> int:
    return transfers.escalate_overdue()
