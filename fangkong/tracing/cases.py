"""Writes of cases and contacts (issue 20, ADR 0028): a case is opened once per person
(by hand, from a report, or from control's positive case through its hook); its contacts
are found from the household, the declared contacts and co-location in the place scans
(the DuckDB job of ADR 0026 under the edition's rule and look-back); found contacts
become control orders through control's public `contact_order`, and those who cannot be
(not in the registry, not placeable) become work orders to find or place them. Running
any step again finds and makes nothing twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.hooks import PositiveCase
from fangkong.control.models import ControlOrder, OrderStatus
from fangkong.control.services import contact_order, plan_from_exposure
from fangkong.core.crypto import blind_index
from fangkong.core.masking import mask_name
from fangkong.core.normalise import is_mainland_mobile, normalise_phone
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.places.models import Visitor
from fangkong.policy.models import Category
from fangkong.tracing import colocation
from fangkong.tracing.engines import DuckDBEngine
from fangkong.tracing.extract import WithVisits, extract, place_names, place_scans
from fangkong.tracing.interview import stay_rows
from fangkong.tracing.kinds import CONTROL_KIND, FIND_KIND
from fangkong.tracing.models import (
    Case,
    CaseKind,
    CaseSource,
    CaseStatus,
    Contact,
    ContactHow,
    ContactStatus,
    Stay,
)
from fangkong.tracing.rules import settings_for
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import Subject, orders_create

REASON_MAX = 300
# The contact list is due 4 hours after the case, the contacts under control 24 hours.
LIST_DUE = timedelta(hours=4)
CONTROL_DUE = timedelta(hours=24)
# A work order made after its target has passed is still given a little time.
LATE_GRACE = timedelta(minutes=30)
# Other open cases counted as index cases with this one (so that a case is never found
# as another's contact): those whose dates lie this close.
NEAR_CASES = timedelta(days=14)


def _require(actor: User | None, perm: Perm, path: str) -> None:
    if actor is not None and not has_perm(actor, perm, path):
        raise PermissionDenied


def _audit(actor: User | None, action: AuditAction, obj: Any, what: str, **detail: Any) -> None:
    audit_record(
        action=action,
        actor=actor,
        obj=obj,
        object_repr=f"{obj._meta.model_name} {obj.pk}: {what}",
        jurisdiction_path=obj.case.jurisdiction.path
        if isinstance(obj, Contact)
        else obj.jurisdiction.path,
        detail=detail,
    )


# Cases -----------------------------------------------------------------------------------


@transaction.atomic
def case_open(
    *,
    person: Person,
    kind: str,
    onset_on: date | None,
    sampled_on: date | None,
    source: str,
    actor: User | None,
    isolated_at: datetime | None = None,
) -> tuple[Case, bool]:
    """The person's open case, opened now unless they have one (then it is returned as
    it is: `False`). `actor` None: the system (control's hook)."""
    _require(actor, Perm.TRACING_MANAGE, person.jurisdiction.path)
    errors: dict[str, str] = {}
    if kind not in CaseKind.values:
        errors["kind"] = _("Unknown kind of case.")
    if source not in CaseSource.values:
        errors["source"] = _("Unknown source of a case.")
    if onset_on is None and sampled_on is None:
        errors["onset_on"] = _("Give the onset date or the first positive sample date.")
    today = timezone.localdate()
    for name, day in (("onset_on", onset_on), ("sampled_on", sampled_on)):
        # A person's typing is checked; the lab's dates (the system's) are taken as given.
        if actor is not None and day is not None and not today - timedelta(days=60) <= day <= today:
            errors[name] = _("The date must be within the last 60 days.")
    if errors:
        raise ValidationError(errors)
    found = Case.objects.select_for_update().filter(person=person, status=CaseStatus.OPEN).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            case = Case.objects.create(
                person=person,
                jurisdiction=person.jurisdiction,
                kind=kind,
                onset_on=onset_on,
                sampled_on=sampled_on,
                source=source,
                isolated_at=isolated_at or timezone.now(),
                created_by=actor,
            )
    except IntegrityError:  # opened meanwhile by another request
        return Case.objects.get(person=person, status=CaseStatus.OPEN), False
    _audit(actor, AuditAction.CREATE, case, "opened", kind=kind, source=source)
    return case, True


def positive_case(event: PositiveCase) -> None:
    """Control's hook: the person who tested positive becomes a case (its first positive
    sample on the test's day)."""
    person = Person.objects.select_related("jurisdiction").filter(pk=event.person_id).first()
    if person is None:
        return
    # The case is the system's: control checked its actor already.
    case_open(
        person=person,
        kind=CaseKind.CONFIRMED,
        onset_on=None,
        sampled_on=event.on,
        source=CaseSource.POSITIVE_TEST,
        actor=None,
        isolated_at=None,
    )


@transaction.atomic
def case_close(*, case: Case, actor: User) -> Case:
    _require(actor, Perm.TRACING_MANAGE, case.jurisdiction.path)
    if case.status != CaseStatus.CLOSED:
        case.status = CaseStatus.CLOSED
        case.save(update_fields=["status"])
        _audit(actor, AuditAction.UPDATE, case, "closed")
    return case


# Contacts ---------------------------------------------------------------------------------


def _existing(case: Case, person: Person | None, key: str) -> Contact | None:
    q = Q(person=person) if person is not None else Q(pk__in=[])
    if key:
        q |= Q(person_key=key)
    found: Contact | None = Contact.objects.filter(case=case).filter(q).first()
    return found


def _person_of(key: str) -> Person | None:
    if not key:
        return None
    return (
        Person.objects.select_related("jurisdiction")
        .filter(Q(phone_hash=key) | Q(phone2_hash=key))
        .order_by("pk")
        .first()
    )


def _add(
    case: Case,
    *,
    how: str,
    reason: str,
    last_on: date,
    person: Person | None = None,
    key: str = "",
    name: str = "",
    phone: str = "",
    degree: int = 1,
    via: Contact | None = None,
    **visit: Any,
) -> Contact | None:
    """A new contact of `case`, or None when they are on its list already (or are a case)."""
    if person is not None and not key:
        key = person.phone_hash or ""
    if person is not None and person.pk == case.person_id:
        return None
    if _existing(case, person, key) is not None:
        return None
    contact: Contact = Contact.objects.create(
        case=case,
        degree=degree,
        via=via,
        person=person,
        person_key=key,
        name="" if person else name,
        phone="" if person else phone,
        jurisdiction=person.jurisdiction if person else case.jurisdiction,
        how=how,
        reason=reason[:2000],
        last_exposure_on=last_on,
        **visit,
    )
    return contact


@transaction.atomic
def contact_declare(
    *,
    case: Case,
    actor: User,
    reason: str,
    last_exposure_on: date,
    person: Person | None = None,
    name: str = "",
    phone: str = "",
) -> tuple[Contact, bool]:
    """A contact the case (or the interview) names: a registry person, or a name and a
    mobile. Naming the same person again returns the first entry (`False`)."""
    _require(actor, Perm.TRACING_MANAGE, case.jurisdiction.path)
    errors: dict[str, str] = {}
    reason = " ".join(reason.split())
    if not reason:
        errors["reason"] = _("Say how they were in contact.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("At most %(n)d characters.") % {"n": REASON_MAX}
    digits = normalise_phone(phone) if phone else ""
    if person is None:
        if not name.strip():
            errors["name"] = _("Name the contact (or choose a registered person).")
        if not is_mainland_mobile(digits):
            errors["phone"] = _("Enter a mainland mobile number (11 digits from 13 to 19).")
    if not case.isolated_at.date() - timedelta(days=30) <= last_exposure_on <= timezone.localdate():
        errors["last_exposure_on"] = _("The last exposure must lie in the last 30 days.")
    if errors:
        raise ValidationError(errors)
    key = blind_index(digits) if digits else ""
    if person is None:
        person = _person_of(key)
    if person is not None and person.pk == case.person_id:
        raise ValidationError({"person": _("The case is not their own contact.")})
    found = _existing(case, person, key)
    if found is not None:
        return found, False
    contact = _add(
        case,
        how=ContactHow.DECLARED,
        reason=reason,
        last_on=last_exposure_on,
        person=person,
        key=key,
        name=" ".join(name.split())[:40],
        phone=digits,
    )
    if contact is None:  # unreachable: checked just above, inside this transaction
        raise ValidationError({"person": _("They are on the case's list already.")})
    _audit(actor, AuditAction.CREATE, contact, "declared", how=ContactHow.DECLARED)
    return contact, True


@dataclass
class Found:
    """What one run found: new contacts by how they were found (and degree)."""

    household: int = 0
    colocation: int = 0
    secondary: int = 0
    scans: int = 0
    new: list[Contact] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.new)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _keys(person: Person) -> list[str]:
    return [k for k in (person.phone_hash, person.phone2_hash) if k]


def _index_cases(case: Case) -> tuple[list[colocation.IndexCase], set[str]]:
    """This case's index entries (one per phone) and the other open cases near it (so
    that no case becomes another's contact); returns the entries and this case's keys."""
    anchor = case.counted_from
    near = (
        Case.objects.filter(status=CaseStatus.OPEN)
        .filter(
            Q(onset_on__range=(anchor - NEAR_CASES, anchor + NEAR_CASES))
            | Q(sampled_on__range=(anchor - NEAR_CASES, anchor + NEAR_CASES))
        )
        .exclude(pk=case.pk)
        .select_related("person")
    )
    own = set(_keys(case.person))
    out = [colocation.IndexCase(k, _start_of(anchor), case.isolated_at) for k in sorted(own)]
    for other in near:
        out += [
            colocation.IndexCase(k, _start_of(other.counted_from), other.isolated_at)
            for k in _keys(other.person)
            if k not in own
        ]
    return out, own


def _colocated(case: Case, found: Found) -> None:
    """First- and second-degree contacts from the place scans, each with the job's reason."""
    anchor = case.counted_from
    cases, own = _index_cases(case)
    declared = Stay.objects.filter(case=case, place__isnull=False).exists()
    if not own and declared:
        # No phone, yet the interview placed the case: its stays stand for it alone.
        own = {f"case-{case.pk}"}
        cases.append(colocation.IndexCase(f"case-{case.pk}", _start_of(anchor), case.isolated_at))
    if not own:
        return  # no phone and no declared stay: the case cannot be placed
    rule = settings_for(anchor, case.jurisdiction.path)
    start = min(c.onset for c in cases) - timedelta(days=rule.lookback_days)
    end = max(c.isolated_at for c in cases) + timedelta(hours=rule.contacts_controlled_within_hours)
    declared_rows = stay_rows([case], {case.pk: sorted(own)})
    scans = extract(
        WithVisits(place_scans(), declared_rows),
        start=start,
        end=end + timedelta(days=1),
        assumed_stay=timedelta(minutes=rule.assumed_stay_minutes),
    )
    found.scans = scans.rows
    if not scans.rows:
        return
    engine = DuckDBEngine(threads=1)
    try:
        engine.load(scans, slot=rule.slot_minutes * 60)
        result = colocation.colocate(engine, scans, cases, rule)
    finally:
        engine.close()
    rows = colocation.contacts(scans, result)
    told = {(r[1], int(r[2].timestamp()), int(r[3].timestamp())) for r in declared_rows}
    names = place_names(c.place_id for c in rows)
    case_keys = {c.person_key for c in cases}
    first: dict[str, Contact] = {}
    for row in rows:
        if row.person_key in case_keys:
            continue
        if row.degree == 1 and row.source_key not in own:
            continue
        via = None
        if row.degree == 2:
            via = first.get(row.source_key) or _existing(case, None, row.source_key)
            if via is None:
                continue  # a contact of another case's close contact
        person = _person_of(row.person_key)
        visitor = None if person else Visitor.objects.filter(key=row.person_key).first()
        source = via.shown_name if via else ""
        reason = row.reason(names.get(row.place_id, str(row.place_id)), source)
        if (
            row.degree == 1
            and (row.place_id, int(row.source_in.timestamp()), int(row.source_out.timestamp()))
            in told
        ):
            reason = _("%(reason)s (where the case said it was in the interview)") % {
                "reason": reason
            }
        contact = _add(
            case,
            how=ContactHow.COLOCATION,
            reason=reason,
            last_on=timezone.localdate(row.t_in),
            person=person,
            key=row.person_key,
            name=visitor.name if visitor else "",
            phone=visitor.phone if visitor else "",
            degree=row.degree,
            via=via,
            place_id=row.place_id,
            t_in=row.t_in,
            t_out=row.t_out,
            overlap_minutes=row.overlap_seconds // 60,
        )
        if row.degree == 1:
            kept = contact or _existing(case, person, row.person_key)
            if kept is not None:
                first[row.person_key] = kept
        if contact is not None:
            found.new.append(contact)
            if row.degree == 1:
                found.colocation += 1
            else:
                found.secondary += 1


@transaction.atomic
def contacts_find(*, case: Case, actor: User | None, now: datetime | None = None) -> Found:
    """The case's household members and co-location contacts (first degree, and second
    where the edition's rule says so), added to its list once each."""
    _require(actor, Perm.TRACING_MANAGE, case.jurisdiction.path)
    now = now or timezone.now()
    case = Case.objects.select_for_update().select_related("person", "jurisdiction").get(pk=case.pk)
    found = Found()
    person = case.person
    last_on = min(timezone.localdate(case.isolated_at), timezone.localdate(now))
    if person.household_id is not None:
        members = (
            Person.objects.select_related("jurisdiction")
            .filter(household_id=person.household_id)
            .exclude(pk=person.pk)
        )
        for member in members:
            contact = _add(
                case,
                how=ContactHow.HOUSEHOLD,
                reason=_("Lives in the same household as the case"),
                last_on=last_on,
                person=member,
            )
            if contact is not None:
                found.household += 1
                found.new.append(contact)
    _colocated(case, found)
    case.contacts_found_at = now
    case.save(update_fields=["contacts_found_at"])
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=case,
        object_repr=f"case {case.pk}: contacts found",
        jurisdiction_path=case.jurisdiction.path,
        detail={
            "household": found.household,
            "colocation": found.colocation,
            "secondary": found.secondary,
            "scans": found.scans,
        },
    )
    return found


