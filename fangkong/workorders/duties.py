"""The home page's work-order duties: one's own tasks late and due today, and for those
who dispatch, the orders of their area that are overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, ngettext

from fangkong.core.duties import Duty
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.workorders.models import OPEN_STATUSES, WorkOrder
from fangkong.workorders.selectors import task_counts


def home_duties(user: Any, now: datetime) -> list[Duty]:
    duties: list[Duty] = []
    counts = task_counts(user, now)
    tasks = reverse("workorders:my_tasks")
    if counts["overdue"]:
        n = counts["overdue"]
        text = ngettext("%(n)d of your tasks is overdue", "%(n)d of your tasks are overdue", n)
        duties.append(Duty("tasks-overdue", text % {"n": n}, tasks, "danger", n))
    if counts["today"]:
        n = counts["today"]
        text = ngettext("%(n)d task is due today", "%(n)d tasks are due today", n)
        duties.append(Duty("tasks-today", text % {"n": n}, tasks, "warning", n))
    if counts["open"] and not counts["overdue"] and not counts["today"]:
        n = counts["open"]
        text = ngettext(
            "Nothing due today; %(n)d task is due later",
            "Nothing due today; %(n)d tasks are due later",
            n,
        )
        duties.append(Duty("tasks-later", text % {"n": n}, tasks, "success", n))
    if has_perm(user, Perm.ORDERS_DISPATCH):
        n = (
            WorkOrder.objects.visible_to(user, Perm.ORDERS_DISPATCH)
            .filter(status__in=OPEN_STATUSES, due_at__lt=now)
            .count()
        )
        # "0 work orders are overdue" reads as a count to act on; say there is nothing.
        text = (
            ngettext(
                "%(n)d work order in your area is overdue",
                "%(n)d work orders in your area are overdue",
                n,
            )
            if n
            else gettext("No work order in your area is overdue")
        )
        url = reverse("workorders:order_list") + "?overdue=1"
        duties.append(Duty("orders-overdue", text % {"n": n}, url, "danger" if n else "success", n))
    return duties
