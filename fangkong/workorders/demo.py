"""Work orders for the demo town: a few days of visits, verifications and deliveries per
grid, some done, some due today, some overdue, so every page has something to show."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from fangkong.org.scoping import subtree_q
from fangkong.people.models import Household, Person
from fangkong.workorders import services
from fangkong.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderTally


@transaction.atomic
def build_demo_orders(path: str, *, per_grid: int = 6, seed: int = 2022) -> int:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    by_grid: dict[str, list[Household]] = {}
    for h in Household.objects.within(path).select_related("jurisdiction").order_by("id"):
        grid = (
            h.jurisdiction.path
            if h.jurisdiction.level == 4
            else h.jurisdiction.path.rsplit("/", 2)[0] + "/"
        )
        if len(by_grid.setdefault(grid, [])) < per_grid * 3:
            by_grid[grid].append(h)
    visits = [
        services.Subject.of(h)
        for hs in by_grid.values()
        for h in rng.sample(hs, min(per_grid, len(hs)))
    ]
    persons = list(
        Person.objects.within(path).select_related("jurisdiction").order_by("?")[: len(by_grid) * 2]
    )
    now = timezone.now()
    orders = services.orders_create(
        kind="visit_household",
        subjects=visits,
        actor=None,
        title="敲门行动：核实家庭成员与近期来返人员",
        source="demo",
        now=now,
    )
    orders += services.orders_create(
        kind="verify_person",
        subjects=[services.Subject.of(p, label=p.name) for p in persons],
        actor=None,
        title="县指挥部推送名单核查",
        source="demo",
        now=now,
        due_at=now + timedelta(hours=6),
    )
    # A third of the visits were due yesterday and are late; a third are done.
    late = [o.pk for i, o in enumerate(orders) if i % 3 == 0]
    WorkOrder.objects.filter(pk__in=late).update(due_at=now - timedelta(hours=rng.randint(2, 20)))
    services.tally_rebuild()
    for i, o in enumerate(orders):
        if i % 3 == 1 and o.assignee is not None:
            result = (
                {"outcome": "visited", "persons_seen": 3}
                if o.kind == "visit_household"
                else {"outcome": "found"}
            )
            services.order_complete(
                order_id=o.pk, actor=o.assignee, result=result, client_id=uuid.uuid4()
            )
    return len(orders)


def delete_orders_under(path: str) -> None:
    orders = WorkOrder.objects.filter(subtree_q("jurisdiction__path", path))
    WorkOrderEvent.objects.filter(order__in=orders).delete()
    orders.delete()
    WorkOrderTally.objects.filter(subtree_q("jurisdiction__path", path)).delete()
