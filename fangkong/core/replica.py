"""Report reads on a read replica (`DATABASE_REPLICA_URL`), when one is configured.

A city's reports and dashboards read a lot and write nothing; with a PostgreSQL
streaming replica they can read there and leave the primary to the field workers. Only
reads asked for are sent: a view wrapped in `reads_replica` (the dashboard, the
bulletin archive) runs its queries on the replica; everything else, every write, and
any read inside a transaction (a read that a write depends on) stays on the primary.
The replica lags the primary by its replication delay: fine for counts refreshed every
minute and for archived bulletins, not for a page that shows what its user just wrote,
which is why routing is by view and not by model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_reading: ContextVar[bool] = ContextVar("fangkong_replica_reads", default=False)
F = TypeVar("F", bound=Callable[..., Any])


def configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block go to the replica (when there is one)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reads_replica(view: F) -> F:
    """A read-only view whose queries may be served by the replica."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    wrapper.reads_replica = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


class ReplicaRouter:
    """DATABASE_ROUTERS entry: the replica for asked-for reads outside transactions."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _reading.get() and configured() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The same data under two names: rows read from either relate to each other.
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
