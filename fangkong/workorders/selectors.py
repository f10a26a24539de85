"""Reads of work orders, always scoped: an assignee sees their own orders; everything
else needs orders.view over the order's node."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, IntegerField, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, nearest_in, subtree_q
from fangkong.workorders.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
    WorkOrderTally,
)

TABS = ("today", "overdue", "done")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)


def _tab_q(tab: str, now: datetime) -> Q:
    start, _end = day_bounds(timezone.localdate(now))
    if tab == "overdue":
        return Q(status__in=OPEN_STATUSES, due_at__lt=now)
    if tab == "done":
        return Q(status__in=DONE_STATUSES, done_at__gte=start)
    # Today: everything open that is due by the end of today and not yet late, plus
    # whatever is open with a later due time (work the grid worker may start now).
    return Q(status__in=OPEN_STATUSES, due_at__gte=now)


def my_counts(user: User, now: datetime) -> dict[str, int]:
    """The three tab counts in one query."""
    agg = WorkOrder.objects.filter(assignee=user).aggregate(
        **{tab: Count("id", filter=_tab_q(tab, now)) for tab in TABS}
    )
    return {tab: int(agg[tab] or 0) for tab in TABS}


def my_orders(user: User, tab: str, now: datetime, limit: int = 50) -> list[WorkOrder]:
    qs = WorkOrder.objects.filter(assignee=user).filter(_tab_q(tab, now))
    order = ("-done_at",) if tab == "done" else ("due_at", "priority", "id")
    return list(qs.select_related("jurisdiction", "assignee").order_by(*order)[:limit])


# 我的任务: open work in one list, late first, then due today, then the rest, a page at
# a time; done today behind its own tab.
TASKS_PER_PAGE = 20
BUCKETS = ("overdue", "today", "later")


def task_counts(user: User, now: datetime) -> dict[str, int]:
    """Overdue, due later today, due after today and done today, in one query; "open"
    is the first three together."""
    start, end = day_bounds(timezone.localdate(now))
    # Two index-only scans glued by UNION ALL (one row each, if any): the open orders
    # over wo_assignee_open_due, today's done over wo_assignee_done. One aggregate over
    # all the user's orders read every one of their rows from the table instead.
    zero = Value(0, output_field=IntegerField())
    open_counts = (
        WorkOrder.objects.filter(assignee=user, status__in=OPEN_STATUSES)
        .order_by()
        .values("assignee")
        .annotate(
            overdue=Count("id", filter=Q(due_at__lt=now)),
            today=Count("id", filter=Q(due_at__gte=now, due_at__lt=end)),
            later=Count("id", filter=Q(due_at__gte=end)),
            done=zero,
        )
        .values_list("overdue", "today", "later", "done")
    )
    done_counts = (
        WorkOrder.objects.filter(assignee=user, status__in=DONE_STATUSES, done_at__gte=start)
        .order_by()
        .values("assignee")
        .annotate(overdue=zero, today=zero, later=zero, done=Count("id"))
        .values_list("overdue", "today", "later", "done")
    )
    counts = dict.fromkeys(("overdue", "today", "later", "done"), 0)
    for row in open_counts.union(done_counts, all=True):
        for key, value in zip(counts, row, strict=True):
            counts[key] += int(value or 0)
    counts["open"] = counts["overdue"] + counts["today"] + counts["later"]
    return counts


class _CountedPaginator(Paginator):  # type: ignore[type-arg]  # stubs' generic varies
    """A paginator told its count (the counts query has it), so it never asks again."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known = count

    @cached_property
    def count(self) -> int:
        return self.known


def task_page(user: User, now: datetime, number: Any, open_count: int) -> Page[WorkOrder]:
    """A page of the user's open orders by due time: the late ones come first because
    they are due earliest. One query (the count comes from `task_counts`)."""
    qs = (
        WorkOrder.objects.filter(assignee=user, status__in=OPEN_STATUSES)
        .select_related("jurisdiction")
        .order_by("due_at", "priority", "id")
    )
    return _CountedPaginator(qs, TASKS_PER_PAGE, count=open_count).get_page(number)


def bucket_of(order: WorkOrder, now: datetime) -> str:
    if order.due_at < now:
        return "overdue"
    _start, end = day_bounds(timezone.localdate(now))
    return "today" if order.due_at < end else "later"


