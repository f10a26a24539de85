"""Reads of places, always scoped. A place, its inspections, findings, penalties and
gatherings are seen at their node and above; changed with the permission at the node."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from fangkong.org.access import object_for_user
from fangkong.org.models import Jurisdiction, Level, StaffProfile
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, subtree_q
from fangkong.places.models import (
    Disinfection,
    Finding,
    Gathering,
    GoodsCheck,
    GoodsKind,
    Group,
    Inspection,
    LevelInForce,
    PatrolRoute,
    Penalty,
    Place,
    PlaceCategory,
    PlaceStatus,
    Scan,
)


def places_visible(user: Any, perm: Perm = Perm.PLACES_VIEW) -> QuerySet[Place]:
    return Place.objects.visible_to(user, perm).select_related("jurisdiction", "category")


def place_for_user(user: Any, place_id: int, *, write: Perm | None = None) -> Place:
    return object_for_user(
        Place.objects.select_related("jurisdiction", "category", "manager_user__staff"),
        user,
        Perm.PLACES_VIEW,
        write=write,
        pk=place_id,
    )


def place_by_code_for_user(user: Any, code: str, *, write: Perm | None = None) -> Place:
    return object_for_user(
        Place.objects.select_related("jurisdiction", "category"),
        user,
        Perm.PLACES_VIEW,
        write=write,
        code=code[:16],
    )


def public_place(code: str) -> Place:
    """The place behind a QR code (public: shows its name only); 404 when unknown."""
    found = Place.objects.select_related("jurisdiction", "category").filter(code=code[:16]).first()
    if found is None:
        raise Http404
    return found


def route_for_user(user: Any, route_id: int, *, write: Perm | None = None) -> PatrolRoute:
    return object_for_user(
        PatrolRoute.objects.select_related("jurisdiction"),
        user,
        Perm.PLACES_VIEW,
        write=write,
        pk=route_id,
    )


def finding_for_user(user: Any, finding_id: int, *, write: Perm | None = None) -> Finding:
    return object_for_user(
        Finding.objects.select_related("place", "item", "jurisdiction", "inspection"),
        user,
        Perm.PLACES_VIEW,
        write=write,
        pk=finding_id,
    )


def gathering_for_user(user: Any, gathering_id: int, *, write: Perm | None = None) -> Gathering:
    return object_for_user(
        Gathering.objects.select_related("jurisdiction", "place"),
        user,
        Perm.PLACES_VIEW,
        write=write,
        pk=gathering_id,
    )


def categories() -> QuerySet[PlaceCategory]:
    return PlaceCategory.objects.all()


def category(pk: int) -> PlaceCategory | None:
    """A category by id (categories are shared data, seen by everyone)."""
    return PlaceCategory.objects.filter(pk=pk).first()


def day_bounds(day: Any = None) -> tuple[datetime, datetime]:
    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def scans_today(place: Place) -> int:
    """Today's scans of one place: a range on the (place, scanned_at) index."""
    start, end = day_bounds()
    return Scan.objects.filter(place=place, scanned_at__gte=start, scanned_at__lt=end).count()


def scans_today_of(place_ids: list[int]) -> dict[int, int]:
    start, end = day_bounds()
    rows = (
        Scan.objects.filter(place_id__in=place_ids, scanned_at__gte=start, scanned_at__lt=end)
        .values("place_id")
        .annotate(n=Count("id"))
    )
    return {r["place_id"]: r["n"] for r in rows}


def managed_by(user: Any) -> QuerySet[Place]:
    """Places whose manager is this staff user (the manager's own page)."""
    return Place.objects.filter(manager_user=user).select_related("jurisdiction", "category")


def routes_visible(user: Any) -> QuerySet[PatrolRoute]:
    return PatrolRoute.objects.visible_to(user, Perm.PLACES_VIEW).select_related("jurisdiction")


def route_places(route: PatrolRoute) -> list[tuple[Place, Inspection | None, bool]]:
    """The route's places, each with its last inspection and whether a visit is due."""
    places = list(route.places.select_related("category").order_by("name"))
    last: dict[int, Inspection] = {}
    for i in Inspection.objects.filter(place__in=places).order_by("place_id", "-at"):
        last.setdefault(i.place_id, i)
    due_before = timezone.now() - timedelta(days=route.every_days)
    return [(p, last.get(p.pk), p.pk not in last or last[p.pk].at <= due_before) for p in places]


def inspections_of(place: Place) -> QuerySet[Inspection]:
    return place.inspections.select_related("inspector__staff").order_by("-at")[:50]


def findings_visible(user: Any) -> QuerySet[Finding]:
    return Finding.objects.visible_to(user, Perm.PLACES_VIEW).select_related("place", "item")


def penalties_visible(user: Any) -> QuerySet[Penalty]:
    return Penalty.objects.visible_to(user, Perm.PLACES_VIEW).select_related("place")


