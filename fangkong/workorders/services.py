"""Every write to work orders: create (one or ten thousand), move through the status
machine, reassign, comment, and keep the pre-aggregated counts in step.

Each change is one conditional UPDATE on (id, version, status): when two people complete
or reassign the same order at the same moment, exactly one UPDATE matches and the other
gets `Conflict`, never a silent overwrite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.models import Jurisdiction, Team
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.workorders import dispatch
from fangkong.workorders.kinds import OrderKind, clean_result, get_kind
from fangkong.workorders.models import (
    OPEN_STATUSES,
    Action,
    Priority,
    Status,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderTally,
)


class Conflict(Exception):
    """Someone else changed the order first; the caller should reload it."""


@dataclass(frozen=True)
class Subject:
    """What an order is about, already resolved to its node and a display label."""

    jurisdiction: Jurisdiction
    label: str
    content_type_id: int | None = None
    object_id: int | None = None

    @classmethod
    def of(cls, obj: Any, *, label: str | None = None) -> Subject:
        ct = ContentType.objects.get_for_model(obj)
        return cls(obj.jurisdiction, label if label is not None else str(obj), ct.pk, obj.pk)


# Tallies ----------------------------------------------------------------------------

_UPSERT = (
    "INSERT INTO workorders_workordertally (jurisdiction_id, kind, day, open, done) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (jurisdiction_id, kind, day) DO UPDATE SET "
    "open = workorders_workordertally.open + excluded.open, "
    "done = workorders_workordertally.done + excluded.done"
)


TallyKey = tuple[int, str, date]


def tally_add(moves: Iterable[tuple[TallyKey, int, int]]) -> None:
    """Add (key, open, done) moves per (node, kind, day), in the caller's transaction.

    Moves on the same key are summed first: completing an order on its due day takes it
    from open and adds it to done on one and the same row."""
    sums: dict[TallyKey, tuple[int, int]] = {}
    for key, o, d in moves:
        was_open, was_done = sums.get(key, (0, 0))
        sums[key] = (was_open + o, was_done + d)
    rows = [(*key, o, d) for key, (o, d) in sorted(sums.items()) if o or d]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, rows)


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def tally_recount() -> dict[TallyKey, tuple[int, int]]:
    """(open, done) per (node, kind, day), counted from the orders themselves."""
    counts: dict[TallyKey, tuple[int, int]] = {}
    for node, kind, status, due_at, done_at in WorkOrder.objects.values_list(
        "jurisdiction_id", "kind", "status", "due_at", "done_at"
    ).iterator(chunk_size=5000):
        if status in OPEN_STATUSES:
            key, move = (node, kind, local_day(due_at)), (1, 0)
        elif done_at is not None and status != Status.CANCELLED:
            key, move = (node, kind, local_day(done_at)), (0, 1)
        else:
            continue
        o, d = counts.get(key, (0, 0))
        counts[key] = (o + move[0], d + move[1])
    return counts


@dataclass(frozen=True)
class TallyDifference:
    key: TallyKey
    stored: tuple[int, int]
    counted: tuple[int, int]


def tally_differences() -> list[TallyDifference]:
    """Every tally that disagrees with a recount of the orders (a row of zeros and a
    missing row are the same thing)."""
    counted = tally_recount()
    stored = {
        (t.jurisdiction_id, t.kind, t.day): (t.open, t.done) for t in WorkOrderTally.objects.all()
    }
    return [
        TallyDifference(key, stored.get(key, (0, 0)), counted.get(key, (0, 0)))
        for key in sorted(set(stored) | set(counted))
        if stored.get(key, (0, 0)) != counted.get(key, (0, 0))
    ]


def tally_rebuild() -> int:
    """Recount every tally from the orders (repair, and the check the tests make).

    On PostgreSQL the tally table is locked first: a service that changed an order but
    has not added its delta yet waits, and adds it on top of the recount."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE workorders_workordertally IN EXCLUSIVE MODE")
        counts = tally_recount()
        WorkOrderTally.objects.all().delete()
        WorkOrderTally.objects.bulk_create(
            [
                WorkOrderTally(jurisdiction_id=k[0], kind=k[1], day=k[2], open=o, done=d)
                for k, (o, d) in sorted(counts.items())
            ],
            batch_size=2000,
        )
    return len(counts)


