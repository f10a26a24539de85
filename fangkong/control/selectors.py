"""Reads of control, always scoped to the viewer: one accessor per entity (the same 404
for "missing" and "not yours", 403 for a write without the permission at the object's
node) and the lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from fangkong.control.models import (
    AT_SITE,
    ControlOrder,
    IsolationRoom,
    IsolationSite,
    OrderStatus,
    Passenger,
    RoomState,
    SampleResult,
    Transfer,
    TransferStatus,
)
from fangkong.org.access import object_for_user
from fangkong.org.models import StaffProfile
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm


def control_order_for_user(user: Any, order_id: int, *, write: Perm | None = None) -> ControlOrder:
    return object_for_user(
        ControlOrder.objects.select_related(
            "person", "jurisdiction", "room__site", "cadre", "grid_worker", "doctor", "police"
        ),
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


def _transfers(user: Any) -> QuerySet[Transfer]:
    """Transfers organised in the viewer's area and those coming to a site of it: the
    receiving site sees what is on its way, whoever organised it (a county's transfer
    between two towns; the sending town follows its people on their orders)."""
    return Transfer.objects.filter(
        Q(pk__in=Transfer.objects.visible_to(user, Perm.CONTROL_VIEW).values("pk"))
        | Q(destination__in=IsolationSite.objects.visible_to(user, Perm.CONTROL_VIEW).values("pk"))
    )


def transfer_for_user(user: Any, transfer_id: int, *, write: bool = False) -> Transfer:
    """404 for a transfer neither organised in nor coming to the viewer's area; with
    `write`, 403 without control.manage at either end (the organiser departs it, the
    receiving site receives it; the services say which)."""
    transfer = (
        _transfers(user)
        .select_related("jurisdiction", "destination__jurisdiction", "escort", "received_by")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise Http404
    if write and not any(
        has_perm(user, Perm.CONTROL_MANAGE, path)
        for path in (transfer.jurisdiction.path, transfer.destination.jurisdiction.path)
    ):
        raise PermissionDenied
    return transfer


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


# Sites, rooms, transfers ----------------------------------------------------------------


def sites_visible(user: Any) -> QuerySet[IsolationSite]:
    return (
        IsolationSite.objects.visible_to(user, Perm.CONTROL_VIEW)
        .select_related("jurisdiction")
        .annotate(
            room_count=Count("rooms", distinct=True),
            beds=Sum("rooms__capacity"),
        )
        .order_by("jurisdiction__path", "name")
    )


def room_for_user(user: Any, room_id: int, *, write: bool = False) -> IsolationRoom:
    return object_for_user(
        IsolationRoom.objects.select_related("site__jurisdiction"),
        user,
        Perm.CONTROL_VIEW,
        write=Perm.CONTROL_MANAGE if write else None,
        pk=room_id,
    )


@dataclass(frozen=True)
class SiteDay:
    """A site's own daily count (what the site reports to the command each evening)."""

    day: date
    rooms: int
    beds: int
    people: int
    free_rooms: int
    cleaning_rooms: int
    arrived: int
    released: int
    alarms: int
    checks_missing: int
    in_transit: int


def site_rooms(site: IsolationSite) -> list[IsolationRoom]:
    """The site's rooms, each with its number of people now (`people`)."""
    return list(
        site.rooms.annotate(
            people=Count("orders", filter=Q(orders__status=OrderStatus.ACTIVE), distinct=True)
        ).order_by("number")
    )


def site_day(site: IsolationSite, day: date) -> SiteDay:
    """The site's count for `day`: rooms and beds, the people in it now, who came in
    (orders at the site begun that day) and who left (released that day), fevers and
    checks missing today, people on their way to it."""
    rooms = site_rooms(site)
    orders = ControlOrder.objects.filter(room__site=site)
    here = orders.filter(status=OrderStatus.ACTIVE)
    checks = here.annotate(n=Count("checks", filter=Q(checks__day=day)))
    missing = sum(max(o.checks_per_day - o.n, 0) for o in checks.only("checks_per_day"))
    return SiteDay(
        day=day,
        rooms=len(rooms),
        beds=sum(r.capacity for r in rooms),
        people=sum(int(getattr(r, "people", 0)) for r in rooms),
        free_rooms=sum(1 for r in rooms if r.state == RoomState.FREE),
        cleaning_rooms=sum(1 for r in rooms if r.state == RoomState.CLEANING),
        arrived=orders.filter(starts_on=day).exclude(status=OrderStatus.PLANNED).count(),
        released=orders.filter(status=OrderStatus.RELEASED, released_on=day).count(),
        alarms=here.filter(checks__day=day, checks__alarm=True).distinct().count(),
        checks_missing=missing,
        in_transit=Passenger.objects.filter(
            transfer__destination=site, transfer__status=TransferStatus.IN_TRANSIT
        ).count(),
    )


