"""Every write to work orders: create (one or ten thousand), move through the status
machine, reassign, comment, and keep the pre-aggregated counts in step.

Each change is one conditional UPDATE on (id, version, status): when two people complete
or reassign the same order at the same moment, exactly one UPDATE matches and the other
gets `Conflict`, never a silent overwrite.
"""

from __future__ import annotations

import uuid
from collections import Counter
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
from fangkong.org.models import Jurisdiction, Team
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.workorders import dispatch
from fangkong.workorders.kinds import clean_result, get_kind
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


def tally_add(deltas: Mapping[tuple[int, str, date], tuple[int, int]]) -> None:
    """Add (open, done) deltas per (node, kind, day), in the caller's transaction."""
    rows = [(*key, o, d) for key, (o, d) in sorted(deltas.items()) if o or d]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, rows)


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def tally_rebuild() -> int:
    """Recount every tally from the orders (repair, and the check the tests make).

    On PostgreSQL the tally table is locked first: a service that changed an order but
    has not added its delta yet waits, and adds it on top of the recount."""
    counts: Counter[tuple[int, str, date]] = Counter()
    done: Counter[tuple[int, str, date]] = Counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE workorders_workordertally IN EXCLUSIVE MODE")
        for node, kind, status, due_at, done_at in WorkOrder.objects.values_list(
            "jurisdiction_id", "kind", "status", "due_at", "done_at"
        ).iterator(chunk_size=5000):
            if status in OPEN_STATUSES:
                counts[(node, kind, local_day(due_at))] += 1
            elif done_at is not None and status != Status.CANCELLED:
                done[(node, kind, local_day(done_at))] += 1
        keys = sorted(set(counts) | set(done))
        WorkOrderTally.objects.all().delete()
        WorkOrderTally.objects.bulk_create(
            [WorkOrderTally(jurisdiction_id=k[0], kind=k[1], day=k[2], open=counts[k],
                            done=done[k]) for k in keys],
            batch_size=2000,
        )  # fmt: skip
    return len(keys)


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
    """Create and dispatch one order per subject, in one transaction.

    With a `batch` id, repeating the same dispatch (a retried request, a double click)
    returns the orders the first one made and creates nothing.
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
    targets = {pk: dispatch.target_of(n) for pk, n in nodes.items()}
    assignees = dispatch.resolve(
        [targets[s.jurisdiction.pk] for s in subjects], strategy, team=team, role=role,
        person=person,
    )  # fmt: skip
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
        for s, a in zip(subjects, assignees, strict=True)
    ]
    # Both databases return the new ids from a bulk insert (SQLite 3.35+).
    WorkOrder.objects.bulk_create(orders, batch_size=2000)
    WorkOrderEvent.objects.bulk_create(
        [WorkOrderEvent(order_id=o.pk, actor=actor, action=Action.CREATED,
                        to_status=o.status, data={"strategy": str(strategy),
                                                  "assignee": o.assignee_id})
         for o in orders],
        batch_size=2000,
    )  # fmt: skip
    deltas: Counter[tuple[int, str, date]] = Counter()
    day = local_day(due)
    for o in orders:
        deltas[(o.jurisdiction_id, kind, day)] += 1
    tally_add({k: (n, 0) for k, n in deltas.items()})
    return orders


# Changing ---------------------------------------------------------------------------


def _update(order: WorkOrder, *, expected: int | None, from_statuses: Iterable[str],
            **values: Any) -> None:  # fmt: skip
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
    _update(order, expected=expected_version, from_statuses=[Status.ASSIGNED],
            status=Status.ACCEPTED)  # fmt: skip
    _event(order, actor, Action.ACCEPTED, before)
    return order


@transaction.atomic
def order_start(*, order_id: int, actor: User, expected_version: int | None = None) -> WorkOrder:
    order = _lock_free_get(order_id)
    _must_be_assignee(order, actor)
    before = order.status
    _update(order, expected=expected_version,
            from_statuses=[Status.ASSIGNED, Status.ACCEPTED], status=Status.IN_PROGRESS)  # fmt: skip
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
            return _complete(order_id, actor, result, client_id, expected_version, lat, lng,
                             now or timezone.now())  # fmt: skip
    except (IntegrityError, Conflict):
        # A second submit of the same result that raced the first: the first one won.
        same = WorkOrder.objects.filter(result_client_id=client_id).first()
        if same is not None and same.pk == order_id:
            return same, False
        raise


def _complete(
    order_id: int, actor: User, result: Mapping[str, Any], client_id: uuid.UUID,
    expected: int | None, lat: float | None, lng: float | None, now: datetime,
) -> tuple[WorkOrder, bool]:  # fmt: skip
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
    _update(order, expected=expected, from_statuses=OPEN_STATUSES, status=Status.DONE,
            result=cleaned, result_client_id=client_id, done_at=now, done_by=actor,
            result_lat=lat, result_lng=lng)  # fmt: skip
    _event(order, actor, Action.DONE, before, data={"result": cleaned})
    tally_add({
        (order.jurisdiction_id, order.kind, local_day(order.due_at)): (-1, 0),
        (order.jurisdiction_id, order.kind, local_day(now)): (0, 1),
    })  # fmt: skip
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
            subjects=[Subject(order.jurisdiction, order.subject_label, order.subject_type_id,
                              order.subject_id)],
            actor=None, strategy=dispatch.Strategy.PERSON if order.assignee else
            dispatch.Strategy.GRID, person=order.assignee,
            due_at=now + timedelta(hours=rule.after_hours), priority=order.priority,
            title=order.title, source=f"workorder:{order.pk}", now=now,
        )  # fmt: skip
        _event(order, None, Action.COMMENTED, order.status,
               note=_("Follow-up order #%(id)d opened.") % {"id": follow.pk},
               data={"follow_up": follow.pk})  # fmt: skip


def _require_dispatch_at(actor: User, order: WorkOrder) -> None:
    if not has_perm(actor, Perm.ORDERS_DISPATCH, order.jurisdiction.path):
        raise PermissionDenied


@transaction.atomic
def order_verify(
    *, order_id: int, actor: User, accept: bool, note: str = "",
    expected_version: int | None = None,
) -> WorkOrder:  # fmt: skip
    """A cadre confirms the result, or returns the order for rework."""
    order = _lock_free_get(order_id)
    _require_dispatch_at(actor, order)
    before = order.status
    if accept:
        _update(order, expected=expected_version, from_statuses=[Status.DONE],
                status=Status.VERIFIED)  # fmt: skip
        _event(order, actor, Action.VERIFIED, before, note=note)
        return order
    if not note.strip():
        raise ValidationError({"note": _("Say why the order goes back.")})
    done_at = order.done_at or timezone.now()
    _update(order, expected=expected_version, from_statuses=[Status.DONE],
            status=Status.IN_PROGRESS, result_client_id=None, done_at=None)  # fmt: skip
    _event(order, actor, Action.RETURNED, before, note=note)
    tally_add({
        (order.jurisdiction_id, order.kind, local_day(order.due_at)): (1, 0),
        (order.jurisdiction_id, order.kind, local_day(done_at)): (0, -1),
    })  # fmt: skip
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
    _update(order, expected=expected_version, from_statuses=OPEN_STATUSES,
            status=Status.CANCELLED)  # fmt: skip
    _event(order, actor, Action.CANCELLED, before, note=reason)
    tally_add({(order.jurisdiction_id, order.kind, local_day(order.due_at)): (-1, 0)})
    return order


@transaction.atomic
def order_reassign(
    *, order_id: int, actor: User, assignee: User, reason: str,
    expected_version: int | None = None,
) -> WorkOrder:  # fmt: skip
    order = _lock_free_get(order_id)
    _require_dispatch_at(actor, order)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the order changes hands.")})
    if assignee.pk == order.assignee_id:
        raise ValidationError({"assignee": _("The order is already with this person.")})
    if not assignee.memberships.exists():
        raise ValidationError({"assignee": _("This person holds no role and cannot take orders.")})
    before, previous = order.status, order.assignee_id
    _update(order, expected=expected_version, from_statuses=OPEN_STATUSES,
            assignee=assignee, status=Status.ASSIGNED, escalation_level=0)  # fmt: skip
    _event(order, actor, Action.REASSIGNED if previous else Action.ASSIGNED, before,
           note=reason, data={"from": previous, "to": assignee.pk})  # fmt: skip
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
        order=order, actor=actor, action=Action.COMMENTED, from_status=order.status,
        to_status=order.status, note=text,
    )  # fmt: skip
