"""Reads of work orders, always scoped: an assignee sees their own orders; everything
else needs orders.view over the order's node."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, subtree_q
from fangkong.workorders.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    WorkOrder,
    WorkOrderEvent,
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


def order_for(user: User, order_id: int) -> WorkOrder:
    """One order the user may see: their own, or any under their orders.view scope.
    The same 404 for missing and not yours."""
    order = (
        WorkOrder.objects.filter(pk=order_id)
        .select_related("jurisdiction", "assignee", "subject_type")
        .first()
    )
    if order is None:
        raise Http404
    if order.assignee_id == user.pk or has_perm(user, Perm.ORDERS_VIEW, order.jurisdiction.path):
        return order
    raise Http404


def order_history(order: WorkOrder) -> list[WorkOrderEvent]:
    return list(order.events.select_related("actor").order_by("id"))


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
            (str(KINDS[k].label) if k in KINDS else k, c.get("done", 0), c.get("open", 0),
             c.get("overdue", 0))
            for k, c in sorted(self.cells.items())
        ]  # fmt: skip


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

    Two grouped queries over the subtree's tallies plus one over the orders due today
    and already late (an index range on (status, due_at)), whatever the number of orders.
    """
    today = timezone.localdate(now)
    level = max(board_rows_level(node), node.level)
    row_nodes = list(
        Jurisdiction.objects.filter(subtree_q("path", node.path), level=level).order_by("path")
    )
    if node.level >= Level.GRID:
        row_nodes = [node]
    prefix = {n.path: n for n in row_nodes}
    # Past days matter only while they still hold open (late) orders.
    tallies = WorkOrderTally.objects.filter(
        subtree_q("jurisdiction__path", node.path), Q(day__gte=today) | Q(open__gt=0)
    )
    if kind:
        tallies = tallies.filter(kind=kind)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    grouped = tallies.values("jurisdiction__path", "kind").annotate(
        late=Sum("open", filter=Q(day__lt=today)),
        due_today=Sum("open", filter=Q(day=today)),
        later=Sum("open", filter=Q(day__gt=today)),
        done=Sum("done", filter=Q(day=today)),
    )
    late_today = _late_today(node, now, kind)
    for row in grouped:
        key = (_row_of(row["jurisdiction__path"], prefix, level), row["kind"])
        cell = counts[key]
        cell["done"] += row["done"] or 0
        late = (row["late"] or 0) + late_today.get((row["jurisdiction__path"], row["kind"]), 0)
        cell["overdue"] += late
        cell["open"] += (row["late"] or 0) + (row["due_today"] or 0) + (row["later"] or 0)
    kinds = sorted({k for _p, k in counts})
    rows = []
    for n in row_nodes:
        cells = {k: dict(counts[(n.path, k)]) for k in kinds if (n.path, k) in counts}
        rows.append(BoardRow(n, cells))
    return Board(node, today, rows, kinds)


def _late_today(node: Jurisdiction, now: datetime, kind: str) -> dict[tuple[str, str], int]:
    start, _end = day_bounds(timezone.localdate(now))
    qs = WorkOrder.objects.filter(
        subtree_q("jurisdiction__path", node.path),
        status__in=OPEN_STATUSES, due_at__gte=start, due_at__lt=now,
    )  # fmt: skip
    if kind:
        qs = qs.filter(kind=kind)
    return {
        (r["jurisdiction__path"], r["kind"]): r["n"]
        for r in qs.values("jurisdiction__path", "kind").annotate(n=Count("id"))
    }


def _row_of(path: str, prefix: dict[str, Any], level: int) -> str:
    parts = path.strip("/").split("/")
    for i in range(len(parts), 0, -1):
        candidate = "/" + "/".join(parts[:i]) + "/"
        if candidate in prefix:
            return candidate
    return path


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
        bits = [b for b in (subject.get_sex_display() if subject.sex else "",
                            f"{subject.birth_date:%Y}" if subject.birth_date else "",
                            subject.id_number_masked) if b]  # fmt: skip
        address = subject.household.address if subject.household_id else ""  # type: ignore[union-attr]
        return SubjectCard(subject.name, [" · ".join(bits), address], subject.phone_masked,
                           bool(subject.phone), f"/people/p/{subject.pk}/")  # fmt: skip
    if isinstance(subject, Household):
        head = subject.head
        phone = head.phone if head else subject.landlord_phone
        masked = head.phone_masked if head else subject.landlord_phone_masked
        members = subject.members.count()
        lines = [subject.address, f"{head.name if head else '—'} · {members}"]
        return SubjectCard(subject.address, lines, masked, bool(phone),
                           f"/people/h/{subject.pk}/")  # fmt: skip
    return None


def subject_phone(order: WorkOrder) -> str:
    from fangkong.people.models import Household, Person

    subject = order.subject
    if isinstance(subject, Person):
        return str(subject.phone)
    if isinstance(subject, Household):
        return str(subject.head.phone if subject.head else subject.landlord_phone)
    return ""
