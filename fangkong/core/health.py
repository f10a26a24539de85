"""`/healthz`: what a load balancer or a monitor asks before sending people here.

Answered by the first middleware, before the security middleware's HTTPS redirect and
host check (a load balancer probes over plain http by address), sessions,
authentication and the rest: a probe every few seconds from each balancer costs one
`SELECT 1`, one aggregate over the ready tasks and one read of the newest heartbeat.

The JSON says which check failed and the numbers it judged by — ages in seconds and
free megabytes — never a host name, a process id, a path or an error's text (which may
hold the database's address or user). 200 when every check passes, 503 otherwise.

`?scope=web` checks only what this app server needs to answer requests (the database
and its disk): a balancer in front of several app machines should use it, since a
stopped `fangkong jobs` is not a reason to take every web node out; the full check is
for the monitor that pages someone.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

PATH = "/healthz"
Check = dict[str, Any]


def check_database() -> Check:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # The error's text may name the server and the user: only that it failed.
        return {"ok": False, "error": "unreachable"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _age(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))


def check_queue(now: datetime) -> Check:
    """The oldest task ready to run (how far behind the worker is) and the newest
    heartbeat of a `fangkong jobs` worker (whether one runs at all)."""
    from django.db.models import Max, Min, Q
    from django_tasks_db.models import DBTaskResult, get_date_max

    from fangkong.core.models import Worker

    lag_limit = int(getattr(settings, "FANGKONG_HEALTH_QUEUE_LAG_SECONDS", 300))
    stale = int(getattr(settings, "FANGKONG_WORKER_STALE_SECONDS", 300))
    try:
        # A task with no run_after is ready since it was enqueued; one scheduled for
        # later, since its time came.
        ready = DBTaskResult.objects.ready().aggregate(
            enqueued=Min("enqueued_at", filter=Q(run_after=get_date_max())),
            due=Min("run_after", filter=~Q(run_after=get_date_max())),
        )
        seen = Worker.objects.aggregate(newest=Max("seen_at"))["newest"]
    except DatabaseError:
        return {"ok": False, "error": "unreachable"}
    oldest = min((t for t in (ready["enqueued"], ready["due"]) if t is not None), default=None)
    lag, heartbeat = _age(now, oldest), _age(now, seen)
    result: Check = {"ok": True, "oldest_ready_seconds": lag, "worker_seen_seconds": heartbeat}
    if heartbeat is None or heartbeat > stale:
        result.update(ok=False, error="no worker" if heartbeat is None else "worker stale")
    elif lag is not None and lag > lag_limit:
        result.update(ok=False, error="queue behind")
    return result


def check_disk() -> Check:
    floor = int(getattr(settings, "FANGKONG_HEALTH_MIN_FREE_MB", 1024))
    try:
        free = shutil.disk_usage(settings.DATA_DIR).free // (1024 * 1024)
    except OSError:
        return {"ok": False, "error": "unreadable"}
    return {"ok": free >= floor, "free_mb": free, "min_free_mb": floor}


def health(scope: str = "") -> tuple[bool, dict[str, Check]]:
    checks: dict[str, Check] = {"database": check_database()}
    if scope != "web":
        if checks["database"]["ok"]:
            checks["queue"] = check_queue(timezone.now())
        else:
            checks["queue"] = {"ok": False, "error": "database unreachable"}
    checks["disk"] = check_disk()
    return all(c["ok"] for c in checks.values()), checks


class HealthMiddleware:
    """First in MIDDLEWARE: `/healthz` is answered here and goes no further."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        ok, checks = health(request.GET.get("scope", ""))
        body = {
            "status": "ok" if ok else "fail",
            "failed": [name for name, c in checks.items() if not c["ok"]],
            "checks": checks,
        }
        return HttpResponse(
            json.dumps(body),
            status=200 if ok else 503,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
