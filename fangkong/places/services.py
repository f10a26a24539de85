"""Writes of places: registering places, scans of their codes (the public page's one
path), patrol inspections with their findings, rectification orders and re-inspections,
penalties and closures, enterprises' logs and gatherings. Keyword-only, atomic, audited
(a scan is not audited one by one: it is the visitor's own act, kept in `Scan`)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.crypto import blind_index
from fangkong.core.normalise import is_mainland_mobile, normalise_phone
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.places.kinds import RECTIFY_KIND
from fangkong.places.models import (
    ChecklistItem,
    Decision,
    Disinfection,
    Finding,
    FindingStatus,
    Gathering,
    GatheringRule,
    GoodsCheck,
    Group,
    Inspection,
    InspectionKind,
    LevelInForce,
    PatrolRoute,
    Penalty,
    PenaltyKind,
    Place,
    PlaceCategory,
    PlaceStatus,
    Scan,
    Visitor,
)
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import Subject, orders_create

SIGNED_AS = "fangkong.places.visitor"
# A second scan of the same place by the same phone this soon is the same visit (a
# reload, a double tap): it is not recorded again.
SAME_VISIT = timedelta(minutes=5)
ANSWERS = ("ok", "fail", "na")


def _require(actor: User, perm: Perm, path: str) -> None:
    if not has_perm(actor, perm, path):
        raise PermissionDenied


def _audit(actor: User, action: AuditAction, obj: Any, what: str, path: str, **detail: Any) -> None:
    audit_record(
        action=action,
        actor=actor,
        obj=obj,
        object_repr=f"{obj._meta.model_name} {obj.pk}: {what}",
        jurisdiction_path=path,
        detail=detail,
    )


def new_code() -> str:
    return secrets.token_urlsafe(9)[:12]


# Places --------------------------------------------------------------------------------


@transaction.atomic
def place_create(
    *,
    actor: User,
    jurisdiction: Jurisdiction,
    category: PlaceCategory,
    name: str,
    address: str = "",
    owner: str = "",
    manager_user: User | None = None,
    manager_name: str = "",
    manager_phone: str = "",
    workforce: int | None = None,
) -> Place:
    _require(actor, Perm.PLACES_MANAGE, jurisdiction.path)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A place needs a name.")})
    if Place.objects.filter(jurisdiction=jurisdiction, name=name).exists():
        raise ValidationError({"name": _("A place of this name is already registered here.")})
    phone = normalise_phone(manager_phone) if manager_phone else ""
    if phone and not is_mainland_mobile(phone):
        raise ValidationError({"manager_phone": _("The phone is not a mainland mobile number.")})
    if manager_user is not None:
        from fangkong.places.selectors import town_staff

        if not town_staff(actor, jurisdiction).filter(user=manager_user).exists():
            raise ValidationError(
                {"manager_user": _("The manager must be one of the town's staff you see.")}
            )
    place = Place.objects.create(
        jurisdiction=jurisdiction,
        category=category,
        name=name,
        address=address.strip(),
        owner=owner.strip(),
        manager_user=manager_user,
        manager_name=manager_name.strip(),
        manager_phone=phone,
        workforce=workforce,
        code=new_code(),
    )
    _audit(
        actor, AuditAction.CREATE, place, "registered", jurisdiction.path, category=category.code
    )
    return place


def _locked(place_id: int) -> Place:
    return Place.objects.select_for_update().select_related("jurisdiction").get(pk=place_id)


@transaction.atomic
def place_close(*, actor: User, place_id: int, reason: str, on: date | None = None) -> Place:
    """A closure order (a penalty, or a religious venue closed by the response)."""
    place = _locked(place_id)
    _require(actor, Perm.PLACES_MANAGE, place.jurisdiction.path)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the place is closed.")})
    place.status = PlaceStatus.CLOSED
    place.closed_on = on or timezone.localdate()
    place.closure_reason = reason.strip()[:300]
    place.version += 1
    place.save(update_fields=["status", "closed_on", "closure_reason", "version"])
    _audit(actor, AuditAction.UPDATE, place, "closed", place.jurisdiction.path)
    return place


@transaction.atomic
def place_reopen(*, actor: User, place_id: int) -> Place:
    place = _locked(place_id)
    _require(actor, Perm.PLACES_MANAGE, place.jurisdiction.path)
    place.status = PlaceStatus.OPEN
    place.closed_on = None
    place.version += 1
    place.save(update_fields=["status", "closed_on", "version"])
    _audit(actor, AuditAction.UPDATE, place, "reopened", place.jurisdiction.path)
    return place


@transaction.atomic
def place_contacted(*, actor: User, place_id: int) -> Place:
    """The venue's responsible person was told of the closure order."""
    place = _locked(place_id)
    _require(actor, Perm.PLACES_MANAGE, place.jurisdiction.path)
    place.contacted_at = timezone.now()
    place.save(update_fields=["contacted_at"])
    _audit(
        actor, AuditAction.UPDATE, place, "responsible person contacted", place.jurisdiction.path
    )
    return place


