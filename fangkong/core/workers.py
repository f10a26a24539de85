"""Workers that die mid-task, and the sweep that finds their tasks.

django-tasks-db marks a task "running" when a worker claims it and "successful" or
"failed" when the worker says so. A worker killed in between (SIGKILL, a power cut, the
OOM killer) says nothing, and the task would stay "running" forever: never retried,
and whatever waits on it (an import job's page) waiting too. The database itself is
consistent after such a kill, since every write is in a transaction that was either
committed or is rolled back; only the bookkeeping is left behind.

So each `fangkong jobs` process registers itself (`Worker`: host, process id, a
heartbeat), and `sweep()` — run by every `jobs` process when it starts and before each
batch — looks at the running tasks whose worker is dead: on the same host, its process
is gone; elsewhere, its heartbeat is older than `FANGKONG_WORKER_STALE_SECONDS`. Such a
task is either put back in the queue (a task registered as resumable, up to its number
of attempts: re-running it must finish it exactly once) or marked failed with the
reason, and its owner's hook is told (an import job shows the reason on its page).
Tasks claimed by a worker that never registered (django-tasks-db's own `db_worker`)
are left alone: nothing tells whether it lives.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

LOST = "fangkong.core.workers.WorkerLost"


class WorkerLost(RuntimeError):
    """The class a swept task is failed with (its path is what the task row keeps)."""


@dataclass(frozen=True)
class Interrupted:
    """What to do with a task of `task` (its dotted path) whose worker died.

    `attempts`: how many times it may be claimed in all; below that it is queued again
    (it must be safe to run again: its writes are atomic, and a re-run finds what a
    finished run left). `on_resumed` / `on_failed`: dotted functions called with the
    task's args, kwargs and the reason (in the sweep's transaction)."""

    task: str
    attempts: int = 1
    on_resumed: str = ""
    on_failed: str = ""


INTERRUPTED: dict[str, Interrupted] = {}


def register(policy: Interrupted) -> None:
    INTERRUPTED[policy.task] = policy


@dataclass
class SweepResult:
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def stale_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "FANGKONG_WORKER_STALE_SECONDS", 300)))


def this_host() -> str:
    return socket.gethostname()[:255]


def worker_started(worker_id: str, now: datetime | None = None) -> None:
    from fangkong.core.models import Worker

    now = now or timezone.now()
    Worker.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": this_host(), "pid": os.getpid(), "seen_at": now},
    )


def worker_beat(worker_id: str, now: datetime | None = None) -> None:
    from fangkong.core.models import Worker

    Worker.objects.filter(worker_id=worker_id).update(seen_at=now or timezone.now())


def worker_stopped(worker_id: str) -> None:
    from fangkong.core.models import Worker

    Worker.objects.filter(worker_id=worker_id).delete()


def _process_started(pid: int) -> datetime | None:
    """When process `pid` started, from /proc (Linux); None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    # Field 22, counted after the command name, which may hold spaces and brackets.
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), tz=UTC)


def _alive(pid: int, registered_at: datetime) -> bool:
    """Whether the worker registered at `registered_at` with this pid still runs. A
    process that holds the pid but started after the registration is another one: in a
    container restarted with the same hostname the new worker often gets the old pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    started = _process_started(pid)
    return started is None or started <= registered_at + timedelta(seconds=2)


def dead_workers(now: datetime | None = None) -> dict[str, str]:
    """The registered workers that are dead, with why (for the task's failure)."""
    from fangkong.core.models import Worker

    now = now or timezone.now()
    host = this_host()
    dead: dict[str, str] = {}
    for w in Worker.objects.all():
        if w.host == host:
            # The process table is the truth on this host; a heartbeat may lag behind a
            # long write (SQLite's single writer holds it off).
            if not _alive(w.pid, w.started_at):
                dead[w.worker_id] = f"process {w.pid} on {w.host} is gone"
        elif now - w.seen_at > stale_after():
            dead[w.worker_id] = (
                f"no heartbeat from {w.host}:{w.pid} since {w.seen_at:%Y-%m-%d %H:%M:%S}"
            )
    return dead


def _call(path: str, *args: Any) -> None:
    if path:
        hook: Callable[..., Any] = import_string(path)
        hook(*args)


def sweep(now: datetime | None = None) -> SweepResult:
    """Queue again or fail every running task whose worker is dead; forget dead workers."""
    from django.db import transaction
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from fangkong.core.models import Worker

    now = now or timezone.now()
    result = SweepResult()
    dead = dead_workers(now)
    if not dead:
        return result
    for task in DBTaskResult.objects.running().order_by("started_at"):
        worker = task.worker_ids[-1] if task.worker_ids else ""
        if worker not in dead:
            continue
        policy = INTERRUPTED.get(task.task_path, Interrupted(task.task_path))
        args, kwargs = task.args_kwargs.get("args", []), task.args_kwargs.get("kwargs", {})
        attempt = len(task.worker_ids)
        with transaction.atomic():
            # Conditional on the claim we saw: two sweepers at once act once.
            claimed = DBTaskResult.objects.filter(
                pk=task.pk, status=task.status, started_at=task.started_at
            )
            if attempt < policy.attempts:
                reason = f"worker lost ({dead[worker]}); queued again, attempt {attempt + 1}"
                if not claimed.update(status=TaskResultStatus.READY, started_at=None):
                    continue
                _call(policy.on_resumed, args, kwargs, reason)
                result.resumed.append(str(task.pk))
            else:
                reason = f"worker lost ({dead[worker]}) after {attempt} attempt(s)"
                if not claimed.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path=LOST,
                    traceback=f"{LOST}: {reason}\n",
                    return_value=None,
                ):
                    continue
                _call(policy.on_failed, args, kwargs, reason)
                result.failed.append(str(task.pk))
        logger.warning("task %s (%s): %s", task.pk, task.task_path, reason)
    # A dead worker's tasks are settled now; its row would only be looked at again.
    Worker.objects.filter(worker_id__in=list(dead)).delete()
    return result
