"""Registering the places people live in: by hand (a compound, a building in it, a unit
in a building) or derived from the registry's household addresses — the compound is the
street (or the villager group), the building the household's building (or its house
number: a rural house is its own building), the unit its unit. Deriving again changes
nothing; a household already placed stays where it is."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, has_perm, subtree_q
from fangkong.people.models import Household
from fangkong.zones.models import CHILD_KIND, Place, PlaceKind, Residence


def _audit(place: Place, actor: User | None, what: str, **detail: object) -> None:
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        actor_name="" if actor else "system",
        obj=place,
        object_repr=f"place {place.pk}: {what}",
        jurisdiction_path=place.jurisdiction.path,
        detail={"kind": place.kind, **detail},
    )


def _create(jurisdiction: Jurisdiction, parent: Place | None, kind: str, name: str) -> Place:
    place = Place.objects.create(jurisdiction=jurisdiction, parent=parent, kind=kind, name=name)
    place.path = f"{parent.path if parent else '/'}{place.pk}/"
    place.save(update_fields=["path"])
    return place


@transaction.atomic
def place_add(
    *, actor: User, name: str, village: Jurisdiction | None = None, parent: Place | None = None
) -> Place:
    """A compound of a village, or a building or unit under its parent place."""
    name = " ".join(name.split())
    if not name or len(name) > 60:
        raise ValidationError({"name": _("A place's name has 1 to 60 characters.")})
    if parent is not None:
        kind = CHILD_KIND.get(PlaceKind(parent.kind))
        if kind is None:
            raise ValidationError({"parent": _("A unit holds no further places.")})
        village = parent.jurisdiction
    else:
        kind = PlaceKind.COMPOUND
        if village is None or village.level != Level.VILLAGE:
            raise ValidationError({"village": _("A compound belongs to a village.")})
    if not has_perm(actor, Perm.ZONES_MANAGE, village.path):
        raise PermissionDenied
    siblings = Place.objects.filter(parent=parent, name=name)
    if parent is None:
        siblings = siblings.filter(jurisdiction=village)
    if siblings.exists():
        raise ValidationError({"name": _("%(name)s is registered already.") % {"name": name}})
    place = _create(village, parent, kind, name)
    _audit(place, actor, "added")
    return place


@transaction.atomic
def residence_set(*, actor: User, household: Household, place: Place) -> Residence:
    """Say where a household lives (a building or a unit of its own village)."""
    if place.kind == PlaceKind.COMPOUND:
        raise ValidationError({"place": _("A household lives in a building or a unit.")})
    if not household.jurisdiction.path.startswith(place.jurisdiction.path):
        raise ValidationError({"place": _("The place is in another village.")})
    if not has_perm(actor, Perm.ZONES_MANAGE, place.jurisdiction.path):
        raise PermissionDenied
    found, _made = Residence.objects.update_or_create(
        household=household, defaults={"place": place}
    )
    _audit(place, actor, "residence", household=household.pk)
    return found


@dataclass
class Derived:
    places: int = 0
    households: int = 0
    skipped: int = 0  # households whose address names no compound


def village_of(node: Jurisdiction) -> Jurisdiction | None:
    """The village at or above a node (None above village level)."""
    if node.level == Level.VILLAGE:
        return node
    return (
        Jurisdiction.objects.filter(level=Level.VILLAGE, path__in=ancestor_paths(node.path))
        .order_by("-path")
        .first()
    )


@transaction.atomic
def places_derive(*, actor: User, village: Jurisdiction) -> Derived:
    """Compounds, buildings and units from the addresses of the village's households not
    yet placed; each such household is placed in its building or unit."""
    if village.level != Level.VILLAGE:
        raise ValidationError({"village": _("Places are derived village by village.")})
    if not has_perm(actor, Perm.ZONES_MANAGE, village.path):
        raise PermissionDenied
    out = Derived()
    known: dict[tuple[int | None, str], Place] = {
        (p.parent_id, p.name): p for p in Place.objects.filter(jurisdiction=village)
    }
    placed = Residence.objects.filter(household__jurisdiction__path__startswith=village.path)
    households = (
        Household.objects.filter(subtree_q("jurisdiction__path", village.path))
        .exclude(pk__in=placed.values("household_id"))
        .order_by("pk")
    )
    residences: list[Residence] = []

    def get(parent: Place | None, kind: str, name: str) -> Place:
        key = (parent.pk if parent else None, name[:60])
        if key not in known:
            known[key] = _create(village, parent, kind, name[:60])
            out.places += 1
        return known[key]

    for h in households.iterator(chunk_size=2000):
        compound_name = (h.street or h.village_group).strip()
        building_name = (h.building or h.house_number).strip()
        if not compound_name or not building_name:
            out.skipped += 1
            continue
        place = get(get(None, PlaceKind.COMPOUND, compound_name), PlaceKind.BUILDING, building_name)
        if h.unit.strip():
            place = get(place, PlaceKind.UNIT, h.unit.strip())
        residences.append(Residence(household_id=h.pk, place=place))
    try:
        Residence.objects.bulk_create(residences, batch_size=2000)
    except IntegrityError as e:  # a household placed meanwhile by someone else
        raise ValidationError(_("Someone placed households meanwhile; derive again.")) from e
    out.households = len(residences)
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        object_repr=f"places derived for {village.code}",
        jurisdiction_path=village.path,
        detail={"places": out.places, "households": out.households, "skipped": out.skipped},
    )
    return out
