"""Writes to the population registry. History is recorded here, never in save()."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.core.crypto import blind_index
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.services import jurisdiction_set_leaf_counts
from fangkong.people.models import (
    Household,
    HousingType,
    Person,
    PersonChange,
    PersonStatus,
    PersonTag,
)
from fangkong.people.names import name_initials, name_key
from fangkong.people.validation import CleanPerson

# Fields shown masked in the change history.
_MASKED = {"id_number": mask_id_number, "phone": mask_phone, "phone2": mask_phone}
PERSON_FIELDS = (
    "name",
    "id_type",
    "id_number",
    "no_id_reason",
    "sex",
    "birth_date",
    "phone",
    "phone2",
    "relationship",
    "residency",
    "arrival_date",
    "occupation",
    "workplace",
    "status",
    "away_since",
    "away_where",
)
COUNTED_STATUSES = (PersonStatus.PRESENT, PersonStatus.AWAY)


def last4_key(number: str) -> str | None:
    return blind_index("last4:" + number[-4:]) if len(number) >= 4 else None


def derived_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Search keys and hashes that follow from the clear values."""
    number, phone, phone2 = values["id_number"], values["phone"], values["phone2"]
    return {
        "name_key": name_key(values["name"]),
        "name_initials": name_initials(values["name"]),
        "id_number_hash": blind_index(number) if number else None,
        "id_last4_hash": last4_key(number),
        "phone_hash": blind_index(phone) if phone else None,
        "phone2_hash": blind_index(phone2) if phone2 else None,
    }


def check_leaf(node: Jurisdiction) -> None:
    if node.level not in (Level.GRID, Level.MICROGRID) or node.children.exists():
        raise ValidationError(
            {
                "jurisdiction": _(
                    "Households belong to a micro-grid, or to a grid without micro-grids."
                )
            }
        )


def compose_address(
    *,
    village: str = "",
    village_group: str = "",
    street: str = "",
    house_number: str = "",
    building: str = "",
    unit: str = "",
    room: str = "",
) -> str:
    """One line, in the order a Chinese address is written."""
    parts = [village, village_group, street + house_number]
    if building:
        parts.append(f"{building}栋" if building.isdigit() else building)
    if unit:
        parts.append(f"{unit}单元" if unit.isdigit() else unit)
    if room:
        parts.append(f"{room}室" if room.isdigit() else room)
    return " ".join(p for p in parts if p)[:200]


@transaction.atomic
def household_create(
    *,
    jurisdiction: Jurisdiction,
    village_group: str = "",
    street: str = "",
    house_number: str = "",
    building: str = "",
    unit: str = "",
    room: str = "",
    housing_type: str = HousingType.OWNED,
    landlord_name: str = "",
    landlord_phone: str = "",
) -> Household:
    from fangkong.people.validation import clean_phone_number

    check_leaf(jurisdiction)
    village = next(
        (
            a.name
            for a in Jurisdiction.objects.filter(
                code__in=jurisdiction.ancestor_codes(), level=Level.VILLAGE
            )
        ),
        "",
    )
    phone = clean_phone_number(landlord_phone) if landlord_phone else ""
    household = Household(
        jurisdiction=jurisdiction,
        village_group=village_group,
        street=street,
        house_number=house_number,
        building=building,
        unit=unit,
        room=room,
        address=compose_address(
            village=village,
            village_group=village_group,
            street=street,
            house_number=house_number,
            building=building,
            unit=unit,
            room=room,
        ),
        housing_type=HousingType(housing_type),
        landlord_name=landlord_name,
        landlord_phone=phone,
        landlord_phone_hash=blind_index(phone) if phone else "",
    )
    household.full_clean(exclude=["head", "landlord_phone_hash"])
    household.save()
    return household


def _history_value(field: str, value: Any) -> Any:
    if value in (None, ""):
        return ""
    if field in _MASKED:
        return _MASKED[field](str(value))
    return value.isoformat() if isinstance(value, date) else value


@transaction.atomic
def person_register(
    *,
    data: CleanPerson,
    household: Household | None = None,
    jurisdiction: Jurisdiction | None = None,
    actor: User | None = None,
    source: str = "manual",
) -> Person:
    """Create a person from cleaned data; an ID number may exist only once."""
    node = household.jurisdiction if household is not None else jurisdiction
    if node is None:
        raise ValidationError({"jurisdiction": _("A person needs a household or a grid.")})
    values = {f: getattr(data, f) for f in PERSON_FIELDS}
    if (
        data.id_number
        and Person.objects.filter(id_number_hash=blind_index(data.id_number)).exists()
    ):
        raise ValidationError(
            {"id_number": _("A person with this ID number is already registered.")}
        )
    person = Person.objects.create(
        jurisdiction=node, household=household, **values, **derived_columns(values)
    )
    PersonTag.objects.bulk_create([PersonTag(person=person, tag=t) for t in sorted(data.tags)])
    PersonChange.objects.create(
        person=person,
        actor=actor,
        source=source,
        changes={f: ["", _history_value(f, v)] for f, v in values.items() if v not in (None, "")},
    )
    return person