def grouped(orders: Iterable[WorkOrder], now: datetime) -> list[tuple[str, list[WorkOrder]]]:
    """Consecutive orders of one bucket together, in the page's order."""
    groups: list[tuple[str, list[WorkOrder]]] = []
    for order in orders:
        bucket = bucket_of(order, now)
        if not groups or groups[-1][0] != bucket:
            groups.append((bucket, []))
        groups[-1][1].append(order)
    return groups


def task_list_inputs(
    groups: Iterable[tuple[str, Iterable[WorkOrder]]], now: datetime
) -> tuple[Any, ...]:
    """Everything 我的任务's list shows of its orders (templates/workorders/my_tasks.html
    and its item), by group: the key its rendering is remembered under. A field the
    item template starts to show must be added here."""
    return tuple(
        (
            bucket,
            tuple(
                (
                    o.pk,
                    o.subject_label,
                    o.status,
                    o.is_open and o.due_at < now,
                    o.due_at,
                    o.done_at,
                    o.kind,
                    o.priority,
                    o.jurisdiction.name,
                    o.title,
                )
                for o in orders
            ),
        )
        for bucket, orders in groups
    )


ASSIGNEE = "assignee"


def order_for_user(
    user: User, order_id: int, *, write: Perm | str | None = None, or_assignee: bool = False
) -> WorkOrder:
    """One order the user may see: their own, or any under their orders.view scope (the
    same 404 for missing and not yours). To act on it, `write=ASSIGNEE` lets only the
    assignee through, `write=Perm.X` a holder of X at the order's node (or the assignee
    too, with `or_assignee`); anyone else who sees it gets 403."""
    order = (
        WorkOrder.objects.filter(pk=order_id)
        # The task page names the assignee by their staff name: joined, not a query more.
        .select_related("jurisdiction", "assignee__staff", "subject_type")
        .first()
    )
    if order is None:
        raise Http404
    mine = order.assignee_id == user.pk
    path = order.jurisdiction.path
    if not mine and not has_perm(user, Perm.ORDERS_VIEW, path):
        raise Http404
    if write == ASSIGNEE:
        allowed = mine
    elif write is not None:
        allowed = (or_assignee and mine) or has_perm(user, Perm(write), path)
    else:
        allowed = True
    if not allowed:
        raise PermissionDenied
    return order


def photo_for_user(user: User, photo_id: int) -> WorkOrderPhoto:
    """A photo, to whoever may see its order (404 otherwise, as for the order)."""
    order_id = WorkOrderPhoto.objects.filter(pk=photo_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise Http404
    order_for_user(user, order_id)
    return WorkOrderPhoto.objects.get(pk=photo_id)


def order_history(order: WorkOrder) -> list[WorkOrderEvent]:
    # Each line names its actor by staff name: joined, not a query per line.
    return list(order.events.select_related("actor__staff").order_by("id"))


@dataclass
class OrderFilters:
    kind: str = ""
    status: str = ""  # a Status value, or "open" / "overdue"
    node: str = ""  # a node code inside the user's scope
    assignee: int | None = None


def order_list(user: User, filters: OrderFilters, now: datetime) -> QuerySet[WorkOrder]:
    qs = WorkOrder.objects.visible_to(user, Perm.ORDERS_VIEW)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status == "overdue":
        qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=now)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.node:
        node = Jurisdiction.objects.filter(code=filters.node).first()
        qs = qs.filter(subtree_q("jurisdiction__path", node.path)) if node else qs.none()
    if filters.assignee:
        qs = qs.filter(assignee_id=filters.assignee)
    return qs.select_related("jurisdiction", "assignee__staff").order_by("due_at", "id")


# The 日清日结 board --------------------------------------------------------------------


@dataclass
class BoardRow:
    node: Jurisdiction
    cells: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> counts

    def total(self, key: str) -> int:
        return sum(c.get(key, 0) for c in self.cells.values())

    @property
    def done(self) -> int:
        return self.total("done")

    @property
    def open(self) -> int:
        return self.total("open")

    @property
    def overdue(self) -> int:
        return self.total("overdue")

    @property
    def by_kind(self) -> list[tuple[str, int, int, int]]:
        from fangkong.workorders.kinds import KINDS

        return [
            (
                str(KINDS[k].label) if k in KINDS else k,
                c.get("done", 0),
                c.get("open", 0),
                c.get("overdue", 0),
            )
            for k, c in sorted(self.cells.items())
        ]


