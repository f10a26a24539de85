"""People API: the population registry (persons and households) in the caller's scope.

Identifiers are masked in every answer; the clear values come only from the audited
unmasking, with a stated purpose, as on the person's page. Persons are cleaned by the
one cleaning function the forms and the import use (`validation.clean_person`), so the
API accepts and refuses exactly what they do, with the same messages. A search term
holding digits (an ID number, a phone) travels in a POST body, never in an address.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Count as CountOf
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page, referenced
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name, mask_phone
from fangkong.core.purpose import clean_purpose
from fangkong.core.search_terms import holds_digits
from fangkong.org.access import ScopedRouter, require_perm_at
from fangkong.org.pii import audit_unmasking
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.people import selectors, services
from fangkong.people.forms import SECRET_FIELDS, PersonForm
from fangkong.people.models import Household, HousingType, Person
from fangkong.people.validation import CleanPerson, clean_person, clean_phone_number

router = ScopedRouter(tags=["people"])

NodeCode = Annotated[str, Field(max_length=40, description="A node's code; empty: your area")]
Text = Annotated[str, Field(max_length=100)]
Short = Annotated[str, Field(max_length=60)]


# Persons -----------------------------------------------------------------------------


class PersonOut(Schema):
    id: Id
    name: str
    household_id: Id | None
    address: str
    node_code: str
    node_name: str
    id_type: str
    id_number_masked: str
    no_id_reason: str
    sex: str
    birth_date: date | None
    phone_masked: str
    phone2_masked: str
    relationship: str
    residency: str
    arrival_date: date | None
    occupation: str
    workplace: str
    status: str
    away_since: date | None
    away_where: str
    tags: list[str]

    @staticmethod
    def of(p: Person) -> PersonOut:
        return PersonOut(
            id=p.pk,
            name=p.name,
            household_id=p.household_id,
            address=p.household.address if p.household else "",
            node_code=p.jurisdiction.code,
            node_name=p.jurisdiction.name,
            id_type=p.id_type,
            id_number_masked=p.id_number_masked,
            no_id_reason=p.no_id_reason,
            sex=p.sex,
            birth_date=p.birth_date,
            phone_masked=p.phone_masked,
            phone2_masked=mask_phone(p.phone2),
            relationship=p.relationship,
            residency=p.residency,
            arrival_date=p.arrival_date,
            occupation=p.occupation,
            workplace=p.workplace,
            status=p.status,
            away_since=p.away_since,
            away_where=p.away_where,
            tags=sorted(t.tag for t in p.tags.all()),
        )


class Filters(Schema):
    node: NodeCode = ""
    status: Annotated[str, Field(max_length=12)] = ""
    residency: Annotated[str, Field(max_length=12)] = ""
    tag: Annotated[str, Field(max_length=20)] = ""
    age: Annotated[str, Field(max_length=6, description="0-2, 3-17, 18-59, 60+ or 80+")] = ""


def _persons(request: HttpRequest, q: str, f: Filters, cursor: str, limit: int) -> Page[PersonOut]:
    user = request_user(request)
    node = jurisdiction_for_user(user, f.node.strip(), Perm.PEOPLE_VIEW) if f.node.strip() else None
    filters = selectors.PersonFilters(
        q=q, node=node, tag=f.tag, residency=f.residency, status=f.status, age=f.age
    )
    persons = selectors.person_list(user, filters, today=timezone.localdate())
    rows, after = cursor_page(persons.prefetch_related("tags"), cursor=cursor, limit=limit)
    return Page[PersonOut](items=[PersonOut.of(p) for p in rows], next_cursor=after)


@router.read("", perm=Perm.PEOPLE_VIEW, response=Page[PersonOut])
def list_persons(
    request: HttpRequest,
    q: Annotated[str, Field(max_length=60, description="A name or initials (no digits)")] = "",
    node: NodeCode = "",
    status: Annotated[str, Field(max_length=12)] = "",
    residency: Annotated[str, Field(max_length=12)] = "",
    tag: Annotated[str, Field(max_length=20)] = "",
    age: Annotated[str, Field(max_length=6)] = "",
    cursor: Cursor = "",
    limit: Limit = 50,
) -> Page[PersonOut]:
    """The persons of your area (under `node` when given), newest first, masked. A term
    with digits is refused here: search for ID numbers and phones with
    `POST /people/search`, so they stay out of addresses and access logs."""
    if holds_digits(q):
        raise ValidationError(
            {"q": [_("ID numbers and phone numbers are searched with POST /people/search.")]}
        )
    f = Filters(node=node, status=status, residency=residency, tag=tag, age=age)
    return _persons(request, q, f, cursor, limit)


class SearchIn(Filters):
    q: Annotated[
        str,
        Field(
            max_length=60,
            description="An ID number, a phone, the last 4 of an ID, initials, or a name "
            "in simplified or traditional characters",
        ),
    ]
    cursor: Cursor = ""
    limit: Limit = 50


@router.write("/search", perm=Perm.PEOPLE_VIEW, response=Page[PersonOut])
def search_persons(request: HttpRequest, body: SearchIn) -> Page[PersonOut]:
    """Search your area: by keyed hashes for whole ID numbers and phones and by indexed
    keys for names (both scripts) and initials, never by decrypting the registry.
    Changes nothing; a POST so the term stays out of the address."""
    if not body.q.strip():
        raise ValidationError({"q": [_("Type a name, an ID number or a phone.")]})
    return _persons(request, body.q, body, body.cursor, body.limit)


@router.read("/{int:person_id}", perm=Perm.PEOPLE_VIEW, response=PersonOut)
def get_person(request: HttpRequest, person_id: Id) -> PersonOut:
    """One person, masked."""
    return PersonOut.of(selectors.person_for_user(request.user, person_id))


class PersonFieldsIn(Schema):
    """The person's fields as typed, each cleaned as the forms and the import clean it
    (dates in several layouts, sex and residency as codes or words). Not sent: not
    changed (PATCH) or empty (create)."""

    name: Annotated[str, Field(max_length=60)] | None = None
    id_type: Annotated[str, Field(max_length=20)] | None = None
    id_number: Annotated[str, Field(max_length=30)] | None = None
    no_id_reason: Text | None = None
    sex: Annotated[str, Field(max_length=10)] | None = None
    birth_date: Annotated[str, Field(max_length=20)] | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None
    phone2: Annotated[str, Field(max_length=20)] | None = None
    relationship: Annotated[str, Field(max_length=20)] | None = None
    residency: Annotated[str, Field(max_length=20)] | None = None
    arrival_date: Annotated[str, Field(max_length=20)] | None = None
    occupation: Short | None = None
    workplace: Text | None = None
    status: Annotated[str, Field(max_length=20)] | None = None
    away_since: Annotated[str, Field(max_length=20)] | None = None
    away_where: Text | None = None
    tags: list[Annotated[str, Field(max_length=20)]] | None = Field(None, max_length=20)

    def raw(self) -> dict[str, Any]:
        sent = {k: v for k, v in self.dict(exclude_unset=True).items() if v is not None}
        if "tags" in sent:
            sent["tags"] = ",".join(sent["tags"])
        return sent


class PersonIn(PersonFieldsIn):
    household_id: Id


class PersonWriteOut(Schema):
    created: bool
    changed: list[str] = Field(default_factory=list)
    warnings: dict[str, list[str]] = Field(default_factory=dict)
    person: PersonOut


def _clean(raw: dict[str, Any], stored: dict[str, str] | None = None) -> CleanPerson:
    """The one cleaning function; its errors as a 422 naming each field. A message about
    a kept value (one sent before, which no longer passes) names it masked."""
    data, errors = clean_person(raw, today=timezone.localdate())
    if data is None:
        for field_name, value in (stored or {}).items():
            mask = SECRET_FIELDS[field_name]
            errors = {f: [m.replace(value, mask(value)) for m in ms] for f, ms in errors.items()}
        raise ValidationError(errors)
    return data


def _reloaded(request: HttpRequest, person_id: int) -> Person:
    return selectors.person_for_user(request.user, person_id)


@router.write("", perm=Perm.PEOPLE_EDIT, response=PersonWriteOut)
def create_person(request: HttpRequest, body: PersonIn) -> PersonWriteOut:
    """Add a member to a household (people.edit at the household's grid). Sent again, the
    same ID number in the same household (or, without one, the same name without an ID)
    returns the person already there with `created: false`, unchanged; PATCH changes it."""
    household = referenced(
        "household_id",
        lambda: selectors.household_for_user(request.user, body.household_id, write=True),
    )
    data = _clean(body.raw())
    person, created = services.person_register_once(
        data=data, household=household, actor=request_user(request), source="api"
    )
    if created:
        audit_record(
            action=AuditAction.CREATE,
            request=request,
            obj=person,
            object_repr=mask_name(person.name),
            jurisdiction_path=household.jurisdiction.path,
            detail={"via": "api"},
        )
    return PersonWriteOut(
        created=created,
        warnings=data.warnings if created else {},
        person=PersonOut.of(_reloaded(request, person.pk)),
    )


def _current_raw(person: Person) -> tuple[dict[str, Any], dict[str, str]]:
    """The person's values as the cleaning function reads them, and the kept secrets."""
    raw = PersonForm.initial_from(person)
    raw["tags"] = ",".join(raw["tags"])
    stored = {f: getattr(person, f) for f in SECRET_FIELDS if getattr(person, f)}
    return raw | stored, stored


@router.write("/{int:person_id}", perm=Perm.PEOPLE_EDIT, method="PATCH", response=PersonWriteOut)
def update_person(request: HttpRequest, person_id: Id, body: PersonFieldsIn) -> PersonWriteOut:
    """Change what is sent (people.edit at the person's grid); the whole person is then
    cleaned again, so a change contradicting the rest (a sex against the ID number) is
    refused with nothing changed. Resending the same changes nothing (`changed: []`)."""
    person = selectors.person_for_user(request.user, person_id, write=True)
    current, stored = _current_raw(person)
    sent = body.raw()
    kept = {f: v for f, v in stored.items() if f not in sent}
    data = _clean(current | sent, kept)
    changed = services.person_update(
        person=person, data=data, actor=request_user(request), source="api"
    )
    if changed:
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            obj=person,
            object_repr=mask_name(person.name),
            jurisdiction_path=person.jurisdiction.path,
            detail={"fields": changed, "via": "api"},
        )
    return PersonWriteOut(
        created=False,
        changed=changed,
        warnings=data.warnings if changed else {},
        person=PersonOut.of(_reloaded(request, person.pk)),
    )


