"""Background jobs of testing (thin, idempotent)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from fangkong.testing.counts import counts_recount
from fangkong.testing.models import Round, RoundStatus


@task()
def recount_task() -> int:
    """Recount the open rounds exactly (registry changes move the expected counts);
    returns how many nodes had drifted."""
    today = timezone.localdate()
    return sum(counts_recount(r, today) for r in Round.objects.filter(status=RoundStatus.OPEN))
