"""Background jobs of the re-check (thin; the logic is in `recheck.py`)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django_tasks import task

from fangkong.control import recheck


@task()
def recheck_task(run_id: int) -> int:
    # The reasons are stored as written: in the installation's language, as screening's.
    with translation.override(settings.LANGUAGE_CODE):
        return recheck.recheck_run(run_id).proposed


@task()
def rules_due_task() -> int:
    return recheck.rules_due_today()