Secret = Literal["id_number", "phone", "phone2"]


class PersonUnmaskIn(Schema):
    purpose: Annotated[str, Field(max_length=300, description="Why, in words; audited")]
    fields: list[Secret] = Field(
        default_factory=list, max_length=3, description="Default: all three"
    )


class PersonUnmaskOut(Schema):
    id_number: str | None = None
    phone: str | None = None
    phone2: str | None = None


@router.write("/{int:person_id}/unmask", perm=Perm.PII_UNMASK, response=PersonUnmaskOut)
def unmask_person(request: HttpRequest, person_id: Id, body: PersonUnmaskIn) -> PersonUnmaskOut:
    """The ID number and phones in clear, for a stated purpose (pii.unmask at the
    person's grid). Every call is written to the audit log with its purpose and fields,
    as on the person's page."""
    person = selectors.person_for_user(request.user, person_id)
    require_perm_at(request.user, Perm.PII_UNMASK, person.jurisdiction.path)
    try:
        purpose = clean_purpose(body.purpose)
    except ValidationError as e:
        raise ValidationError({"purpose": e.messages}) from None
    fields = list(dict.fromkeys(body.fields)) or ["id_number", "phone", "phone2"]
    audit_unmasking(
        request,
        obj=person,
        name=person.name,
        path=person.jurisdiction.path,
        purpose=purpose,
        fields=list(fields),
        via="api",
    )
    return PersonUnmaskOut(**{f: getattr(person, f) or "" for f in fields})


