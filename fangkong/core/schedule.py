"""A small scheduler for periodic jobs on top of django-tasks.

Periodic jobs are data: a name, a task, and either an interval or a daily time (the
17:00-style deadlines). `tick()` enqueues every job whose current slot has not been
enqueued yet; the unique (name, slot) row makes that exactly-once even with two
schedulers running. The `fangkong jobs` command calls `tick()` and runs the queued tasks
in a loop; `make demo` starts it beside the web server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str  # dotted path to a django-tasks Task
    every: timedelta | None = None
    daily_at: time | None = None  # local time

    def slot(self, now: datetime) -> str | None:
        """The current slot's key, or None when a daily job's time has not come yet."""
        if self.every is not None:
            seconds = int(self.every.total_seconds())
            return str(int(now.timestamp()) // seconds)
        if self.daily_at is None:
            raise ValueError(f"periodic job {self.name} has neither `every` nor `daily_at`")
        local = timezone.localtime(now)
        if local.time() < self.daily_at:
            return None
        return local.date().isoformat()


PERIODIC: dict[str, Periodic] = {}


def register(job: Periodic) -> None:
    PERIODIC[job.name] = job


def tick(now: datetime | None = None, enqueue: Callable[[Any], Any] | None = None) -> list[str]:
    """Enqueue the jobs that are due; returns their names."""
    from fangkong.core.models import ScheduledRun

    now = now or timezone.now()
    started: list[str] = []
    for job in PERIODIC.values():
        slot = job.slot(now)
        if slot is None:
            continue
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(name=job.name, slot=slot)
                task = import_string(job.task)
                (enqueue or (lambda t: t.enqueue()))(task)
        except IntegrityError:
            continue
        started.append(job.name)
    return started
