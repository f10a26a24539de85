"""Background jobs of core (thin; the logic is in uploads.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.core.uploads import purge_stale


@task()
def purge_uploads_task() -> int:
    return purge_stale()
