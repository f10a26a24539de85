"""Reads of control, always scoped to the viewer: one accessor per entity (the same 404
for "missing" and "not yours", 403 for a write without the permission at the object's
node) and the lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet

from fangkong.control.models import (
    ControlOrder,
    IsolationSite,
    OrderStatus,
    Passenger,
    SampleResult,
    Transfer,
    TransferStatus,
)
from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm


def control_order_for_user(user: Any, order_id: int, *, write: Perm | None = None) -> ControlOrder:
    return object_for_user(
        ControlOrder.objects.select_related("person", "jurisdiction", "room__site"),
        user,
        Perm.CONTROL_VIEW,
        write=write,
        pk=order_id,
    )


def site_for_user(user: Any, site_id: int, *, write: bool = False) -> IsolationSite:
    return object_for_user(
        IsolationSite.objects.select_related("jurisdiction"),
        user,
        Perm.CONTROL_VIEW,
        write=Perm.CONTROL_MANAGE if write else None,
        pk=site_id,
    )


def transfer_for_user(user: Any, transfer_id: int, *, write: bool = False) -> Transfer:
    return object_for_user(
        Transfer.objects.select_related("jurisdiction", "destination"),
        user,
        Perm.CONTROL_VIEW,
        write=Perm.CONTROL_MANAGE if write else None,
        pk=transfer_id,
    )


def under_control(
    user: Any, *, today: date, node_path: str = "", type: str = ""
) -> QuerySet[ControlOrder]:
    """Active orders in the viewer's area (under `node_path`, of `type`), each with its
    checks today, its tests due today and whether its release is due: one query."""
    rows = (
        ControlOrder.objects.visible_to(user, Perm.CONTROL_VIEW)
        .filter(status=OrderStatus.ACTIVE)
        .select_related("person", "jurisdiction", "room__site")
        .annotate(
            checks_today=Count("checks", filter=Q(checks__day=today), distinct=True),
            tests_today=Count(
                "tests",
                filter=Q(tests__on=today, tests__result=SampleResult.PENDING),
                distinct=True,
            ),
        )
    )
    if node_path:
        rows = rows.filter(jurisdiction__path__startswith=node_path)
    if type:
        rows = rows.filter(type=type)
    return rows.order_by("jurisdiction__path", "ends_on", "id")


def in_transit_for(user: Any) -> QuerySet[Passenger]:
    """Everyone on the road now, in the viewer's area."""
    from fangkong.control.transfers import in_transit
    from fangkong.org.scoping import scope_paths

    return in_transit(scope_paths(user, Perm.CONTROL_VIEW))


def history_of(order: ControlOrder) -> list[ControlOrder]:
    """The person's orders in the same area, oldest first (a chain, what it superseded)."""
    return list(
        ControlOrder.objects.filter(
            person_id=order.person_id, jurisdiction__path__startswith=order.jurisdiction.path
        )
        .prefetch_related("events__actor")
        .order_by("created_at", "id")
    )


# Counts for the dashboard and the bulletin ---------------------------------------------

# What control adds to a village's day (reports' pre-aggregated `VillageDay`).
COUNT_KEYS = ("control_new", "control_active", "control_released", "control_in_transit")


def counts_by_node(key: str, prefixes: Sequence[str], day: date) -> list[tuple[str, int]]:
    """[(node path, n)] of one of COUNT_KEYS under any of the path `prefixes`, in one
    grouped query: people put under control on `day` (an order begun that day that is
    not the next period of a chain nor a stricter order for someone already under
    control), under control now, released on `day`, on a vehicle now (by where the
    passenger lives). A past day's refresh keeps the snapshots ("now") of that evening."""
    if key not in COUNT_KEYS:
        raise ValueError(key)
    field = "person__jurisdiction__path" if key == "control_in_transit" else "jurisdiction__path"
    within = Q(pk__in=[])
    for prefix in prefixes:
        within |= Q(**{f"{field}__startswith": prefix})
    rows: QuerySet[Any]
    if key == "control_in_transit":
        rows = Passenger.objects.filter(within, transfer__status=TransferStatus.IN_TRANSIT)
    else:
        orders = ControlOrder.objects.filter(within)
        if key == "control_new":
            rows = (
                orders.filter(starts_on=day)
                .exclude(status=OrderStatus.PLANNED)
                .exclude(previous__status__in=[OrderStatus.RELEASED, OrderStatus.SUPERSEDED])
            )
        elif key == "control_active":
            rows = orders.filter(status=OrderStatus.ACTIVE)
        else:
            rows = orders.filter(status=OrderStatus.RELEASED, released_on=day)
    return [(p, int(n)) for p, n in rows.values_list(field).annotate(n=Count("pk")).order_by()]
