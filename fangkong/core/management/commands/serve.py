"""The production server: `fangkong serve` (gunicorn, and `fangkong jobs` beside it).

One command an operator starts (by hand, from systemd or in a container): gunicorn
serves `fangkong.wsgi` with 2xcores+1 worker processes, and the scheduler and task
worker run beside it. The two are supervised together: when either exits, the other is
stopped and the command exits non-zero, so whatever restarts the service (systemd's
Restart=, a container runtime) restarts both. SIGTERM or SIGINT stops both gracefully
and exits 0. Why gunicorn is in docs/adr/0014-production-server.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

# How each child is asked to stop: both finish what they are doing on SIGTERM (gunicorn
# its requests, `jobs` its task) and exit 0.
STOP_SIGNAL = {"web": signal.SIGTERM, "jobs": signal.SIGTERM}
# A persistent connection is reused by the next request of the same worker process for
# this long; runserver (a thread per request) would leak them, so only `serve` sets it.
CONN_MAX_AGE_DEFAULT = "600"


def default_workers() -> int:
    """Gunicorn's rule of thumb: while one worker waits on the database, another runs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 * (cores or 1) + 1


def gunicorn_argv(
    *, host: str, port: int, workers: int, threads: int, timeout: int, access_log: bool
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "fangkong.wsgi:application",
        "--bind",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "--workers",
        str(workers),
        # Sync workers behind nginx, which buffers slow phones; threads only on request.
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "30",
        # Import Django once in the master: workers fork from it, start fast and share
        # the imported code's memory. No connection is opened before the fork.
        "--preload",
        # A worker is replaced after this many requests (jittered, so not all at once):
        # a slow leak in a library cannot grow for weeks.
        "--max-requests",
        "5000",
        "--max-requests-jitter",
        "500",
        # Temporary files of the worker heartbeat in memory, not on a slow disk.
        "--worker-tmp-dir",
        "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp",  # noqa: S108
        "--error-logfile",
        "-",
        # Gunicorn 27's control socket would live in $HOME (absent or read-only under
        # systemd's ProtectHome); nothing here uses it.
        "--no-control-socket",
    ]
    if access_log:
        argv += ["--access-logfile", "-"]
    return argv


class Command(BaseCommand):
    help = (
        "Serve fangkong in production: gunicorn (2xcores+1 workers) and `fangkong jobs` "
        "beside it; if either stops, both stop and the command exits non-zero."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        env = os.environ.get
        parser.add_argument(
            "--host",
            default=env("FANGKONG_HOST", "127.0.0.1"),
            help="address to bind (env FANGKONG_HOST; default 127.0.0.1, behind nginx)",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(env("FANGKONG_PORT", "8000")),
            help="port to bind (env FANGKONG_PORT; default 8000)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(env("FANGKONG_WEB_WORKERS", "0")) or default_workers(),
            help="web worker processes (env FANGKONG_WEB_WORKERS; default 2xcores+1)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(env("FANGKONG_WEB_THREADS", "1")),
            help="threads per worker; above 1 uses gthread workers (env FANGKONG_WEB_THREADS)",
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=int(env("FANGKONG_WEB_TIMEOUT", "60")),
            help="seconds before a stuck request's worker is replaced (FANGKONG_WEB_TIMEOUT)",
        )
        parser.add_argument(
            "--no-jobs",
            action="store_true",
            help="serve only; `fangkong jobs` runs elsewhere (its own systemd unit)",
        )
        parser.add_argument("--access-log", action="store_true", help="log every request")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1")
        env = dict(os.environ)
        env.setdefault("FANGKONG_DB_CONN_MAX_AGE", CONN_MAX_AGE_DEFAULT)
        env.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int, _frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            for name, child in children.items():
                if child.poll() is None:
                    child.send_signal(STOP_SIGNAL[name])

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        web = gunicorn_argv(
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            threads=options["threads"],
            timeout=options["timeout"],
            access_log=options["access_log"],
        )
        children["web"] = subprocess.Popen(web, env=env)  # noqa: S603
        if not options["no_jobs"]:
            jobs = [sys.executable, "-m", "fangkong", "jobs"]
            children["jobs"] = subprocess.Popen(jobs, env=env)  # noqa: S603
        self.stdout.write(
            f"fangkong serve: http://{options['host']}:{options['port']}/ "
            f"({options['workers']} workers x {options['threads']} threads"
            f"{'' if options['no_jobs'] else ', with fangkong jobs'})"
        )
        self.stdout.flush()
        failed = self._supervise(children, lambda: stopping)
        if failed and not stopping:
            raise CommandError(f"{failed} stopped; stopped the rest")

    def _supervise(self, children: dict[str, subprocess.Popen[bytes]], stopping: Any) -> str:
        """Wait until one child exits, then stop the others; the first one's name."""
        first = ""
        while not first:
            for name, child in children.items():
                if child.poll() is not None:
                    first = name
                    break
            else:
                time.sleep(0.5)
        for name, child in children.items():
            if child.poll() is None:
                child.send_signal(STOP_SIGNAL[name])
        deadline = time.monotonic() + 40
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if stopping() and all(
            c.returncode in (0, -signal.SIGTERM, -signal.SIGINT) for c in children.values()
        ):
            return ""
        return f"{first} (exit {children[first].returncode})"
