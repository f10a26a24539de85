"""Reads of testing, always scoped. A round organised at a town concerns every village
and grid under it: it is seen at, below and above its node (like a pushed list)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm
from fangkong.org.scoping import at_or_above_q, scope_paths
from fangkong.testing.models import Outcome, Recall, Round, Sample

# Who may open a round at all: those who follow it, take its samples or send its results.
ROUND_PERMS = (Perm.TESTING_VIEW, Perm.TESTING_SAMPLE, Perm.TESTING_RESULTS)


def rounds_visible(user: Any, perm: Perm | None = None) -> QuerySet[Round]:
    perms = (perm,) if perm else ROUND_PERMS
    q = at_or_above_q(user, perms[0], "jurisdiction__path")
    for p in perms[1:]:
        q |= at_or_above_q(user, p, "jurisdiction__path")
    return Round.objects.filter(q).select_related("jurisdiction")


def round_for_user(user: Any, round_id: int, perm: Perm | None = None) -> Round:
    """A round the user may use with `perm` (any testing permission if None); the same
    404 for a missing round and one outside the user's reach."""
    found = rounds_visible(user, perm).filter(pk=round_id).first()
    if found is None:
        raise Http404
    return found


def own_paths(user: Any, perm: Perm) -> list[str]:
    """The subtrees where the user holds `perm` (what of a round's people they see)."""
    return scope_paths(user, perm)


def recalls_visible(user: Any, round_: Round) -> QuerySet[Recall]:
    return (
        Recall.objects.visible_to(user, Perm.TESTING_VIEW)
        .filter(round=round_)
        .select_related("person", "pool", "single", "jurisdiction")
        .order_by("pool__barcode", "person_id")
    )


def recall_for_user(user: Any, recall_id: int, *, write: bool = False) -> Recall:
    """A recalled member of a round (pool positive or a single positive): 404 outside the user's testing view, 403 without
    testing.manage at the person's node for a write."""
    try:
        return object_for_user(
            Recall.objects.select_related("jurisdiction", "person"),
            user,
            Perm.TESTING_VIEW,
            write=Perm.TESTING_MANAGE if write else None,
            pk=recall_id,
        )
    except PermissionDenied:
        # Before the body is parsed (the API's guard), one answer for all refusals.
        raise Http404 from None


@dataclass(frozen=True)
class RoundOutcome:
    """How a group of people came out of one round: each person's last result (a
    positive pool's member by their single test)."""

    round_id: int
    name: str
    starts_on: date
    ends_on: date
    expected: int
    negative: int
    positive: int

    @property
    def missing(self) -> int:
        return self.expected - self.negative - self.positive

    @property
    def all_negative(self) -> bool:
        return self.expected > 0 and self.negative == self.expected


def round_outcomes(person_ids: Collection[int], since: date, until: date) -> list[RoundOutcome]:
    """The rounds that ran between `since` and `until` (their dates overlapping it) and
    how the given people came out of each, latest round first. Not scoped: callers pass
    people they already reached through their own accessors (a zone's residents)."""
    wanted = set(person_ids)
    rounds = list(
        Round.objects.filter(starts_on__lte=until, ends_on__gte=since).order_by("-ends_on", "-id")
    )
    if not rounds or not wanted:
        return []
    last: dict[tuple[int, int], str] = {}
    rows = (
        Sample.objects.filter(round__in=rounds, person_id__in=wanted)
        .exclude(tube__outcome="")
        .order_by("taken_at", "id")
        .values_list("round_id", "person_id", "tube__outcome")
    )
    for round_id, person_id, outcome in rows:
        last[(round_id, person_id)] = outcome
    out = []
    for r in rounds:
        outcomes = [last.get((r.pk, p), "") for p in wanted]
        out.append(
            RoundOutcome(
                r.pk,
                r.name,
                r.starts_on,
                r.ends_on,
                len(wanted),
                sum(1 for o in outcomes if o == Outcome.NEGATIVE),
                sum(1 for o in outcomes if o == Outcome.POSITIVE),
            )
        )
    return out
