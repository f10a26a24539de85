"""The vulnerable-people register's API: the register of the area (masked), a person's
entry (contact person by username, needs, the meal list), the daily checks of a day,
and the meal list of a store's area with a meal recorded (from a phone's queue: the
same client id is one meal)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema

from fangkong.accounts.selectors import request_user
from fangkong.assist import selectors
from fangkong.assist.care import NEEDS_MAX, care_set, meal_issue
from fangkong.core.api_kit import referenced
from fangkong.core.bounds import Id
from fangkong.core.masking import mask_name
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user

router = ScopedRouter(tags=["assist"])


class CareRegisterOut(Schema):
    person_id: Id
    name: str  # masked
    node: str
    village: str
    groups: list[str]
    on_register: bool
    contact: str  # username, "" when none
    contact_name: str
    needs: str
    meals: bool
    checked_today: str

    @classmethod
    def of(cls, r: selectors.RegisterRow) -> CareRegisterOut:
        e = r.entry
        return cls(
            person_id=r.person.pk,
            name=r.name,
            node=r.person.jurisdiction.code,
            village=r.village,
            groups=r.groups,
            on_register=e is not None,
            contact=e.contact.get_username() if e is not None and e.contact else "",
            contact_name=r.contact,
            needs=e.needs if e is not None else "",
            meals=bool(e and e.meals),
            checked_today=r.checked_today,
        )


class CareRegisterQuery(Schema):
    node: Annotated[str, Field(max_length=40)] = ""


class CareEntryIn(Schema):
    contact: Annotated[str, Field(max_length=150, description="the contact's username")] = ""
    needs: Annotated[str, Field(max_length=NEEDS_MAX)] = ""
    meals: bool = False


class CareCheckOut(Schema):
    id: Id
    person_id: Id
    name: str  # masked
    node: str
    day: date
    contact: str
    outcome: str
    note: str
    done_at: str | None


class CareChecksQuery(Schema):
    day: date | None = None


class MealIn(Schema):
    person_id: Id
    client_id: uuid.UUID


class MealOut(Schema):
    id: Id
    person_id: Id
    day: date
    created: bool


class MealRowOut(Schema):
    person_id: Id
    name: str
    village: str
    given_today: bool


def _rows(request: HttpRequest, node_code: str) -> list[CareRegisterOut]:
    user = request_user(request)
    node = None
    if node_code:
        node = referenced("node", lambda: jurisdiction_for_user(user, node_code, Perm.ASSIST_VIEW))
    today = timezone.localdate()
    people = selectors.register_people(user, today=today, node=node)
    return [CareRegisterOut.of(r) for r in selectors.register_rows(people, today=today)]


@router.read("/register", perm=Perm.ASSIST_VIEW, response=list[CareRegisterOut])
def list_register(request: HttpRequest, query: Query[CareRegisterQuery]) -> list[CareRegisterOut]:
    return _rows(request, query.node)


def _person_guard(user: object, kwargs: dict[str, object]) -> object:
    return selectors.care_person_for_user(user, int(str(kwargs["person_id"])), write=True)


@router.write(
    "/register/{person_id}",
    perm=Perm.ASSIST_ENTER,
    assignee=_person_guard,
    method="PUT",
    response=CareRegisterOut,
)
def set_entry(request: HttpRequest, person_id: Id, body: CareEntryIn) -> CareRegisterOut:
    """Enter the person on the register or change their entry (the same body again
    changes nothing)."""
    user = request_user(request)
    person = selectors.care_person_for_user(user, person_id, write=True)
    contact = None
    if body.contact:
        contact = next(
            (
                u
                for u in selectors.contact_choices(person, user)
                if u.get_username() == body.contact
            ),
            None,
        )
        if contact is None:
            raise ValidationError(
                {"contact": [_("The contact person must be staff serving this person's area.")]}
            )
    care_set(actor=user, person=person, contact=contact, needs=body.needs, meals=body.meals)
    row = selectors.register_rows([person], today=timezone.localdate())[0]
    return CareRegisterOut.of(row)


@router.read("/checks", perm=Perm.ASSIST_VIEW, response=list[CareCheckOut])
def list_checks(request: HttpRequest, query: Query[CareChecksQuery]) -> list[CareCheckOut]:
    day = query.day or timezone.localdate()
    found = selectors.checks_visible(request.user).filter(day=day).order_by("id")[:1000]
    return [
        CareCheckOut(
            id=c.pk,
            person_id=c.entry.person_id,
            name=mask_name(c.entry.person.name),
            node=c.jurisdiction.code,
            day=c.day,
            contact=selectors.staff_name(c.entry.contact),
            outcome=c.outcome,
            note=c.note,
            done_at=c.done_at.isoformat() if c.done_at else None,
        )
        for c in found
    ]


def _store_guard(user: object, kwargs: dict[str, object]) -> object:
    return selectors.handing_store_for_user(user, int(str(kwargs["store_id"])))


@router.read("/stores/{store_id}/meals", perm=Perm.ASSIST_VIEW, response=list[MealRowOut])
def list_meals(request: HttpRequest, store_id: Id) -> list[MealRowOut]:
    store = selectors.store_for_user(request.user, store_id)
    rows = selectors.meal_list(request.user, store, today=timezone.localdate())
    return [
        MealRowOut(person_id=r.entry.person_id, name=r.name, village=r.village, given_today=r.given)
        for r in rows
    ]


@router.write(
    "/stores/{store_id}/meals",
    perm=Perm.ASSIST_ENTER,
    assignee=_store_guard,
    writes_at="within",
    response={201: MealOut},
)
def create_meal(request: HttpRequest, store_id: Id, body: MealIn) -> tuple[int, MealOut]:
    user = request_user(request)
    store = selectors.handing_store_for_user(user, store_id)
    entry = referenced("person_id", lambda: selectors.meal_entry_for_user(user, body.person_id))
    meal, created = meal_issue(actor=user, store=store, entry=entry, client_id=body.client_id)
    return 201, MealOut(id=meal.pk, person_id=entry.person_id, day=meal.day, created=created)