# Households ----------------------------------------------------------------------------


class HouseholdOut(Schema):
    id: Id
    address: str
    node_code: str
    node_name: str
    village_group: str
    street: str
    house_number: str
    building: str
    unit: str
    room: str
    housing_type: str
    head_id: Id | None
    landlord_name: str
    landlord_phone_masked: str
    members: Count

    @staticmethod
    def of(h: Household, members: int) -> HouseholdOut:
        return HouseholdOut(
            id=h.pk,
            address=h.address,
            node_code=h.jurisdiction.code,
            node_name=h.jurisdiction.name,
            village_group=h.village_group,
            street=h.street,
            house_number=h.house_number,
            building=h.building,
            unit=h.unit,
            room=h.room,
            housing_type=h.housing_type,
            head_id=h.head_id,
            landlord_name=mask_name(h.landlord_name),
            landlord_phone_masked=h.landlord_phone_masked,
            members=members,
        )


@router.read("/households", perm=Perm.PEOPLE_VIEW, response=Page[HouseholdOut])
def list_households(
    request: HttpRequest, node: NodeCode = "", cursor: Cursor = "", limit: Limit = 50
) -> Page[HouseholdOut]:
    """The households of your area (under `node` when given), newest first."""
    households = selectors.households_visible(request.user)
    if node.strip():
        at = jurisdiction_for_user(request.user, node.strip(), Perm.PEOPLE_VIEW)
        households = households.within(at.path)
    rows, after = cursor_page(
        households.select_related("jurisdiction").annotate(n=CountOf("members")),
        cursor=cursor,
        limit=limit,
    )
    return Page[HouseholdOut](
        items=[HouseholdOut.of(h, h.n) for h in rows],  # type: ignore[attr-defined]
        next_cursor=after,
    )