def tally_repair(*, actor_name: str) -> list[TallyDifference]:
    """Rewrite the tallies from the orders when they drifted, audited with what differed
    (node ids, kinds, days and counts: nothing personal)."""
    with transaction.atomic():
        differences = tally_differences()
        if differences:
            tally_rebuild()
            audit_record(
                action=AuditAction.UPDATE,
                actor_name=actor_name,
                object_repr="work-order tallies",
                detail={
                    "repaired": len(differences),
                    "first": [
                        {
                            "node": d.key[0],
                            "kind": d.key[1],
                            "day": d.key[2].isoformat(),
                            "stored": list(d.stored),
                            "counted": list(d.counted),
                        }
                        for d in differences[:50]
                    ],
                },
            )
    return differences


# Creating ---------------------------------------------------------------------------


def _check_dispatch(actor: User | None, paths: Iterable[str]) -> None:
    if actor is None:  # the system (a rule, a scheduled job)
        return
    for path in set(paths):
        if not has_perm(actor, Perm.ORDERS_DISPATCH, path):
            raise PermissionDenied


@transaction.atomic
def orders_create(
    *,
    kind: str,
    subjects: Sequence[Subject],
    actor: User | None,
    strategy: dispatch.Strategy = dispatch.Strategy.GRID,
    team: Team | None = None,
    role: Role = Role.VOLUNTEER,
    person: User | None = None,
    due_at: datetime | None = None,
    priority: int = Priority.NORMAL,
    title: str = "",
    note: str = "",
    source: str = "manual",
    batch: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[WorkOrder]:
    """Create and dispatch one order per subject, in one transaction; returns an order
    per subject, in their order.

    With a `batch` id, repeating the same dispatch (a retried request, a double click)
    returns the orders the first one made and creates nothing. Work already open about
    a subject is not opened twice (see `OrderKind.same_work`): its open order comes
    back in that subject's place, marked `merged`; an open order of a kind this one
    `replaces` is cancelled, pointing to the new one.
    """
    order_kind = get_kind(kind)
    if batch is not None:
        existing = list(WorkOrder.objects.filter(batch=batch))
        if existing:
            return existing
    if not subjects:
        return []
    now = now or timezone.now()
    due = due_at or now + timedelta(hours=order_kind.due_hours)
    if due <= now:
        raise ValidationError({"due_at": _("The due time must be in the future.")})
    nodes = {s.jurisdiction.pk: s.jurisdiction for s in subjects}
    _check_dispatch(actor, (n.path for n in nodes.values()))
    plan = _plan_against_open_work(order_kind, subjects)
    fresh = plan.fresh
    if not fresh:
        return plan.orders([])
    targets = {pk: dispatch.target_of(n) for pk, n in nodes.items()}
    assignees = dispatch.resolve(
        [targets[s.jurisdiction.pk] for s in fresh],
        strategy,
        team=team,
        role=role,
        person=person,
    )
    orders = [
        WorkOrder(
            kind=kind,
            jurisdiction_id=s.jurisdiction.pk,
            subject_type_id=s.content_type_id,
            subject_id=s.object_id,
            subject_label=s.label[:200],
            title=title,
            note=note,
            assignee_id=a,
            team=team if strategy == dispatch.Strategy.TEAM else None,
            creator=actor,
            source=source,
            batch=batch,
            priority=priority,
            due_at=due,
            status=Status.ASSIGNED if a else Status.NEW,
        )
        for s, a in zip(fresh, assignees, strict=True)
    ]
    # Both databases return the new ids from a bulk insert (SQLite 3.35+).
    WorkOrder.objects.bulk_create(orders, batch_size=2000)
    WorkOrderEvent.objects.bulk_create(
        [
            WorkOrderEvent(
                order_id=o.pk,
                actor=actor,
                action=Action.CREATED,
                to_status=o.status,
                data={"strategy": str(strategy), "assignee": o.assignee_id},
            )
            for o in orders
        ],
        batch_size=2000,
    )
    day = local_day(due)
    tally_add(((o.jurisdiction_id, kind, day), 1, 0) for o in orders)
    created = plan.orders(orders)
    _cancel_replaced(plan.replaced, created, actor)
    return created


SubjectKey = tuple[int, int]


def _subject_key(s: Subject) -> SubjectKey | None:
    if s.content_type_id is None or s.object_id is None:
        return None  # an order about no record cannot repeat one
    return (s.content_type_id, s.object_id)


@dataclass
class _Plan:
    """Which subjects get a new order, and which already have their work open."""

    subjects: Sequence[Subject]
    fresh: list[Subject]
    standing: dict[SubjectKey, WorkOrder]  # open work standing for the new order
    replaced: dict[SubjectKey, list[WorkOrder]]  # open work the new order takes over
    once: bool  # one order per subject, even when a subject was given twice

    def orders(self, created: list[WorkOrder]) -> list[WorkOrder]:
        """An order per subject in the caller's order: the standing one, or the new one."""
        made = iter(created)
        new: dict[SubjectKey, WorkOrder] = {}
        out = []
        for s in self.subjects:
            key = _subject_key(s)
            if key is not None and key in self.standing:
                out.append(self.standing[key])
            elif key is not None and self.once and key in new:
                out.append(new[key])
            else:
                order = next(made)
                if key is not None:
                    new[key] = order
                out.append(order)
        return out


def _plan_against_open_work(kind: OrderKind, subjects: Sequence[Subject]) -> _Plan:
    """One query (per 2,000 subjects of a type) for the open orders about the subjects
    that stand for or are replaced by the new kind. On PostgreSQL the replaced rows are
    locked, so nobody completes one while it is being cancelled."""
    standing_kinds, replaced_kinds = kind.standing_for(), set(kind.replaces)
    wanted = standing_kinds | replaced_kinds
    by_type: dict[int, set[int]] = {}
    for s in subjects:
        key = _subject_key(s)
        if key is not None:
            by_type.setdefault(key[0], set()).add(key[1])
    standing: dict[SubjectKey, WorkOrder] = {}
    replaced: dict[SubjectKey, list[WorkOrder]] = {}
    for type_id, ids in by_type.items() if wanted else ():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 2000):
            found = (
                WorkOrder.objects.select_for_update()
                .filter(
                    subject_type_id=type_id,
                    subject_id__in=ordered[start : start + 2000],
                    kind__in=sorted(wanted),
                    status__in=OPEN_STATUSES,
                )
                .order_by("id")
            )
            for order in found:
                key = (type_id, int(order.subject_id or 0))
                if order.kind in standing_kinds:
                    order.merged = True
                    standing.setdefault(key, order)
                else:
                    replaced.setdefault(key, []).append(order)
    once = kind.key in standing_kinds  # a subject given twice gets one order
    fresh: list[Subject] = []
    seen: set[SubjectKey] = set()
    for s in subjects:
        key = _subject_key(s)
        if key is None or not once:
            fresh.append(s)
        elif key not in standing and key not in seen:
            seen.add(key)
            fresh.append(s)
    # Work that still stands is not replaced: the new order was not made.
    kept = {k: v for k, v in replaced.items() if k not in standing}
    return _Plan(subjects, fresh, standing, kept, once)


