"""Coverage (应检尽检): who must be tested in a round, who was, and who was not.

Expected: the registry's residents living in the round's scope, present (not away,
moved out or deceased), of the round's age or older, not declared excluded for the
round, and not under centralised isolation (tested at their site). Tested: expected
people with a routine sample this round. The per-grid table is two grouped queries
(persons with an EXISTS on their sample; samples with their tube's outcome), whatever
the size of the round; a grid's not-tested list is its own small query.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from fangkong.control.models import ControlOrder, OrderStatus, OrderType
from fangkong.core.masking import mask_name
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, scope_paths
from fangkong.people.models import Person, PersonStatus
from fangkong.testing.models import Exclusion, Outcome, Round, Sample
from fangkong.testing.rounds import scope_paths as round_paths


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _within(field: str, paths: list[str]) -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def expected_q(round_: Round, today: date) -> Q:
    """The condition on persons of the round's scope that makes them expected."""
    q = Q(status=PersonStatus.PRESENT)
    if round_.min_age_years:
        q &= Q(birth_date__isnull=True) | Q(birth_date__lte=_years_ago(today, round_.min_age_years))
    excluded = Exclusion.objects.filter(round=round_, person_id=OuterRef("pk"))
    isolated = ControlOrder.objects.filter(
        person_id=OuterRef("pk"), status=OrderStatus.ACTIVE, type=OrderType.CENTRAL
    )
    return q & ~Exists(excluded) & ~Exists(isolated)


def residents(round_: Round, user: Any | None = None) -> QuerySet[Person]:
    """The round's residents, within the user's testing view if a user is given."""
    nodes = Jurisdiction.objects.filter(_within("path", round_paths(round_)))
    if user is not None:
        nodes = nodes.filter(_within("path", scope_paths(user, Perm.TESTING_VIEW)))
    return Person.objects.filter(jurisdiction__in=nodes.values("pk"))


def _tested_exists(round_: Round) -> Exists:
    return Exists(Sample.objects.filter(round_id=round_.pk, person_id=OuterRef("pk"), recall=False))


@dataclass
class Row:
    node: Jurisdiction
    expected: int = 0
    tested: int = 0
    samples: int = 0
    results: int = 0
    positive: int = 0

    @property
    def not_tested(self) -> int:
        return self.expected - self.tested

    @property
    def rate(self) -> float:
        return self.tested / self.expected if self.expected else 1.0


@dataclass
class Coverage:
    round: Round
    total: Row
    villages: list[Row]
    grids: list[Row]


def coverage(round_: Round, *, today: date, user: Any | None = None) -> Coverage:
    """Per grid and village (micro-grids count in their grid): expected, tested, not
    tested, samples, results back, positive."""
    people = residents(round_, user)
    by_node = (
        people.filter(expected_q(round_, today))
        .annotate(done=_tested_exists(round_))
        .values("jurisdiction_id")
        .annotate(expected=Count("pk"), tested=Count("pk", filter=Q(done=True)))
        .order_by()
    )
    samples = (
        Sample.objects.filter(
            round=round_, recall=False, jurisdiction_id__in=people.values("jurisdiction_id")
        )
        .values("jurisdiction_id")
        .annotate(
            n=Count("pk"),
            back=Count("pk", filter=~Q(tube__outcome="")),
            positive=Count("pk", filter=Q(tube__outcome=Outcome.POSITIVE)),
        )
        .order_by()
    )
    counts: dict[int, list[int]] = {}
    for r in by_node:
        counts.setdefault(r["jurisdiction_id"], [0] * 5)[:2] = [r["expected"], r["tested"]]
    for r in samples:  # type: ignore[assignment]
        counts.setdefault(r["jurisdiction_id"], [0] * 5)[2:] = [
            r["n"],  # type: ignore[misc]
            r["back"],  # type: ignore[misc]
            r["positive"],  # type: ignore[misc]
        ]
    nodes = {
        n.pk: n
        for n in Jurisdiction.objects.filter(_within("path", round_paths(round_)))
        if n.level >= Level.VILLAGE
    }
    by_path = {n.path: n for n in nodes.values()}
    grids: dict[int, Row] = {}
    villages: dict[int, Row] = {}
    total = Row(round_.jurisdiction)
    for node_id, values in counts.items():
        node = nodes.get(node_id)
        if node is None:
            continue
        grid = _ancestor_at(node, Level.GRID, by_path)
        village = _ancestor_at(node, Level.VILLAGE, by_path)
        for row in (
            grids.setdefault(grid.pk, Row(grid)) if grid else None,
            villages.setdefault(village.pk, Row(village)) if village else None,
            total,
        ):
            if row is not None:
                row.expected += values[0]
                row.tested += values[1]
                row.samples += values[2]
                row.results += values[3]
                row.positive += values[4]
    return Coverage(
        round_,
        total,
        sorted(villages.values(), key=_by_path),
        sorted(grids.values(), key=_by_path),
    )


def _by_path(row: Row) -> str:
    return row.node.path


def _ancestor_at(
    node: Jurisdiction, level: int, by_path: dict[str, Jurisdiction]
) -> Jurisdiction | None:
    # Paths are materialised: the ancestors' paths are the prefixes of a node's.
    for path in ancestor_paths(node.path):
        candidate = by_path.get(path)
        if candidate is not None and candidate.level == level:
            return candidate
    return None


def not_tested(
    round_: Round, *, today: date, user: Any | None = None, node: Jurisdiction | None = None
) -> QuerySet[Person]:
    """Expected residents without a sample this round (of one node's subtree)."""
    people = residents(round_, user)
    if node is not None:
        people = people.filter(jurisdiction__path__startswith=node.path)
    return (
        people.filter(expected_q(round_, today))
        .exclude(_tested_exists(round_))
        .select_related("jurisdiction", "household")
        .order_by("jurisdiction__path", "household_id", "pk")
    )


def export_rows(people: QuerySet[Person]) -> Iterator[list[str]]:
    """Masked rows of a not-tested list: grid, name, address, ID (masked)."""
    for p in people.iterator(chunk_size=2000):
        yield [
            p.jurisdiction.name,
            mask_name(p.name),
            p.household.address if p.household else "",
            p.id_number_masked,
        ]
