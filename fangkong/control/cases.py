"""A positive test (entered by hand here; the testing module feeds it later): the person
becomes a case on a transfer to the designated hospital, and the members of their
household become close contacts under the edition in force, in rooms of the town's
sites."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.control.hooks import PositiveCase, positive_case_made
from fangkong.control.models import (
    ControlOrder,
    ControlTest,
    IsolationSite,
    OrderStatus,
    SampleResult,
    SiteKind,
    Transfer,
)
from fangkong.control.services import (
    _audit,
    _cancel_samples,
    _event,
    contact_order,
    result_record,
)
from fangkong.control.sites import room_leave
from fangkong.control.transfers import Rider, transfer_create
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.policy.models import Category


@dataclass
class CaseResult:
    transfer: Transfer
    contacts: list[ControlOrder] = field(default_factory=list)
    # Household members who could not be placed (no room free), with the reason.
    unplaced: list[tuple[Person, str]] = field(default_factory=list)


@transaction.atomic
def positive_case(
    *,
    test: ControlTest,
    actor: User,
    hospital: IsolationSite,
    vehicle: str,
    driver: str,
    now: datetime | None = None,
) -> CaseResult:
    now = now or timezone.now()
    order = ControlOrder.objects.select_for_update().select_related("person").get(pk=test.order_id)
    if not has_perm(actor, Perm.CONTROL_MANAGE, order.jurisdiction.path):
        raise PermissionDenied
    if hospital.kind != SiteKind.HOSPITAL:
        raise ValidationError({"hospital": _("A case goes to a designated hospital.")})
    if order.status != OrderStatus.ACTIVE:
        raise ValidationError(_("Only a person under an active order becomes a case here."))
    result_record(test=test, result=SampleResult.POSITIVE, actor=actor, now=now)
    person = order.person
    order.status = OrderStatus.TRANSFERRED
    order.version += 1
    order.save()
    _event(order, actor, "positive", _("Day %(day)d test positive.") % {"day": test.day})
    _audit(order, actor, AuditAction.UPDATE, "positive: transferred")
    _cancel_samples(order, actor, _("The person became a case."))
    for planned in ControlOrder.objects.filter(person=person, status=OrderStatus.PLANNED):
        planned.status = OrderStatus.SUPERSEDED
        planned.version += 1
        planned.save()
        _cancel_samples(planned, actor, _("The person became a case."))
    if order.room is not None:
        room_leave(room=order.room, person=person)
    transfer = transfer_create(
        actor=actor,
        jurisdiction=order.jurisdiction,
        pickup=str(order.room)
        if order.room
        else (person.household.address if person.household else "-"),
        destination=hospital,
        vehicle=vehicle,
        driver=driver,
        escort=actor,
        riders=[Rider(person, order)],
    )
    result = CaseResult(transfer)
    positive_case_made(
        PositiveCase(
            person_id=person.pk,
            household_id=person.household_id,
            on=test.on,
            actor_id=actor.pk,
        )
    )
    if person.household is None:
        return result
    for member in Person.objects.filter(household=person.household).exclude(pk=person.pk):
        try:
            with transaction.atomic():
                made = contact_order(
                    person=member,
                    category=Category.CLOSE_CONTACT,
                    last_on=timezone.localtime(now).date(),
                    actor=actor,
                    reason=_("Lives with %(case)s, positive on %(day)s.")
                    % {"case": person.name, "day": test.on.isoformat()},
                    now=now,
                )
        except ValidationError as e:
            result.unplaced.append((member, " ".join(e.messages)))
            continue
        result.contacts.append(made.orders[0])
    return result