def _cancel_replaced(
    replaced: dict[SubjectKey, list[WorkOrder]], created: list[WorkOrder], actor: User | None
) -> None:
    by_key = {
        (o.subject_type_id, o.subject_id): o for o in created if not o.merged and o.subject_id
    }
    cancelled: list[WorkOrder] = []
    events: list[WorkOrderEvent] = []
    for key, olds in replaced.items():
        new = by_key.get(key)
        if new is None:
            continue
        for old in olds:
            cancelled.append(old)
            events.append(
                WorkOrderEvent(
                    order_id=old.pk,
                    actor=actor,
                    action=Action.CANCELLED,
                    from_status=old.status,
                    to_status=Status.CANCELLED,
                    note=_("Replaced by order #%(id)d (%(kind)s), which does the same work.")
                    % {"id": new.pk, "kind": new.kind_label},
                    data={"replaced_by": new.pk},
                )
            )
    if not cancelled:
        return
    # The rows were locked when planned: they are still open, as read.
    WorkOrder.objects.filter(pk__in=[o.pk for o in cancelled]).update(
        status=Status.CANCELLED, version=F("version") + 1, updated_at=timezone.now()
    )
    WorkOrderEvent.objects.bulk_create(events, batch_size=2000)
    tally_add(((o.jurisdiction_id, o.kind, local_day(o.due_at)), -1, 0) for o in cancelled)


# Changing ---------------------------------------------------------------------------


def _update(
    order: WorkOrder, *, expected: int | None, from_statuses: Iterable[str], **values: Any
) -> None:
    """The one conditional UPDATE every change goes through."""
    version = order.version if expected is None else expected
    matched = WorkOrder.objects.filter(
        pk=order.pk, version=version, status__in=list(from_statuses)
    ).update(version=F("version") + 1, updated_at=timezone.now(), **values)
    if matched != 1:
        raise Conflict(_("This order was changed by someone else. Reload it and try again."))
    for key, value in values.items():
        setattr(order, key, value)
    order.version = version + 1


