"""The demo town's zones: the places of one market village derived from its addresses,
and one building sealed under the 8th edition's 三区 (its street 管控, the village 防范),
its residents under the zones' measures. Deterministic: the village, street and house
with the fewest households that still has two houses on its street."""

from __future__ import annotations

from django.db.models import Count

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import subtree_q
from fangkong.people.models import Household
from fangkong.policy.models import Edition
from fangkong.zones.models import Place, PlaceKind, Residence, Zone, ZoneEvent, ZoneMeasure
from fangkong.zones.places import places_derive, village_of
from fangkong.zones.services import zones_delineate


def build_demo_zones(path: str) -> dict[str, int]:
    commander = User.objects.filter(username="commander").first()
    edition = Edition.objects.filter(key="nat-8").first()
    if (
        commander is None
        or edition is None
        or Zone.objects.filter(subtree_q("jurisdiction__path", path)).exists()
    ):
        return {}
    street = (
        Household.objects.filter(subtree_q("jurisdiction__path", path))
        .exclude(street="")
        .values("street", "jurisdiction")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .order_by("n", "street", "jurisdiction")
        .first()
    )
    if street is None:
        return {}
    village = village_of(Jurisdiction.objects.get(pk=street["jurisdiction"]))
    if village is None:
        return {}
    derived = places_derive(actor=commander, village=village)
    compound = Place.objects.get(jurisdiction=village, parent=None, name=street["street"])
    building = (
        Place.objects.filter(parent=compound, kind=PlaceKind.BUILDING)
        .annotate(n=Count("residences"))
        .filter(n__gte=1)
        .order_by("path")
        .first()
    )
    if building is None:
        return {}
    zones = zones_delineate(
        actor=commander,
        place=building,
        reason="演示：该楼栋居民核酸阳性",
        edition=edition,
    )
    return {
        "places": derived.places,
        "zones": len(zones),
        "measures": ZoneMeasure.objects.filter(zone__in=zones).exclude(order_id=None).count(),
    }


def delete_zones_under(path: str) -> None:
    """Everything zones hold under `path` (the demo's --reset)."""
    zones = Zone.objects.filter(subtree_q("jurisdiction__path", path))
    ZoneMeasure.objects.filter(zone__in=zones).delete()
    ZoneEvent.objects.filter(zone__in=zones).delete()
    zones.delete()
    places = Place.objects.filter(subtree_q("jurisdiction__path", path))
    Residence.objects.filter(place__in=places).delete()
    # Children first: a place protects its parent.
    for kind in (PlaceKind.UNIT, PlaceKind.BUILDING, PlaceKind.COMPOUND):
        places.filter(kind=kind).delete()
