"""Reads of testing, always scoped. A round organised at a town concerns every village
and grid under it: it is seen at, below and above its node (like a pushed list)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm
from fangkong.org.scoping import at_or_above_q, scope_paths
from fangkong.testing.models import Recall, Round

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
