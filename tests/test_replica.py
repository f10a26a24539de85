"""Report reads on a read replica: routed only where asked, never inside a transaction.

The replica here is the primary under another alias (DATABASE_REPLICA_URL naming the
same database), in a child process: the settings read the variable at start."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fangkong.core import replica
from fangkong.core.replica import ReplicaRouter

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connections, transaction
    from django.test.utils import CaptureQueriesContext
    from fangkong.core.models import ScheduledRun
    from fangkong.core.replica import replica_reads

    call_command("migrate", verbosity=0)
    primary, copy = connections["default"], connections["replica"]

    def where(fn):
        with CaptureQueriesContext(primary) as p, CaptureQueriesContext(copy) as r:
            fn()
        return len(p.captured_queries), len(r.captured_queries)

    assert where(lambda: list(ScheduledRun.objects.all())) == (1, 0), "plain read"
    with replica_reads():
        made = where(lambda: ScheduledRun.objects.create(name="r", slot="1"))
        assert made[1] == 0 and made[0] >= 1, ("write", made)
        assert where(lambda: ScheduledRun.objects.get(name="r")) == (0, 1), "asked-for read"
        with transaction.atomic():
            assert where(lambda: list(ScheduledRun.objects.all())) == (1, 0), "in a transaction"
    print("routed ok")
    """
)


def test_reads_asked_for_go_to_the_replica_and_nothing_else_does(tmp_path):
    db = tmp_path / "one.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FANGKONG_"))}
    env |= {
        "DATABASE_URL": f"sqlite:///{db}",
        "DATABASE_REPLICA_URL": f"sqlite:///{db}",
        "DJANGO_SETTINGS_MODULE": "fangkong.settings",
        "FANGKONG_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "routed ok" in out.stdout


def test_without_a_replica_everything_stays_on_the_primary():
    assert not replica.configured()
    with replica.replica_reads():
        assert ReplicaRouter().db_for_read(object) is None
    assert ReplicaRouter().allow_migrate(replica.REPLICA, "people") is False


@pytest.mark.django_db
def test_the_dashboard_and_the_bulletins_ask_for_the_replica(world, login, monkeypatch):
    asked: list[bool] = []
    real = ReplicaRouter.db_for_read

    def spy(self: Any, model: Any, **hints: Any) -> Any:
        asked.append(replica._reading.get())
        return real(self, model, **hints)

    monkeypatch.setattr(ReplicaRouter, "db_for_read", spy)
    client = login("commander")
    for url in ("/reports/dashboard/", "/reports/bulletins/"):
        asked.clear()
        assert client.get(url).status_code == 200, url
        assert any(asked), url
    asked.clear()
    client.get("/tasks/")
    assert asked and not any(asked)  # other pages never ask