@transaction.atomic
def commitment_sign(
    *, actor: User, place_id: int, signer: str, signed_on: date, text: str
) -> Place:
    """Store an enterprise's signed commitment letter (承诺书)."""
    place = _locked(place_id)
    _require(actor, Perm.PLACES_MANAGE, place.jurisdiction.path)
    if not signer.strip() or not text.strip():
        raise ValidationError({"signer": _("The letter needs its text and who signed it.")})
    if signed_on > timezone.localdate():
        raise ValidationError({"signed_on": _("The day of signing cannot be in the future.")})
    place.commitment_signer = signer.strip()[:60]
    place.commitment_signed_on = signed_on
    place.commitment_text = text.strip()[:5000]
    place.save(update_fields=["commitment_signer", "commitment_signed_on", "commitment_text"])
    _audit(actor, AuditAction.UPDATE, place, "commitment letter signed", place.jurisdiction.path)
    return place


# Scans -----------------------------------------------------------------------------------


def visitor_key(phone: str) -> str:
    """The keyed hash of a normalised phone: the registry's blind index, so tracing can
    join scans to registered persons' `phone_hash`."""
    return blind_index(phone)


def visitor_token(key: str) -> str:
    """What the phone keeps instead of sending its name and number at every scan."""
    return signing.dumps(key, salt=SIGNED_AS, compress=False)


def key_of_token(token: str) -> str | None:
    try:
        value = signing.loads(token, salt=SIGNED_AS)
    except signing.BadSignature:
        return None
    return value if isinstance(value, str) and len(value) == 64 else None


def clean_visitor(name: str, phone: str) -> tuple[str, str]:
    """A visitor's name and mobile, or a ValidationError naming the field."""
    errors: dict[str, str] = {}
    name = " ".join(name.split())[:40]
    digits = normalise_phone(phone)
    if not name:
        errors["name"] = _("Enter your name.")
    if not is_mainland_mobile(digits):
        errors["phone"] = _("Enter a mainland mobile number (11 digits from 13 to 19).")
    if errors:
        raise ValidationError(errors)
    return name, digits


@dataclass(frozen=True)
class ScanResult:
    scan_id: int
    at: datetime
    token: str
    recorded: bool  # False: the same visit as a scan moments ago


def visitor_remember(*, name: str, phone: str, now: datetime | None = None) -> str:
    """Keep (or refresh) who a key belongs to; returns the key."""
    key = visitor_key(phone)
    now = now or timezone.now()
    updated = Visitor.objects.filter(key=key).update(last_seen=now)
    if not updated:
        try:
            with transaction.atomic():
                Visitor.objects.create(key=key, name=name, phone=phone, last_seen=now)
        except IntegrityError:
            pass  # the same phone's first scan at two places at once
    return key


_SCAN_TABLE = Scan._meta.db_table
# The same-visit check and the insert in one statement (atomic by itself): the public
# page's hot path is one round trip, not a transaction around a read and a write.
_SCAN_INSERT = (
    f"INSERT INTO {_SCAN_TABLE} (place_id, person_key, node_path, scanned_at) "  # noqa: S608
    f"SELECT %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM {_SCAN_TABLE} "
    "WHERE place_id = %s AND person_key = %s AND scanned_at > %s AND scanned_at <= %s) "
    "RETURNING id"
)


