"""Control in the demo town: an isolation hotel with its rooms and a designated
hospital, people under each type of control (some at the site, some at home) with
their 四包一 teams, tests on the 9th edition's days, checks (a few missed yesterday, one
fever this morning), releases due and done today, a transfer on the road and two that
arrived, so every control page and count has something to show.

Built through control's own services (the same checks, events and audit records as a
real town), dated from today so the demo is always "live"."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.control import checks, release, services, sites, transfers
from fangkong.control.models import (
    ControlEvent,
    ControlOrder,
    ControlTest,
    HealthCheck,
    IsolationRoom,
    IsolationSite,
    OrderSource,
    OrderType,
    Passenger,
    SampleResult,
    Transfer,
)
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.scoping import subtree_q
from fangkong.people.models import Person
from fangkong.workorders.services import order_complete


@dataclass(frozen=True)
class Plan:
    """One demo person's order, by the 9th edition: type, days ago it started, its days
    and test days, and the follow-on period of a close contact (7+3)."""

    type: str
    started: int
    days: int
    tests: tuple[int, ...]
    reason: str
    source: str
    then: tuple[str, int, tuple[int, ...]] | None = None


CONTACT = ("第九版：密切接触者集中隔离7天，第1、2、3、5、7天核酸检测", OrderSource.CONTACT)
ARRIVAL = ("第九版：高风险区来返人员集中隔离7天", OrderSource.REPORT)
MEDIUM = ("第九版：中风险区来返人员居家隔离7天，第1、4、7天核酸检测", OrderSource.REPORT)
SECONDARY = ("第九版：密接的密接居家隔离7天", OrderSource.CONTACT)
MONITOR = ("解除集中隔离后居家健康监测", OrderSource.MANUAL)
LOW = ("第九版：低风险区来返人员三天两检", OrderSource.PUSHED)

PLANS: list[Plan] = [
    # At the site: two whose 7 days end today (release due), one released today below.
    *[
        Plan(
            OrderType.CENTRAL, 6, 7, (1, 2, 3, 5, 7), *CONTACT, (OrderType.HOME_MONITORING, 3, (3,))
        )
        for _ in range(3)
    ],
    *[Plan(OrderType.CENTRAL, 6, 7, (1, 2, 3, 5, 7), *ARRIVAL) for _ in range(2)],
    *[Plan(OrderType.CENTRAL, d, 7, (1, 2, 3, 5, 7), *ARRIVAL) for d in (1, 2, 3, 4)],
    *[
        Plan(
            OrderType.CENTRAL, 0, 7, (1, 2, 3, 5, 7), *CONTACT, (OrderType.HOME_MONITORING, 3, (3,))
        )
        for _ in range(2)
    ],
    # At home.
    *[Plan(OrderType.HOME_ISOLATION, d, 7, (1, 4, 7), *MEDIUM) for d in (0, 1, 2, 3, 5, 6)],
    *[Plan(OrderType.HOME_ISOLATION, d, 7, (1, 4, 7), *SECONDARY) for d in (2, 4)],
    *[Plan(OrderType.HOME_MONITORING, d, 3, (3,), *MONITOR) for d in (0, 1, 2)],
    *[Plan(OrderType.HOME_MONITORING, d, 7, (1, 4, 7), *MONITOR) for d in (3, 5)],
    *[Plan(OrderType.TESTS_3D2, d, 3, (1, 3), *LOW) for d in (0, 1)],
]
# The central orders carried to the site by the transfer still on the road (they were
# put under control today).
ON_THE_ROAD = (9, 10)
# The two that arrived, the day they started (1 and 2 days ago).
ARRIVED = (5, 6)
# Checks missed yesterday (a visit for the grid worker) and the fever this morning.
MISSED = (13, 16, 20)
FEVER = 12


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _people(
    town: Jurisdiction, grid: Jurisdiction | None, n: int, rng: random.Random
) -> list[Person]:
    """`n` residents with a household, a few of them in the demo grid worker's grid (so
    `gw0101` has people to check), one per household."""
    pool = list(
        Person.objects.filter(subtree_q("jurisdiction__path", town.path), household__isnull=False)
        .select_related("jurisdiction", "household")
        .order_by("id")[:3000]
    )
    rng.shuffle(pool)
    mine = [p for p in pool if grid is not None and p.jurisdiction.path.startswith(grid.path)]
    chosen: list[Person] = []
    households: set[int] = set()
    for p in [*mine[:6], *pool]:
        if p.household_id in households or p in chosen:
            continue
        households.add(p.household_id or 0)
        chosen.append(p)
        if len(chosen) == n:
            break
    # The grid worker's people take the home-isolation plans (their daily round).
    return chosen


def _sampled(test: ControlTest, at: datetime, commander: User, rng: random.Random) -> None:
    """The sampler's round: the sampling order done by its grid worker with a negative
    result (which records the test), or the result entered by the command."""
    work = test.work_order
    if work is not None and work.assignee is not None:
        order_complete(
            order_id=work.pk,
            actor=work.assignee,
            result={"result": SampleResult.NEGATIVE},
            client_id=uuid.UUID(int=rng.getrandbits(128)),
            now=at,
        )
    else:
        services.result_record(test=test, result=SampleResult.NEGATIVE, actor=commander, now=at)


@transaction.atomic
def build_demo_control(path: str, *, seed: int = 2022) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    town = (
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.TOWN)
        .order_by("path")
        .first()
    )
    commander, escort, county = _user("commander"), _user("town01"), _user("county")
    if town is None or commander is None or escort is None or town.parent is None:
        return {}
    if IsolationSite.objects.filter(jurisdiction=town).exists():
        return {}
    today = timezone.localdate()
    now = timezone.now()
    hotel = sites.site_create(
        actor=commander,
        jurisdiction=town,
        name=f"{town.name}集中隔离点（浦市宾馆）",
        kind="hotel",
        address=f"{town.name}河街18号",
        rooms=[
            (f"{floor}{n:02d}", 2 if n % 4 == 0 else 1) for floor in (1, 2) for n in range(1, 11)
        ],
    )
    sites.site_create(
        actor=county or commander,
        jurisdiction=town.parent if county else town,
        name="泸溪县人民医院（定点医院）",
        kind="hospital",
        address="泸溪县白沙镇",
        rooms=[(f"隔{n}", 1) for n in range(1, 7)],
    )
    gw = Membership.objects.filter(user__username="gw0101").select_related("jurisdiction").first()
    people = _people(town, gw.jurisdiction if gw else None, len(PLANS), rng)
    # The grid worker's people first go to the home-isolation plans.
    home = [i for i, p in enumerate(PLANS) if p.type == OrderType.HOME_ISOLATION]
    ordered: list[Person | None] = [None] * len(PLANS)
    for i, mine in zip(home, people[: len(home)], strict=False):
        ordered[i] = mine
    rest = iter(people[len(home) :])
    for i in range(len(PLANS)):
        if ordered[i] is None:
            ordered[i] = next(rest, None)
    rooms = iter(IsolationRoom.objects.filter(site=hotel).order_by("number"))
    orders: list[ControlOrder] = []
    for plan, chosen in zip(PLANS, ordered, strict=True):
        if chosen is None:
            break
        person = chosen
        then = plan.then or ("", 0, ())
        made = services.order_create(
            person=person,
            type=plan.type,
            starts_on=today - timedelta(days=plan.started),
            days=plan.days,
            actor=commander,
            reason=plan.reason,
            test_days=plan.tests,
            source=plan.source,
            room=next(rooms) if plan.type == OrderType.CENTRAL else None,
            then_type=then[0],
            then_days=then[1],
            then_test_days=then[2],
            now=_at(today - timedelta(days=plan.started), 9) if plan.started else now,
        )
        orders.append(made.orders[0])
    # Past tests were negative; today's samples of the orders ending today are back too.
    for test in ControlTest.objects.filter(order__in=orders, on__lte=today).select_related(
        "order__jurisdiction", "work_order__assignee"
    ):
        if test.on < today or test.order.ends_on == today:
            _sampled(test, min(now, _at(test.on, 10)), commander, rng)
    # Yesterday's checks, morning and evening, except the missed ones: the evening round
    # opened a visit for each of those.
    yesterday = today - timedelta(days=1)
    for i, order in enumerate(orders):
        if order.starts_on > yesterday or i in MISSED:
            continue
        for hour in (8, 17):
            checks.check_record(
                order=order,
                temperature=f"36.{rng.randint(2, 8)}",
                client_id=uuid.UUID(int=rng.getrandbits(128)),
                actor=commander,
                now=_at(yesterday, hour, rng.randint(0, 50)),
            )
    missed = checks.missed_checks(now=_at(yesterday, 20))
    # This morning's checks (before the time it is now), one with a fever.
    morning = min(now, _at(today, 8, 30))
    for i, order in enumerate(orders):
        if i in MISSED or (i != FEVER and rng.random() < 0.2):
            continue
        checks.check_record(
            order=order,
            temperature="38.3" if i == FEVER else f"36.{rng.randint(2, 8)}",
            symptoms=["cough"] if i == FEVER else [],
            note="自述乏力" if i == FEVER else "",
            client_id=uuid.UUID(int=rng.getrandbits(128)),
            actor=None if i % 3 == 0 else commander,
            by_self=i % 3 == 0,
            now=morning,
        )
    # Days served and all negative: proposed this morning; the first one is released.
    release.propose_releases(today)
    released = 0
    due = [o for o in orders if o.ends_on == today and o.type == OrderType.CENTRAL]
    for order in due[:1]:
        fresh = ControlOrder.objects.get(pk=order.pk)
        release.order_release(order_id=fresh.pk, actor=commander, expected_version=fresh.version)
        released += 1
    # Transfers: two arrived on the days their people started, one is on the road now.
    done = 0
    for n, i in enumerate(ARRIVED):
        if i >= len(orders):
            continue
        order = orders[i]
        left = _at(order.starts_on, 10 + 3 * n)
        t = transfers.transfer_create(
            actor=commander,
            jurisdiction=town,
            pickup=["S229浦市收费站卡点", "浦市码头卡点"][n],
            destination=hotel,
            vehicle=f"湘U{31270 + n}",
            driver=["向师傅", "瞿师傅"][n],
            escort=escort,
            riders=[transfers.Rider(order.person, order, order.room)],
        )
        t = transfers.transfer_depart(transfer_id=t.pk, actor=escort, expected_version=0, now=left)
        transfers.transfer_receive(
            transfer_id=t.pk,
            actor=commander,
            expected_version=t.version,
            now=left + timedelta(minutes=35),
        )
        done += 1
    riders = [
        transfers.Rider(orders[i].person, orders[i], orders[i].room)
        for i in ON_THE_ROAD
        if i < len(orders)
    ]
    if riders:
        t = transfers.transfer_create(
            actor=commander,
            jurisdiction=town,
            pickup="浦市高铁站出站口",
            destination=hotel,
            vehicle="湘U31288",
            driver="张师傅",
            escort=escort,
            riders=riders,
        )
        transfers.transfer_depart(
            transfer_id=t.pk,
            actor=escort,
            expected_version=0,
            now=max(now - timedelta(minutes=25), _at(today, 0, 5)),
        )
    return {
        "sites": 2,
        "orders": len(orders),
        "released": released,
        "missed": len(missed),
        "transfers": done + (1 if riders else 0),
    }


def delete_control_under(path: str) -> None:
    """Everything control holds under `path` (the demo's --reset)."""
    orders = ControlOrder.objects.filter(subtree_q("jurisdiction__path", path))
    trips = Transfer.objects.filter(subtree_q("jurisdiction__path", path))
    Passenger.objects.filter(transfer__in=trips).delete()
    trips.delete()
    HealthCheck.objects.filter(order__in=orders).delete()
    ControlTest.objects.filter(order__in=orders).delete()
    ControlEvent.objects.filter(order__in=orders).delete()
    orders.update(previous=None)
    orders.delete()
    IsolationSite.objects.filter(subtree_q("jurisdiction__path", path)).delete()
