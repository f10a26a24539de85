"""The kinds of records a purge takes: which are past their period, and what is done to
each (anonymised: kept for the counts, with nothing left that identifies anyone; or
deleted when nothing in them is needed).

Each kind counts its period from its own date (`counts_from`). A record already purged
is recognised by its content (an anonymised report has no hash left), so a purge run
again, or after a crash, takes only what is left.

Anonymising a person reaches everything about them: their history (`PersonChange`, whose
old and new values hold their name), the reports, list rows and work orders about them,
their sweep answers, and — through `Needles` — their name, ID number, phone and keyed
hashes wherever text or an audit record repeats them (`scrub_everywhere`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.audit.models import AuditEvent
from fangkong.audit.services import audit_redact
from fangkong.core.masking import MASK
from fangkong.core.search_terms import identifier_in
from fangkong.notify.models import Delivery, DeliveryStatus, Notice
from fangkong.people.models import (
    Household,
    ImportJob,
    ImportStatus,
    Person,
    PersonChange,
    PersonStatus,
)
from fangkong.people.names import name_initials, name_key
from fangkong.places.models import Scan, Visitor
from fangkong.retention.models import RecordKind
from fangkong.retention.scrub import Needles, surname_only
from fangkong.screening.models import (
    PersonMeasure,
    PushedList,
    PushedRow,
    ReturneeReport,
    SweepVisit,
)
from fangkong.workorders.kinds import KINDS as ORDER_KINDS
from fangkong.workorders.models import (
    Status,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)

M = TypeVar("M", bound=models.Model)
CLOSED = (Status.DONE, Status.VERIFIED, Status.CANCELLED)


@dataclass(frozen=True)
class Due:
    """What a kind's records are measured against: `before` (records whose date falls
    before it are past their period), or `everything` once the epidemic's end plus the
    period has passed."""

    before: datetime
    everything: bool

    @property
    def day(self) -> date:
        return timezone.localdate(self.before)


@dataclass(frozen=True)
class Kind:
    key: RecordKind
    default_days: int
    counts_from: str | Promise
    action: str | Promise
    # The records past their period that are still to purge.
    due: Callable[[Due], models.QuerySet[Any]]
    # Purge one batch (their primary keys); returns how many records it took.
    purge: Callable[[list[int], Needles, dict[str, int]], int]


def text_result_keys() -> set[str]:
    """Result fields people type into (a note): the rest are choices and numbers."""
    return {f.key for kind in ORDER_KINDS.values() for f in kind.fields if f.kind == "text"}


def _has_text_result() -> Q:
    q = Q(pk__in=[])
    for key in sorted(text_result_keys()):
        q |= Q(result__has_key=key)
    return q


def _without_text(result: dict[str, Any]) -> dict[str, Any]:
    keys = text_result_keys()
    return {k: v for k, v in result.items() if k not in keys}


def _bump(stats: dict[str, int], key: str, n: int) -> None:
    if n:
        stats[key] = stats.get(key, 0) + n


def _orders_about(
    model: type[models.Model], ids: Iterable[int], needles: Needles, stats: dict[str, int]
) -> None:
    """Work orders whose subject is one of these records: the label loses the name, the
    typed result, notes, comments and photos go (status and dates, which the tallies
    count, stay)."""
    ct = ContentType.objects.get_for_model(model)
    orders = list(WorkOrder.objects.filter(subject_type=ct, subject_id__in=list(ids)))
    for order in orders:
        order.subject_label = needles.scrub_text(order.subject_label)
        order.title = needles.scrub_text(order.title)
        order.note = ""
        order.result = _without_text(order.result)
    WorkOrder.objects.bulk_update(orders, ["subject_label", "title", "note", "result"], 500)
    order_ids = [o.pk for o in orders]
    deleted, _per_model = WorkOrderPhoto.objects.filter(order_id__in=order_ids).delete()
    _bump(stats, "photos_deleted", deleted)
    WorkOrderEvent.objects.filter(order_id__in=order_ids).exclude(note="").update(note="")


# --- persons -------------------------------------------------------------------------


def person_pending() -> Q:
    """A person not anonymised yet: anything identifying is still there."""
    return (
        ~Q(id_number="")
        | ~Q(phone="")
        | ~Q(phone2="")
        | Q(id_number_hash__isnull=False)
        | Q(id_last4_hash__isnull=False)
        | Q(phone_hash__isnull=False)
        | Q(phone2_hash__isnull=False)
        | ~Q(no_id_reason="")
        | ~Q(workplace="")
        | ~Q(away_where="")
        | ~Q(occupation="")
        | ~Q(name__endswith=MASK)
    )


def purge_persons(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    persons = list(Person.objects.filter(pk__in=ids))
    for p in persons:
        needles.add_name(p.name)
        needles.add_id_number(p.id_number)
        for phone in (p.phone, p.phone2):
            needles.add_phone(phone)
        for value in (p.id_number_hash, p.phone_hash, p.phone2_hash, p.id_last4_hash):
            needles.add_hash(value)
        surname = surname_only(p.name)
        p.name = surname
        p.name_key = name_key(surname[:1])
        p.name_initials = name_initials(surname[:1])
        p.id_number = p.phone = p.phone2 = ""
        p.id_number_hash = p.id_last4_hash = p.phone_hash = p.phone2_hash = None
        p.no_id_reason = p.workplace = p.away_where = p.occupation = ""
    Person.objects.bulk_update(
        persons,
        [
            "name",
            "name_key",
            "name_initials",
            "id_number",
            "phone",
            "phone2",
            "id_number_hash",
            "id_last4_hash",
            "phone_hash",
            "phone2_hash",
            "no_id_reason",
            "workplace",
            "away_where",
            "occupation",
        ],
        500,
    )
    # Their history holds their old names and masked numbers: it goes, and says so.
    PersonChange.objects.filter(person_id__in=ids).delete()
    PersonChange.objects.bulk_create(
        [PersonChange(person=p, source="retention: anonymised", changes={}) for p in persons]
    )
    # What else is about them, whatever its own period.
    reports = list(
        ReturneeReport.objects.filter(Q(person_id__in=ids) | Q(id_number_hash__in=needles.hashes))
        .exclude(id_number_hash="")
        .values_list("pk", flat=True)
    )
    _bump(stats, "returnee_reports", purge_returnee_reports(reports, needles, stats))
    rows = list(
        PushedRow.objects.filter(Q(person_id__in=ids) | Q(id_number_hash__in=needles.hashes))
        .exclude(cells="")
        .values_list("pk", flat=True)
    )
    _bump(stats, "pushed_rows", purge_pushed_rows(rows, needles, stats))
    PersonMeasure.objects.filter(person_id__in=ids).exclude(reason="").update(reason="")
    keys = {str(pk) for pk in ids}
    visits = list(
        SweepVisit.objects.filter(
            household_id__in={p.household_id for p in persons if p.household_id}
        )
    )
    for visit in visits:
        visit.answers = {k: v for k, v in visit.answers.items() if k not in keys}
    SweepVisit.objects.bulk_update(visits, ["answers"], 500)
    _orders_about(Person, ids, needles, stats)
    return len(persons)


def purge_landlords(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    households = list(Household.objects.filter(pk__in=ids))
    for h in households:
        needles.add_name(h.landlord_name)
        needles.add_phone(h.landlord_phone)
        needles.add_hash(h.landlord_phone_hash)
        h.landlord_name = surname_only(h.landlord_name)
        h.landlord_phone, h.landlord_phone_hash = "", ""
    Household.objects.bulk_update(
        households, ["landlord_name", "landlord_phone", "landlord_phone_hash"], 500
    )
    return len(households)


def _residents_left(due: Due) -> models.QuerySet[Person]:
    pending = Person.objects.filter(person_pending())
    left = pending.filter(status__in=(PersonStatus.MOVED_OUT, PersonStatus.DECEASED))
    return left if due.everything else left.filter(updated_at__lt=due.before)


def _residents(due: Due) -> models.QuerySet[Person]:
    return Person.objects.filter(person_pending()) if due.everything else Person.objects.none()


def _landlords(due: Due) -> models.QuerySet[Household]:
    if not due.everything:
        return Household.objects.none()
    return Household.objects.filter(
        ~Q(landlord_name__endswith=MASK) & ~Q(landlord_name="")
        | ~Q(landlord_phone="")
        | ~Q(landlord_phone_hash="")
    )


# --- screening -----------------------------------------------------------------------


def _returnee_reports(due: Due) -> models.QuerySet[ReturneeReport]:
    pending = ReturneeReport.objects.exclude(id_number_hash="")
    if due.everything:
        return pending
    # Counted from the later of the arrival and the end of every measure it led to.
    return pending.filter(arrived_on__lt=due.day).exclude(measures__ends_on__gte=due.day)


def purge_returnee_reports(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    reports = list(ReturneeReport.objects.filter(pk__in=ids))
    for r in reports:
        needles.add_name(r.name)
        needles.add_id_number(r.id_number)
        needles.add_phone(r.phone)
        needles.add_hash(r.id_number_hash)
        needles.add_hash(r.phone_hash)
        r.name = surname_only(r.name)
        r.id_number = r.phone = r.id_number_hash = r.phone_hash = ""
        r.origin_place = r.vehicle = r.address = r.symptoms_note = ""
        r.person = None
    ReturneeReport.objects.bulk_update(
        reports,
        [
            "name",
            "id_number",
            "phone",
            "id_number_hash",
            "phone_hash",
            "origin_place",
            "vehicle",
            "address",
            "symptoms_note",
            "person",
        ],
        500,
    )
    # The measures keep their category and dates (counts), not whom they were for.
    PersonMeasure.objects.filter(report_id__in=ids).update(person=None, reason="")
    _orders_about(ReturneeReport, ids, needles, stats)
    return len(reports)


def _pushed_rows(due: Due) -> models.QuerySet[PushedRow]:
    pending = PushedRow.objects.exclude(cells="")
    return pending if due.everything else pending.filter(pushed__deadline__lt=due.before)


def purge_pushed_rows(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    rows = list(PushedRow.objects.filter(pk__in=ids))
    for row in rows:
        needles.add_name(row.name)
        needles.add_hash(row.id_number_hash)
        try:
            cells = json.loads(row.cells or "[]")
        except ValueError:
            cells = []
        for cell in cells if isinstance(cells, list) else []:
            found = identifier_in(str(cell))
            if found is not None:
                kind, value = found
                if kind == "phone":
                    needles.add_phone(value)
                else:
                    needles.add_id_number(value)
        row.cells = ""
        row.name = surname_only(row.name)
        row.id_number_hash = row.reasons = row.where = row.note = ""
        row.candidates = []
        row.person = None
    PushedRow.objects.bulk_update(
        rows,
        ["cells", "name", "id_number_hash", "reasons", "where", "note", "candidates", "person"],
        500,
    )
    _orders_about(PushedRow, ids, needles, stats)
    return len(rows)


def _sweep_answers(due: Due) -> models.QuerySet[SweepVisit]:
    pending = SweepVisit.objects.exclude(answers={})
    return pending if due.everything else pending.filter(sweep__ends_on__lt=due.day)


def purge_sweep_answers(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    return SweepVisit.objects.filter(pk__in=ids).update(answers={})


# --- work orders, messages, imports --------------------------------------------------


def _order_details(due: Due) -> models.QuerySet[WorkOrder]:
    closed = WorkOrder.objects.filter(status__in=CLOSED)
    if not due.everything:
        closed = closed.filter(updated_at__lt=due.before)
    return closed.filter(
        Q(pk__in=WorkOrderPhoto.objects.values("order_id"))
        | Q(pk__in=WorkOrderEvent.objects.exclude(note="").values("order_id"))
        | ~Q(note="")
        | _has_text_result()
    )


def purge_order_details(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    orders = list(WorkOrder.objects.filter(pk__in=ids))
    for order in orders:
        order.note = ""
        order.result = _without_text(order.result)
    WorkOrder.objects.bulk_update(orders, ["note", "result"], 500)
    deleted, _per_model = WorkOrderPhoto.objects.filter(order_id__in=ids).delete()
    _bump(stats, "photos_deleted", deleted)
    WorkOrderEvent.objects.filter(order_id__in=ids).exclude(note="").update(note="")
    return len(orders)


def _messages(due: Due) -> models.QuerySet[Notice]:
    return (
        Notice.objects.all() if due.everything else Notice.objects.filter(created_at__lt=due.before)
    )


def purge_messages(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    deleted, _per_model = Notice.objects.filter(pk__in=ids).delete()
    return deleted


def _deliveries(due: Due) -> models.QuerySet[Delivery]:
    done = Delivery.objects.exclude(status=DeliveryStatus.PENDING)
    return done if due.everything else done.filter(created_at__lt=due.before)


def purge_deliveries(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    deleted, _per_model = Delivery.objects.filter(pk__in=ids).delete()
    return deleted


def _import_jobs(due: Due) -> models.QuerySet[ImportJob]:
    idle = ImportJob.objects.exclude(status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING))
    return idle if due.everything else idle.filter(updated_at__lt=due.before)


def purge_import_jobs(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    from fangkong.core.models import Upload

    uploads = list(
        ImportJob.objects.filter(pk__in=ids, upload__isnull=False).values_list(
            "upload_id", flat=True
        )
    )
    deleted, _per_model = ImportJob.objects.filter(pk__in=ids).delete()
    Upload.objects.filter(pk__in=uploads).delete()
    return deleted


def _place_scans(due: Due) -> models.QuerySet[Scan]:
    return Scan.objects.all() if due.everything else Scan.objects.filter(scanned_at__lt=due.before)


def purge_place_scans(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    deleted, _per_model = Scan.objects.filter(pk__in=ids).delete()
    return deleted


def _visitors(due: Due) -> models.QuerySet[Visitor]:
    """Visitors with no scan left (their scans went first) and not seen since."""
    gone = Visitor.objects.exclude(key__in=Scan.objects.values("person_key"))
    return gone if due.everything else gone.filter(last_seen__lt=due.before)


def purge_visitors(ids: list[int], needles: Needles, stats: dict[str, int]) -> int:
    deleted, _per_model = Visitor.objects.filter(pk__in=ids).delete()
    _bump(stats, "visitors_deleted", deleted)
    return deleted


# Ordered so that the records about a person go with the person: residents last, after
# the kinds that may reach them first by their own dates.
KINDS: dict[RecordKind, list[Kind]] = {
    RecordKind.RETURNEE_REPORTS: [
        Kind(
            RecordKind.RETURNEE_REPORTS,
            30,
            _("the arrival, or the end of the measures it led to"),
            _("anonymised"),
            _returnee_reports,
            purge_returnee_reports,
        )
    ],
    RecordKind.PUSHED_ROWS: [
        Kind(
            RecordKind.PUSHED_ROWS,
            30,
            _("the list's deadline"),
            _("anonymised"),
            _pushed_rows,
            purge_pushed_rows,
        )
    ],
    RecordKind.SWEEP_ANSWERS: [
        Kind(
            RecordKind.SWEEP_ANSWERS,
            30,
            _("the end of the sweep"),
            _("answers deleted"),
            _sweep_answers,
            purge_sweep_answers,
        )
    ],
    RecordKind.ORDER_DETAILS: [
        Kind(
            RecordKind.ORDER_DETAILS,
            90,
            _("the order's last change after it was closed"),
            _("notes, typed results and photos deleted"),
            _order_details,
            purge_order_details,
        )
    ],
    RecordKind.MESSAGES: [
        Kind(
            RecordKind.MESSAGES,
            90,
            _("the day it was sent"),
            _("deleted"),
            _messages,
            purge_messages,
        ),
        Kind(
            RecordKind.MESSAGES,
            90,
            _("the day it was sent"),
            _("deleted"),
            _deliveries,
            purge_deliveries,
        ),
    ],
    RecordKind.IMPORT_JOBS: [
        Kind(
            RecordKind.IMPORT_JOBS,
            7,
            _("the job's last change"),
            _("deleted"),
            _import_jobs,
            purge_import_jobs,
        )
    ],
    RecordKind.PLACE_SCANS: [
        Kind(
            RecordKind.PLACE_SCANS,
            28,
            _("the scan"),
            _("deleted"),
            _place_scans,
            purge_place_scans,
        ),
        Kind(
            RecordKind.PLACE_SCANS,
            28,
            _("the scan"),
            _("deleted"),
            _visitors,
            purge_visitors,
        ),
    ],
    RecordKind.RESIDENTS_LEFT: [
        Kind(
            RecordKind.RESIDENTS_LEFT,
            30,
            _("the last change to the resident"),
            _("anonymised"),
            _residents_left,
            purge_persons,
        )
    ],
    RecordKind.RESIDENTS: [
        Kind(
            RecordKind.RESIDENTS,
            30,
            _("the end of the epidemic's control"),
            _("anonymised"),
            _residents,
            purge_persons,
        ),
        Kind(
            RecordKind.RESIDENTS,
            30,
            _("the end of the epidemic's control"),
            _("anonymised"),
            _landlords,
            purge_landlords,
        ),
    ],
}


def describe(kind: RecordKind) -> Kind:
    return KINDS[kind][0]


# --- text elsewhere ------------------------------------------------------------------


def _rows(queryset: models.QuerySet[M], fields: list[str]) -> Iterator[M]:
    return queryset.only("pk", *fields).iterator(chunk_size=2000)


def _scrub_model(queryset: models.QuerySet[M], fields: list[str], needles: Needles) -> int:
    changed: list[M] = []
    for obj in _rows(queryset, fields):
        dirty = False
        for name in fields:
            value = getattr(obj, name)
            new = needles.scrub(value)
            if new != value:
                setattr(obj, name, new)
                dirty = True
        if dirty:
            changed.append(obj)
    if changed:
        type(changed[0])._default_manager.bulk_update(changed, fields, 500)
    return len(changed)


def scrub_everywhere(needles: Needles) -> dict[str, int]:
    """Take the needles out of the free text and records that may repeat them."""
    if not needles:
        return {}
    stats: dict[str, int] = {}
    text_targets: list[tuple[str, models.QuerySet[Any], list[str]]] = [
        ("notices", Notice.objects.all(), ["title", "body"]),
        ("deliveries", Delivery.objects.all(), ["title", "body", "recipient_label"]),
        (
            "orders",
            WorkOrder.objects.filter(~Q(title="") | ~Q(note="") | _has_text_result()),
            ["title", "note", "result"],
        ),
        ("order_comments", WorkOrderEvent.objects.exclude(note=""), ["note"]),
        ("import_jobs", ImportJob.objects.all(), ["errors", "confirmations", "message"]),
        ("pushed_lists", PushedList.objects.all(), ["name", "filename"]),
        ("pushed_rows", PushedRow.objects.exclude(cells=""), ["note", "where"]),
        (
            "returnee_reports",
            ReturneeReport.objects.exclude(id_number_hash=""),
            ["address", "symptoms_note", "origin_place"],
        ),
        ("measures", PersonMeasure.objects.exclude(reason=""), ["reason"]),
    ]
    for label, queryset, fields in text_targets:
        _bump(stats, f"scrubbed_{label}", _scrub_model(queryset, fields, needles))
    # A message sent by SMS to one of their numbers: the recipient goes.
    to_them = [
        d.pk
        for d in Delivery.objects.exclude(recipient="").only("pk", "recipient")
        if d.recipient in needles.replace
    ]
    _bump(
        stats, "scrubbed_recipients", Delivery.objects.filter(pk__in=to_them).update(recipient="")
    )
    # Audit records of searches for them keep the masked term, not the keyed hash.
    holding = AuditEvent.objects.filter(detail__has_key="q_hash").only("pk", "detail")
    redacted = audit_redact(
        events=(e for e in holding if needles.found_in(json.dumps(e.detail, ensure_ascii=False))),
        redact=needles.scrub,
    )
    _bump(stats, "audit_records_redacted", redacted)
    return stats