def scan_record(
    *, place: Place, key: str, now: datetime | None = None, token: str = ""
) -> ScanResult:
    """One scan of `place` by the visitor of `key` (already remembered); a scan of the
    same place by the same key within `SAME_VISIT` is that visit, not a new one."""
    now = now or timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    since = connection.ops.adapt_datetimefield_value(now - SAME_VISIT)
    with connection.cursor() as cursor:
        cursor.execute(
            _SCAN_INSERT,
            [place.pk, key, place.jurisdiction.path, at, place.pk, key, since, at],
        )
        row = cursor.fetchone()
    token = token or visitor_token(key)
    if row is not None:
        return ScanResult(int(row[0]), now, token, True)
    last = (
        Scan.objects.filter(place=place, person_key=key, scanned_at__gt=now - SAME_VISIT)
        .order_by("-scanned_at")
        .values_list("pk", "scanned_at")
        .first()
    )
    if last is None:  # the earlier scan went meanwhile (a purge): count this one
        return scan_record(place=place, key=key, now=now + timedelta(microseconds=1), token=token)
    return ScanResult(last[0], last[1], token, False)


def scans_bulk(rows: list[tuple[int, str, str, datetime]]) -> int:
    """Scans arriving in bulk (place id, key, node path, time): a feed from another
    system, or the benchmark's batched path. One insert per batch."""
    Scan.objects.bulk_create(
        [Scan(place_id=p, person_key=k, node_path=n, scanned_at=t) for p, k, n, t in rows],
        batch_size=5000,
    )
    return len(rows)


# Patrols ---------------------------------------------------------------------------------


@transaction.atomic
def route_create(
    *, actor: User, jurisdiction: Jurisdiction, name: str, places: list[Place], every_days: int
) -> PatrolRoute:
    _require(actor, Perm.PLACES_MANAGE, jurisdiction.path)
    if not name.strip():
        raise ValidationError({"name": _("A route needs a name.")})
    if not 1 <= every_days <= 90:
        raise ValidationError({"every_days": _("Walk a route every 1 to 90 days.")})
    outside = [p.name for p in places if not p.jurisdiction.path.startswith(jurisdiction.path)]
    if outside:
        raise ValidationError(
            {"places": _("Not in the route's area: %(names)s") % {"names": "、".join(outside)}}
        )
    route = PatrolRoute.objects.create(
        jurisdiction=jurisdiction, name=name.strip()[:100], every_days=every_days
    )
    route.places.set(places)
    _audit(actor, AuditAction.CREATE, route, "patrol route", jurisdiction.path, places=len(places))
    return route


def checklist_for(place: Place) -> list[ChecklistItem]:
    """The items that apply to a place: those of every group and those of its own."""
    return [
        i
        for i in ChecklistItem.objects.filter(active=True)
        if i.group in ("", place.category.group)
    ]


@dataclass(frozen=True)
class InspectionResult:
    inspection: Inspection
    findings: list[Finding]
    created: bool


@transaction.atomic
def inspection_record(
    *,
    actor: User,
    place: Place,
    code: str,
    answers: Mapping[str, str],
    client_id: uuid.UUID,
    notes: Mapping[str, str] | None = None,
    deadline_days: int = 3,
    route: PatrolRoute | None = None,
    now: datetime | None = None,
) -> InspectionResult:
    """A patrol's inspection. The place code proves the inspector was there; every item
    answered "fail" becomes a finding with a rectification order, assigned to the
    inspector and due on the deadline, whose result is the re-inspection."""
    same = Inspection.objects.filter(client_id=client_id).first()
    if same is not None:
        if same.place_id != place.pk:
            raise ValidationError({"client_id": _("This submission belongs to another place.")})
        return InspectionResult(same, list(same.findings.all()), False)
    _require(actor, Perm.PLACES_PATROL, place.jurisdiction.path)
    # Bytes: a typed code may hold any character, and compare_digest takes only ASCII str.
    if not secrets.compare_digest(code.strip().encode(), place.code.encode()):
        raise ValidationError(
            {"code": _("Scan the code posted at this place to prove you are there.")}
        )
    items = {i.code: i for i in checklist_for(place)}
    unknown = sorted(set(answers) - set(items))
    if unknown:
        raise ValidationError({"answers": _("Unknown item: %(code)s") % {"code": unknown[0]}})
    missing = [i.label for c, i in items.items() if answers.get(c) not in ANSWERS]
    if missing:
        raise ValidationError({"answers": _("Not answered: %(item)s") % {"item": missing[0]}})
    if not 1 <= deadline_days <= 30:
        raise ValidationError({"deadline_days": _("Give 1 to 30 days to rectify.")})
    now = now or timezone.now()
    notes = notes or {}
    inspection = Inspection.objects.create(
        place=place,
        jurisdiction=place.jurisdiction,
        route=route,
        kind=InspectionKind.PATROL,
        inspector=actor,
        at=now,
        answers={c: answers[c] for c in items},
        client_id=client_id,
    )
    findings = []
    deadline = now + timedelta(days=deadline_days)
    for c, item in items.items():
        if answers[c] != "fail":
            continue
        finding = Finding.objects.create(
            inspection=inspection,
            place=place,
            jurisdiction=place.jurisdiction,
            item=item,
            note=str(notes.get(c, ""))[:500],
            deadline=deadline,
        )
        (order,) = orders_create(
            kind=RECTIFY_KIND,
            subjects=[Subject.of(finding, label=f"{place.name} · {item.label}")],
            actor=None,  # the finding opens it; the inspector need not dispatch orders
            strategy=Strategy.PERSON,
            person=actor,
            due_at=deadline,
            title=_("Rectify: %(item)s") % {"item": item.label},
            note=finding.note,
            source="places",
            now=now,
        )
        finding.order_id = order.pk
        finding.save(update_fields=["order_id"])
        findings.append(finding)
    _audit(
        actor,
        AuditAction.CREATE,
        inspection,
        place.name,
        place.jurisdiction.path,
        findings=len(findings),
    )
    return InspectionResult(inspection, findings, True)