def _event(order: WorkOrder, actor: User | None, action: str, before: str, **kw: Any) -> None:
    WorkOrderEvent.objects.create(
        order=order, actor=actor, action=action, from_status=before, to_status=order.status, **kw
    )


def _lock_free_get(order_id: int) -> WorkOrder:
    order = WorkOrder.objects.filter(pk=order_id).select_related("jurisdiction").first()
    if order is None:
        raise WorkOrder.DoesNotExist
    return order


def _must_be_assignee(order: WorkOrder, actor: User) -> None:
    if order.assignee_id != actor.pk:
        raise PermissionDenied


@transaction.atomic
def order_accept(*, order_id: int, actor: User, expected_version: int | None = None) -> WorkOrder:
    order = _lock_free_get(order_id)
    _must_be_assignee(order, actor)
    before = order.status
    _update(
        order, expected=expected_version, from_statuses=[Status.ASSIGNED], status=Status.ACCEPTED
    )
    _event(order, actor, Action.ACCEPTED, before)
    return order


@transaction.atomic
def order_start(*, order_id: int, actor: User, expected_version: int | None = None) -> WorkOrder:
    order = _lock_free_get(order_id)
    _must_be_assignee(order, actor)
    before = order.status
    _update(
        order,
        expected=expected_version,
        from_statuses=[Status.ASSIGNED, Status.ACCEPTED],
        status=Status.IN_PROGRESS,
    )
    _event(order, actor, Action.STARTED, before)
    return order


def order_complete(
    *,
    order_id: int,
    actor: User,
    result: Mapping[str, Any],
    client_id: uuid.UUID,
    expected_version: int | None = None,
    lat: float | None = None,
    lng: float | None = None,
    now: datetime | None = None,
) -> tuple[WorkOrder, bool]:
    """Record the result. Returns (order, created); a repeated submission with the same
    `client_id` returns the first result with created=False."""
    try:
        with transaction.atomic():
            return _complete(
                order_id,
                actor,
                result,
                client_id,
                expected_version,
                lat,
                lng,
                now or timezone.now(),
            )
    except (IntegrityError, Conflict):
        # A second submit of the same result that raced the first: the first one won.
        same = WorkOrder.objects.filter(result_client_id=client_id).first()
        if same is not None and same.pk == order_id:
            return same, False
        raise


def _complete(
    order_id: int,
    actor: User,
    result: Mapping[str, Any],
    client_id: uuid.UUID,
    expected: int | None,
    lat: float | None,
    lng: float | None,
    now: datetime,
) -> tuple[WorkOrder, bool]:
    same = WorkOrder.objects.filter(result_client_id=client_id).first()
    if same is not None:
        if same.pk != order_id:
            raise ValidationError({"client_id": _("This submission belongs to another order.")})
        return same, False
    order = _lock_free_get(order_id)
    _must_be_assignee(order, actor)
    if order.status not in OPEN_STATUSES:
        raise Conflict(
            _("This order is already %(status)s.") % {"status": order.get_status_display()}
        )
    kind = get_kind(order.kind)
    cleaned, errors = clean_result(kind, result)
    if errors:
        raise ValidationError(errors)
    if (lat is not None and not (-90 <= lat <= 90)) or (
        lng is not None and not (-180 <= lng <= 180)
    ):
        raise ValidationError({"location": _("The location is not a valid coordinate.")})
    before = order.status
    _update(
        order,
        expected=expected,
        from_statuses=OPEN_STATUSES,
        status=Status.DONE,
        result=cleaned,
        result_client_id=client_id,
        done_at=now,
        done_by=actor,
        result_lat=lat,
        result_lng=lng,
    )
    _event(order, actor, Action.DONE, before, data={"result": cleaned})
    tally_add(
        [
            ((order.jurisdiction_id, order.kind, local_day(order.due_at)), -1, 0),
            ((order.jurisdiction_id, order.kind, local_day(now)), 0, 1),
        ]
    )
    _follow_ups(order, kind, cleaned, now)
    if kind.on_done:
        import_string(kind.on_done)(order, cleaned, actor)
    return order, True