@dataclass
class Board:
    node: Jurisdiction
    day: date
    rows: list[BoardRow]
    kinds: list[str]

    def grand(self, key: str) -> int:
        return sum(r.total(key) for r in self.rows)

    @property
    def done(self) -> int:
        return self.grand("done")

    @property
    def open(self) -> int:
        return self.grand("open")

    @property
    def overdue(self) -> int:
        return self.grand("overdue")


def board_rows_level(node: Jurisdiction) -> int:
    """A town's board has a row per village; a village's, a row per grid."""
    return Level.VILLAGE if node.level < Level.VILLAGE else Level.GRID


def board(node: Jurisdiction, now: datetime, kind: str = "") -> Board:
    """Done today / open / overdue by row node and kind, from the tallies.

    One query for the subtree, one grouped query over its tallies, one over the
    orders due today and already late; the same few queries whatever the number of
    orders.
    """
    today = timezone.localdate(now)
    level = max(board_rows_level(node), node.level)
    # The subtree once: its rows, and its ids so the counts below group with no join.
    subtree = list(
        Jurisdiction.objects.filter(subtree_q("path", node.path))
        .only("id", "path", "level", "name", "code")
        .order_by("path")
    )
    paths = {n.pk: n.path for n in subtree}
    row_nodes = [node] if node.level >= Level.GRID else [n for n in subtree if n.level == level]
    prefix = {n.path: n for n in row_nodes}
    # A semi-join in SQL, not a list of ids: the same SQL for a village or a county.
    ids = Jurisdiction.objects.filter(subtree_q("path", node.path)).values("id")
    in_subtree = Q(jurisdiction_id__in=ids) if node.parent_id else Q()
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    grouped = _tally_sums(in_subtree, today, kind)
    late_today = _late_today(in_subtree, now, kind)
    for row in grouped:
        if row["jurisdiction_id"] not in paths:
            continue
        path = paths[row["jurisdiction_id"]]
        row_node = nearest_in(path, prefix)
        key = (row_node.path if row_node is not None else path, row["kind"])
        cell = counts[key]
        cell["done"] += row["done"] or 0
        late = (row["late"] or 0) + late_today.get((row["jurisdiction_id"], row["kind"]), 0)
        cell["overdue"] += late
        cell["open"] += (row["late"] or 0) + (row["due_today"] or 0) + (row["later"] or 0)
    kinds = sorted({k for _p, k in counts})
    rows = []
    for n in row_nodes:
        cells = {k: dict(counts[(n.path, k)]) for k in kinds if (n.path, k) in counts}
        rows.append(BoardRow(n, cells))
    return Board(node, today, rows, kinds)


def _tally_sums(in_subtree: Q, today: date, kind: str) -> list[dict[str, Any]]:
    """Open and done sums per (leaf id, kind) for the board.

    Today and later come from the `(day, jurisdiction)` index; earlier days only while
    they still hold open orders, from the partial index `wo_tally_open`. Written as a
    UNION ALL of the two ranges because a plain OR lets the planner walk every day of
    history (60 days of it made the board three times slower).
    """
    base = WorkOrderTally.objects.filter(in_subtree)
    if kind:
        base = base.filter(kind=kind)
    columns = ("jurisdiction_id", "kind", "day", "open", "done")
    upcoming = base.filter(day__gte=today).values_list(*columns).order_by()
    late = base.filter(open__gt=0, day__lt=today).values_list(*columns).order_by()
    sql_a, params_a = upcoming.query.sql_with_params()
    sql_b, params_b = late.query.sql_with_params()
    # Both halves are Django-compiled with their parameters apart: nothing user-typed
    # is formatted into the text.
    union = f"({sql_a} UNION ALL {sql_b})"
    sql = (
        "SELECT jurisdiction_id, kind,"  # noqa: S608
        ' SUM(CASE WHEN day < %s THEN "open" ELSE 0 END),'
        ' SUM(CASE WHEN day = %s THEN "open" ELSE 0 END),'
        ' SUM(CASE WHEN day > %s THEN "open" ELSE 0 END),'
        " SUM(CASE WHEN day = %s THEN done ELSE 0 END)"
        f" FROM {union} AS t GROUP BY jurisdiction_id, kind"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [today] * 4 + list(params_a) + list(params_b))
        keys = ("jurisdiction_id", "kind", "late", "due_today", "later", "done")
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def _late_today(in_subtree: Q, now: datetime, kind: str) -> dict[tuple[int, str], int]:
    """Open orders due earlier today and already late, by (leaf id, kind): a range of the
    partial index `wo_open_due`, read without touching the table on PostgreSQL."""
    start, _end = day_bounds(timezone.localdate(now))
    qs = WorkOrder.objects.filter(
        in_subtree, status__in=OPEN_STATUSES, due_at__gte=start, due_at__lt=now
    )
    if kind:
        qs = qs.filter(kind=kind)
    return {
        (r["jurisdiction_id"], r["kind"]): r["n"]
        # COUNT(*), not COUNT(id): the id is not in the index, and reading it would
        # fetch every row from the table.
        for r in qs.values("jurisdiction_id", "kind").annotate(n=Count("*")).order_by()
    }


