"""Coverage (应检尽检): who must be tested in a round, who was, and who was not.

Expected: the registry's residents living in the round's scope, present (not away,
moved out or deceased), of the round's age or older, not declared excluded for the
round, and not under centralised isolation (tested at their site). Tested: expected
people with a routine sample this round. The per-grid table reads the round's kept
counts per node (`counts.py`: a few hundred rows for a city's round), rolled up to grids
and villages; a grid's not-tested list is its own query, exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from fangkong.core.masking import mask_name
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, scope_paths
from fangkong.people.models import Person
from fangkong.testing.counts import FIELDS, expected_q, tested_exists
from fangkong.testing.models import Round, RoundCount
from fangkong.testing.rounds import scope_paths as round_paths


def _within(field: str, paths: list[str]) -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def residents(round_: Round, user: Any | None = None) -> QuerySet[Person]:
    """The round's residents, within the user's testing view if a user is given."""
    nodes = Jurisdiction.objects.filter(_within("path", round_paths(round_)))
    if user is not None:
        nodes = nodes.filter(_within("path", scope_paths(user, Perm.TESTING_VIEW)))
    return Person.objects.filter(jurisdiction__in=nodes.values("pk"))


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
    counts = RoundCount.objects.filter(round=round_)
    if user is not None:
        counts = counts.filter(_within("jurisdiction__path", scope_paths(user, Perm.TESTING_VIEW)))
    kept = {r[0]: r[1:] for r in counts.values_list("jurisdiction_id", *FIELDS)}
    nodes = {
        n.pk: n
        for n in Jurisdiction.objects.filter(_within("path", round_paths(round_))).only(
            "pk", "code", "name", "level", "path"
        )
        if n.level >= Level.VILLAGE
    }
    by_path = {n.path: n for n in nodes.values()}
    grids: dict[int, Row] = {}
    villages: dict[int, Row] = {}
    total = Row(round_.jurisdiction)
    for node_id, values in kept.items():
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
        .exclude(tested_exists(round_))
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