def reinspection_done(order: WorkOrder, result: Mapping[str, Any], actor: User) -> None:
    """The rectification order's result is the re-inspection: the finding is closed as
    rectified or not, and a penalty given is recorded (a closure closes the place)."""
    if order.subject_id is None:
        return
    finding = (
        Finding.objects.select_for_update()
        .select_related("place", "item", "jurisdiction")
        .filter(pk=order.subject_id)
        .first()
    )
    if finding is None or finding.order_id != order.pk:
        return
    rectified = bool(result.get("rectified"))
    now = timezone.now()
    inspection = Inspection.objects.create(
        place=finding.place,
        jurisdiction=finding.jurisdiction,
        kind=InspectionKind.REINSPECTION,
        inspector=actor,
        at=now,
        answers={finding.item.code: "ok" if rectified else "fail"},
        note=str(result.get("note") or "")[:500],
        client_id=uuid.uuid4(),
    )
    finding.status = FindingStatus.RECTIFIED if rectified else FindingStatus.NOT_RECTIFIED
    finding.reinspection = inspection
    finding.save(update_fields=["status", "reinspection"])
    penalty = str(result.get("penalty") or "none")
    if penalty in PenaltyKind.values:
        penalty_record(
            actor=actor,
            place=finding.place,
            finding=finding,
            kind=penalty,
            fine_yuan=int(result.get("fine_yuan") or 0),
            note=str(result.get("note") or ""),
            checked=False,
        )


@transaction.atomic
def penalty_record(
    *,
    actor: User,
    place: Place,
    kind: str,
    fine_yuan: int = 0,
    note: str = "",
    finding: Finding | None = None,
    checked: bool = True,
) -> Penalty:
    """A warning, a fine or a closure. `checked=False` only from the re-inspection of the
    inspector's own order (the order itself is the authority)."""
    if checked:
        _require(actor, Perm.PLACES_PATROL, place.jurisdiction.path)
    if kind not in PenaltyKind.values:
        raise ValidationError({"kind": _("Choose a warning, a fine or a closure.")})
    if kind == PenaltyKind.FINE and not 0 < fine_yuan <= 1_000_000:
        raise ValidationError({"fine_yuan": _("A fine needs its amount (1 to 1,000,000 yuan).")})
    penalty = Penalty.objects.create(
        place=place,
        jurisdiction=place.jurisdiction,
        finding=finding,
        kind=kind,
        fine_yuan=fine_yuan if kind == PenaltyKind.FINE else 0,
        note=note[:300],
        decided_by=actor,
        decided_at=timezone.now(),
    )
    if kind == PenaltyKind.CLOSURE:
        Place.objects.filter(pk=place.pk).update(
            status=PlaceStatus.CLOSED,
            closed_on=timezone.localdate(),
            closure_reason=(note or _("Closed after an inspection"))[:300],
        )
    _audit(actor, AuditAction.CREATE, penalty, kind, place.jurisdiction.path, fine=fine_yuan)
    return penalty


# Enterprises and venues ------------------------------------------------------------------


def _enterprise(place: Place) -> None:
    if place.category.group != Group.ENTERPRISE:
        raise ValidationError({"place": _("Only enterprises and logistics firms keep this log.")})


