"""Background jobs of the registry (thin; the logic is in import_jobs.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.people.import_jobs import run_job


@task()
def import_job_task(job_id: int) -> None:
    """Every import of a held file (the registry, pushed lists), by the job's kind."""
    run_job(job_id, side_connection=True)


# Tasks queued before the rename name the old path.
import_people_task = import_job_task
