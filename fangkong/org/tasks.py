"""Background jobs of org (thin; the logic is in idempotency.py and clients.py)."""

from __future__ import annotations

from django_tasks import task

from fangkong.org.clients import sweep_rate_windows
from fangkong.org.idempotency import sweep_idempotency


@task()
def sweep_api_records_task() -> int:
    return sweep_idempotency() + sweep_rate_windows()
