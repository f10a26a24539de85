"""A round's counts per node (`RoundCount`): added to by the writes that change them, in
their own transaction, and recounted exactly by `counts_recount` (when a round is made,
and by the periodic job, which also repairs what registry changes moved: a resident who
moved out, turned the round's age, or was registered after the round began).

The exact count is the definition; the kept one is how the page is fast. A test compares
them after every kind of write."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from fangkong.control.models import ControlOrder, OrderStatus, OrderType
from fangkong.people.models import PersonStatus
from fangkong.testing.models import Exclusion, Outcome, Round, RoundCount, Sample

FIELDS = ("expected", "tested", "samples", "results", "positive")
Counts = dict[int, list[int]]  # node id -> values in FIELDS' order

_UPSERT = (
    "INSERT INTO testing_roundcount (round_id, jurisdiction_id, expected, tested, samples, "
    "results, positive) VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (round_id, jurisdiction_id) DO UPDATE SET "
    "expected = testing_roundcount.expected + excluded.expected, "
    "tested = testing_roundcount.tested + excluded.tested, "
    "samples = testing_roundcount.samples + excluded.samples, "
    "results = testing_roundcount.results + excluded.results, "
    "positive = testing_roundcount.positive + excluded.positive"
)


def counts_add(round_id: int, deltas: Mapping[int, Iterable[int]]) -> None:
    rows = [(round_id, node, *values) for node, values in sorted(deltas.items())]
    rows = [r for r in rows if any(r[2:])]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, rows)


def years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def present_and_of_age(round_: Round, status: str, birth: date | None, today: date) -> bool:
    """The registry's half of "expected" (the round's half: not excluded, not isolated
    at a site)."""
    if status != PersonStatus.PRESENT:
        return False
    return (
        not round_.min_age_years or birth is None or birth <= years_ago(today, round_.min_age_years)
    )


def expected_q(round_: Round, today: date) -> Q:
    """The condition on persons of the round's scope that makes them expected."""
    q = Q(status=PersonStatus.PRESENT)
    if round_.min_age_years:
        q &= Q(birth_date__isnull=True) | Q(birth_date__lte=years_ago(today, round_.min_age_years))
    excluded = Exclusion.objects.filter(round=round_, person_id=OuterRef("pk"))
    return q & ~Q(Exists(excluded)) & ~Q(Exists(isolated_q()))


def isolated_q() -> QuerySet[ControlOrder]:
    return ControlOrder.objects.filter(
        person_id=OuterRef("pk"), status=OrderStatus.ACTIVE, type=OrderType.CENTRAL
    )


def tested_exists(round_: Round) -> Exists:
    return Exists(Sample.objects.filter(round_id=round_.pk, person_id=OuterRef("pk"), recall=False))


def exact_counts(round_: Round, today: date) -> Counts:
    """The definition, from the registry and the samples (slow on a big round)."""
    from fangkong.testing.coverage import residents

    people = residents(round_)
    counts: Counts = {}
    by_node = (
        people.filter(expected_q(round_, today))
        .annotate(done=tested_exists(round_))
        .values("jurisdiction_id")
        .annotate(expected=Count("pk"), tested=Count("pk", filter=Q(done=True)))
        .order_by()
    )
    for r in by_node:
        counts.setdefault(r["jurisdiction_id"], [0] * 5)[:2] = [r["expected"], r["tested"]]
    samples = (
        Sample.objects.filter(round=round_, recall=False)
        .values("jurisdiction_id")
        .annotate(
            n=Count("pk"),
            back=Count("pk", filter=~Q(tube__outcome="")),
            positive=Count("pk", filter=Q(tube__outcome=Outcome.POSITIVE)),
        )
        .order_by()
    )
    for s in samples:
        values = counts.setdefault(s["jurisdiction_id"], [0] * 5)
        values[2:] = [s["n"], s["back"], s["positive"]]
    return counts


def kept_counts(round_: Round) -> Counts:
    return {
        r[0]: list(r[1:])
        for r in RoundCount.objects.filter(round=round_).values_list("jurisdiction_id", *FIELDS)
        if any(r[1:])
    }


def counts_differences(round_: Round, today: date) -> dict[int, tuple[list[int], list[int]]]:
    """Nodes whose kept counts differ from the exact ones: node -> (kept, exact)."""
    kept, exact = kept_counts(round_), exact_counts(round_, today)
    zero = [0] * 5
    return {
        node: (kept.get(node, zero), exact.get(node, zero))
        for node in set(kept) | set(exact)
        if kept.get(node, zero) != exact.get(node, zero)
    }


@transaction.atomic
def counts_recount(round_: Round, today: date) -> int:
    """Replace the round's kept counts by the exact ones; how many nodes differed."""
    Round.objects.select_for_update().filter(pk=round_.pk).first()
    differed = len(counts_differences(round_, today))
    exact = exact_counts(round_, today)
    RoundCount.objects.filter(round=round_).delete()
    RoundCount.objects.bulk_create(
        [
            RoundCount(round=round_, jurisdiction_id=node, **dict(zip(FIELDS, values, strict=True)))
            for node, values in exact.items()
        ],
        batch_size=2000,
    )
    return differed
