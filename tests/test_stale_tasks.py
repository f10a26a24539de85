"""The stale-task sweep: a task whose worker died is queued again (a resumable one, up to
its attempts) or failed with the reason; a live worker's task is left alone. The real
SIGKILL is in test_crash_recovery.py; here the dead worker is a row naming a process
that has exited, or a host that stopped beating."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fangkong.core import workers
from fangkong.core.management.commands.jobs import run_queued
from fangkong.core.models import Worker
from fangkong.people.models import ImportJob, ImportStatus, Person
from tests.test_people_import import A2, HEADER, _upload, csv_bytes, family

pytestmark = pytest.mark.django_db


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _dead_worker(name: str) -> str:
    Worker.objects.create(
        worker_id=name, host=workers.this_host(), pid=_dead_pid(), seen_at=timezone.now()
    )
    return name


def _queued_import(login) -> ImportJob:
    client = login("cadre_a")
    client.post(
        reverse("people:import_upload"),
        {"file": _upload("q.csv", csv_bytes([HEADER, *family("H1", A2, 1)]))},
    )
    job = ImportJob.objects.get()
    client.post(reverse("people:import_commit", args=[job.pk]), {"mode": "all"})
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    return job


def _claim(worker_id: str) -> DBTaskResult[..., object]:
    task = DBTaskResult.objects.ready().get()
    task.claim(worker_id)
    return task


def test_a_dead_workers_import_is_queued_again_and_finishes_once(world, login):
    job = _queued_import(login)
    # The job was queued with its task in one transaction (no commit hook to miss).
    assert DBTaskResult.objects.ready().count() == 1
    task = _claim(_dead_worker("w-dead"))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)

    swept = workers.sweep()

    assert swept.resumed == [str(task.pk)] and swept.failed == []
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.status == "READY" and job.status == ImportStatus.QUEUED
    assert not Worker.objects.filter(worker_id="w-dead").exists()
    assert run_queued() == 1
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Person.objects.count() == 3
    assert run_queued() == 0 and workers.sweep().resumed == []
    assert Person.objects.count() == 3


def test_after_its_attempts_the_task_and_the_job_fail_with_the_reason(world, login):
    job = _queued_import(login)
    for attempt in range(3):
        task = _claim(_dead_worker(f"w-dead-{attempt}"))
        swept = workers.sweep()
    assert swept.failed == [str(task.pk)]
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.status == "FAILED" and task.exception_class_path == workers.LOST
    assert "after 3 attempt(s)" in task.traceback and "is gone" in task.traceback
    assert job.status == ImportStatus.FAILED and job.finished_at is not None
    assert "interrupted" in job.message or "中断" in job.message
    assert Person.objects.count() == 0


def test_a_live_worker_is_left_alone_and_a_silent_remote_one_is_not(world, login):
    _queued_import(login)
    here = Worker.objects.create(
        worker_id="w-here",
        host=workers.this_host(),
        pid=os.getpid(),
        seen_at=timezone.now() - timedelta(days=1),  # the process table wins on this host
    )
    task = _claim(here.worker_id)
    assert workers.sweep().resumed == []
    task.refresh_from_db()
    assert task.status == "RUNNING"

    Worker.objects.create(
        worker_id="w-far", host="elsewhere.invalid", pid=1, seen_at=timezone.now()
    )
    DBTaskResult.objects.filter(pk=task.pk).update(worker_ids=["w-far"])
    assert workers.sweep().resumed == []  # beating: alive
    Worker.objects.filter(worker_id="w-far").update(
        seen_at=timezone.now() - workers.stale_after() - timedelta(seconds=1)
    )
    assert workers.sweep().resumed == [str(task.pk)]


def test_a_process_that_took_a_dead_workers_pid_does_not_keep_it_alive(world, login):
    """A container restarted with the same hostname: the new worker has the old pid."""
    _queued_import(login)
    Worker.objects.create(
        worker_id="w-before-restart",
        host=workers.this_host(),
        pid=os.getpid(),  # alive, but started after this worker registered
        seen_at=timezone.now(),
    )
    Worker.objects.filter(worker_id="w-before-restart").update(
        started_at=timezone.now() - timedelta(days=400)
    )
    task = _claim("w-before-restart")
    assert workers.sweep().resumed == [str(task.pk)]


def test_a_task_of_an_unregistered_worker_is_not_touched(world, login):
    _queued_import(login)
    _dead_worker("w-dead")  # someone else died; this task's worker never registered
    task = _claim("db_worker-of-django-tasks")
    assert workers.sweep().resumed == []
    task.refresh_from_db()
    assert task.status == "RUNNING"