@transaction.atomic
def person_update(
    *,
    person: Person,
    data: CleanPerson,
    actor: User | None = None,
    source: str = "manual",
    household: Household | None = None,
) -> list[str]:
    """Apply the differences; record them in the history. Returns the changed fields."""
    new = asdict(data)
    tags = set(new.pop("tags"))
    changed = {
        f: (getattr(person, f), new[f]) for f in PERSON_FIELDS if getattr(person, f) != new[f]
    }
    if data.id_number and "id_number" in changed:
        clash = Person.objects.filter(id_number_hash=blind_index(data.id_number)).exclude(
            pk=person.pk
        )
        if clash.exists():
            raise ValidationError(
                {"id_number": _("A person with this ID number is already registered.")}
            )
    old_tags = set(person.tags.values_list("tag", flat=True))
    if household is not None and household.pk != person.household_id:
        changed["household"] = (person.household_id, household.pk)
        person.household = household
        person.jurisdiction = household.jurisdiction
    if tags != old_tags:
        changed["tags"] = (sorted(old_tags), sorted(tags))
        person.tags.exclude(tag__in=tags).delete()
        PersonTag.objects.bulk_create(
            [PersonTag(person=person, tag=t) for t in sorted(tags - old_tags)]
        )
    if not changed:
        return []
    for f in PERSON_FIELDS:
        setattr(person, f, new[f])
    for column, value in derived_columns({f: new[f] for f in PERSON_FIELDS}).items():
        setattr(person, column, value)
    person.save()
    PersonChange.objects.create(
        person=person,
        actor=actor,
        source=source,
        changes={f: [_history_value(f, o), _history_value(f, n)] for f, (o, n) in changed.items()},
    )
    return sorted(changed)


@transaction.atomic
def household_set_head(*, household: Household, person: Person) -> None:
    if person.household_id != household.pk:
        raise ValidationError(_("The head must be a member of the household."))
    Household.objects.filter(pk=household.pk).update(head=person)
    household.head = person


def registry_recount() -> None:
    """Leaf counts from the registry, rolled up the tree (present and away persons)."""
    households = dict(
        Household.objects.values("jurisdiction_id")
        .annotate(n=Count("id"))
        .values_list("jurisdiction_id", "n")
    )
    residents = dict(
        Person.objects.filter(status__in=COUNTED_STATUSES)
        .values("jurisdiction_id")
        .annotate(n=Count("id"))
        .values_list("jurisdiction_id", "n")
    )
    leaves = Jurisdiction.objects.filter(
        Q(level=Level.MICROGRID) | Q(level=Level.GRID, children__isnull=True)
    ).values_list("id", flat=True)
    jurisdiction_set_leaf_counts(
        counts={n: (households.get(n, 0), residents.get(n, 0)) for n in leaves}
    )


def _same_person_in(household: Household, data: CleanPerson) -> Person | None:
    """The member of `household` a create of `data` would repeat: the same ID number, or
    without one the same name and no ID (a retried entry of a child or an elder)."""
    members = Person.objects.filter(household=household)
    if data.id_number:
        return members.filter(id_number_hash=blind_index(data.id_number)).first()
    return members.filter(name_key=name_key(data.name), id_number_hash__isnull=True).first()


@transaction.atomic
def person_register_once(
    *,
    data: CleanPerson,
    household: Household,
    actor: User | None = None,
    source: str = "manual",
) -> tuple[Person, bool]:
    """Create a member of `household`, or return the one a retry of the same create made:
    (person, created). The household row is locked first, so two retries racing each
    other make one person. The same ID number in another household stays an error."""
    Household.objects.select_for_update().filter(pk=household.pk).first()
    existing = _same_person_in(household, data)
    if existing is not None:
        return existing, False
    return person_register(data=data, household=household, actor=actor, source=source), True


HOUSEHOLD_KEY = ("village_group", "street", "house_number", "building", "unit", "room")


@transaction.atomic
def household_create_once(*, jurisdiction: Jurisdiction, **fields: str) -> tuple[Household, bool]:
    """`household_create`, unless the grid already has a household at this very address
    (the same group, street, number, building, unit and room): (household, created)."""
    Jurisdiction.objects.select_for_update().filter(pk=jurisdiction.pk).first()
    key = {k: fields.get(k, "") for k in HOUSEHOLD_KEY}
    existing = Household.objects.filter(jurisdiction=jurisdiction, **key).order_by("id").first()
    if existing is not None:
        return existing, False
    return household_create(jurisdiction=jurisdiction, **fields), True
