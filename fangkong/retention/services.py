"""Retention periods (kept by a manager of the whole tree) and the purge that applies
them: `purge_run` anonymises or deletes, kind by kind and in batches, every record past
its period, writes the report (`PurgeRun`) and audits it with counts only. A dry run
counts and changes nothing.

Each batch is one transaction with the scrubbing of what it purged from the rest of the
database, so a purge killed half-way has purged whole batches and leaves nothing
half-done; run again, it takes what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.retention.kinds import KINDS, Due, Kind, scrub_everywhere
from fangkong.retention.models import PurgeRun, PurgeStatus, Purpose, RecordKind, RetentionRule
from fangkong.retention.scrub import Needles

logger = logging.getLogger(__name__)
MAX_DAYS = 3650
BATCH = 1000


def purpose() -> Purpose:
    found, _created = Purpose.objects.get_or_create(pk=1)
    return found


def periods() -> dict[RecordKind, int]:
    """Days kept per kind: the rules' rows, or the shipped default where one is missing."""
    stored = dict(RetentionRule.objects.values_list("kind", "days"))
    return {kind: int(stored.get(kind, subs[0].default_days)) for kind, subs in KINDS.items()}


def due_for(days: int, ended_on: date | None, now: datetime) -> Due:
    everything = ended_on is not None and ended_on + timedelta(days=days) <= timezone.localdate(now)
    return Due(before=now - timedelta(days=days), everything=everything)


def purge_plan(now: datetime | None = None) -> dict[str, int]:
    """How many records of each kind a purge would take now (the dry run)."""
    now = now or timezone.now()
    ended_on = purpose().ended_on
    days = periods()
    return {
        kind.value: sum(sub.due(due_for(days[kind], ended_on, now)).count() for sub in subs)
        for kind, subs in KINDS.items()
    }


@dataclass
class _Progress:
    counts: dict[str, int]
    detail: dict[str, int]

    def add(self, kind: RecordKind, n: int, stats: Mapping[str, int]) -> None:
        self.counts[kind.value] = self.counts.get(kind.value, 0) + n
        for key, value in stats.items():
            self.detail[key] = self.detail.get(key, 0) + value


def _purge_kind(sub: Kind, due: Due, progress: _Progress, batch: int) -> None:
    taken: set[int] = set()
    while True:
        ids = list(sub.due(due).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return
        if taken.intersection(ids):
            # A record still due after its purge: stop rather than loop over it.
            raise RuntimeError(f"purging {sub.key} left records due ({len(ids)})")
        taken.update(ids)
        with transaction.atomic():
            needles = Needles()
            stats: dict[str, int] = {}
            n = sub.purge(ids, needles, stats)
            for key, value in scrub_everywhere(needles).items():
                stats[key] = stats.get(key, 0) + value
        progress.add(sub.key, n, stats)


def purge_run(
    *, actor_name: str, dry_run: bool = False, now: datetime | None = None, batch: int = BATCH
) -> PurgeRun:
    """Purge everything past its period (or, with `dry_run`, count it); returns the
    report, which is kept, and audits it (counts only)."""
    now = now or timezone.now()
    run = PurgeRun.objects.create(started_at=now, dry_run=dry_run, actor_name=actor_name[:150])
    if dry_run:
        run.counts = purge_plan(now)
        run.status, run.finished_at = PurgeStatus.DONE, timezone.now()
        run.save()
        return run
    progress = _Progress(counts={k.value: 0 for k in KINDS}, detail={})
    ended_on = purpose().ended_on
    days = periods()
    _erase_freed_pages(True)
    try:
        for kind, subs in KINDS.items():
            due = due_for(days[kind], ended_on, now)
            for sub in subs:
                _purge_kind(sub, due, progress, batch)
        # Sign-ins that ended: their sessions may still hold a search term.
        progress.detail["sessions_deleted"] = Session.objects.filter(
            expire_date__lt=timezone.now()
        ).delete()[0]
    except Exception as exc:
        logger.exception("retention purge %s failed", run.pk)
        run.status, run.message = PurgeStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    else:
        run.status = PurgeStatus.DONE
    finally:
        _erase_freed_pages(False)
    run.counts, run.detail, run.finished_at = progress.counts, progress.detail, timezone.now()
    run.save()
    audit_record(
        action=AuditAction.DELETE,
        actor_name=actor_name[:150],
        obj=run,
        object_repr="retention purge",
        detail={"counts": run.counts, "detail": run.detail, "status": run.status},
    )
    logger.info("retention purge %s: %s records", run.pk, run.total)
    return run


def _erase_freed_pages(start: bool) -> None:
    """On SQLite, what a purge deletes or overwrites would otherwise stay readable in the
    file's free pages and in the write-ahead log until reused: zero freed pages while
    purging, then checkpoint and truncate the log. (PostgreSQL keeps old row versions
    until vacuum; see docs/operations.md.)"""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA secure_delete = {'ON' if start else 'OFF'}")
        if not start and not connection.in_atomic_block:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@transaction.atomic
def rules_save(*, actor: User, days: Mapping[str, int], ended_on: date | None) -> list[str]:
    """Change the periods and the end of the epidemic's control; returns what changed.
    Only what serves every town: the caller checks the actor manages the whole tree."""
    errors: dict[str, list[str]] = {}
    for kind, value in days.items():
        if kind not in RecordKind.values:
            errors.setdefault("__all__", []).append(_("Unknown kind of records: %s") % kind)
        elif not 1 <= int(value) <= MAX_DAYS:
            errors.setdefault(kind, []).append(
                _("Keep records between 1 and %(max)d days.") % {"max": MAX_DAYS}
            )
    if ended_on is not None and ended_on > timezone.localdate():
        errors.setdefault("ended_on", []).append(
            _(
                "The end of the epidemic's control cannot be in the future: a purge cannot be undone."
            )
        )
    if errors:
        raise ValidationError(errors)
    before = {k.value: v for k, v in periods().items()}
    changed: list[str] = []
    for kind, value in days.items():
        if before.get(kind) != int(value):
            RetentionRule.objects.update_or_create(kind=kind, defaults={"days": int(value)})
            changed.append(kind)
    current = purpose()
    if current.ended_on != ended_on:
        detail_before: Any = current.ended_on.isoformat() if current.ended_on else None
        current.ended_on = ended_on
        current.save()
        changed.append("ended_on")
    else:
        detail_before = None
    if changed:
        audit_record(
            action=AuditAction.UPDATE,
            actor=actor,
            object_repr="retention periods",
            detail={
                "before": {k: before[k] for k in changed if k in before},
                "after": {k: int(days[k]) for k in changed if k in days},
                **(
                    {
                        "ended_on": [
                            detail_before,
                            ended_on.isoformat() if ended_on else None,
                        ]
                    }
                    if "ended_on" in changed
                    else {}
                ),
            },
        )
    return changed
