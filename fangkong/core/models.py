"""Cross-cutting models."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Upload(models.Model):
    """A file held between an import's preview and its commit (two-phase imports).

    Kept in the database so a multi-process deployment needs no shared disk; removed
    after commit or when stale.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    # A small file in one piece; a large one (spooled to disk by Django, of a kind that
    # reads streamed) is empty here and held in `UploadChunk`s, never whole in memory.
    data = models.BinaryField()
    chunked = models.BooleanField(default=False)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class UploadChunk(models.Model):
    """One piece (up to `uploads.CHUNK_BYTES`) of a large held upload, in order."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "seq"], name="uploadchunk_upload_seq")
        ]

    def __str__(self) -> str:
        return f"{self.upload_id}#{self.seq}"


class ScheduledRun(models.Model):
    """One slot of a periodic job that has been enqueued; the unique key is what keeps
    two schedulers (or a restarted one) from enqueueing the same slot twice."""

    name = models.CharField(max_length=80)
    slot = models.CharField(max_length=40)
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="scheduled_run_once")]

    def __str__(self) -> str:
        return f"{self.name}@{self.slot}"


class Worker(models.Model):
    """A running `fangkong jobs` process.

    A task's row says which worker claimed it but not whether that worker still lives:
    killed (SIGKILL, a power cut, the OOM killer) it leaves the task "running" forever.
    This row lets the stale-task sweep (`core.workers.sweep`) tell a dead worker from a
    busy one: on the same host by its process id, elsewhere by its heartbeat."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.host}:{self.pid})"
