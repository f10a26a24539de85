"""What a positive result sets going (domain-rules R2.4).

A positive pool: each member is marked "pool positive" (a `Recall`), put under temporary
home isolation through control's services until their single result is back, and a
grid worker gets a home-sampling order due within the round's recall hours (it takes
over control's day-1 sampling order, so there is one order per person). The worker
completes it with the single tube's barcode, which records the single sample.

A single result: negative is recorded on the control order's test (control then lifts
the isolation with its release); positive waits on the round's page for the commander,
who makes the person a case with control's case service (hospital, vehicle, driver are
people's decisions, not the lab's).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.control.cases import CaseResult, positive_case
from fangkong.control.models import ControlTest, IsolationSite, OrderSource, OrderType
from fangkong.control.services import order_create, result_record
from fangkong.core.masking import mask_name
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.testing.kinds import RECALL_KIND
from fangkong.testing.models import (
    Recall,
    RecallStatus,
    Round,
    Sample,
    Tube,
    TubeStatus,
)
from fangkong.testing.rounds import audit
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import Priority, WorkOrder
from fangkong.workorders.services import Subject, orders_create


def _hold(round_: Round, person: Person, why: str, now: datetime) -> tuple[int | None, str]:
    """Temporary home isolation with a day-1 test, by control's own service; the test's id,
    or None and the reason when control refused (a stricter order already runs: the
    person is held anyway, and the single test is then taken without one)."""
    try:
        with transaction.atomic():
            made = order_create(
                person=person,
                type=OrderType.HOME_ISOLATION,
                starts_on=timezone.localtime(now).date(),
                days=round_.hold_days,
                # The rule, on the lab's result: control's chain takes None as the
                # system (as for a verified measure); order_create's hint says User.
                actor=None,  # type: ignore[arg-type]
                reason=why,
                test_days=(1,),
                source=OrderSource.POSITIVE,
                now=now,
            )
    except (ValidationError, IntegrityError) as e:
        return None, " ".join(getattr(e, "messages", [str(e)]))
    test = made.orders[0].tests.order_by("day").values_list("pk", flat=True).first()
    return test, ""


def pool_positive(*, round_: Round, tube: Tube, now: datetime) -> list[Recall]:
    """Mark a positive pool's members, hold them and send the home sampling. Safe to run
    again: members already recalled from this pool are skipped."""
    members = list(Sample.objects.filter(tube=tube).select_related("person", "person__household"))
    done = set(Recall.objects.filter(pool=tube).values_list("person_id", flat=True))
    out: list[Recall] = []
    due = now + timedelta(hours=round_.recall_hours)
    for sample in members:
        person = sample.person
        if person.pk in done:
            continue
        why = _("Pool %(tube)s positive on %(day)s: held at home until the single test.") % {
            "tube": tube.barcode,
            "day": timezone.localtime(now).date().isoformat(),
        }
        test_id, refused = _hold(round_, person, why, now)
        recall = Recall.objects.create(
            round=round_,
            person=person,
            jurisdiction_id=person.jurisdiction_id,
            pool=tube,
            control_test_id=test_id,
            note=refused[:300],
        )
        subject_obj: Any = (
            ControlTest.objects.select_related("order").get(pk=test_id) if test_id else recall
        )
        address = person.household.address if person.household else ""
        (work,) = orders_create(
            kind=RECALL_KIND,
            subjects=[Subject.of(subject_obj, label=mask_name(person.name))],
            actor=None,
            strategy=Strategy.GRID,
            role=Role.GRID_WORKER,
            due_at=due,
            priority=Priority.URGENT,
            source="testing",
            title=_("Single sample at home (pool %(tube)s): %(address)s")
            % {"tube": tube.barcode, "address": address},
            now=now,
        )
        recall.work_order_id = work.pk
        recall.save(update_fields=["work_order_id"])
        out.append(recall)
    if out:
        audit(None, tube, tube.jurisdiction.path, "pool positive", recalled=len(out))
    return out


def single_positive(*, round_: Round, tube: Tube, now: datetime) -> Recall | None:
    """A positive single tube of a round (1-in-1): held like a pool member, no recall."""
    sample = Sample.objects.filter(tube=tube).select_related("person").first()
    if sample is None or Recall.objects.filter(pool=tube).exists():
        return None
    why = _("Single tube %(tube)s positive.") % {"tube": tube.barcode}
    test_id, refused = _hold(round_, sample.person, why, now)
    return Recall.objects.create(
        round=round_,
        person=sample.person,
        jurisdiction_id=sample.person.jurisdiction_id,
        pool=tube,
        single=tube,
        status=RecallStatus.POSITIVE,
        control_test_id=test_id,
        note=refused[:300],
    )


def recall_result(*, tube: Tube, outcome: str) -> Recall | None:
    """The single result of a recalled person."""
    recall = Recall.objects.filter(single=tube).first()
    if recall is None:
        return None
    if outcome == "negative":
        recall.status = RecallStatus.NEGATIVE
        test = ControlTest.objects.select_related("order__jurisdiction").filter(
            pk=recall.control_test_id or 0
        )
        found = test.first()
        if found is not None:
            result_record(test=found, result="negative", actor=None)
    elif outcome == "positive":
        recall.status = RecallStatus.POSITIVE
    else:
        return recall  # invalid: the worker samples again (a new recall order by hand)
    recall.save(update_fields=["status"])
    return recall


def recall_sampled(work: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """The recall order's result (kinds.OrderKind.on_done): the single tube's barcode.
    Runs in the completing transaction: a refused barcode refuses the completion."""
    recall = Recall.objects.select_related("round", "person").filter(work_order_id=work.pk).first()
    if recall is None:
        return
    barcode = str(result.get("tube", "")).strip()
    if not barcode or len(barcode) > 40 or not barcode.isascii() or not barcode.isalnum():
        raise ValidationError({"tube": _("A tube barcode is letters and digits only, at most 40.")})
    if Tube.objects.filter(barcode=barcode).exists():
        raise ValidationError({"tube": _("This tube was already used: take a new one.")})
    now = timezone.now()
    tube = Tube.objects.create(
        barcode=barcode,
        round=recall.round,
        jurisdiction_id=recall.jurisdiction_id,
        pool_size=1,
        size=1,
        status=TubeStatus.CLOSED,
        recall=True,
        sampler=actor,
        opened_at=now,
        closed_at=now,
    )
    Sample.objects.create(
        tube=tube,
        round=recall.round,
        person=recall.person,
        jurisdiction_id=recall.jurisdiction_id,
        position=1,
        pool_size=1,
        recall=True,
        client_id=uuid.uuid4(),
        taken_at=now,
        sampler=actor,
        received_at=now,
    )
    recall.single = tube
    recall.status = RecallStatus.SAMPLED
    recall.save(update_fields=["single", "status"])


@transaction.atomic
def case_open(
    *,
    recall: Recall,
    actor: User,
    hospital: IsolationSite,
    vehicle: str,
    driver: str,
    now: datetime | None = None,
) -> CaseResult:
    """A single positive becomes a case: control's case service takes the person to the
    designated hospital and their household under control."""
    if not has_perm(actor, Perm.TESTING_MANAGE, recall.jurisdiction.path):
        raise PermissionDenied
    recall = Recall.objects.select_for_update().get(pk=recall.pk)
    if recall.status != RecallStatus.POSITIVE:
        raise ValidationError(_("Only a single positive becomes a case."))
    test = (
        ControlTest.objects.select_related("order").filter(pk=recall.control_test_id or 0).first()
    )
    if test is None:
        raise ValidationError(
            _("The person is under no temporary control order of this round: %(why)s")
            % {"why": recall.note or "-"}
        )
    made = positive_case(
        test=test, actor=actor, hospital=hospital, vehicle=vehicle, driver=driver, now=now
    )
    recall.status = RecallStatus.CASE
    recall.save(update_fields=["status"])
    audit(actor, recall, recall.jurisdiction.path, "case opened", transfer=made.transfer.pk)
    return made
