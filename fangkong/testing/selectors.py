"""Reads of testing, always scoped. A round organised at a town concerns every village
and grid under it: it is seen at, below and above its node (like a pushed list)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.org.access import object_for_user
from fangkong.org.models import Jurisdiction, Level, StaffProfile
from fangkong.org.roles import Perm
from fangkong.org.scoping import at_or_above_q, has_perm, scope_paths, subtree_q
from fangkong.org.selectors import staff_visible
from fangkong.people.models import Person
from fangkong.people.panels import Panel
from fangkong.testing.codes import person_id_of_token
from fangkong.testing.models import Box, Outcome, Recall, Round, Sample, SamplingPoint, Tube
from fangkong.testing.rounds import scope_paths as round_paths

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


def manage_towns(user: Any) -> list[Jurisdiction]:
    """The towns where the user may organise a round (testing.manage there or above)."""
    q = Q(pk__in=[])
    for root in scope_paths(user, Perm.TESTING_MANAGE):
        q |= subtree_q("path", root)
    return list(Jurisdiction.objects.filter(q, level=Level.TOWN).order_by("path"))


def scope_choices(towns: Sequence[Jurisdiction]) -> list[Jurisdiction]:
    """What a round of these towns may cover: each town and its villages, in tree order."""
    q = Q(pk__in=[])
    for town in towns:
        q |= Q(pk=town.pk) | Q(path__startswith=town.path, level=Level.VILLAGE)
    return list(Jurisdiction.objects.filter(q).order_by("path"))


def point_nodes(round_: Round) -> list[Jurisdiction]:
    """Where a round's sampling point may stand: its scope nodes and the villages and
    grids under them."""
    q = Q(pk__in=[])
    for path in round_paths(round_):
        q |= Q(path__startswith=path)
    return list(Jurisdiction.objects.filter(q, level__lte=Level.GRID).order_by("path"))


def points_of(round_: Round) -> QuerySet[SamplingPoint]:
    return (
        round_.points.select_related("jurisdiction")
        .annotate(staff_count=Count("staff", distinct=True))
        .order_by("name")
    )


def point_staff_choices(user: Any, round_: Round) -> QuerySet[StaffProfile]:
    """Staff with an account who may be put at a point: those the viewer sees, under the
    round's organising node."""
    return (
        staff_visible(user)
        .filter(user__isnull=False, jurisdiction__path__startswith=round_.jurisdiction.path)
        .order_by("jurisdiction__path", "name")
    )


def boxes_of(round_: Round) -> QuerySet[Box]:
    return (
        Box.objects.filter(round=round_)
        .select_related("point")
        .annotate(
            tube_count=Subquery(
                Tube.objects.filter(box=OuterRef("pk"))
                .order_by()
                .values("box")
                .annotate(n=Count("pk"))
                .values("n")
            )
        )
        .order_by("-out_at", "-pk")
    )


def chase_nodes(user: Any, round_: Round) -> list[Jurisdiction]:
    """The nodes of the round (itself, its villages and grids) where the user may send
    chase orders (orders.dispatch), top first: the first is the one-tap default."""
    mine = scope_paths(user, Perm.ORDERS_DISPATCH)
    q = Q(pk__in=[])
    for path in round_paths(round_):
        for root in mine:
            if path.startswith(root):
                q |= Q(path__startswith=path)
            elif root.startswith(path):
                q |= Q(path__startswith=root)
    return list(
        Jurisdiction.objects.filter(q, level__lte=Level.GRID, level__gte=Level.TOWN).order_by(
            "level", "path"
        )
    )


@dataclass(frozen=True)
class PersonResult:
    """One sample of a person and what came of it, for their page and their own link."""

    round_name: str
    taken_at: datetime
    pool_size: int
    single: bool  # a single tube (a 1-in-1 round or a recall's home sample)
    outcome: str  # "" while the lab has not answered

    @property
    def label(self) -> str:
        if not self.outcome:
            return str(_("Waiting for the result"))
        if self.outcome == Outcome.POSITIVE and not self.single:
            return str(_("Pool positive: a single test follows"))
        return str(Outcome(self.outcome).label)


def person_results(person_id: int, *, limit: int = 5) -> list[PersonResult]:
    """The person's latest samples (routine and recall), newest first. The caller has
    decided the reader may see this person (an accessor, or the person's own link)."""
    rows = (
        Sample.objects.filter(person_id=person_id)
        .order_by("-taken_at", "-pk")
        .values_list("round__name", "taken_at", "tube__pool_size", "recall", "tube__outcome")[
            :limit
        ]
    )
    return [
        PersonResult(name, at, size, recall or size == 1, outcome or "")
        for name, at, size, recall, outcome in rows
    ]


# The bulletin's testing numbers (reports reads them through counts_by_node).
COUNT_KEYS = ("testing_sampled", "testing_results", "testing_pool_positive", "testing_positive")


def counts_by_node(key: str, prefixes: Sequence[str], day: date) -> list[tuple[str, int]]:
    """[(node path, people)] under any of the path `prefixes`, by where they live, in one
    grouped query: sampled on `day` (routine and recall samples), whose result came back
    on `day`, in a pool found positive on `day`, found positive in a single tube on
    `day`."""
    if key not in COUNT_KEYS:
        raise ValueError(key)
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = start + timedelta(days=1)
    within = Q(pk__in=[])
    for prefix in prefixes:
        within |= Q(jurisdiction__path__startswith=prefix)
    rows = Sample.objects.filter(within)
    if key == "testing_sampled":
        rows = rows.filter(taken_at__gte=start, taken_at__lt=end)
    else:
        rows = rows.filter(tube__result__tested_at__gte=start, tube__result__tested_at__lt=end)
        if key == "testing_pool_positive":
            rows = rows.filter(tube__outcome=Outcome.POSITIVE, tube__pool_size__gt=1)
        elif key == "testing_positive":
            rows = rows.filter(tube__outcome=Outcome.POSITIVE, tube__pool_size=1)
    return [
        (p, int(n))
        for p, n in rows.values_list("jurisdiction__path").annotate(n=Count("pk")).order_by()
    ]


def result_rows(results: Sequence[PersonResult]) -> list[tuple[str, str, str]]:
    """(when, which round and tube, result) for a page."""
    return [
        (
            timezone.localtime(r.taken_at).strftime("%Y-%m-%d %H:%M"),
            f"{r.round_name} · "
            + (str(_("single tube")) if r.single else _("%(n)d in 1") % {"n": r.pool_size}),
            r.label,
        )
        for r in results
    ]


def results_panel(user: Any, person: Any) -> Panel | None:
    """The person's latest test results on their registry page, for those who follow
    testing at the person's node."""
    if not has_perm(user, Perm.TESTING_VIEW, person.jurisdiction.path):
        return None
    return Panel(
        key="testing",
        title=str(_("Nucleic acid tests")),
        rows=result_rows(person_results(person.pk)),
        empty=str(_("No sample recorded.")),
    )


def resident_of_link(token: str) -> Person | None:
    """The resident whose own results link this is; None for a forged or expired one.
    The link is the reader's only credential: it opens this one person, nobody else."""
    person_id = person_id_of_token(token)
    if person_id is None:
        return None
    return Person.objects.filter(pk=person_id).first()


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
