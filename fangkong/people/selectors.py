"""Reads of the registry: search, lists with filters, special-group registers. Scoped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from fangkong.core.crypto import blind_index
from fangkong.core.identity import normalise_id_number
from fangkong.core.normalise import fold_width
from fangkong.core.search_terms import identifier_in
from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm
from fangkong.org.scoping import ScopedQuerySet, prefix_q
from fangkong.people.address_search import address_q
from fangkong.people.models import Household, ImportJob, Person, PersonStatus, PersonTag, Tag
from fangkong.people.names import has_cjk, name_key
from fangkong.people.services import last4_key

_LETTERS = re.compile(r"^[a-z]+$")
_LAST4 = re.compile(r"^\d{3}[\dX]$")


def persons_visible(user: Any) -> ScopedQuerySet[Person]:
    return Person.objects.visible_to(user, Perm.PEOPLE_VIEW)


def person_for_user(user: Any, person_id: int, *, write: bool = False) -> Person:
    """404 outside people.view; with `write`, 403 without people.edit at the person's
    node."""
    return object_for_user(
        Person.objects.select_related("household", "jurisdiction"),
        user,
        Perm.PEOPLE_VIEW,
        write=Perm.PEOPLE_EDIT if write else None,
        pk=person_id,
    )


def household_for_user(user: Any, household_id: int, *, write: bool = False) -> Household:
    return object_for_user(
        Household.objects.select_related("jurisdiction", "head"),
        user,
        Perm.PEOPLE_VIEW,
        write=Perm.PEOPLE_EDIT if write else None,
        pk=household_id,
    )


def import_job_for_user(user: Any, job_id: int, kind: str = "people") -> ImportJob:
    """An import job belongs to whoever started it: the same 404 for anyone else's, and
    for a job of another kind (each kind's pages serve their own)."""
    job = ImportJob.objects.filter(pk=job_id, owner_id=user.pk, kind=kind).first()
    if job is None:
        raise Http404
    return job


@dataclass(frozen=True)
class SearchTerm:
    q: Q
    exact: bool  # a keyed-hash equality (a handful of rows), not a prefix


def search_q(query: str) -> SearchTerm | None:
    """What a typed query means: a phone, an ID, its last 4 digits, initials, or a name.

    Every branch is an equality on a keyed hash or a prefix on an indexed key, so a
    search stays fast on a million persons. None when the query is empty.
    """
    text = fold_width(query).strip()
    if not text:
        return None
    compact = "".join(text.split())
    found = identifier_in(compact)
    if found is not None and found[0] == "phone":
        key = blind_index(found[1])
        # The OR on its own, unordered, lets each hash column's index serve its half.
        either = Person.objects.filter(Q(phone_hash=key) | Q(phone2_hash=key)).values("pk")
        return SearchTerm(Q(pk__in=either), exact=True)
    if found is not None:
        return SearchTerm(Q(id_number_hash=blind_index(found[1])), exact=True)
    number = normalise_id_number(compact)
    if _LAST4.match(number):
        return SearchTerm(Q(id_last4_hash=last4_key(number)), exact=False)
    if _LETTERS.match(compact.lower()):
        return SearchTerm(prefix_q("name_initials", compact.lower()), exact=False)
    if has_cjk(compact) or compact:
        return SearchTerm(prefix_q("name_key", name_key(compact)), exact=False)
    return None


AGE_BANDS: dict[str, tuple[int | None, int | None]] = {
    "0-2": (0, 2),
    "3-17": (3, 17),
    "18-59": (18, 59),
    "60+": (60, None),
    "80+": (80, None),
}


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def age_q(band: str, today: date) -> Q:
    """Age from the birth date: groups such as 60+ are derived, never stored."""
    low, high = AGE_BANDS[band]
    q = Q()
    if low is not None:
        q &= Q(birth_date__lte=_years_ago(today, low))
    if high is not None:
        q &= Q(birth_date__gt=_years_ago(today, high + 1))
    return q


@dataclass
class PersonFilters:
    q: str = ""
    node: Any = None  # a Jurisdiction already checked for visibility
    address: str = ""
    tag: str = ""
    residency: str = ""
    status: str = ""
    age: str = ""
    # The address named a search that cannot be used (a lapsed token, an ID number in
    # the URL): nothing matches, rather than everything.
    refused: bool = False


def person_list(user: Any, filters: PersonFilters, *, today: date) -> ScopedQuerySet[Person]:
    if filters.refused:
        return Person.objects.none()
    term = search_q(filters.q)
    # With a search term, the term's index finds the rows and the scope only checks them.
    selective = term is not None
    qs = Person.objects.visible_to(user, Perm.PEOPLE_VIEW, as_filter=selective)
    if filters.node is not None:
        qs = qs.within(filters.node.path, as_filter=selective)
    if term is not None:
        qs = qs.filter(term.q)
    if filters.address:
        qs = qs.filter(address_q(filters.address, prefix="household__"))
    if filters.tag in Tag.values:
        qs = qs.filter(Exists(PersonTag.objects.filter(person=OuterRef("pk"), tag=filters.tag)))
    if filters.residency:
        qs = qs.filter(residency=filters.residency)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.age in AGE_BANDS:
        qs = qs.filter(age_q(filters.age, today))
    # Search results read best by name; a plain list reads best grid by grid, household
    # by household. (Ordering a search by the jurisdiction's path would also invite the
    # planner to walk the tree instead of using the search's index.)
    if term is None:
        # Grid by grid, household by household; served by the (jurisdiction, household,
        # id) index, so a first page needs no sort of the whole list.
        order: tuple[str, ...] = ("jurisdiction_id", "household_id", "id")
    else:
        # By id, not by name: a LIKE prefix is served by the pattern index, which cannot
        # give collation order, so "ORDER BY name_key LIMIT 50" would make PostgreSQL walk
        # the whole name index from 阿 to find 谭 (seconds at a million persons).
        order = ("id",)
    return qs.select_related("household", "jurisdiction").order_by(*order)


# Registers: named lists of special groups, as data so a town can add its own.
REGISTERS: dict[str, dict[str, Any]] = {
    "elderly_alone": {"label": _("60+ living alone"), "age": "60+", "tags": [Tag.LIVING_ALONE]},
    "over_80": {"label": _("80 and over"), "age": "80+", "tags": []},
    "mobility": {"label": _("Mobility-impaired"), "age": "", "tags": [Tag.MOBILITY_IMPAIRED]},
    "dialysis": {"label": _("Dialysis"), "age": "", "tags": [Tag.DIALYSIS]},
    "pregnant": {"label": _("Pregnant"), "age": "", "tags": [Tag.PREGNANT]},
    "infants": {"label": _("Infants (0-2)"), "age": "0-2", "tags": []},
    "floating": {"label": _("Floating population"), "age": "", "tags": [], "residency": "liudong"},
    "key_occupations": {
        "label": _("Key occupations"),
        "age": "",
        "any_tags": [
            Tag.LOGISTICS_DIRECT,
            Tag.LOGISTICS_INDIRECT,
            Tag.MEDICAL,
            Tag.COLD_CHAIN,
            Tag.TRANSPORT,
            Tag.PORT,
        ],
    },
}


def register_list(user: Any, key: str, *, node: Any = None, today: date) -> ScopedQuerySet[Person]:
    spec = REGISTERS[key]
    qs = persons_visible(user).filter(status__in=[PersonStatus.PRESENT, PersonStatus.AWAY])
    if node is not None:
        qs = qs.within(node.path)
    if spec.get("age"):
        qs = qs.filter(age_q(spec["age"], today))
    for tag in spec.get("tags", []):
        qs = qs.filter(Exists(PersonTag.objects.filter(person=OuterRef("pk"), tag=tag)))
    if spec.get("any_tags"):
        qs = qs.filter(
            Exists(PersonTag.objects.filter(person=OuterRef("pk"), tag__in=spec["any_tags"]))
        )
    if spec.get("residency"):
        qs = qs.filter(residency=spec["residency"])
    return qs.select_related("household", "jurisdiction").order_by(
        "jurisdiction_id", "household_id", "id"
    )


def households_visible(user: Any) -> ScopedQuerySet[Household]:
    return Household.objects.visible_to(user, Perm.PEOPLE_VIEW)


@dataclass
class HistoryEntry:
    at: Any
    actor: str
    source: str
    changes: list[tuple[str, str, str]]  # (field label, old, new), already masked


def person_history(person: Person, limit: int = 30) -> list[HistoryEntry]:
    """The change log in words: field labels and choice names instead of column codes."""
    from fangkong.people.models import PersonChange

    labels: dict[str, str] = {
        f.name: str(f.verbose_name) for f in Person._meta.get_fields() if hasattr(f, "verbose_name")
    }
    choices: dict[str, dict[str, str]] = {
        f.name: {str(k): str(v) for k, v in getattr(f, "flatchoices", [])}
        for f in Person._meta.concrete_fields
        if getattr(f, "choices", None)
    }
    labels["tags"] = str(_("Groups"))
    tag_names = {str(k): str(v) for k, v in Tag.choices}

    def show(field: str, value: Any) -> str:
        if isinstance(value, list):
            return "、".join(tag_names.get(str(v), str(v)) for v in value)
        return choices.get(field, {}).get(str(value), str(value))

    return [
        HistoryEntry(
            at=c.at,
            actor=c.actor.username if c.actor else "",
            source=c.source,
            changes=[
                (labels.get(f, f), show(f, old), show(f, new))
                for f, (old, new) in c.changes.items()
            ],
        )
        for c in PersonChange.objects.filter(person=person).select_related("actor")[:limit]
    ]
