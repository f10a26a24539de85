"""Background job of retention (thin; the logic is in services.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.retention.services import purge_run


@task()
def purge_task() -> dict[str, int]:
    run = purge_run(actor_name="job:retention.purge")
    return {str(k): int(v) for k, v in run.counts.items()}
