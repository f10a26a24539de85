"""Two people acting on the same order at the same moment, on two real PostgreSQL
connections: exactly one wins, the other is told, nothing is silently overwritten."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, connections

from fangkong.workorders import services
from fangkong.workorders.models import Status, WorkOrder, WorkOrderEvent
from tests.world import ensure_orders


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads (each on its own database connection), released
    together by a barrier; returns each one's result or exception."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = action()
        except Exception as e:  # the loser's exception is the result under test
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.fixture
def pg_world(transactional_db, world):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real PostgreSQL connections")
    ensure_orders(world)
    return world


def complete(world: Any, order_id: int, client_id: uuid.UUID) -> Callable[[], Any]:
    return lambda: services.order_complete(
        order_id=order_id,
        actor=world.users["gw_a1"],
        client_id=client_id,
        result={"outcome": "found"},
        expected_version=0,
    )


def test_two_different_completions_one_wins(pg_world):
    order = pg_world.orders["A1M1"]
    results = race(
        complete(pg_world, order.pk, uuid.uuid4()), complete(pg_world, order.pk, uuid.uuid4())
    )
    wins = [r for r in results if isinstance(r, tuple) and r[1]]
    losses = [r for r in results if isinstance(r, services.Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert WorkOrderEvent.objects.filter(order=order, action="done").count() == 1
    assert WorkOrder.objects.get(pk=order.pk).version == 1


def test_a_double_tap_on_two_connections_records_one_result(pg_world):
    order = pg_world.orders["A1M1"]
    client_id = uuid.uuid4()
    results = race(complete(pg_world, order.pk, client_id), complete(pg_world, order.pk, client_id))
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(r[1] for r in results) == [False, True]
    assert WorkOrderEvent.objects.filter(order=order, action="done").count() == 1


def test_complete_and_reassign_at_once(pg_world):
    order = pg_world.orders["A1M1"]
    reassign = lambda: services.order_reassign(  # noqa: E731
        order_id=order.pk,
        actor=pg_world.users["cadre_a"],
        assignee=pg_world.users["volunteer"],
        reason="改派",
        expected_version=0,
    )
    results = race(complete(pg_world, order.pk, uuid.uuid4()), reassign)
    failed = [r for r in results if isinstance(r, services.Conflict | PermissionDenied)]
    assert len(failed) == 1, results
    final = WorkOrder.objects.get(pk=order.pk)
    assert final.version == 1
    if isinstance(results[0], tuple):
        assert final.status == Status.DONE and final.assignee == pg_world.users["gw_a1"]
    else:
        assert final.status == Status.ASSIGNED and final.assignee == pg_world.users["volunteer"]
