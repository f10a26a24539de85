"""Import jobs: the preview stored on the job, and the commit run outside the request.

One mechanism for every import of a held file: the registry's ("people", here) and the
lists pushed from above ("pushed", registered by screening, which this layer does not
import). The commit runs as a django-tasks task (`people.tasks.import_job_task`),
enqueued in the request's transaction (a crash between the two cannot leave a job
"queued" with no task) and run by the `fangkong jobs` worker; a worker killed mid-import
leaves nothing written, and the stale-task sweep (`core.workers`) queues the job again
(`import_resumed`) or, after three attempts, fails it (`import_interrupted`).
`run_job(job_id)` hands the job to its kind's runner, which re-reads the held file,
re-validates it with the user's choices and commits. Progress is written to the job
row from a separate connection on PostgreSQL (the commit's own transaction would hide
it until the end); on SQLite, whose single writer is the commit itself, the page shows
"running" until it is done. A job already done is not run again: a task that runs
twice creates nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import uploads
from fangkong.core.tabular import Limits, Table, TableError
from fangkong.core.uploads import UploadKind
from fangkong.people.import_stream import StreamOutcome, import_people_stream
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
# A large registry file (spooled to disk by Django) is read row by row (import_stream).
PEOPLE_UPLOAD = UploadKind("people.import", streams=True)
_LIVE: dict[int, int] = {}
_LOCK = threading.Lock()


def options_of(job: ImportJob) -> ImportOptions:
    return ImportOptions(
        filename=job.filename,
        default_code=job.default_code,
        valid_only=job.valid_only,
        mapping=job.mapping,
        decisions=job.decisions,
        ask_columns=True,
    )


def store_preview(job: ImportJob, plan: ImportPlan) -> None:
    job.rows_total = plan.rows_total
    job.counts = plan.counts
    errors = [{"row": 0, "column": "", "value": "", "message": m} for m in plan.file_errors]
    errors += [e.as_dict() for e in sorted(plan.errors, key=lambda e: e.row)]
    job.errors = errors[:MAX_STORED_ERRORS]
    job.error_count = len(errors)
    job.warnings = [w.as_dict() for w in plan.warnings[:MAX_STORED_ERRORS]]
    job.confirmations = [c.as_dict() for c in plan.confirmations]
    job.message = " ".join(plan.file_errors)
    job.save()


def store_stream_preview(job: ImportJob, out: StreamOutcome) -> None:
    """`store_preview` for a file read in parts: its counts and errors. Its uncertain
    matches cannot be listed for a decision row by row (they are not kept); they block
    the import with a message saying so."""
    job.rows_total = out.rows_total
    job.counts = out.counts
    messages = list(out.file_errors)
    if out.confirmations:
        messages.append(
            ngettext(
                "%(n)d row may be a person already registered. A file this large is not "
                "confirmed row by row: import those rows in a smaller file.",
                "%(n)d rows may be persons already registered. A file this large is not "
                "confirmed row by row: import those rows in a smaller file.",
                out.confirmations,
            )
            % {"n": out.confirmations}
        )
    errors = [{"row": 0, "column": "", "value": "", "message": m} for m in messages]
    errors += [e.as_dict() for e in sorted(out.errors, key=lambda e: e.row)]
    job.errors = errors[:MAX_STORED_ERRORS]
    job.error_count = out.error_count + len(messages)
    job.warnings = []
    job.confirmations = []
    job.message = " ".join(messages)
    job.save()


def plan_stream(job: ImportJob, source: uploads.Received | None = None) -> None:
    """Check a held (or just received) large file part by part, as its import will,
    and store what the preview shows. Nothing is written."""
    owner = job.owner
    if owner is None or (source is None and job.upload is None):
        return
    held = source or job.upload
    assert held is not None  # noqa: S101 - narrowed above, for the type checker
    with uploads.held_file(held) as path:
        out = import_people_stream(
            path,
            scope_for_user(owner),
            options_of(job),
            actor=owner,
            source="",
            limits=Limits.from_settings(),
            dry_run=True,
        )
    store_stream_preview(job, out)


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


@dataclass
class Outcome:
    """What a kind's runner reports: the job's final status and its numbers."""

    status: str
    counts: dict[str, int] = field(default_factory=dict)
    rows_done: int = 0
    message: str = ""


# kind -> runner(job, progress). A runner raises TableError with a message for the user
# when the file cannot be imported; anything else is logged and reported as a failure.
Runner = Callable[[ImportJob, Callable[[int], None]], Outcome]
_RUNNERS: dict[str, Runner] = {}


def register_kind(kind: str, runner: Runner) -> None:
    """An import run by the jobs worker (in `AppConfig.ready`)."""
    _RUNNERS[kind] = runner


def start_job(job: ImportJob) -> None:
    if getattr(settings, "FANGKONG_IMPORT_SYNC", False):
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
        run_job(job.pk)
        return

    from fangkong.people.tasks import import_job_task

    # The task's row is in the same database: queued in the same transaction as the
    # job's status, a crash between the two cannot leave a job "queued" with no task.
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
        import_job_task.enqueue(job.pk)


def import_resumed(args: list[Any], kwargs: dict[str, Any], reason: str) -> None:
    """The stale-task sweep queued the job's task again (its worker died mid-import; the
    import's one transaction was rolled back, and the held file is still there)."""
    ImportJob.objects.filter(pk=args[0], status=ImportStatus.RUNNING).update(
        status=ImportStatus.QUEUED, rows_done=0, updated_at=timezone.now()
    )