def gatherings_visible(user: Any) -> QuerySet[Gathering]:
    return Gathering.objects.visible_to(user, Perm.PLACES_VIEW).select_related(
        "jurisdiction", "place"
    )


def counts(user: Any) -> dict[str, int]:
    places = places_visible(user)
    return {
        "places": places.count(),
        "closed": places.filter(status=PlaceStatus.CLOSED).count(),
        "open_findings": findings_visible(user).filter(status="open").count(),
    }


# The special teams' daily report (reports' metrics): counted by the place's node. The
# logistics category is the one category the 物流专班 covers; the other enterprises are
# the 企业专班's.
LOGISTICS_CATEGORY = "logistics"


def _goods_keys() -> dict[str, tuple[str, str]]:
    """{metric key: (goods kind, what is counted)}."""
    out: dict[str, tuple[str, str]] = {}
    for kind in GoodsKind.values:
        for what in ("batches", "sampled", "positive"):
            out[f"places_{kind}_{what}"] = (kind, what)
    return out


GOODS_KEYS = _goods_keys()
COUNT_KEYS = frozenset(
    {
        "places_enterprises_inspected",
        "places_logistics_inspected",
        "places_disinfections",
        *GOODS_KEYS,
    }
)


def counts_by_node(key: str, prefixes: Sequence[str], day: date) -> list[tuple[str, int]]:
    """[(place's node path, n)] under any of the path `prefixes` on `day`, in one grouped
    query: enterprises and logistics firms inspected (each once however many visits),
    enterprises' disinfection logs, and per kind of goods the batches checked, samples
    taken and checks not all negative."""
    if key not in COUNT_KEYS:
        raise ValueError(key)
    within = Q(pk__in=[])
    for prefix in prefixes:
        within |= Q(place__jurisdiction__path__startswith=prefix)
    path = "place__jurisdiction__path"
    agg: Any
    if key in GOODS_KEYS:
        kind, what = GOODS_KEYS[key]
        rows: QuerySet[Any] = GoodsCheck.objects.filter(within, day=day, kind=kind)
        agg = Count("pk", filter=Q(all_negative=False)) if what == "positive" else Sum(what)
    elif key == "places_disinfections":
        rows = Disinfection.objects.filter(within, day=day, place__category__group=Group.ENTERPRISE)
        agg = Count("pk")
    else:
        start, end = day_bounds(day)
        rows = Inspection.objects.filter(
            within, at__gte=start, at__lt=end, place__category__group=Group.ENTERPRISE
        )
        logistics = Q(place__category__code=LOGISTICS_CATEGORY)
        rows = (
            rows.filter(logistics)
            if key == "places_logistics_inspected"
            else rows.exclude(logistics)
        )
        agg = Count("place", distinct=True)
    return [(p, int(n or 0)) for p, n in rows.values_list(path).annotate(n=agg).order_by()]


def level_in_force(node: Jurisdiction, day: date) -> int:
    """The response level's rank in force at `node` on `day` (0: none): the latest switch
    up to the end of that day at the node or, failing that, its nearest ancestor, as the
    response app's `level_at` reads it. A day ahead gets the level in force now."""
    _start, end = day_bounds(day)
    found = (
        LevelInForce.objects.filter(jurisdiction__path__in=ancestor_paths(node.path), since__lt=end)
        .order_by("-jurisdiction__path", "-since", "-id")
        .values_list("rank", flat=True)
        .first()
    )
    return int(found or 0)


def town_of(node: Jurisdiction) -> Jurisdiction:
    """The town (or above, for a node higher than a town) the node is in."""
    return (
        Jurisdiction.objects.filter(path__in=ancestor_paths(node.path), level__lte=Level.TOWN)
        .order_by("-path")
        .first()
        or node
    )


def town_staff(user: Any, node: Jurisdiction) -> QuerySet[StaffProfile]:
    """Staff with an account in the town of `node` that `user` sees: who may be made a
    place's manager (the manager then sees the place's count at /places/mine/)."""
    return (
        StaffProfile.objects.visible_to(user, Perm.ORG_VIEW)
        .filter(subtree_q("jurisdiction__path", town_of(node).path), user__isnull=False)
        .select_related("user")
        .order_by("name")
    )


def staff_managers(user: Any) -> QuerySet[StaffProfile]:
    """Staff with an account the user sees in the areas where they manage places: the
    form's choices (the chosen one is checked against the place's own town)."""
    return (
        StaffProfile.objects.visible_to(user, Perm.ORG_VIEW)
        .filter(user__isnull=False)
        .select_related("user", "jurisdiction")
        .order_by("jurisdiction__path", "name")
    )


def staff_manager_for_user(user: Any, staff_id: int) -> StaffProfile:
    """A staff member the user sees (404 otherwise), to be made a place's manager."""
    return object_for_user(
        StaffProfile.objects.filter(user__isnull=False).select_related("user"),
        user,
        Perm.ORG_VIEW,
        pk=staff_id,
    )
