"""Reads of households' requests, always scoped, and their response times by village
and kind: median and 90th percentile minutes to an answer (served at the door or handed
over), and the late ones named (masked)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.assist.models import HelpRequest, RequestKind
from fangkong.assist.models_supplies import Item, Stock, Store
from fangkong.core.masking import mask_name
from fangkong.org.access import object_for_user, require_perm_at
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, at_or_above_q, scope_paths, subtree_q
from fangkong.people.models import Person

# At most this many requests go into one page of response times.
TIMES_CAP = 20_000


def requests_visible(user: Any) -> QuerySet[HelpRequest]:
    return HelpRequest.objects.visible_to(user, Perm.ASSIST_VIEW).select_related(
        "kind", "jurisdiction", "person"
    )


def request_for_user(user: Any, request_id: int, *, write: bool = False) -> HelpRequest:
    """404 outside assist.view; with `write`, 403 without assist.enter at its node."""
    return object_for_user(
        HelpRequest.objects.select_related("kind", "jurisdiction", "person"),
        user,
        Perm.ASSIST_VIEW,
        write=Perm.ASSIST_ENTER if write else None,
        pk=request_id,
    )


def asker_for_user(user: Any, person_id: int) -> Person:
    """A resident staff may enter a request for (assist.enter at their node), else 404."""
    return object_for_user(
        Person.objects.select_related("household", "jurisdiction"),
        user,
        Perm.ASSIST_ENTER,
        pk=person_id,
    )


def kinds() -> QuerySet[RequestKind]:
    return RequestKind.objects.all()


def kind_by_code(code: str) -> RequestKind:
    found = RequestKind.objects.filter(code=code).first()
    if found is None:
        raise Http404
    return found


def recent_of(person: Person, since: datetime) -> list[HelpRequest]:
    return list(
        HelpRequest.objects.filter(person=person, created_at__gte=since)
        .select_related("kind")
        .order_by("-created_at")[:20]
    )


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of sorted-or-not values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


@dataclass
class Late:
    request_id: int
    name: str  # masked
    kind: str
    due_at: datetime
    minutes_late: int
    answered: bool


@dataclass
class Times:
    village: str
    kind: str
    green: bool
    asked: int = 0
    answered: int = 0
    median: float | None = None
    p90: float | None = None
    late: list[Late] = field(default_factory=list)


def response_times(user: Any, since: datetime, now: datetime | None = None) -> list[Times]:
    """By village and kind, for requests asked since `since` in the user's scope."""
    rows = list(requests_visible(user).filter(created_at__gte=since).order_by("id")[:TIMES_CAP])
    return _times(rows, now or timezone.now())


def response_times_at(
    path: str, since: datetime, until: datetime, now: datetime | None = None
) -> list[Times]:
    """By village and kind, for requests asked in [since, until) under the node `path`:
    the bulletin's (a system read, not a user's)."""
    rows = list(
        HelpRequest.objects.filter(
            subtree_q("jurisdiction__path", path), created_at__gte=since, created_at__lt=until
        )
        .select_related("kind", "jurisdiction", "person")
        .order_by("id")[:TIMES_CAP]
    )
    return _times(rows, now or timezone.now())