def staff_user_for(actor: User, text: str) -> User | None:
    """A user named by user name or phone, among the staff the actor may dispatch to."""
    from fangkong.core.crypto import blind_index
    from fangkong.core.normalise import normalise_phone
    from fangkong.org.models import StaffProfile

    text = text.strip()
    if not text:
        return None
    staff = StaffProfile.objects.visible_to(actor, Perm.ORDERS_DISPATCH).select_related("user")
    found = staff.filter(user__username=text).first()
    if found is None:
        found = staff.filter(phone_hash=blind_index(normalise_phone(text))).first()
    return found.user if found is not None else None


@dataclass(frozen=True)
class SubjectCard:
    """What the field app shows of an order's subject: essentials, masked."""

    name: str
    lines: list[str]
    phone_masked: str
    has_phone: bool
    link: str


def subject_card(order: WorkOrder) -> SubjectCard | None:
    from fangkong.people.models import Household, Person

    subject = order.subject
    if isinstance(subject, Person):
        bits = [
            b
            for b in (
                subject.get_sex_display() if subject.sex else "",
                f"{subject.birth_date:%Y}" if subject.birth_date else "",
                subject.id_number_masked,
            )
            if b
        ]
        address = subject.household.address if subject.household_id else ""  # type: ignore[union-attr]
        return SubjectCard(
            subject.name,
            [" · ".join(bits), address],
            subject.phone_masked,
            bool(subject.phone),
            f"/people/p/{subject.pk}/",
        )
    if isinstance(subject, Household):
        head = subject.head
        phone = head.phone if head else subject.landlord_phone
        masked = head.phone_masked if head else subject.landlord_phone_masked
        members = subject.members.count()
        lines = [subject.address, f"{head.name if head else '—'} · {members}"]
        return SubjectCard(subject.address, lines, masked, bool(phone), f"/people/h/{subject.pk}/")
    # Other modules' subjects describe themselves.
    if subject is not None and hasattr(subject, "order_card"):
        return SubjectCard(*subject.order_card())
    return None


def subject_phone(order: WorkOrder) -> str:
    from fangkong.people.models import Household, Person

    subject = order.subject
    if isinstance(subject, Person):
        return str(subject.phone)
    if isinstance(subject, Household):
        return str(subject.head.phone if subject.head else subject.landlord_phone)
    if subject is not None and hasattr(subject, "order_phone"):
        return str(subject.order_phone())
    return ""


def open_orders_about(
    *, kind: str, source: str, subject_type_id: int, subject_ids: Iterable[int]
) -> list[WorkOrder]:
    """The open orders of one kind and source about these subjects (for a caller
    dispatching a repeatable kind, which `orders_create` does not merge: one round's
    chase of the not-tested must not open a second order while the first is open)."""
    ids = list(subject_ids)
    if not ids:
        return []
    return list(
        WorkOrder.objects.filter(
            kind=kind,
            source=source,
            subject_type_id=subject_type_id,
            subject_id__in=ids,
            status__in=OPEN_STATUSES,
        ).order_by("pk")
    )
