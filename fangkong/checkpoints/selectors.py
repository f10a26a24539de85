"""Reads of checkpoints, always scoped: posts, their logs, counts per hour and day,
recent plates, rosters and the current shift, and the lists the phone page needs
(today's risk areas, the destinations of the town)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from fangkong.checkpoints.models import CrewMember, Entry, Mode, Outcome, Post, Shift
from fangkong.org.access import object_for_user
from fangkong.org.models import Jurisdiction, Level, StaffProfile, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths
from fangkong.policy.models import RiskArea

RECENT_PLATES = 12


def posts_visible(user: Any) -> QuerySet[Post]:
    return Post.objects.visible_to(user, Perm.CHECKPOINTS_VIEW).select_related("jurisdiction")


def post_for_user(user: Any, post_id: int, *, write: Perm | None = None) -> Post:
    """404 outside checkpoints.view; with `write`, 403 without it at the post's node."""
    return object_for_user(
        Post.objects.select_related("jurisdiction", "leader"),
        user,
        Perm.CHECKPOINTS_VIEW,
        write=write,
        pk=post_id,
    )


def shift_for_user(user: Any, shift_id: int, *, write: Perm | None = None) -> Shift:
    return object_for_user(
        Shift.objects.select_related("post", "jurisdiction"),
        user,
        Perm.CHECKPOINTS_VIEW,
        write=write,
        pk=shift_id,
    )


def entry_for_user(user: Any, entry_id: int, *, write: Perm | None = None) -> Entry:
    return object_for_user(
        Entry.objects.select_related("post", "jurisdiction"),
        user,
        Perm.CHECKPOINTS_VIEW,
        write=write,
        pk=entry_id,
    )


def entries_of(post: Post, day: date | None = None) -> QuerySet[Entry]:
    found = Entry.objects.filter(post=post).select_related("report")
    if day is not None:
        start, end = day_bounds(day)
        found = found.filter(at__gte=start, at__lt=end)
    return found.order_by("-at", "-id")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)


def recent_plates(post: Post, limit: int = RECENT_PLATES) -> list[str]:
    """The plates seen most at the post over the last 3 days (regulars first)."""
    since = timezone.now() - timedelta(days=3)
    rows = (
        Entry.objects.filter(post=post, at__gte=since, mode=Mode.CAR)
        .exclude(plate="")
        .values("plate")
        .annotate(n=Count("id"))
        .order_by("-n", "plate")[:limit]
    )
    return [r["plate"] for r in rows]