class HouseholdDetailOut(HouseholdOut):
    persons: list[PersonOut]


def _household_detail(household: Household) -> HouseholdDetailOut:
    members = list(
        household.members.select_related("household", "jurisdiction")
        .prefetch_related("tags")
        .order_by("id")
    )
    return HouseholdDetailOut(
        **HouseholdOut.of(household, len(members)).dict(),
        persons=[PersonOut.of(p) for p in members],
    )


@router.read("/households/{int:household_id}", perm=Perm.PEOPLE_VIEW, response=HouseholdDetailOut)
def get_household(request: HttpRequest, household_id: Id) -> HouseholdDetailOut:
    """One household with its members, masked."""
    return _household_detail(selectors.household_for_user(request.user, household_id))


class HouseholdIn(Schema):
    node: Annotated[str, Field(max_length=40, description="A grid or micro-grid code")]
    village_group: Annotated[str, Field(max_length=30)] = ""
    street: Short = ""
    house_number: Annotated[str, Field(max_length=20)] = ""
    building: Annotated[str, Field(max_length=20)] = ""
    unit: Annotated[str, Field(max_length=20)] = ""
    room: Annotated[str, Field(max_length=20)] = ""
    housing_type: Annotated[str, Field(max_length=12)] = HousingType.OWNED.value
    landlord_name: Annotated[str, Field(max_length=50)] = ""
    landlord_phone: Annotated[str, Field(max_length=20)] = ""


class HouseholdWriteOut(Schema):
    created: bool
    household: HouseholdDetailOut


@router.write("/households", perm=Perm.PEOPLE_EDIT, response=HouseholdWriteOut)
def create_household(request: HttpRequest, body: HouseholdIn) -> HouseholdWriteOut:
    """A household at a grid or micro-grid (people.edit there). The same address parts at
    the same node again return the household already there (`created: false`)."""
    node = referenced(
        "node",
        lambda: jurisdiction_for_user(
            request.user, body.node.strip(), Perm.PEOPLE_VIEW, write=Perm.PEOPLE_EDIT
        ),
    )
    if body.housing_type not in HousingType.values:
        raise ValidationError({"housing_type": [_("Choose a housing type.")]})
    try:
        clean_phone_number(body.landlord_phone)
    except ValidationError as e:
        raise ValidationError({"landlord_phone": e.messages}) from None
    fields = {k: v.strip() for k, v in body.dict().items() if k != "node"}
    try:
        household, created = services.household_create_once(jurisdiction=node, **fields)
    except ValidationError as e:
        if not hasattr(e, "error_dict"):
            raise
        # The service names the node as the model does; the request calls it `node`.
        raise ValidationError(
            {("node" if f == "jurisdiction" else f): m for f, m in e.message_dict.items()}
        ) from None
    if created:
        audit_record(
            action=AuditAction.CREATE,
            request=request,
            obj=household,
            object_repr=household.address,
            jurisdiction_path=node.path,
            detail={"via": "api"},
        )
    return HouseholdWriteOut(
        created=created,
        household=_household_detail(selectors.household_for_user(request.user, household.pk)),
    )
