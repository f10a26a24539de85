"""Overdue orders climb the tree: the grid leader hears first, then the village, then the
town, after the delays in `EscalationRule` (rules as data, seeded by a migration).

Run by the scheduler every few minutes. Idempotent: an order's `escalation_level`
records how far it has climbed, in the same transaction as the notices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.org.models import Membership
from fangkong.org.scoping import ancestor_paths
from fangkong.workorders.models import OPEN_STATUSES, EscalationRule, WorkOrder

# A listed order in a notice shows at most this many; the link opens the rest.
_LISTED = 10


def escalate_overdue(now: datetime | None = None) -> dict[int, int]:
    """Escalate every order that has crossed a level's delay. Returns {level: orders}."""
    now = now or timezone.now()
    done: dict[int, int] = {}
    for rule in EscalationRule.objects.order_by("level"):
        cutoff = now - timedelta(hours=float(rule.hours_overdue))
        done[rule.level] = _escalate_level(rule, cutoff, now)
    return done


@transaction.atomic
def _escalate_level(rule: EscalationRule, cutoff: datetime, now: datetime) -> int:
    from fangkong.notify.services import notice_send

    orders = list(
        WorkOrder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status__in=OPEN_STATUSES, due_at__lte=cutoff, escalation_level__lt=rule.level)
        .select_related("jurisdiction")
        .order_by("due_at", "id")[:20000]
    )
    if not orders:
        return 0
    holders = list(
        Membership.objects.filter(role=rule.notify_role)
        .filter(_ancestor_q({o.jurisdiction.path for o in orders}))
        .values_list("user_id", "jurisdiction__path")
    )
    by_user: dict[int, list[WorkOrder]] = defaultdict(list)
    for order in orders:
        # The nearest holders of the role above the order's node.
        covering = [(len(p), u) for u, p in holders if order.jurisdiction.path.startswith(p)]
        if not covering:
            continue
        deepest = max(n for n, _u in covering)
        for n, user_id in covering:
            if n == deepest:
                by_user[user_id].append(order)
    stamp = now.strftime("%Y%m%d%H%M")
    with override("zh-hans"):
        for user_id, items in by_user.items():
            title, body = _summary(
                rule,
                items,
                lambda o: (
                    f"#{o.pk} {o.subject_label} ({_('due')} {timezone.localtime(o.due_at):%m-%d %H:%M})"
                ),
            )
            notice_send(
                user_ids=[user_id],
                title=title,
                body=body,
                url="/orders/?overdue=1",
                key=f"wo-escalation:{rule.level}:{stamp}",
            )
    _tell_groups(rule, orders, stamp)
    WorkOrder.objects.filter(pk__in=[o.pk for o in orders]).update(escalation_level=rule.level)
    return len(orders)


def _tell_groups(rule: EscalationRule, orders: list[WorkOrder], stamp: str) -> None:
    """One summary per group robot (or log channel) that takes escalations for the
    orders' nodes."""
    from fangkong.notify.models import Channel
    from fangkong.notify.services import deliver, routes

    channels = list(Channel.objects.filter(enabled=True).select_related("jurisdiction"))
    by_channel: dict[int, tuple[Channel, list[WorkOrder]]] = {}
    cache: dict[str, list[Channel]] = {}
    for order in orders:
        path = order.jurisdiction.path
        if path not in cache:
            cache[path] = routes("escalation", path, channels)
        for channel in cache[path]:
            by_channel.setdefault(channel.pk, (channel, []))[1].append(order)
    with override("zh-hans"):
        for channel, items in by_channel.values():
            title, body = _summary(
                rule, items, lambda o: f"{o.jurisdiction.name} #{o.pk} {o.subject_label}"
            )
            deliver(
                channels=[channel],
                title=title,
                body=body,
                event="escalation",
                key=f"wo-escalation:{rule.level}:{stamp}",
            )


def _summary(
    rule: EscalationRule, items: list[WorkOrder], line: Callable[[WorkOrder], str]
) -> tuple[str, str]:
    """The title and the first _LISTED lines of an escalation summary, in the
    installation's "escalation" template ($count, $level, $orders) when it has one."""
    from fangkong.notify.services import render_or, template_for_event

    lines = [line(o) for o in items[:_LISTED]]
    if len(items) > _LISTED:
        lines.append(_("… and %(n)d more") % {"n": len(items) - _LISTED})
    title = _("%(n)d work orders overdue (level %(level)d reminder)") % {
        "n": len(items),
        "level": rule.level,
    }
    orders = "\n".join(lines)
    return render_or(
        template_for_event("escalation"),
        {"count": len(items), "level": rule.level, "orders": orders},
        (title, orders),
    )


@transaction.atomic
def rules_replace(*, actor: User, rows: list[tuple[Decimal, str]]) -> list[EscalationRule]:
    """Replace the escalation levels by `rows` ((hours overdue, role) in level order),
    audited with the old and new settings. Orders keep the level they have reached."""
    from fangkong.audit.models import AuditAction
    from fangkong.audit.services import audit_record

    before = [(str(r.hours_overdue), r.notify_role) for r in EscalationRule.objects.all()]
    EscalationRule.objects.all().delete()
    rules = EscalationRule.objects.bulk_create(
        EscalationRule(level=i, hours_overdue=hours, notify_role=role)
        for i, (hours, role) in enumerate(rows, start=1)
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        object_repr="escalation rules",
        detail={"before": before, "after": [(str(h), r) for h, r in rows]},
    )
    return rules


def _ancestor_q(paths: set[str]) -> Q:
    """Memberships at any ancestor (or the node itself) of these paths."""
    return Q(jurisdiction__path__in={a for path in paths for a in ancestor_paths(path)})
