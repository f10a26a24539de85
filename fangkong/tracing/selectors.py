"""Reads of cases and contacts, scoped: the cases a user may see, one case through its
accessor (404 for missing and not yours), its contacts and its tracing record (the
places and times of its scans)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from fangkong.checkpoints.selectors import entries_of_person
from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm
from fangkong.places.models import Place, Scan
from fangkong.tracing.models import Case, Contact
from fangkong.tracing.rules import settings_for


def cases_visible(user: Any) -> QuerySet[Case]:
    return Case.objects.visible_to(user, Perm.TRACING_VIEW).select_related("person", "jurisdiction")


def case_for_user(user: Any, case_id: int, *, write: bool = False) -> Case:
    case: Case = object_for_user(
        Case.objects.select_related("person__household", "jurisdiction"),
        user,
        Perm.TRACING_VIEW,
        write=Perm.TRACING_MANAGE if write else None,
        pk=case_id,
    )
    return case


def contacts_of(case: Case) -> QuerySet[Contact]:
    return Contact.objects.filter(case=case).select_related(
        "person", "place", "order", "work_order", "via", "jurisdiction"
    )


def contacts_visible(user: Any) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user, Perm.TRACING_VIEW).select_related(
        "case__person", "person", "place", "order", "via"
    )


@dataclass(frozen=True)
class Visit:
    place: Place
    at: datetime


def window_start(case: Case) -> datetime:
    """The start of the case's look-back window (its end is when it was isolated)."""
    rule = settings_for(case.counted_from, case.jurisdiction.path)
    return timezone.make_aware(
        datetime.combine(case.counted_from - timedelta(days=rule.lookback_days), time.min)
    )


def record(case: Case, limit: int = 200) -> list[Visit]:
    """The case's place-code scans in its look-back window, oldest first."""
    keys = [k for k in (case.person.phone_hash, case.person.phone2_hash) if k]
    if not keys:
        return []
    start = window_start(case)
    scans = (
        Scan.objects.filter(person_key__in=keys, scanned_at__gte=start)
        .filter(scanned_at__lte=case.isolated_at)
        .select_related("place")
        .order_by("scanned_at")[:limit]
    )
    return [Visit(s.place, s.scanned_at) for s in scans]


@dataclass(frozen=True)
class Checked:
    """The case checked at a checkpoint: where, when, which way and what became of it."""

    post: str
    at: datetime
    direction: str
    outcome: str


def checkpoint_record(case: Case) -> list[Checked]:
    """The checkpoint log's entries of the case's person in the look-back window, through
    checkpoints' public selector (the log knows a person only by a returnee report)."""
    person = case.person
    entries = entries_of_person(
        person_id=person.pk,
        phone_hashes=[k for k in (person.phone_hash, person.phone2_hash) if k],
        id_number_hash=person.id_number_hash or "",
        start=window_start(case),
        end=case.isolated_at,
    )
    return [
        Checked(
            post=e.post.name,
            at=e.at,
            direction=" → ".join(p for p in (e.origin, e.destination) if p),
            outcome=str(e.get_outcome_display()),
        )
        for e in entries
    ]
