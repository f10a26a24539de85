"""Reads of zones and places, always scoped. A zone (and a place) is seen at its node,
above it and below it: the town's command post, the village and the grid workers of
the village all see the zone of a building in it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from fangkong.org.access import require_perm_at
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, at_or_above_q, prefix_q, subtree_q
from fangkong.people.models import Person, PersonStatus
from fangkong.policy.engine import edition_for
from fangkong.policy.models import Edition
from fangkong.zones.models import Place, Residence, Zone, ZoneKind, ZoneStatus


def zones_visible(user: Any, perm: Perm = Perm.ZONES_VIEW) -> QuerySet[Zone]:
    return Zone.objects.filter(at_or_above_q(user, perm, "jurisdiction__path")).select_related(
        "kind", "jurisdiction"
    )


def zone_for_user(user: Any, zone_id: int, *, write: Perm | None = None) -> Zone:
    """404 for a zone missing or out of reach; 403 without `write` at the zone's node."""
    found = zones_visible(user).filter(pk=zone_id).first()
    if found is None:
        raise Http404
    if write is not None:
        require_perm_at(user, write, found.jurisdiction.path)
    return found


def places_visible(user: Any) -> QuerySet[Place]:
    return Place.objects.filter(
        at_or_above_q(user, Perm.ZONES_VIEW, "jurisdiction__path")
    ).select_related("jurisdiction")


def place_for_user(user: Any, place_id: int, *, write: Perm | None = None) -> Place:
    found = places_visible(user).filter(pk=place_id).first()
    if found is None:
        raise Http404
    if write is not None:
        require_perm_at(user, write, found.jurisdiction.path)
    return found


def residents_q(zone: Zone) -> Q:
    """People living in the zone: in its places (and everything under them) or under
    its nodes."""
    q = Q(pk__in=[])
    for path in zone.places.values_list("path", flat=True):
        q |= Q(
            household__in=Residence.objects.filter(prefix_q("place__path", path)).values(
                "household_id"
            )
        )
    for path in zone.nodes.values_list("path", flat=True):
        q |= subtree_q("jurisdiction__path", path)
    return q


def residents(zone: Zone) -> QuerySet[Person]:
    return Person.objects.filter(residents_q(zone), status=PersonStatus.PRESENT)


def zones_of_household(household_id: int) -> QuerySet[Zone]:
    """Active zones a household lives in, through its place or its node."""
    residence = Residence.objects.filter(household_id=household_id).select_related("place").first()
    person_node = (
        Person.objects.filter(household_id=household_id)
        .values_list("jurisdiction__path", flat=True)
        .first()
    )
    q = Q(pk__in=[])
    if residence is not None:
        ids = [int(i) for i in residence.place.path.strip("/").split("/")]
        q |= Q(places__in=ids)
    if person_node:
        ancestors = list(ancestor_paths(person_node))
        q |= Q(nodes__path__in=ancestors)
    return Zone.objects.filter(q, status=ZoneStatus.ACTIVE).distinct()


def county_of(node: Jurisdiction) -> Jurisdiction:
    """The county above a node, or its town when the tree has no county."""
    above = Jurisdiction.objects.filter(path__in=ancestor_paths(node.path))
    return (
        above.filter(level=Level.COUNTY).first() or above.filter(level=Level.TOWN).first() or node
    )


def kinds_for(node: Jurisdiction, day: Any, edition: Edition | None = None) -> list[ZoneKind]:
    """The zone kinds of an edition (by default the one in force at the node on the
    day); a local edition without kinds of its own uses those it was copied from."""
    edition = edition or edition_for(day, node.path)
    seen = set()
    while edition is not None and edition.pk not in seen:
        seen.add(edition.pk)
        kinds = list(ZoneKind.objects.filter(edition=edition).order_by("-rank"))
        if kinds:
            return kinds
        edition = edition.based_on
    return []


def all_kinds() -> QuerySet[ZoneKind]:
    return ZoneKind.objects.select_related("edition").order_by("-edition__effective_from", "-rank")