@dataclass
class Counts:
    vehicles: int = 0
    people: int = 0
    turned_back: int = 0
    tested: int = 0
    registered: int = 0
    transfer: int = 0

    def add(self, other: Counts) -> None:
        for name in ("vehicles", "people", "turned_back", "tested", "registered", "transfer"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _counts_q() -> dict[str, Any]:
    return {
        "vehicles": Count("id", filter=~Q(mode=Mode.FOOT)),
        "people": Coalesce(Sum("occupants"), 0),
        "turned_back": Count("id", filter=Q(outcome=Outcome.TURNED_BACK)),
        "tested": Count("id", filter=Q(outcome=Outcome.TESTED)),
        "registered": Count("id", filter=Q(outcome=Outcome.REGISTERED)),
        "transfer": Count("id", filter=Q(outcome=Outcome.TRANSFER)),
    }


@dataclass
class PostDay:
    post: Post
    total: Counts
    hours: list[Counts] = field(default_factory=list)  # 24, local hours


def counts_by_hour(posts: QuerySet[Post] | list[Post], day: date) -> list[PostDay]:
    """Per post: the day's totals and each local hour's counts (one query)."""
    start, end = day_bounds(day)
    posts = list(posts)
    out = {p.pk: PostDay(p, Counts(), [Counts() for _h in range(24)]) for p in posts}
    rows = Entry.objects.filter(post__in=posts, at__gte=start, at__lt=end).values_list(
        "post_id", "at", "mode", "occupants", "outcome"
    )
    for post_id, at, mode, occupants, outcome in rows.iterator():
        hour = out[post_id].hours[timezone.localtime(at).hour]
        hour.vehicles += mode != Mode.FOOT
        hour.people += occupants
        hour.turned_back += outcome == Outcome.TURNED_BACK
        hour.tested += outcome == Outcome.TESTED
        hour.registered += outcome == Outcome.REGISTERED
        hour.transfer += outcome == Outcome.TRANSFER
    for day_row in out.values():
        for hour in day_row.hours:
            day_row.total.add(hour)
    return list(out.values())


def counts_of_day(entries: QuerySet[Entry], day: date) -> Counts:
    """Totals of the day over `entries` (already scoped by the caller)."""
    start, end = day_bounds(day)
    row = entries.filter(at__gte=start, at__lt=end).aggregate(**_counts_q())
    return Counts(**{k: int(v or 0) for k, v in row.items()})


def counts_under(path: str, day: date) -> Counts:
    """The day's totals of every post at or under the node `path` (the daily report's
    metrics and the dashboard; the callers check the scope)."""
    return counts_of_day(Entry.objects.filter(jurisdiction__path__startswith=path), day)


def shifts_of(post: Post, start: datetime, end: datetime) -> QuerySet[Shift]:
    return (
        Shift.objects.filter(post=post, ends_at__gt=start, starts_at__lt=end)
        .prefetch_related("crew__staff")
        .order_by("starts_at")
    )


def current_shift(post: Post, now: datetime | None = None) -> Shift | None:
    now = now or timezone.now()
    return (
        Shift.objects.filter(post=post, starts_at__lte=now, ends_at__gt=now)
        .order_by("-starts_at")
        .first()
    )


def my_shift_at(post: Post, user: Any, now: datetime | None = None) -> Shift | None:
    """The user's shift at the post that is on, or starts within the hour (when they
    check in)."""
    now = now or timezone.now()
    return (
        Shift.objects.filter(
            post=post,
            crew__staff__user=user,
            starts_at__lte=now + timedelta(hours=1),
            ends_at__gt=now,
        )
        .order_by("starts_at")
        .first()
    )


def my_shifts(user: Any, now: datetime | None = None) -> QuerySet[Shift]:
    """The user's shifts from 12 hours ago to 2 days ahead (their phone's list)."""
    now = now or timezone.now()
    return (
        Shift.objects.filter(
            crew__staff__user=user,
            ends_at__gt=now - timedelta(hours=12),
            starts_at__lt=now + timedelta(days=2),
        )
        .select_related("post")
        .order_by("starts_at")
        .distinct()
    )


def crew_member(shift: Shift, user: Any) -> CrewMember | None:
    return CrewMember.objects.filter(shift=shift, staff__user=user).first()


def staff_for_roster(user: Any, post: Post) -> QuerySet[StaffProfile]:
    """Staff (cadres, volunteers, militia …) the user sees in the post's town."""
    town = town_of(post)
    return StaffProfile.objects.visible_to(user, Perm.ORG_VIEW).filter(
        jurisdiction__path__startswith=town.path
    )


def teams_for_roster(user: Any, post: Post) -> QuerySet[Team]:
    """Teams (the 卡点服务组, a volunteers' echelon …) the user sees in the post's town."""
    town = town_of(post)
    return (
        Team.objects.visible_to(user, Perm.ORG_VIEW)
        .filter(jurisdiction__path__startswith=town.path)
        .order_by("name")
    )


def town_of(post: Post) -> Jurisdiction:
    return (
        Jurisdiction.objects.filter(
            path__in=ancestor_paths(post.jurisdiction.path), level__lte=Level.TOWN
        )
        .order_by("-path")
        .first()
        or post.jurisdiction
    )


def destinations(post: Post) -> list[Jurisdiction]:
    """Villages and grids of the post's town, where an arrival may be headed."""
    town = town_of(post)
    return list(
        Jurisdiction.objects.filter(
            path__startswith=town.path, level__in=[Level.VILLAGE, Level.GRID]
        ).order_by("path")[:400]
    )


def risk_areas_now(today: date | None = None) -> list[RiskArea]:
    """The catalogue's areas in force today (the crew picks the origin among them)."""
    today = today or timezone.localdate()
    return list(
        RiskArea.objects.filter(effective_from__lte=today)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=today))
        .order_by("code", "place")[:300]
    )


def waiting_transfer(post: Post) -> QuerySet[Entry]:
    return Entry.objects.filter(post=post, waiting_transfer=True).order_by("at")


COUNT_KEYS = {
    "checkpoint_vehicles": "vehicles",
    "checkpoint_people": "people",
    "checkpoint_turned_back": "turned_back",
    "checkpoint_tested": "tested",
}


def counts_by_node(key: str, prefixes: Sequence[str], day: date) -> list[tuple[str, int]]:
    """[(post's node path, n)] under any of the path `prefixes` on `day`, in one grouped
    query: vehicles and boats checked, people (occupants and people on foot), turned
    back, tested on the spot (the daily report's metrics)."""
    if key not in COUNT_KEYS:
        raise ValueError(key)
    start, end = day_bounds(day)
    within = Q(pk__in=[])
    for prefix in prefixes:
        within |= Q(jurisdiction__path__startswith=prefix)
    rows = Entry.objects.filter(within, at__gte=start, at__lt=end)
    agg = _counts_q()[COUNT_KEYS[key]]
    return [
        (p, int(n or 0))
        for p, n in rows.values_list("jurisdiction__path").annotate(n=agg).order_by()
    ]


def entries_of_person(
    *,
    person_id: int,
    phone_hashes: Sequence[str],
    id_number_hash: str,
    start: datetime,
    end: datetime,
    limit: int = 200,
) -> QuerySet[Entry]:
    """The log entries a person was checked in between `start` and `end`, oldest first.
    The log names nobody itself: a person is known at a post only through the returnee
    report the post filed for them (matched to the registry, or by the report's phone or
    ID-number hash), so an arrival let through without one cannot be found here. Not
    scoped: the caller has loaded the person through its own accessor."""
    who = Q(report__person_id=person_id)
    keys = [k for k in phone_hashes if k]
    if keys:
        who |= Q(report__phone_hash__in=keys)
    if id_number_hash:
        who |= Q(report__id_number_hash=id_number_hash)
    return (
        Entry.objects.filter(at__gte=start, at__lte=end, report__isnull=False)
        .filter(who)
        .select_related("post")
        .order_by("at", "id")[:limit]
    )
