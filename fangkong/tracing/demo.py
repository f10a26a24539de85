"""The demo town's tracing: one confirmed case, a resident living with others, who told
the tracer in the interview that they shopped at the busiest market this morning; its
household and the people who scanned the market meanwhile are its contacts (found by
the co-location job from the declared stay), put under control or handed to be found."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.scoping import subtree_q
from fangkong.people.models import Person
from fangkong.places.models import Place, Scan
from fangkong.tracing.cases import case_open, contacts_control, contacts_find
from fangkong.tracing.interview import stay_record
from fangkong.tracing.models import Case, CaseKind, CaseSource, Contact, Stay


def _household_member(path: str) -> Person | None:
    """The first resident with a phone who lives with at least two others."""
    households = (
        Person.objects.filter(subtree_q("jurisdiction__path", path), household__isnull=False)
        .values("household")
        .annotate(n=Count("id"))
        .filter(n__gte=3)
        .order_by("household")
        .values_list("household", flat=True)[:1]
    )
    found: Person | None = (
        Person.objects.filter(household__in=list(households), phone_hash__isnull=False)
        .select_related("jurisdiction")
        .order_by("pk")
        .first()
    )
    return found


def build_demo_tracing(path: str) -> dict[str, int]:
    commander = User.objects.filter(username="commander").first()
    town = (
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.TOWN)
        .order_by("path")
        .first()
    )
    if commander is None or town is None:
        return {}
    if Case.objects.filter(subtree_q("jurisdiction__path", town.path)).exists():
        return {}
    person = _household_member(town.path)
    busiest = (
        Scan.objects.filter(subtree_q("node_path", town.path))
        .values("place")
        .annotate(n=Count("id"))
        .order_by("-n", "place")
        .values_list("place", flat=True)[:1]
    )
    market = Place.objects.filter(pk__in=list(busiest)).first()
    if person is None:
        return {}
    first = (
        Scan.objects.filter(place=market).order_by("scanned_at").first()
        if market is not None
        else None
    )
    # Built before the day's opening, the places' demo scans lie later today: the demo's
    # own clock then runs from an hour after the first of them.
    now = timezone.now()
    if first is not None:
        now = max(now, first.scanned_at + timedelta(hours=1))
    case, _new = case_open(
        person=person,
        kind=CaseKind.CONFIRMED,
        onset_on=timezone.localdate(),
        sampled_on=None,
        source=CaseSource.REPORT,
        actor=commander,
        isolated_at=now,
    )
    if market is not None and first is not None:
        # The case says it shopped there around the morning's first visitors.
        stay_record(
            case=case,
            actor=commander,
            place=market,
            started_at=first.scanned_at - timedelta(minutes=10),
            ended_at=first.scanned_at + timedelta(minutes=30),
            note="流调自述：早上买菜",
            now=now,
        )
    stay_record(
        case=case,
        actor=commander,
        address="镇卫生院门诊",
        started_at=now - timedelta(hours=3),
        ended_at=now - timedelta(hours=2),
        note="流调自述：发热就诊",
        now=now,
    )
    contacts_find(case=case, actor=commander, now=now)
    contacts_control(case=case, actor=commander, now=now)
    return {
        "cases": 1,
        "contacts": Contact.objects.filter(case=case).count(),
        "stays": Stay.objects.filter(case=case).count(),
    }


def delete_tracing_under(path: str) -> None:
    """Everything tracing holds under `path` (the demo's --reset): before the people."""
    Case.objects.filter(subtree_q("jurisdiction__path", path)).delete()
