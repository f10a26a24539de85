"""Run the scheduler and the task worker in one process: `fangkong jobs`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connection
from django.utils.crypto import get_random_string

from fangkong.core import workers
from fangkong.core.schedule import tick

logger = logging.getLogger(__name__)
BEAT_SECONDS = 30.0


def run_queued(worker_id: str = "") -> int:
    """Run every queued task once, then return how many ran.

    Claims and runs tasks the way django-tasks-db's worker does, but without its
    per-loop `close_old_connections()`: the caller (the `jobs` loop) manages connections,
    and a test calling this inside its transaction keeps its connection."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id or get_random_string(20),
        excluded_queue_names=[],
    )
    ran = 0
    while True:
        ready = DBTaskResult.objects.ready().filter(backend_name=DEFAULT_TASK_BACKEND_ALIAS)
        with exclusive_transaction(ready.db):
            task_result = ready.get_locked()
            if task_result is not None:
                task_result.claim(worker.worker_id)
        if task_result is None:
            return ran
        worker.run_task(task_result)
        ran += 1


class Command(BaseCommand):
    help = "Enqueue periodic jobs when due and run queued tasks, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="one tick and one batch, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = get_random_string(20)
        workers.worker_started(worker_id)
        stop = threading.Event()
        beat = threading.Thread(target=_beat, args=(worker_id, stop), daemon=True)
        beat.start()
        # SIGTERM (systemd, `fangkong serve`) or Ctrl-C: finish the task at hand, leave
        # the loop and unregister, rather than die mid-task and wait for a sweep.
        quit_ = threading.Event()
        if not options["once"]:  # a test's `call_command("jobs", "--once")` keeps pytest's
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda _s, _f: quit_.set())
        try:
            while not quit_.is_set():
                self._sweep()
                started = tick()
                if started:
                    self.stdout.write(f"enqueued: {', '.join(started)}")
                run_queued(worker_id)
                if options["once"]:
                    return
                quit_.wait(options["interval"])
                # Like a request boundary: drop connections the database closed meanwhile.
                close_old_connections()
        finally:
            stop.set()
            workers.worker_stopped(worker_id)

    def _sweep(self) -> None:
        swept = workers.sweep()
        if swept.resumed or swept.failed:
            self.stdout.write(
                f"tasks of dead workers: {len(swept.resumed)} queued again, "
                f"{len(swept.failed)} failed"
            )


def _beat(worker_id: str, stop: threading.Event) -> None:
    """The heartbeat, on its own connection: the main thread may be inside a long task."""
    try:
        while not stop.wait(BEAT_SECONDS):
            try:
                workers.worker_beat(worker_id)
            except DatabaseError:
                # SQLite's single writer may hold the database for a while; the next
                # beat will do (on this host the sweep trusts the process table anyway).
                logger.debug("heartbeat of worker %s skipped", worker_id)
    finally:
        connection.close()
