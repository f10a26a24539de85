"""Background jobs of the registry (thin; the logic is in import_jobs.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.people.import_jobs import run_job


@task()
def import_people_task(job_id: int) -> None:
    run_job(job_id, side_connection=True)