# Contacts under control ---------------------------------------------------------------------


@dataclass
class Controlled:
    controlled: list[Contact] = field(default_factory=list)
    to_find: list[Contact] = field(default_factory=list)
    not_placed: list[Contact] = field(default_factory=list)


def _work_order(contact: Contact, kind: str, due: datetime, now: datetime) -> WorkOrder:
    title = (
        _("Find contact %(name)s") if kind == FIND_KIND else _("Put contact %(name)s under control")
    ) % {"name": contact.shown_name}
    (order,) = orders_create(
        kind=kind,
        subjects=[Subject.of(contact, label=f"{contact.shown_name} {contact.shown_phone}")],
        actor=None,  # tracing opens it: the tracer need not dispatch orders
        due_at=max(due, now + LATE_GRACE),
        title=title,
        note=contact.reason[:500],
        source="tracing",
        now=now,
    )
    return order


def _active_order(person: Person) -> ControlOrder | None:
    return ControlOrder.objects.filter(person=person, status=OrderStatus.ACTIVE).first()


@transaction.atomic
def contacts_control(*, case: Case, actor: User, now: datetime | None = None) -> Controlled:
    """Each found contact under control: a registry person through control's
    `contact_order` (a close or secondary contact, last exposed on the contact's day),
    or already under an active order (kept); a contact not in the registry becomes a
    work order to find them (due 4 h after the case), one who cannot be placed a work
    order to place them (due 24 h after the case)."""
    _require(actor, Perm.TRACING_MANAGE, case.jurisdiction.path)
    now = now or timezone.now()
    out = Controlled()
    pending = (
        # Only the contacts' rows: PostgreSQL locks no row of an outer join's nullable side.
        Contact.objects.select_for_update(of=("self",))
        .filter(case=case, status__in=(ContactStatus.FOUND, ContactStatus.NOT_PLACED))
        .filter(work_order__isnull=True)
        .select_related("person__jurisdiction", "case__jurisdiction", "jurisdiction")
        .order_by("degree", "pk")
    )
    for contact in pending:
        person = contact.person
        if person is None:
            contact.work_order = _work_order(contact, FIND_KIND, case.created_at + LIST_DUE, now)
            contact.status = ContactStatus.TO_FIND
            out.to_find.append(contact)
        else:
            order = _active_order(person)
            if order is None:
                category = (
                    Category.CLOSE_CONTACT if contact.degree == 1 else Category.SECONDARY_CONTACT
                )
                phases, _exposure = plan_from_exposure(
                    category=category,
                    last_on=contact.last_exposure_on,
                    path=person.jurisdiction.path,
                )
                if not phases:
                    # The edition in force manages no such contact (secondary contacts
                    # after the 20 measures): nothing to make, nobody to chase.
                    contact.note = _("The edition in force calls for no control order.")
                    contact.save(update_fields=["note"])
                    continue
                reason = _("Contact of case %(case)s: %(reason)s") % {
                    "case": mask_name(case.person.name),
                    "reason": contact.reason,
                }
                try:
                    with transaction.atomic():
                        made = contact_order(
                            person=person,
                            category=category,
                            last_on=contact.last_exposure_on,
                            actor=actor,
                            reason=reason[:500],
                            now=now,
                        )
                    order = made.orders[0]
                except (ValidationError, PermissionDenied) as e:
                    note = " ".join(getattr(e, "messages", [])) or _("Not allowed here.")
                    contact.note = note[:300]
                    contact.work_order = _work_order(
                        contact, CONTROL_KIND, case.created_at + CONTROL_DUE, now
                    )
                    contact.status = ContactStatus.NOT_PLACED
                    out.not_placed.append(contact)
            if order is not None:
                contact.order = order
                contact.status = ContactStatus.CONTROLLED
                contact.reached_at = contact.reached_at or now
                out.controlled.append(contact)
        contact.save()
        _audit(actor, AuditAction.UPDATE, contact, contact.status)
    return out


def find_done(order: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """A find/place work order done: the contact is reached (or noted as not)."""
    contact = Contact.objects.select_for_update().filter(work_order=order).first()
    if contact is None:
        return
    if result.get("reached", True):
        contact.reached_at = timezone.now()
    note = str(result.get("note") or "")
    if note:
        contact.note = note[:300]
    contact.save(update_fields=["reached_at", "note"])
