"""Run the scheduler and the task worker in one process: `fangkong jobs`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils.crypto import get_random_string

from fangkong.core.schedule import tick


def run_queued(worker_id: str = "") -> None:
    """Run every queued task once, then return (django-tasks-db's worker in batch mode)."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["*"], interval=0, batch=True, backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False, max_tasks=None, worker_id=worker_id or get_random_string(20),
        excluded_queue_names=[],
    ).run()  # fmt: skip


class Command(BaseCommand):
    help = "Enqueue periodic jobs when due and run queued tasks, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="one tick and one batch, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = get_random_string(20)
        while True:
            close_old_connections()
            started = tick()
            if started:
                self.stdout.write(f"enqueued: {', '.join(started)}")
            run_queued(worker_id)
            if options["once"]:
                return
            time.sleep(options["interval"])
