"""Reads for the retention page: the rules serve every town and hold nothing personal."""

from __future__ import annotations

from fangkong.retention.models import PurgeRun


def recent_runs(limit: int = 10) -> list[PurgeRun]:
    return list(PurgeRun.objects.all()[:limit])
