"""`fangkong serve`, the real processes: gunicorn answers (pages gzipped, /healthz
healthy once the worker beside it has registered); the task worker dying takes the
whole command down with a non-zero exit (so systemd restarts both); SIGTERM stops both
and exits 0. Worker sizing follows the cores unless told."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fangkong.core.management.commands.serve import default_workers, gunicorn_argv
from tests.procs import Site, free_port, wait_for


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = Site(tmp_path_factory.mktemp("serve"), "serve")
    site.run("migrate", "--no-input", "-v", "0")
    yield site
    site.close()


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except OSError:
        return 0, {}, b""


def _serve(site: Site) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = site.start("serve", "--port", str(port), "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    wait_for(
        "/healthz to say healthy",
        lambda: _get(f"{base}/healthz")[0] == 200 or proc.poll() is not None,
        timeout=120,
        every=0.5,
    )
    assert proc.poll() is None, site.output(proc)
    return proc, base


def test_serve_answers_and_a_dead_worker_stops_it_non_zero(site: Site) -> None:
    proc, base = _serve(site)
    status, headers, body = _get(f"{base}/accounts/login/", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Server"] == "gunicorn"
    assert headers["Content-Encoding"] == "gzip"
    assert "csrfmiddlewaretoken" in gzip.decompress(body).decode()
    health = json.loads(_get(f"{base}/healthz")[2])
    assert health["status"] == "ok"
    # The task worker beside it is killed: the command stops gunicorn and fails.
    (pid,) = site.query("SELECT pid FROM core_worker")[0]
    os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=90) != 0
    assert "jobs (exit -9) stopped" in site.output(proc)
    assert _get(f"{base}/healthz")[0] == 0  # nothing listens any more


def test_sigterm_stops_both_and_exits_zero(site: Site) -> None:
    site.query("DELETE FROM core_worker")
    proc, _base = _serve(site)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0, site.output(proc)
    # The worker unregistered itself on the way out (no sweep needed).
    assert site.scalar("SELECT count(*) FROM core_worker") == 0


def test_workers_from_the_cores_and_threads_choose_gthread() -> None:
    cores = len(os.sched_getaffinity(0))
    assert default_workers() == 2 * cores + 1
    argv = gunicorn_argv(
        host="10.0.0.1", port=8000, workers=3, threads=4, timeout=60, access_log=False
    )
    assert argv[argv.index("--worker-class") + 1] == "gthread"
    assert argv[argv.index("--bind") + 1] == "10.0.0.1:8000"
    assert Path(argv[0]).name.startswith("python")
