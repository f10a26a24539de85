"""Import jobs: the preview stored on the job, and the commit run outside the request.

The commit runs as a django-tasks task (`people.tasks.import_people_task`), enqueued
when the request's transaction commits and run by the `fangkong jobs` worker.
`run_job(job_id)` re-reads the held file, re-validates it with the user's decisions and
commits. Progress is written to the job row from a separate connection on PostgreSQL
(the commit's own transaction would hide it until the end); on SQLite, whose single
writer is the commit itself, the page shows "running" until it is done.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.tabular import TableError, read_table
from fangkong.people.importer import (
    MAX_STORED_ERRORS,
    ImportOptions,
    ImportPlan,
    commit_plan,
    plan_people_import,
    scope_for_user,
)
from fangkong.people.models import ImportJob, ImportStatus
from fangkong.people.services import registry_recount

logger = logging.getLogger(__name__)
_LIVE: dict[int, int] = {}
_LOCK = threading.Lock()


def options_of(job: ImportJob) -> ImportOptions:
    return ImportOptions(
        filename=job.filename, default_code=job.default_code, valid_only=job.valid_only,
        mapping=job.mapping, decisions=job.decisions,
    )  # fmt: skip


def store_preview(job: ImportJob, plan: ImportPlan) -> None:
    job.rows_total = plan.rows_total
    job.counts = plan.counts
    errors = [{"row": 0, "column": "", "value": "", "message": m} for m in plan.file_errors]
    errors += [e.as_dict() for e in sorted(plan.errors, key=lambda e: e.row)]
    job.errors = errors[:MAX_STORED_ERRORS]
    job.error_count = len(errors)
    job.confirmations = [c.as_dict() for c in plan.confirmations]
    job.message = " ".join(plan.file_errors)
    job.save()


def live_rows_done(job: ImportJob) -> int:
    with _LOCK:
        return _LIVE.get(job.pk, job.rows_done)


class _Reporter:
    def __init__(self, job_id: int, *, side_connection: bool) -> None:
        self.job_id = job_id
        self.side: Any = None
        # Synchronous runs share the caller's transaction, which holds the job row.
        if side_connection and connection.vendor == "postgresql":
            self.side = connections.create_connection("default")

    def __call__(self, done: int) -> None:
        with _LOCK:
            _LIVE[self.job_id] = done
        if self.side is not None:
            with self.side.cursor() as cursor:
                cursor.execute(
                    "UPDATE people_importjob SET rows_done = %s WHERE id = %s", [done, self.job_id]
                )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def start_job(job: ImportJob) -> None:
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    if getattr(settings, "FANGKONG_IMPORT_SYNC", False):
        run_job(job.pk)
        return

    from fangkong.people.tasks import import_people_task

    transaction.on_commit(lambda: import_people_task.enqueue(job.pk))


def run_job(job_id: int, *, side_connection: bool = False) -> None:
    """Validate the held file again with the user's choices, then commit it."""
    job = ImportJob.objects.select_related("upload", "owner").get(pk=job_id)
    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.RUNNING)
    reporter = _Reporter(job_id, side_connection=side_connection)
    try:
        if job.upload is None or job.owner is None:
            raise TableError(_("The file is no longer held; upload it again."))
        table = read_table(bytes(job.upload.data), job.filename, skip_title=True)
        plan = plan_people_import(table, scope_for_user(job.owner), options_of(job))
        if plan.blocked:
            store_preview(job, plan)
            _finish(job_id, ImportStatus.FAILED,
                    message=_("The file has errors; nothing was imported."))  # fmt: skip
            return
        result = commit_plan(plan=plan, actor=job.owner, source=f"import:{job.filename}",
                             progress=reporter)  # fmt: skip
        registry_recount()
        audit_record(action=AuditAction.IMPORT, actor=job.owner, object_repr=job.filename[:200],
                     detail={"kind": "people", "source": "web", **result})  # fmt: skip
        job.upload.delete()
        _finish(job_id, ImportStatus.DONE, counts=result, rows_done=plan.rows_total)
    except TableError as exc:
        _finish(job_id, ImportStatus.FAILED, message=str(exc))
    except Exception:
        logger.exception("people import job %s failed", job_id)
        _finish(job_id, ImportStatus.FAILED, message=_("The import failed; nothing was written."))
    finally:
        reporter.close()
        with _LOCK:
            _LIVE.pop(job_id, None)


def _finish(job_id: int, status: str, **values: Any) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=status, finished_at=timezone.now(), updated_at=timezone.now(), **values
    )