def _times(rows: list[HelpRequest], now: datetime) -> list[Times]:
    wanted = {p for r in rows for p in ancestor_paths(r.jurisdiction.path)}
    villages = dict(
        Jurisdiction.objects.filter(level=Level.VILLAGE, path__in=wanted).values_list(
            "path", "name"
        )
    )
    groups: dict[tuple[str, int], Times] = {}
    minutes: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in rows:
        village = next(
            (villages[p] for p in ancestor_paths(r.jurisdiction.path) if p in villages),
            r.jurisdiction.name,
        )
        key = (village, r.kind.pk)
        t = groups.setdefault(key, Times(village, r.kind.name, r.kind.green))
        t.asked += 1
        answered = r.answered_at
        end = answered or now
        if answered is not None:
            t.answered += 1
            minutes[key].append((answered - r.created_at).total_seconds() / 60)
        if end > r.due_at:
            t.late.append(
                Late(
                    r.pk,
                    mask_name(r.person.name),
                    r.kind.name,
                    r.due_at,
                    int((end - r.due_at).total_seconds() // 60),
                    answered is not None,
                )
            )
    for key, t in groups.items():
        t.median = percentile(minutes[key], 50)
        t.p90 = percentile(minutes[key], 90)
    return sorted(groups.values(), key=lambda t: (t.village, not t.green, t.kind))


def counts_by_node(key: str, prefixes: Sequence[str], day: date) -> list[tuple[str, int]]:
    """(node path, n) for the bulletin: requests asked on `day` ("assist_requests"), and
    those of them answered after their target or still open past it ("assist_late")."""
    within = Q(pk__in=[])
    for path in prefixes:
        within |= subtree_q("jurisdiction__path", path)
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    qs = HelpRequest.objects.filter(
        within, created_at__gte=start, created_at__lt=start + timedelta(days=1)
    )
    if key == "assist_late":
        now = timezone.now()
        qs = qs.filter(
            Q(served_at__gt=F("due_at"))
            | Q(handover_at__gt=F("due_at"), served_at__isnull=True)
            | Q(served_at__isnull=True, handover_at__isnull=True, due_at__lt=now)
        )
    elif key != "assist_requests":
        raise Http404
    return [
        (path, n)
        for path, n in qs.values_list("jurisdiction__path").annotate(n=Count("pk")).order_by()
    ]


# Supplies ------------------------------------------------------------------------------


def stores_visible(user: Any) -> QuerySet[Store]:
    """Stores of the user's area and of the town or village above it (which serve it)."""
    return Store.objects.filter(
        at_or_above_q(user, Perm.ASSIST_VIEW, "jurisdiction__path")
    ).select_related("jurisdiction")


def store_for_user(user: Any, store_id: int, *, write: bool = False) -> Store:
    found = stores_visible(user).filter(pk=store_id).first()
    if found is None:
        raise Http404
    if write:
        require_perm_at(user, Perm.ASSIST_ENTER, found.jurisdiction.path)
    return found


def handing_store_for_user(user: Any, store_id: int) -> Store:
    """A store whose packages and meals the user hands out at the door: one they see
    (of their area or above it) and serve at some node inside its area. A grid worker
    draws on the village's store for the households of their own grid; the service
    checks each household's node."""
    found = store_for_user(user, store_id)
    if not may_hand_out(user, found):
        raise PermissionDenied
    return found


def may_hand_out(user: Any, store: Store) -> bool:
    path = store.jurisdiction.path
    return any(
        p.startswith(path) or path.startswith(p) for p in scope_paths(user, Perm.ASSIST_ENTER)
    )


def balances(store: Store) -> list[tuple[Item, int, bool]]:
    """(item, quantity, short) for every item, those never received at 0."""
    held = {s.item_id: s for s in Stock.objects.filter(store=store)}
    out = []
    for item in Item.objects.all():
        s = held.get(item.pk)
        quantity = s.quantity if s else 0
        out.append((item, quantity, bool(s and s.alert_below and quantity < s.alert_below)))
    return out


def alert_thresholds(store: Store) -> dict[int, int]:
    """{item id: the store's shortage threshold} for items with one set."""
    return dict(Stock.objects.filter(store=store).values_list("item_id", "alert_below"))


def shortages(user: Any) -> QuerySet[Stock]:
    return (
        Stock.objects.filter(store__in=stores_visible(user), alert_below__gt=0)
        .filter(quantity__lt=F("alert_below"))
        .select_related("store", "item")
    )


def items() -> QuerySet[Item]:
    return Item.objects.all()


def households_to_serve(user: Any, store: Store) -> list[Any]:
    """Households of sealed or controlled zones in the store's area and the user's."""
    from fangkong.people.models import Household
    from fangkong.zones.selectors import residents, zones_visible

    ids: set[int] = set()
    for zone in zones_visible(user).filter(status="active").exclude(kind__order_type=""):
        if zone.jurisdiction.path.startswith(
            store.jurisdiction.path
        ) or store.jurisdiction.path.startswith(zone.jurisdiction.path):
            ids |= set(residents(zone).values_list("household_id", flat=True)[:2000])
    return list(
        Household.objects.visible_to(user, Perm.ASSIST_ENTER)
        .filter(pk__in=ids, jurisdiction__path__startswith=store.jurisdiction.path)
        .order_by("address")[:500]
    )


def package_households(user: Any, household_ids: list[int]) -> dict[int, Any]:
    """Of these households, those the user may hand a package to (assist.enter at
    their node), by id: one read for a phone's whole batch."""
    from fangkong.people.models import Household

    return {
        h.pk: h
        for h in Household.objects.visible_to(user, Perm.ASSIST_ENTER)
        .filter(pk__in=household_ids)
        .select_related("jurisdiction")
    }


def package_household_for_user(user: Any, household_id: int) -> Any:
    """A household the user may hand a package to (assist.enter at its node), else 404."""
    from fangkong.people.models import Household

    return object_for_user(
        Household.objects.select_related("jurisdiction"),
        user,
        Perm.ASSIST_ENTER,
        pk=household_id,
    )


# The vulnerable-people register ---------------------------------------------------------

# At most this many people on one page of the register.
REGISTER_CAP = 500


def green_tags() -> list[str]:
    from fangkong.assist.models import GreenTag

    return list(GreenTag.objects.values_list("tag", flat=True))


def register_people(user: Any, *, today: date, node: Jurisdiction | None = None) -> list[Person]:
    """People of the register in the user's area (under `node`): those carrying a
    green-channel tag of the registry, infants (0-2, from the birth date), and anyone
    entered by hand (a chemotherapy patient); village by village."""
    from fangkong.assist.models_care import CareEntry
    from fangkong.people.models import PersonStatus, PersonTag
    from fangkong.people.selectors import age_q

    qs = Person.objects.visible_to(user, Perm.ASSIST_VIEW).filter(
        status__in=[PersonStatus.PRESENT, PersonStatus.AWAY]
    )
    if node is not None:
        qs = qs.within(node.path)
    tagged = Exists(PersonTag.objects.filter(person=OuterRef("pk"), tag__in=green_tags()))
    entered = Exists(CareEntry.objects.filter(person=OuterRef("pk")))
    return list(
        qs.filter(Q(tagged) | Q(entered) | age_q("0-2", today))
        .select_related("jurisdiction", "household")
        .order_by("jurisdiction__path", "household_id", "id")[:REGISTER_CAP]
    )


@dataclass
class RegisterRow:
    person: Person
    village: str
    name: str  # masked
    groups: list[str]
    entry: Any  # CareEntry | None
    contact: str
    checked_today: str  # the outcome's label, "" when not checked


def village_names(paths: set[str]) -> dict[str, str]:
    wanted = {p for path in paths for p in ancestor_paths(path)}
    return dict(
        Jurisdiction.objects.filter(level=Level.VILLAGE, path__in=wanted).values_list(
            "path", "name"
        )
    )


def village_of(path: str, villages: dict[str, str], fallback: str) -> str:
    return next((villages[p] for p in ancestor_paths(path) if p in villages), fallback)


def staff_name(user: Any) -> str:
    if user is None:
        return ""
    staff = getattr(user, "staff", None)
    return str(staff.name if staff is not None else user.get_username())


def register_rows(people: list[Person], *, today: date) -> list[RegisterRow]:
    from fangkong.assist.models_care import CareCheck, CareEntry
    from fangkong.people.models import PersonTag, Tag

    ids = [p.pk for p in people]
    entries = {
        e.person_id: e
        for e in CareEntry.objects.filter(person_id__in=ids).select_related("contact__staff")
    }
    tags: dict[int, list[str]] = defaultdict(list)
    labels = dict(Tag.choices)
    wanted = set(green_tags())
    for person_id, tag in PersonTag.objects.filter(person_id__in=ids, tag__in=wanted).values_list(
        "person_id", "tag"
    ):
        tags[person_id].append(str(labels.get(tag, tag)))
    checks = {
        c.entry_id: c.get_outcome_display() or "…"
        for c in CareCheck.objects.filter(entry__person_id__in=ids, day=today)
    }
    villages = village_names({p.jurisdiction.path for p in people})
    from fangkong.people.selectors import age_q

    infants = set(
        Person.objects.filter(pk__in=ids).filter(age_q("0-2", today)).values_list("pk", flat=True)
    )
    rows = []
    for p in people:
        groups = list(tags.get(p.pk, []))
        if p.pk in infants:
            groups.append(str(_("Infant")))
        entry = entries.get(p.pk)
        rows.append(
            RegisterRow(
                person=p,
                village=village_of(p.jurisdiction.path, villages, p.jurisdiction.name),
                name=mask_name(p.name),
                groups=groups,
                entry=entry,
                contact=staff_name(entry.contact) if entry is not None else "",
                checked_today=checks.get(entry.pk, "") if entry is not None else "",
            )
        )
    return rows


def care_person_for_user(user: Any, person_id: int, *, write: bool = False) -> Person:
    """A person whose register entry the user sees (assist.view at their node), else
    404; with `write`, 403 without assist.enter there."""
    return object_for_user(
        Person.objects.select_related("household", "jurisdiction"),
        user,
        Perm.ASSIST_VIEW,
        write=Perm.ASSIST_ENTER if write else None,
        pk=person_id,
    )


def care_entry_of(person: Person) -> Any:
    from fangkong.assist.models_care import CareEntry

    return CareEntry.objects.filter(person=person).select_related("contact__staff").first()


def contact_choices(person: Person, viewer: Any = None) -> list[Any]:
    """Active staff holding assist.enter at the person's node: who may be their contact;
    with a `viewer`, only staff working in the viewer's own area (a village cadre is not
    shown the town's staff)."""
    from fangkong.accounts.models import User
    from fangkong.org.models import Membership
    from fangkong.org.roles import permissions_for
    from fangkong.org.scoping import scope_paths

    paths = ancestor_paths(person.jurisdiction.path)
    if viewer is not None:
        roots = scope_paths(viewer, Perm.ASSIST_ENTER)
        paths = [p for p in paths if any(p.startswith(root) for root in roots)]
    memberships = Membership.objects.filter(jurisdiction__path__in=paths)
    roles = [
        role
        for role in memberships.values_list("role", flat=True).distinct()
        if Perm.ASSIST_ENTER in permissions_for(role)
    ]
    user_ids = memberships.filter(role__in=roles).values("user_id")
    return list(
        User.objects.filter(pk__in=user_ids, is_active=True)
        .select_related("staff")
        .order_by("username")[:200]
    )


def checks_visible(user: Any) -> QuerySet[Any]:
    from fangkong.assist.models_care import CareCheck

    return CareCheck.objects.visible_to(user, Perm.ASSIST_VIEW).select_related(
        "entry__person", "entry__contact__staff", "jurisdiction"
    )


# Meals --------------------------------------------------------------------------------


@dataclass
class MealRow:
    entry: Any
    village: str
    name: str  # masked
    given: bool


def meal_list(user: Any, store: Store, *, today: date) -> list[MealRow]:
    """Elders on the meal list in the store's area and the user's, with whether they
    have had today's meal; village by village."""
    from fangkong.assist.models_care import CareEntry, Meal

    entries = list(
        CareEntry.objects.visible_to(user, Perm.ASSIST_VIEW)
        .filter(meals=True)
        .within(store.jurisdiction.path)
        .select_related("person", "jurisdiction")
        .order_by("jurisdiction__path", "person__household_id", "id")[:REGISTER_CAP]
    )
    given = set(
        Meal.objects.filter(entry__in=[e.pk for e in entries], day=today).values_list(
            "entry_id", flat=True
        )
    )
    villages = village_names({e.jurisdiction.path for e in entries})
    return [
        MealRow(
            e,
            village_of(e.jurisdiction.path, villages, e.jurisdiction.name),
            mask_name(e.person.name),
            e.pk in given,
        )
        for e in entries
    ]


def meal_entry_for_user(user: Any, person_id: int) -> Any:
    """The meal-list entry of a person the user may hand a meal to (assist.enter at the
    person's node), else 404."""
    from fangkong.assist.models_care import CareEntry

    return object_for_user(
        CareEntry.objects.select_related("person", "jurisdiction"),
        user,
        Perm.ASSIST_ENTER,
        person_id=person_id,
        meals=True,
    )


def meals_of_day(user: Any, day: date) -> int:
    from fangkong.assist.models_care import Meal

    return Meal.objects.visible_to(user, Perm.ASSIST_VIEW).filter(day=day).count()