def import_interrupted(args: list[Any], kwargs: dict[str, Any], reason: str) -> None:
    """The sweep gave the job's task up: its worker died on every attempt."""
    ImportJob.objects.filter(
        pk=args[0], status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)
    ).update(
        status=ImportStatus.FAILED,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
        message=_(
            "The import was interrupted (the background worker stopped) and nothing was "
            "written; upload the file again."
        ),
    )


def run_job(job_id: int, *, side_connection: bool = False) -> None:
    """Run a queued job through its kind's runner; a job already done is left alone."""
    job = ImportJob.objects.select_related("upload", "owner").get(pk=job_id)
    if job.status == ImportStatus.DONE:
        return
    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.RUNNING)
    reporter = _Reporter(job_id, side_connection=side_connection)
    try:
        outcome = _RUNNERS[job.kind](job, reporter)
        _finish(
            job_id,
            outcome.status,
            counts=outcome.counts,
            rows_done=outcome.rows_done,
            message=outcome.message,
        )
    except TableError as exc:
        _finish(job_id, ImportStatus.FAILED, message=str(exc))
    except Exception:
        logger.exception("%s import job %s failed", job.kind, job_id)
        _finish(job_id, ImportStatus.FAILED, message=_("The import failed; nothing was written."))
    finally:
        reporter.close()
        with _LOCK:
            _LIVE.pop(job_id, None)


def _run_people(job: ImportJob, progress: Callable[[int], None]) -> Outcome:
    """The registry: validate the held file again with the user's choices, then commit."""
    if job.upload is None or job.owner is None:
        raise TableError(_("The file is no longer held; upload it again."))
    owner = job.owner
    if job.upload.chunked:
        return _run_people_stream(job, owner, progress)

    def apply(table: Table) -> tuple[ImportPlan, dict[str, int]]:
        plan = plan_people_import(table, scope_for_user(owner), options_of(job))
        if plan.blocked:
            raise uploads.Refused(plan)
        source = f"import:{job.filename}"
        return plan, commit_plan(plan=plan, actor=owner, source=source, progress=progress)

    try:
        plan, result = uploads.commit(job.upload, PEOPLE_UPLOAD, apply)
    except uploads.Refused as refused:
        store_preview(job, refused.payload)
        return Outcome(
            ImportStatus.FAILED,
            counts=job.counts,
            message=_("The file has errors; nothing was imported."),
        )
    registry_recount()
    audit_record(
        action=AuditAction.IMPORT,
        actor=owner,
        object_repr=job.filename[:200],
        detail={"kind": "people", "source": "web", **result},
    )
    return Outcome(ImportStatus.DONE, counts=result, rows_done=plan.rows_total)


def _run_people_stream(job: ImportJob, owner: Any, progress: Callable[[int], None]) -> Outcome:
    """A large file: validated again and written part by part from its held pieces
    (import_stream), in one transaction with the dropping of the held file."""
    upload = job.upload
    assert upload is not None  # noqa: S101 - checked by the caller
    with uploads.held_file(upload) as path, transaction.atomic():
        out = import_people_stream(
            path,
            scope_for_user(owner),
            options_of(job),
            actor=owner,
            source=f"import:{job.filename}",
            limits=Limits.from_settings(),
            progress=progress,
        )
        if out.written is None:
            store_stream_preview(job, out)
            return Outcome(
                ImportStatus.FAILED,
                counts=job.counts,
                message=_("The file has errors; nothing was imported."),
            )
        uploads.discard(upload)
    registry_recount()
    audit_record(
        action=AuditAction.IMPORT,
        actor=owner,
        object_repr=job.filename[:200],
        detail={"kind": "people", "source": "web", "streamed": True, **out.written},
    )
    return Outcome(ImportStatus.DONE, counts=out.written, rows_done=out.rows_total)


register_kind("people", _run_people)


def _finish(job_id: int, status: str, **values: Any) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=status, finished_at=timezone.now(), updated_at=timezone.now(), **values
    )
