"""Reads of vaccination, always scoped: a resident's doses, coverage of the 60+ and 80+
by village, the mobilisation list, and the bulletin's counts by node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from fangkong.org.access import object_for_user
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, scope_paths, subtree_q
from fangkong.people.models import Person, PersonStatus
from fangkong.vaccination.models import Contraindication, Dose

AGES = (60, 80)


def years_ago(today: date, years: int) -> date:
    """The latest birth date of someone `years` old today (29 February: the 28th)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def person_for_user(user: Any, person_id: int, *, write: bool = False) -> Person:
    """A resident seen with vaccination.view (404 otherwise); with `write`, 403 without
    vaccination.manage at their node."""
    return object_for_user(
        Person.objects.select_related("jurisdiction", "household"),
        user,
        Perm.VACCINATION_VIEW,
        write=Perm.VACCINATION_MANAGE if write else None,
        pk=person_id,
    )


def doses_of(person: Person) -> list[Dose]:
    return list(Dose.objects.filter(person=person).order_by("number"))


def contraindication_of(person: Person) -> Contraindication | None:
    return Contraindication.objects.filter(person=person).first()


def _area_paths(user: Any, node_path: str) -> list[str]:
    """The subtrees of the user's vaccination view, narrowed to `node_path`."""
    out = []
    for own in scope_paths(user, Perm.VACCINATION_VIEW):
        if node_path and node_path.startswith(own):
            out.append(node_path)
        elif not node_path or own.startswith(node_path):
            out.append(own)
    return out


def _area(user: Any, node_path: str, field: str = "jurisdiction__path") -> Q:
    q = Q(pk__in=[])
    for path in _area_paths(user, node_path):
        q |= subtree_q(field, path)
    return q


def elderly(user: Any, *, today: date, node_path: str = "", age: int = 60) -> QuerySet[Person]:
    """Residents present of `age` or more in the user's area."""
    return Person.objects.filter(
        _area(user, node_path),
        status=PersonStatus.PRESENT,
        birth_date__lte=years_ago(today, age),
    )


def mobilisation(user: Any, *, today: date, node_path: str = "") -> QuerySet[Person]:
    """60+ with no dose recorded and no contraindication: the people to visit."""
    doses = Dose.objects.filter(person_id=OuterRef("pk"))
    contra = Contraindication.objects.filter(person_id=OuterRef("pk"))
    return (
        elderly(user, today=today, node_path=node_path)
        .exclude(Exists(doses))
        .exclude(Exists(contra))
        .select_related("jurisdiction", "household")
        .order_by("jurisdiction__path", "household__address", "pk")
    )


@dataclass
class Row:
    node: Jurisdiction
    # Per age (60, 80): residents, with at least one dose, fully vaccinated (2 doses),
    # with a booster (3 or more).
    counts: dict[int, list[int]] = field(default_factory=lambda: {a: [0, 0, 0, 0] for a in AGES})

    def rate(self, age: int) -> float:
        total, one = self.counts[age][0], self.counts[age][1]
        return one / total if total else 1.0


@dataclass
class Coverage:
    total: Row
    villages: list[Row]


def coverage(user: Any, *, today: date, node_path: str = "") -> Coverage:
    """Coverage of the 60+ and 80+ by village: one grouped query over the 60+ (a few
    thousand a town), rolled up to the villages."""
    cut = {a: years_ago(today, a) for a in AGES}
    rows = (
        elderly(user, today=today, node_path=node_path)
        .annotate(doses=Count("vaccination_doses"))
        .values_list("jurisdiction__path", "birth_date", "doses")
    )
    villages: dict[str, Row] = {}
    nodes = {
        j.path: j
        for j in Jurisdiction.objects.filter(_nodes_q(user, node_path), level=Level.VILLAGE)
    }
    for path in sorted(nodes):
        villages[path] = Row(nodes[path])
    top = Jurisdiction(name="", code="", path=node_path)
    total = Row(top)
    for path, birth, doses in rows:
        village = next((p for p in ancestor_paths(path) if p in villages), None)
        targets = [total] + ([villages[village]] if village else [])
        for age in AGES:
            if birth is not None and birth <= cut[age]:
                for row in targets:
                    c = row.counts[age]
                    c[0] += 1
                    c[1] += doses >= 1
                    c[2] += doses >= 2
                    c[3] += doses >= 3
    return Coverage(total, [v for v in villages.values() if v.counts[60][0]])


def _nodes_q(user: Any, node_path: str) -> Q:
    """Nodes in the area, and those above it: a grid worker's grid is counted under its
    village."""
    q = _area(user, node_path, "path")
    for path in _area_paths(user, node_path):
        q |= Q(path__in=ancestor_paths(path))
    return q


def counts_by_node(key: str, prefixes: Sequence[str], day: date) -> list[tuple[str, int]]:
    """(node path, n) for the bulletin: doses given on `day` ("doses_day"), or residents
    of 60+ present with no dose ("unvaccinated_60")."""
    within = Q(pk__in=[])
    for path in prefixes:
        within |= subtree_q("jurisdiction__path", path)
    if key == "doses_day":
        qs: QuerySet[Any] = Dose.objects.filter(within, given_on=day)
    elif key == "unvaccinated_60":
        doses = Dose.objects.filter(person_id=OuterRef("pk"))
        qs = Person.objects.filter(
            within, status=PersonStatus.PRESENT, birth_date__lte=years_ago(day, 60)
        ).exclude(Exists(doses))
    else:
        raise Http404
    return [
        (path, n)
        for path, n in qs.values_list("jurisdiction__path").annotate(n=Count("pk")).order_by()
    ]
