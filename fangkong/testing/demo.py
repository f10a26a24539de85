"""Mass testing in the demo town: a finished round over the first village (sampled the
day before yesterday and yesterday, 10-in-1, a few residents never came; every result
back, one pool positive, its ten members recalled and sampled at home by the grid
worker `gw0101`, their single results negative) and a round under way over the next two
villages (two sampling points, some tubes sampled today, one still open, no results
yet), so the rounds, coverage, recalls, boxes, the person's page and the bulletin all
have something to show.

Built through testing's own services (the same checks, counts, work orders, control
orders and audit records as a real town), dated from today so the demo is always
"live"."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.scoping import subtree_q
from fangkong.people.models import Person
from fangkong.testing import boxes, rounds
from fangkong.testing.codes import resident_code
from fangkong.testing.coverage import not_tested
from fangkong.testing.models import (
    Box,
    Exclusion,
    Recall,
    Result,
    ResultBatch,
    Round,
    RoundCount,
    Sample,
    SamplingPoint,
    Tube,
)
from fangkong.testing.results import ResultRow, results_record
from fangkong.testing.sampling import CLOSE, Record, samples_sync
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import order_complete

POOL = 10
# Of the finished round's expected residents, this share never came (the not-tested
# list, with a few declared away).
MISSED = 0.05
# Of the round under way's expected residents, the share sampled so far today.
UNDER_WAY = 0.4


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _sample(
    round_: Round,
    people: list[Person],
    prefix: str,
    sampler: User,
    start: datetime,
    end: datetime,
    rng: random.Random,
    *,
    close_last: bool = True,
) -> list[str]:
    """Sample `people` into tubes of the round's pool size, spread from `start` to
    `end`, through the one ingest path; returns the barcodes in order."""
    records: list[Record] = []
    barcodes: list[str] = []
    span = max((end - start).total_seconds(), 1.0)
    for i, person in enumerate(people):
        barcode = f"{prefix}{i // round_.pool_size + 1:05d}"
        if not barcodes or barcodes[-1] != barcode:
            barcodes.append(barcode)
        records.append(
            Record(
                client_id=uuid.UUID(int=rng.getrandbits(128)),
                barcode=barcode,
                taken_at=start + timedelta(seconds=span * i / max(len(people), 1)),
                person=resident_code(person.pk),
            )
        )
    if close_last and barcodes:
        records.append(Record(uuid.UUID(int=rng.getrandbits(128)), barcodes[-1], end, action=CLOSE))
    for n in range(0, len(records), 5000):
        samples_sync(round_=round_, records=records[n : n + 5000], actor=sampler)
    return barcodes


def _point(round_: Round, node: Jurisdiction, name: str, commander: User, staff: User) -> None:
    rounds.point_create(
        actor=commander,
        round_=round_,
        jurisdiction=node,
        name=name,
        address=f"{node.name}村委会",
        opens_at=time(7, 0),
        closes_at=time(18, 0),
        capacity=600,
        staff=[staff],
    )


@transaction.atomic
def build_demo_testing(path: str, *, seed: int = 2022) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    town = (
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.TOWN)
        .order_by("path")
        .first()
    )
    commander, sampler, lab = _user("commander"), _user("sampler1"), _user("lab1")
    gw = Membership.objects.filter(user__username="gw0101").select_related("jurisdiction").first()
    if town is None or commander is None or sampler is None or lab is None or gw is None:
        return {}
    if Round.objects.filter(jurisdiction=town).exists():
        return {}
    grid = gw.jurisdiction
    village = grid.parent
    others = list(
        Jurisdiction.objects.filter(parent=town, level=Level.VILLAGE)
        .exclude(pk=village.pk if village else 0)
        .order_by("path")[:2]
    )
    if village is None or not others:
        return {}
    today = timezone.localdate()
    now = timezone.now()

    # The finished round: the day before yesterday and yesterday, over gw0101's village.
    done = rounds.round_create(
        actor=commander,
        jurisdiction=town,
        name=f"{village.name}第一轮全员核酸",
        starts_on=today - timedelta(days=2),
        ends_on=today - timedelta(days=1),
        pool_size=POOL,
        scope=[village],
        min_age_years=3,
    )
    _point(done, village, f"{village.name}文化广场", commander, sampler)
    expected = list(not_tested(done, today=today))
    # gw0101's own grid first, so the positive pool's ten are theirs to sample at home.
    expected.sort(key=lambda p: (not p.jurisdiction.path.startswith(grid.path), p.pk))
    missed = set(rng.sample(range(len(expected)), int(len(expected) * MISSED)))
    came = [p for i, p in enumerate(expected) if i not in missed]
    # One of them declared away (out of the expected); the others are the not-tested.
    for person in [p for i, p in enumerate(expected) if i in missed][:1]:
        rounds.exclusion_add(
            actor=commander,
            round_=done,
            person=person,
            reason="away",
            until=today + timedelta(days=10),
            note="外出务工",
        )
    half = len(came) // 2 // POOL * POOL
    first_day, second_day = today - timedelta(days=2), today - timedelta(days=1)
    barcodes = _sample(
        done, came[:half], "PSA", sampler, _at(first_day, 7), _at(first_day, 17), rng
    ) + _sample(done, came[half:], "PSB", sampler, _at(second_day, 7), _at(second_day, 17), rng)
    # The tubes went to the lab in boxes of up to 50, scanned out and in.
    for n in range(0, len(barcodes), 50):
        code = f"PSBOX{n // 50 + 1:03d}"
        boxes.box_out(
            round_=done,
            code=code,
            barcodes=barcodes[n : n + 50],
            actor=sampler,
            point=done.points.first(),
            now=_at(second_day, 17, 30),
        )
        boxes.box_in(code=code, barcodes=barcodes[n : n + 50], actor=lab, now=_at(second_day, 19))
    # Every pool negative but the first of gw0101's grid, found positive since. The
    # timeline is anchored to the round's days, not to the clock, so that a demo built
    # just after midnight still has its results after its samples.
    positive = barcodes[0]
    results_record(
        round_=done,
        rows=[ResultRow(i + 2, b, "阴性") for i, b in enumerate(barcodes[1:])],
        actor=lab,
        source="file",
        filename="浦市镇核酸结果.xlsx",
        now=_at(second_day, 23),
    )
    results_record(
        round_=done,
        rows=[ResultRow(2, positive, "阳性", "33.1", "34.6")],
        actor=lab,
        source="api",
        now=max(_at(second_day, 23, 30), now - timedelta(minutes=90)),
    )
    # The grid worker sampled each at home (single tubes) and the lab found them negative.
    singles: list[str] = []
    for i, recall in enumerate(Recall.objects.filter(round=done).order_by("pk")):
        if recall.work_order_id is None:
            continue
        work = WorkOrder.objects.filter(pk=recall.work_order_id).first()
        if work is None or work.assignee is None:
            continue
        tube = f"PSR{i + 1:04d}"
        order_complete(
            order_id=work.pk,
            actor=work.assignee,
            result={"tube": tube},
            client_id=uuid.UUID(int=rng.getrandbits(128)),
        )
        singles.append(tube)
    results_record(
        round_=done,
        rows=[ResultRow(i + 2, b, "阴性") for i, b in enumerate(singles)],
        actor=lab,
        source="api",
    )
    rounds.round_close(actor=commander, round_=done)

    # The round under way: today, over the next two villages, some tubes sampled.
    running = rounds.round_create(
        actor=commander,
        jurisdiction=town,
        name=f"{town.name}第二轮全员核酸",
        starts_on=today,
        ends_on=today + timedelta(days=1),
        pool_size=POOL,
        scope=others,
        min_age_years=3,
    )
    for node in others:
        _point(running, node, f"{node.name}卫生室", commander, sampler)
    people = list(not_tested(running, today=today))
    people.sort(key=lambda p: p.pk)
    taken = people[: int(len(people) * UNDER_WAY) // POOL * POOL + POOL // 2]
    # Sampled today only, even when the demo is built in the small hours.
    start = max(_at(today, 0), min(_at(today, 7), now - timedelta(hours=2)))
    end = max(start, now - timedelta(minutes=5))
    _sample(running, taken, "PSC", sampler, start, end, rng, close_last=False)
    return {
        "rounds": 2,
        "samples": Sample.objects.filter(round__in=[done, running]).count(),
        "recalls": len(singles),
    }


def delete_testing_under(path: str) -> None:
    """Everything testing holds under `path` (the demo's --reset)."""
    held = Round.objects.filter(subtree_q("jurisdiction__path", path))
    Recall.objects.filter(round__in=held).delete()
    Result.objects.filter(tube__round__in=held).delete()
    ResultBatch.objects.filter(round__in=held).delete()
    Sample.objects.filter(round__in=held).delete()
    Tube.objects.filter(round__in=held).delete()
    Box.objects.filter(round__in=held).delete()
    SamplingPoint.objects.filter(round__in=held).delete()
    Exclusion.objects.filter(round__in=held).delete()
    RoundCount.objects.filter(round__in=held).delete()
    held.delete()
