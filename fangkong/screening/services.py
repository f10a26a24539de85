"""Writes of screening: returnee reports (public or by staff) with the engine's proposal
and a verification order, the verified measure, and the public pages' rate limits."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.crypto import blind_index
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Role
from fangkong.org.scoping import ancestor_paths
from fangkong.people.models import Person
from fangkong.policy import divisions
from fangkong.policy.engine import Decision, Origin, decide
from fangkong.policy.models import Category, Place
from fangkong.screening.models import (
    MeasureStatus,
    PersonMeasure,
    PublicHit,
    ReportStatus,
    ReturneeReport,
    Source,
    VerifyDeadline,
)
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import Priority, WorkOrder

VERIFY_KIND = "verify_returnee"
# No 0/O, 1/I/L: the code is read aloud over the phone and typed on small screens.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DEFAULT_VERIFY_HOURS = Decimal(24)


# Rate limits ---------------------------------------------------------------------------


def hit(key: str, *, limit: int, seconds: int, now: datetime | None = None) -> bool:
    """Count one use of `key` in the current window; False once over `limit`.

    One upsert statement, so two processes counting at once both land.
    """
    now = now or timezone.now()
    slot = f"{seconds}-{int(now.timestamp()) // seconds}"
    table = PublicHit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", slot, count) VALUES (%s, %s, 1) '  # noqa: S608
            f'ON CONFLICT ("key", slot) DO UPDATE SET count = {table}.count + 1 RETURNING count',
            [key[:100], slot],
        )
        (count,) = cursor.fetchone()
    return int(count) <= limit


def prune_hits(now: datetime | None = None) -> int:
    """Forget windows that ended more than a day ago (run daily by the scheduler)."""
    cutoff = (now or timezone.now()).timestamp() - 86400
    stale = []
    for pk, slot in PublicHit.objects.values_list("id", "slot"):
        seconds, _sep, index = slot.partition("-")
        if (int(index) + 1) * int(seconds) < cutoff:
            stale.append(pk)
    return PublicHit.objects.filter(pk__in=stale).delete()[0]


# Reports -------------------------------------------------------------------------------


@dataclass
class ReportInput:
    """A checked report (see forms.ReportForm for the checks)."""

    name: str
    id_number: str
    phone: str
    origin_code: str
    left_on: date
    arrived_on: date
    mode: str
    jurisdiction: Jurisdiction
    address: str
    origin_place: str = ""
    vehicle: str = ""
    symptoms: bool = False
    symptoms_note: str = ""
    vaccination: int = 0


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _i in range(8))
        if not ReturneeReport.objects.filter(code=code).exists():
            return code


def verify_hours_at(path: str | None) -> dict[str, Decimal]:
    """Hours per category in force at the node `path` (None: the installation's table):
    the nearest town's own value, else the installation's."""
    nodes = Q(scope__isnull=True)
    if path:
        nodes |= Q(scope__path__in=ancestor_paths(path))
    found: dict[str, tuple[int, Decimal]] = {}
    for category, hours, scope_path in VerifyDeadline.objects.filter(nodes).values_list(
        "category", "hours", "scope__path"
    ):
        depth = len(scope_path or "")
        if category not in found or depth > found[category][0]:
            found[category] = (depth, hours)
    return {c: found[c][1] if c in found else DEFAULT_VERIFY_HOURS for c in Category.values}


@transaction.atomic
def deadlines_save(
    *, actor: User, node: Jurisdiction | None, hours: Mapping[str, Decimal]
) -> list[tuple[str, str, str]]:
    """Set the verification hours of `node` (None: the installation's table, for the top
    of the tree). A town stores only what differs from what it would inherit, so a later
    change above still reaches the categories it did not set. Audited with before and
    after; returns the changes (category, before, after)."""
    before = verify_hours_at(node.path if node else None)
    inherited = verify_hours_at(node.parent.path if node and node.parent else None)
    changes = []
    for category, value in hours.items():
        if node is None:
            VerifyDeadline.objects.update_or_create(
                scope=None, category=category, defaults={"hours": value}
            )
        elif value == inherited[category]:
            VerifyDeadline.objects.filter(scope=node, category=category).delete()
        else:
            VerifyDeadline.objects.update_or_create(
                scope=node, category=category, defaults={"hours": value}
            )
        if value != before[category]:
            changes.append((category, str(before[category]), str(value)))
    if changes:
        audit_record(
            action=AuditAction.UPDATE,
            actor=actor,
            object_repr="verification deadlines",
            jurisdiction_path=node.path if node else "",
            detail={"node": node.code if node else None, "changed": changes},
        )
    return changes


def _fields(data: ReportInput, decision: Decision) -> dict[str, Any]:
    return {
        "jurisdiction": data.jurisdiction,
        "name": data.name,
        "id_number": data.id_number,
        "id_number_hash": blind_index(data.id_number) if data.id_number else "",
        "phone": data.phone,
        "phone_hash": blind_index(data.phone) if data.phone else "",
        "origin_code": data.origin_code,
        "origin_place": data.origin_place,
        "origin_label": (divisions.full_name(data.origin_code) or data.origin_code)
        + data.origin_place,
        "left_on": data.left_on,
        "arrived_on": data.arrived_on,
        "mode": data.mode,
        "vehicle": data.vehicle,
        "address": data.address,
        "symptoms": data.symptoms,
        "symptoms_note": data.symptoms_note,
        "vaccination": data.vaccination,
        "category": decision.category or Category.RETURNEE,
        "proposed_place": decision.place,
        "decision": decision.as_json(),
    }


@transaction.atomic
def report_submit(
    data: ReportInput,
    *,
    source: str = Source.SELF,
    actor: User | None = None,
    now: datetime | None = None,
) -> tuple[ReturneeReport, bool]:
    """File a report. Returns (report, created).

    The same person (ID), phone and arrival day again is the same report: it is updated
    and keeps its code, so a resubmitted form never makes two. The same ID and day with
    another phone is filed apart and marked as a possible duplicate: whoever typed
    someone else's ID learns nothing of the first report.
    """
    now = now or timezone.now()
    # A sweep may find an arrival whose origin it cannot name: no origin, no area rule.
    origins = (
        [Origin(data.origin_code, data.left_on, data.origin_place)] if data.origin_code else []
    )
    decision = decide(data.arrived_on, origins, path=data.jurisdiction.path)
    fields = _fields(data, decision)
    # Without an ID (a child found at the door) there is nothing to recognise a repeat by.
    same_day = ReturneeReport.objects.select_for_update().filter(
        id_number_hash=fields["id_number_hash"] or "-", arrived_on=data.arrived_on
    )
    mine = same_day.filter(phone_hash=fields["phone_hash"]).first()
    if mine is not None:
        for key, value in fields.items():
            setattr(mine, key, value)
        mine.save()
        _propose(mine, decision, actor)
        return mine, False
    first = same_day.order_by("id").first()
    report = ReturneeReport.objects.create(
        **fields,
        code=_new_code(),
        source=source,
        created_by=actor,
        person=Person.objects.filter(id_number_hash=fields["id_number_hash"] or "-").first(),
        duplicate_of=first,
        status=ReportStatus.DUPLICATE if first else ReportStatus.NEW,
    )
    _propose(report, decision, actor)
    if first is None:
        report.order = _verification_order(report, decision, now)
        report.save(update_fields=["order"])
    return report, True


def _propose(report: ReturneeReport, decision: Decision, actor: User | None) -> None:
    """The engine's proposal, recorded (and replaced when the report is corrected)."""
    PersonMeasure.objects.filter(report=report, status=MeasureStatus.PROPOSED).delete()
    PersonMeasure.objects.create(
        jurisdiction=report.jurisdiction,
        person=report.person,
        report=report,
        category=report.category,
        place=report.proposed_place,
        starts_on=decision.periods[0].start if decision.periods else None,
        ends_on=decision.end,
        edition=decision.edition.key if decision.edition else "",
        reason=decision.reason,
        status=MeasureStatus.PROPOSED,
        decided_by=actor,
    )


def _verification_order(report: ReturneeReport, decision: Decision, now: datetime) -> WorkOrder:
    from fangkong.workorders.services import Subject, orders_create

    node = report.jurisdiction
    hours = verify_hours_at(node.path)[report.category]
    urgent = decision.place in (Place.CENTRAL, Place.HOME_ISOLATION)
    # A grid's worker verifies; when the reporter did not know their grid, the village
    # cadre takes it and hands it on.
    on_grid = node.level >= Level.GRID
    (order,) = orders_create(
        kind=VERIFY_KIND,
        subjects=[Subject.of(report, label=report.name)],
        actor=None,
        strategy=Strategy.GRID if on_grid else Strategy.NEAREST,
        role=Role.VILLAGE_CADRE,
        due_at=now + timedelta(hours=float(hours)),
        priority=Priority.URGENT if urgent else Priority.HIGH,
        source="returnee_report",
        title=_("Verify in person: %(reason)s") % {"reason": decision.reason[:150]},
    )
    return order


# The verification order's result ---------------------------------------------------------

# What follows a verified measure, registered by the apps that act on it (control makes
# the control order): screening knows none of them.
MEASURE_VERIFIED: list[Callable[[PersonMeasure], object]] = []

OUTCOME_STATUS = {
    "found_controlled": ReportStatus.VERIFIED,
    "found_not_applicable": ReportStatus.VERIFIED,
    "not_in_town": ReportStatus.NOT_IN_TOWN,
    "wrong_info": ReportStatus.WRONG,
}


def returnee_verified(order: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """Called when a verify_returnee order is done (kinds.OrderKind.on_done): record the
    measure as verified on the report and, when known, on the resident."""
    report = ReturneeReport.objects.filter(pk=order.subject_id or 0).first()
    if report is None:
        return
    outcome = str(result.get("outcome", ""))
    report.status = OUTCOME_STATUS.get(outcome, ReportStatus.VERIFIED)
    report.save(update_fields=["status", "updated_at"])
    if report.status != ReportStatus.VERIFIED:
        return
    place = str(result.get("measure") or report.proposed_place)
    if outcome == "found_not_applicable":
        place = Place.NONE
    proposed = report.measures.filter(status=MeasureStatus.PROPOSED).first()
    verified = PersonMeasure.objects.create(
        jurisdiction=report.jurisdiction,
        person=report.person,
        report=report,
        category=report.category,
        place=place,
        starts_on=proposed.starts_on if proposed else None,
        ends_on=proposed.ends_on if proposed and place == report.proposed_place else None,
        edition=proposed.edition if proposed else "",
        reason=str(result.get("note", "")) or (proposed.reason if proposed else ""),
        status=MeasureStatus.VERIFIED,
        decided_by=actor,
    )
    for follow in MEASURE_VERIFIED:
        follow(verified)