def zone_counts(zones: list[Zone]) -> dict[int, int]:
    """Residents per zone (present people), one query per zone: a town has a handful."""
    return {z.pk: residents(z).count() for z in zones}


def counts_by_kind(zones: list[Zone], residents_of: dict[int, int]) -> list[tuple[str, int, int]]:
    """(kind, zones, residents) in force, strictest first."""
    n: Counter[tuple[int, str]] = Counter()
    people: Counter[tuple[int, str]] = Counter()
    for z in zones:
        key = (-z.kind.rank, z.kind.name)
        n[key] += 1
        people[key] += residents_of.get(z.pk, 0)
    return [(name, n[(r, name)], people[(r, name)]) for r, name in sorted(n)]


def overlapping(zone: Zone) -> QuerySet[Zone]:
    """Other active zones at, above or below the zone's node (whose residents may be
    the zone's), those with a control order first."""
    node = zone.jurisdiction.path
    return (
        Zone.objects.filter(status=ZoneStatus.ACTIVE)
        .exclude(pk=zone.pk)
        .exclude(kind__order_type="")
        .filter(
            subtree_q("jurisdiction__path", node) | Q(jurisdiction__path__in=ancestor_paths(node))
        )
        .select_related("kind", "jurisdiction")
        .order_by("-kind__rank", "id")
    )


def place_chain(place: Place) -> list[Place]:
    """The place and those above it, compound first."""
    ids = [int(i) for i in place.path.strip("/").split("/")]
    found = {p.pk: p for p in Place.objects.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def households_in(place: Place) -> int:
    return Residence.objects.filter(prefix_q("place__path", place.path)).count()


def kind_by_code(edition_key: str, code: str) -> ZoneKind:
    """A national edition's kind by its codes (404 for an unknown one)."""
    found = ZoneKind.objects.filter(
        edition__key=edition_key, edition__scope=None, code=code
    ).first()
    if found is None:
        raise Http404
    return found


# Above this many villages the map draws only those with a zone in force.
MAP_VILLAGES = 60


@dataclass
class ZoneMap:
    """The map of the zones under a node with counts by zone and by kind: what the
    zones page and the command dashboard draw."""

    shapes: list[Any]
    width: int
    height: int
    zones: list[tuple[Zone, int]]  # in force, strictest first, with their residents
    by_kind: list[tuple[str, int, int]]


def zone_map(node: Jurisdiction) -> ZoneMap:
    """The villages under (or of) `node` coloured by the strictest zone in force, and the
    zones in force there with their residents (a system read for a screen at `node`:
    the caller has checked zones.view there)."""
    from fangkong.zones import maps

    villages = list(
        Jurisdiction.objects.filter(subtree_q("path", node.path), level=Level.VILLAGE).order_by(
            "path"
        )
    )
    if node.level > Level.VILLAGE:
        villages = list(
            Jurisdiction.objects.filter(
                path__in=ancestor_paths(node.path), level=Level.VILLAGE
            ).order_by("path")
        )
    base = villages[0].path if node.level > Level.VILLAGE and villages else node.path
    active = list(
        Zone.objects.filter(subtree_q("jurisdiction__path", base), status=ZoneStatus.ACTIVE)
        .select_related("kind", "jurisdiction")
        .order_by("-kind__rank", "jurisdiction__path", "id")[:300]
    )
    residents_of = zone_counts(active)
    ranks: dict[int, tuple[int, int]] = {}
    for v in villages:
        inside = [z for z in active if z.jurisdiction.path.startswith(v.path)]
        ranks[v.pk] = (max((z.kind.rank for z in inside), default=0), len(inside))
    if len(villages) > MAP_VILLAGES:
        # A county's screen: only the villages with a zone in force, or tiles run for
        # metres.
        villages = [v for v in villages if ranks[v.pk][1]]
    shapes = maps.shapes(villages, ranks)
    return ZoneMap(
        shapes=shapes,
        width=maps.WIDTH,
        height=maps.height_for(shapes),
        zones=[(z, residents_of.get(z.pk, 0)) for z in active],
        by_kind=counts_by_kind(active, residents_of),
    )