def _follow_ups(order: WorkOrder, kind: Any, result: Mapping[str, Any], now: datetime) -> None:
    for rule in kind.follow_ups:
        if str(result.get(rule.field, "")) != rule.value:
            continue
        (follow,) = orders_create(
            kind=rule.kind,
            subjects=[
                Subject(
                    order.jurisdiction, order.subject_label, order.subject_type_id, order.subject_id
                )
            ],
            actor=None,
            strategy=dispatch.Strategy.PERSON if order.assignee else dispatch.Strategy.GRID,
            person=order.assignee,
            due_at=now + timedelta(hours=rule.after_hours),
            priority=order.priority,
            title=order.title,
            source=f"workorder:{order.pk}",
            now=now,
        )
        note = (
            _("Follow-up work is already open: order #%(id)d.")
            if follow.merged
            else _("Follow-up order #%(id)d opened.")
        )
        _event(
            order,
            None,
            Action.COMMENTED,
            order.status,
            note=note % {"id": follow.pk},
            data={"follow_up": follow.pk},
        )


def _require_dispatch_at(actor: User, order: WorkOrder) -> None:
    if not has_perm(actor, Perm.ORDERS_DISPATCH, order.jurisdiction.path):
        raise PermissionDenied


@transaction.atomic
def order_verify(
    *,
    order_id: int,
    actor: User,
    accept: bool,
    note: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    """A cadre confirms the result, or returns the order for rework."""
    order = _lock_free_get(order_id)
    _require_dispatch_at(actor, order)
    before = order.status
    if accept:
        _update(
            order, expected=expected_version, from_statuses=[Status.DONE], status=Status.VERIFIED
        )
        _event(order, actor, Action.VERIFIED, before, note=note)
        return order
    if not note.strip():
        raise ValidationError({"note": _("Say why the order goes back.")})
    done_at = order.done_at or timezone.now()
    _update(
        order,
        expected=expected_version,
        from_statuses=[Status.DONE],
        status=Status.IN_PROGRESS,
        result_client_id=None,
        done_at=None,
    )
    _event(order, actor, Action.RETURNED, before, note=note)
    tally_add(
        [
            ((order.jurisdiction_id, order.kind, local_day(order.due_at)), 1, 0),
            ((order.jurisdiction_id, order.kind, local_day(done_at)), 0, -1),
        ]
    )
    return order


@transaction.atomic
def order_cancel(
    *, order_id: int, actor: User, reason: str, expected_version: int | None = None
) -> WorkOrder:
    order = _lock_free_get(order_id)
    _require_dispatch_at(actor, order)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the order is cancelled.")})
    before = order.status
    _update(order, expected=expected_version, from_statuses=OPEN_STATUSES, status=Status.CANCELLED)
    _event(order, actor, Action.CANCELLED, before, note=reason)
    tally_add([((order.jurisdiction_id, order.kind, local_day(order.due_at)), -1, 0)])
    return order


@transaction.atomic
def order_reassign(
    *,
    order_id: int,
    actor: User,
    assignee: User,
    reason: str,
    expected_version: int | None = None,
) -> WorkOrder:
    order = _lock_free_get(order_id)
    _require_dispatch_at(actor, order)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the order changes hands.")})
    if assignee.pk == order.assignee_id:
        raise ValidationError({"assignee": _("The order is already with this person.")})
    if not assignee.memberships.exists():
        raise ValidationError({"assignee": _("This person holds no role and cannot take orders.")})
    before, previous = order.status, order.assignee_id
    _update(
        order,
        expected=expected_version,
        from_statuses=OPEN_STATUSES,
        assignee=assignee,
        status=Status.ASSIGNED,
        escalation_level=0,
    )
    _event(
        order,
        actor,
        Action.REASSIGNED if previous else Action.ASSIGNED,
        before,
        note=reason,
        data={"from": previous, "to": assignee.pk},
    )
    return order


@transaction.atomic
def order_comment(*, order_id: int, actor: User, text: str) -> WorkOrderEvent:
    order = _lock_free_get(order_id)
    if order.assignee_id != actor.pk and not has_perm(
        actor, Perm.ORDERS_VIEW, order.jurisdiction.path
    ):
        raise PermissionDenied
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("A comment cannot be empty.")})
    if len(text) > 1000:
        raise ValidationError({"text": _("A comment is at most 1,000 characters.")})
    return WorkOrderEvent.objects.create(
        order=order,
        actor=actor,
        action=Action.COMMENTED,
        from_status=order.status,
        to_status=order.status,
        note=text,
    )