def transfers_visible(user: Any) -> QuerySet[Transfer]:
    return (
        _transfers(user)
        .select_related("destination", "escort", "jurisdiction")
        .annotate(people=Count("passengers"))
        .order_by("-created_at", "-id")
    )


def passengers_of(transfer: Transfer) -> list[Passenger]:
    return list(transfer.passengers.select_related("person", "room", "order").order_by("id"))


def team_choices(user: Any, order: ControlOrder) -> QuerySet[StaffProfile]:
    """Staff the viewer may name on the order's 四包一: seen by the viewer and working at,
    above or below the order's node."""
    from fangkong.org.scoping import ancestor_paths
    from fangkong.org.selectors import staff_visible

    path = order.jurisdiction.path
    return (
        staff_visible(user)
        .filter(
            Q(jurisdiction__path__in=ancestor_paths(path)) | Q(jurisdiction__path__startswith=path)
        )
        .select_related("jurisdiction", "user")
        .order_by("kind", "name")
    )


def manage_nodes(user: Any) -> list[tuple[str, str]]:
    """(code, name) of the nodes where the user manages control: where a site or a
    transfer of theirs may be organised."""
    from fangkong.org.models import Jurisdiction
    from fangkong.org.scoping import grants_of

    ids = [g.jurisdiction_id for g in grants_of(user) if Perm.CONTROL_MANAGE in g.perms]
    return list(
        Jurisdiction.objects.filter(pk__in=ids).order_by("path").values_list("code", "name")
    )


def escorts_for(user: Any) -> QuerySet[StaffProfile]:
    """Staff with an account the viewer sees: who may escort a transfer."""
    from fangkong.org.selectors import staff_visible

    return staff_visible(user).filter(user__isnull=False).order_by("jurisdiction__path", "name")


def site_staff_choices(user: Any, site: IsolationSite) -> QuerySet[StaffProfile]:
    from fangkong.org.selectors import staff_visible

    return (
        staff_visible(user)
        .filter(jurisdiction__path__startswith=site.jurisdiction.path)
        .order_by("jurisdiction__path", "kind", "name")
    )


def team_of(user: Any, order: ControlOrder) -> list[tuple[str, str]]:
    """The order's 四包一 as (role, name) for the viewer: a member the viewer may see in
    the staff registry by name, one above their area (a grid worker's village cadre)
    masked, like any person outside one's area."""
    from fangkong.core.masking import mask_name
    from fangkong.org.selectors import staff_visible

    members = {role: getattr(order, role) for role in ("cadre", "grid_worker", "doctor", "police")}
    ids = [s.pk for s in members.values() if s is not None]
    seen = set(staff_visible(user).filter(pk__in=ids).values_list("pk", flat=True))
    return [
        (role, "" if s is None else s.name if s.pk in seen else mask_name(s.name))
        for role, s in members.items()
    ]


def orders_by_id(ids: Sequence[int]) -> dict[int, ControlOrder]:
    """Orders by their ids, for an app that keeps the ids of the orders it asked for (a
    zone's measures, a recall). Not scoped: the caller reached the ids through its own
    accessor."""
    return {o.pk: o for o in ControlOrder.objects.filter(pk__in=list(ids))}


def held_elsewhere(person_ids: Sequence[int]) -> set[int]:
    """Of these people, those not at home: in a room of a site under an active order,
    or transferred (a case taken to hospital) and not back under an order at home."""
    ids = list(person_ids)
    away = set(
        ControlOrder.objects.filter(person_id__in=ids)
        .filter(
            Q(status=OrderStatus.ACTIVE, type__in=list(AT_SITE)) | Q(status=OrderStatus.TRANSFERRED)
        )
        .values_list("person_id", flat=True)
    )
    home = set(
        ControlOrder.objects.filter(person_id__in=list(away), status=OrderStatus.ACTIVE)
        .exclude(type__in=list(AT_SITE))
        .values_list("person_id", flat=True)
    )
    return away - home


def under_home_control(person_id: int) -> bool:
    """Whether the person is under an active control order at home (not at a site)."""
    return (
        ControlOrder.objects.filter(person_id=person_id, status=OrderStatus.ACTIVE)
        .exclude(type__in=list(AT_SITE))
        .exists()
    )
