"""Writes of the vulnerable-people register: a person's entry (contact person, needs,
the meal list), the daily checks opened for everyone of the register in a zone or under
control at home (a work order to the contact, one per person per day however often the
job runs), a check's outcome when the contact completes it on their phone, and a meal
handed to an elder of the meal list (one per elder per day; the same client id again is
the first meal; its items taken from the store like a package's, never below zero)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.assist.kinds import CARE_CHECK_KIND
from fangkong.assist.models_care import CareCheck, CareEntry, CareOutcome, Meal
from fangkong.assist.models_supplies import Item, Move, MoveKind, Stock, Store
from fangkong.assist.services import may_ask
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.masking import mask_name
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import Subject, orders_create

NEEDS_MAX = 300
# A day's check is due by this hour of the evening, local time.
CHECK_DUE_HOUR = 20


def _audit(entry: CareEntry, actor: User | None, action: AuditAction, what: str) -> None:
    audit_record(
        action=action,
        actor=actor,
        obj=entry,
        object_repr=f"care register {entry.pk}: {what} (person {entry.person_id})",
        jurisdiction_path=entry.jurisdiction.path,
        detail={"contact": entry.contact_id, "meals": entry.meals},
    )


def may_be_contact(user: User, person: Person) -> bool:
    """A contact person is active staff holding assist.enter at the person's node."""
    return user.is_active and has_perm(user, Perm.ASSIST_ENTER, person.jurisdiction.path)


@transaction.atomic
def care_set(
    *,
    actor: User,
    person: Person,
    contact: User | None,
    needs: str,
    meals: bool,
) -> tuple[CareEntry, bool]:
    """Enter a person on the register or change their entry; (entry, created)."""
    if not has_perm(actor, Perm.ASSIST_ENTER, person.jurisdiction.path):
        raise PermissionDenied
    needs = " ".join(needs.split())
    if len(needs) > NEEDS_MAX:
        raise ValidationError({"needs": _("At most %(n)d characters, please.") % {"n": NEEDS_MAX}})
    if contact is not None and not may_be_contact(contact, person):
        raise ValidationError(
            {"contact": _("The contact person must be staff serving this person's area.")}
        )
    entry = CareEntry.objects.select_for_update().filter(person=person).first()
    created = entry is None
    if entry is None:
        entry = CareEntry(person=person)
    entry.jurisdiction = person.jurisdiction
    entry.contact = contact
    entry.needs = needs
    entry.meals = meals
    entry.updated_by = actor
    entry.save()
    _audit(entry, actor, AuditAction.CREATE if created else AuditAction.UPDATE, "entered")
    return entry, created


def _due(day: date, now: datetime) -> datetime:
    tz = timezone.get_current_timezone()
    due = datetime(day.year, day.month, day.day, CHECK_DUE_HOUR, tzinfo=tz)
    return due if due > now else now + timedelta(hours=2)


def care_checks_open(*, now: datetime | None = None) -> int:
    """Open today's check for everyone of the register with a contact who is in a zone
    or under control at home; returns how many were opened. Run daily; running again
    opens nothing twice."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    made = 0
    entries = (
        CareEntry.objects.filter(contact__isnull=False, contact__is_active=True)
        .exclude(checks__day=day)
        .select_related("person__jurisdiction", "jurisdiction", "contact")
        .order_by("id")
    )
    # A list, not a cursor held open while each check commits (a town's register is a
    # few hundred people).
    for entry in list(entries):
        if not may_ask(entry.person):
            continue
        contact = entry.contact
        if contact is None or not may_be_contact(contact, entry.person):
            continue
        try:
            with transaction.atomic():
                check = CareCheck.objects.create(
                    entry=entry, jurisdiction=entry.jurisdiction, day=day
                )
                order = orders_create(
                    kind=CARE_CHECK_KIND,
                    subjects=[Subject.of(check, label=mask_name(entry.person.name))],
                    actor=None,
                    strategy=Strategy.PERSON,
                    person=contact,
                    due_at=_due(day, now),
                    source="assist",
                    title=_("Daily check: %(name)s") % {"name": mask_name(entry.person.name)},
                    note=entry.needs,
                    now=now,
                )[0]
                check.work_order = order
                check.save(update_fields=["work_order"])
        except IntegrityError:  # another run opened it meanwhile
            continue
        made += 1
    return made


def care_check_done(order: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """The work order's completion (kinds.OrderKind.on_done): the day's check is done."""
    check = CareCheck.objects.select_for_update().filter(pk=order.subject_id or 0).first()
    if check is None or check.done_at is not None:
        return
    outcome = str(result.get("outcome") or "")
    check.outcome = outcome if outcome in CareOutcome.values else CareOutcome.WELL
    check.note = str(result.get("note") or "")[:500]
    check.done_at = timezone.now()
    check.done_by = actor
    check.save(update_fields=["outcome", "note", "done_at", "done_by"])
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=check,
        object_repr=f"care check {check.pk}: {check.outcome} (entry {check.entry_id})",
        jurisdiction_path=check.jurisdiction.path,
        detail={"day": check.day.isoformat(), "outcome": check.outcome},
    )


def meal_items() -> list[Item]:
    return list(Item.objects.filter(per_meal__gt=0))


@transaction.atomic
def meal_issue(
    *,
    actor: User,
    store: Store,
    entry: CareEntry,
    client_id: uuid.UUID,
    now: datetime | None = None,
) -> tuple[Meal, bool]:
    """A meal to an elder of the meal list, from a store of their area; the same client
    id again returns the first meal."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    found = Meal.objects.filter(client_id=client_id).first()
    if found is not None:
        if found.entry_id != entry.pk:
            raise ValidationError({"client_id": _("This client id belongs to another meal.")})
        return found, False
    if not has_perm(actor, Perm.ASSIST_ENTER, entry.jurisdiction.path):
        raise PermissionDenied
    if not entry.meals:
        raise ValidationError({"person": _("This person is not on the meal list.")})
    if not entry.jurisdiction.path.startswith(store.jurisdiction.path):
        raise ValidationError({"store": _("The store does not serve this person's area.")})
    if Meal.objects.filter(entry=entry, day=day).exists():
        raise ValidationError({"person": _("This person has had today's meal.")})
    try:
        with transaction.atomic():
            meal = Meal.objects.create(
                entry=entry,
                jurisdiction=entry.jurisdiction,
                store=store,
                day=day,
                client_id=client_id,
                given_by=actor,
                given_at=now,
            )
            for item in meal_items():
                taken = Stock.objects.filter(
                    store=store, item=item, quantity__gte=item.per_meal
                ).update(quantity=F("quantity") - item.per_meal)
                if not taken:
                    raise ValidationError(
                        {
                            "store": _("%(store)s has not enough %(item)s for a meal.")
                            % {"store": store.name, "item": item.name}
                        }
                    )
                Move.objects.create(
                    store=store, item=item, kind=MoveKind.MEAL, delta=-item.per_meal, meal=meal
                )
    except IntegrityError:
        again = Meal.objects.filter(client_id=client_id).first()
        if again is not None:
            return again, False
        raise ValidationError({"person": _("This person has had today's meal.")}) from None
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=meal,
        object_repr=f"meal {meal.pk} (person {entry.person_id}) from store {store.pk}",
        jurisdiction_path=entry.jurisdiction.path,
        detail={"day": day.isoformat(), "store": store.pk},
    )
    return meal, True