@transaction.atomic
def disinfection_record(
    *, actor: User, place: Place, day: date, areas: str, done_by: str
) -> Disinfection:
    _require(actor, Perm.PLACES_MANAGE, place.jurisdiction.path)
    _enterprise(place)
    if day > timezone.localdate():
        raise ValidationError({"day": _("The day cannot be in the future.")})
    if not areas.strip() or not done_by.strip():
        raise ValidationError({"areas": _("Say what was disinfected and by whom.")})
    entry, _created = Disinfection.objects.update_or_create(
        place=place,
        day=day,
        defaults={
            "areas": areas.strip()[:200],
            "done_by": done_by.strip()[:60],
            "recorded_by": actor,
        },
    )
    _audit(actor, AuditAction.CREATE, entry, "disinfection", place.jurisdiction.path)
    return entry


@transaction.atomic
def goods_check_record(
    *,
    actor: User,
    place: Place,
    day: date,
    kind: str,
    batches: int,
    sampled: int,
    all_negative: bool,
    disinfected: bool,
) -> GoodsCheck:
    _require(actor, Perm.PLACES_MANAGE, place.jurisdiction.path)
    _enterprise(place)
    if day > timezone.localdate():
        raise ValidationError({"day": _("The day cannot be in the future.")})
    if sampled > batches:
        raise ValidationError({"sampled": _("More samples than batches.")})
    check, _created = GoodsCheck.objects.update_or_create(
        place=place,
        day=day,
        kind=kind,
        defaults={
            "batches": batches,
            "sampled": sampled,
            "all_negative": all_negative,
            "disinfected": disinfected,
            "recorded_by": actor,
        },
    )
    _audit(actor, AuditAction.CREATE, check, kind, place.jurisdiction.path)
    return check


@transaction.atomic
def level_in_force_record(*, node: Jurisdiction, rank: int, at: datetime) -> LevelInForce:
    """The response level switched at `node` (called by the response app's level
    listener, inside the switch's transaction, which audits the switch itself)."""
    if not 0 <= rank <= 4:
        raise ValidationError({"rank": _("A response level is 1 to 4, or 0 for none.")})
    made = LevelInForce.objects.create(jurisdiction=node, rank=rank, since=at)
    audit_record(
        action=AuditAction.CREATE,
        object_repr=f"response level {rank} at {node.code}",
        obj=made,
        jurisdiction_path=node.path,
        detail={"rank": rank, "since": at.isoformat()},
    )
    return made


def gathering_rule(level: int, kind: str) -> GatheringRule | None:
    return GatheringRule.objects.filter(level=level, kind=kind).first()


@transaction.atomic
def gathering_register(
    *,
    actor: User,
    jurisdiction: Jurisdiction,
    kind: str,
    on: date,
    organiser: str,
    expected: int,
    place: Place | None = None,
) -> Gathering:
    """A wedding, funeral or temple fair, decided by the rule of the response level in
    force at its node on its day (`selectors.level_in_force`, as the response app last
    switched it): allowed, limited (to the rule's number, or allowed when fewer are
    expected) or refused. Without a rule for the level it is allowed."""
    _require(actor, Perm.PLACES_MANAGE, jurisdiction.path)
    if place is not None and not place.jurisdiction.path.startswith(jurisdiction.path):
        raise ValidationError({"place": _("The venue is not in this area.")})
    if not organiser.strip():
        raise ValidationError({"organiser": _("Name the organiser.")})
    if on < timezone.localdate():
        raise ValidationError({"on": _("Register a gathering before it happens.")})
    from fangkong.places.selectors import level_in_force

    level = level_in_force(jurisdiction, on)
    rule = gathering_rule(level, kind)
    decision, limit = Decision.ALLOWED, 0
    if rule is not None:
        decision, limit = Decision(rule.decision), rule.max_people
        if decision == Decision.LIMITED and expected <= limit:
            decision = Decision.ALLOWED
    gathering = Gathering.objects.create(
        jurisdiction=jurisdiction,
        place=place,
        kind=kind,
        on=on,
        organiser=organiser.strip()[:60],
        expected=expected,
        level=level,
        decision=decision,
        max_people=limit,
        registered_by=actor,
    )
    _audit(actor, AuditAction.CREATE, gathering, str(decision), jurisdiction.path, kind=kind)
    return gathering
