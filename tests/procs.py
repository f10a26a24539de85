"""Real fangkong processes against a database of their own, for the tests that back up,
restore and kill them.

`Site` is one installation: a fresh database (a SQLite file, or a PostgreSQL database
named after the suite's own, so parallel runs by different people do not collide), a
data directory and fixed keys. Its processes (`run`, `start`) are `fangkong` commands
with that environment; the test reads the database directly (`query`) without Django,
whose own connection belongs to pytest-django's test database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
FANGKONG = [sys.executable, "-m", "fangkong"]
KEY = "q1ZbJ9sK2m0b8x5w3c7v1n4b6m8a0s2d4f6g8h0j2k4="  # 32 bytes, URL-safe base64
SECRET = "test-secret-key-for-subprocess-sites-only-0123456789abcdefghijklmnop"


def suite_database_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def on_postgresql() -> bool:
    return suite_database_url().startswith(("postgres://", "postgresql://"))


def _pg_admin(url: str) -> Any:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    return psycopg.connect(admin, autocommit=True)


def _pg_url(name: str) -> str:
    parts = urlsplit(suite_database_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def pg_name(suffix: str) -> str:
    base = urlsplit(suite_database_url()).path.lstrip("/") or "fangkong"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # parallel runs: one each
    return f"test_{base}_{suffix}{worker}"[:63]


def pg_create(name: str) -> str:
    from psycopg import sql

    url = _pg_url(name)
    with _pg_admin(url) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url


def pg_drop(name: str) -> None:
    from psycopg import sql

    with _pg_admin(_pg_url(name)) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


_STATIC: list[Path] = []


def collected_static() -> Path:
    """Pages link the collected, hashed static files (as in the demo and production):
    `collectstatic` once per test process, shared by every site it starts."""
    if not _STATIC:
        import tempfile

        target = Path(tempfile.mkdtemp(prefix="fangkong-static-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
        env.update(
            FANGKONG_STATIC_ROOT=str(target),
            FANGKONG_DATA_DIR=str(target / "data"),
            FANGKONG_SECRET_KEY=SECRET,
            FANGKONG_ENCRYPTION_KEY=KEY,
            PYTHONPATH=str(ROOT),
        )
        subprocess.run(  # noqa: S603 - our own command, no shell
            [*FANGKONG, "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=600,
        )
        _STATIC.append(target)
    return _STATIC[0]


class Site:
    """One installation: its database, data directory, keys and processes."""

    def __init__(self, root: Path, name: str, *, key: str = KEY) -> None:
        self.root = root
        self.name = name
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.vendor = "postgresql" if on_postgresql() else "sqlite"
        if self.vendor == "postgresql":
            self.db_name = pg_name(name)
            self.url = pg_create(self.db_name)
        else:
            self.db_name = str(self.data_dir / "fangkong.sqlite3")
            self.url = f"sqlite:///{self.db_name}"
        self.procs: list[subprocess.Popen[str]] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FANGKONG_", "DJANGO_")) and k != "DATABASE_URL"
        }
        env.update(
            DATABASE_URL=self.url,
            FANGKONG_DATA_DIR=str(self.data_dir),
            FANGKONG_ENCRYPTION_KEY=self.key,
            FANGKONG_SECRET_KEY=SECRET,
            FANGKONG_LOG_LEVEL="WARNING",
            FANGKONG_STATIC_ROOT=str(collected_static()),
            PYTHONPATH=str(ROOT),
            **extra,
        )
        return env

    def run(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 - our own command, no shell
            [*FANGKONG, *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"fangkong {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def python(
        self, module: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """A helper module of the tests (`python -m tests.x ...`) against this site."""
        done = subprocess.run(  # noqa: S603 - our own test module, no shell
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=self.env(DJANGO_SETTINGS_MODULE="fangkong.settings"),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{module} {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
            )
        return done

    def start(self, *args: str, module: str = "") -> subprocess.Popen[str]:
        """A long-running fangkong command, or a test module's (`python -m module`)."""
        argv = [sys.executable, "-m", module, *args] if module else [*FANGKONG, *args]
        log = (self.data_dir / f"process-{len(self.procs)}.log").open("w")
        proc = subprocess.Popen(  # noqa: S603 - our own command, no shell
            argv,
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def output(self, proc: subprocess.Popen[str]) -> str:
        """What a started process printed so far (for a failing assertion's message)."""
        return (self.data_dir / f"process-{self.procs.index(proc)}.log").read_text()

    def kill(self, proc: subprocess.Popen[str]) -> None:
        """SIGKILL: no handler runs, no transaction commits, no row is tidied up."""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    @contextmanager
    def connect(self, *, wait: float = 20) -> Iterator[Any]:
        """A connection of the test's own. On SQLite it waits `wait` seconds for a
        writer's lock, as the server's connections do (a started server switches the
        file to WAL, which takes the lock for a moment); 0 makes a lock an error."""
        conn: Any
        if self.vendor == "postgresql":
            import psycopg

            conn = psycopg.connect(self.url, autocommit=True)
        else:
            conn = sqlite3.connect(self.db_name, timeout=wait, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            sql = sql.replace("%s", "?")
        with self.connect() as conn:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
        if self.vendor == "postgresql":
            pg_drop(self.db_name)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
