"""The numbers a daily report takes from fangkong's own data, by village, each in one
grouped query for all villages at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import nearest_in, subtree_q

Counts = dict[int, int]  # village id -> number


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)


def _by_village(villages: Sequence[Jurisdiction], rows: Iterable[tuple[str, int | None]]) -> Counts:
    """Roll (node path, n) rows up to the villages whose subtree holds them."""
    paths = {v.path: v.pk for v in villages}
    out: Counts = defaultdict(int)
    for path, n in rows:
        pk = nearest_in(path, paths)
        if pk is not None:
            out[pk] += int(n or 0)
    return dict(out)


def _grouped(qs: QuerySet[Any], path: str, total: str = "") -> list[tuple[str, int | None]]:
    agg = Sum(total) if total else Count("pk")
    return list(qs.values_list(path).annotate(n=agg).order_by())


def _prefixes(villages: Sequence[Jurisdiction]) -> list[str]:
    """The subtrees that hold the villages. Many villages are filtered by their parents'
    few subtrees (the roll-up drops rows of villages not asked for): a county's 300
    villages as 300 ORed prefixes cost a query 50 ms even on an empty table."""
    paths = {v.path for v in villages}
    if len(paths) > 8:
        paths = {p.rstrip("/").rsplit("/", 1)[0] + "/" for p in paths}
    return sorted(paths)


def _within(villages: Sequence[Jurisdiction], field: str) -> Q:
    """Rows under any of the villages."""
    q = Q(pk__in=[])
    for path in _prefixes(villages):
        q |= subtree_q(field, path)
    return q


def returnees_new(villages: Sequence[Jurisdiction], day: date) -> Counts:
    from fangkong.screening.models import ReturneeReport

    start, end = _bounds(day)
    qs = ReturneeReport.objects.filter(
        _within(villages, "jurisdiction__path"), created_at__gte=start, created_at__lt=end
    )
    return _by_village(villages, _grouped(qs, "jurisdiction__path"))


def _measures(place: str) -> Callable[[Sequence[Jurisdiction], date], Counts]:
    def metric(villages: Sequence[Jurisdiction], day: date) -> Counts:
        from fangkong.screening.models import MeasureStatus, PersonMeasure

        start, end = _bounds(day)
        qs = PersonMeasure.objects.filter(
            _within(villages, "jurisdiction__path"),
            status=MeasureStatus.VERIFIED,
            place=place,
            decided_at__gte=start,
            decided_at__lt=end,
        )
        return _by_village(villages, _grouped(qs, "jurisdiction__path"))

    return metric


def pushed_done(villages: Sequence[Jurisdiction], day: date) -> Counts:
    from fangkong.screening.models import PushedRow

    start, end = _bounds(day)
    qs = PushedRow.objects.filter(
        _within(villages, "jurisdiction__path"), verified_at__gte=start, verified_at__lt=end
    )
    return _by_village(villages, _grouped(qs, "jurisdiction__path"))


def pushed_pending(villages: Sequence[Jurisdiction], day: date) -> Counts:
    from fangkong.screening.models import PushedRow

    qs = PushedRow.objects.filter(_within(villages, "jurisdiction__path"), outcome="")
    return _by_village(villages, _grouped(qs, "jurisdiction__path"))


def sweep_visited(villages: Sequence[Jurisdiction], day: date) -> Counts:
    from fangkong.screening.models import SweepVisit

    start, end = _bounds(day)
    qs = SweepVisit.objects.filter(
        _within(villages, "jurisdiction__path"),
        outcome="visited",
        visited_at__gte=start,
        visited_at__lt=end,
    )
    return _by_village(villages, _grouped(qs, "jurisdiction__path"))


def orders_done(villages: Sequence[Jurisdiction], day: date) -> Counts:
    from fangkong.workorders.models import WorkOrderTally

    qs = WorkOrderTally.objects.filter(_within(villages, "jurisdiction__path"), day=day)
    return _by_village(villages, _grouped(qs, "jurisdiction__path", "done"))


def orders_overdue(villages: Sequence[Jurisdiction], day: date) -> Counts:
    """Open orders due before the report's day (still open now)."""
    from fangkong.workorders.models import WorkOrderTally

    qs = WorkOrderTally.objects.filter(
        _within(villages, "jurisdiction__path"), day__lt=day, open__gt=0
    )
    return _by_village(villages, _grouped(qs, "jurisdiction__path", "open"))


def _counted_by(app: str, key: str) -> Callable[[Sequence[Jurisdiction], date], Counts]:
    """A count another app keeps by node (control: people put under control, under
    control, released, in transit; testing: sampled, results back, in a positive pool,
    positive in a single tube; vaccination: doses given, 60+ unvaccinated; assist:
    households' requests asked, those late; checkpoints: vehicles, people, turned back,
    tested on the spot; places: enterprises and logistics firms inspected, disinfection
    logs, goods checked, sampled and not all negative), read through
    its selector `counts_by_node(key, node prefixes, day)`: reports knows none of their
    tables."""

    def metric(villages: Sequence[Jurisdiction], day: date) -> Counts:
        from fangkong.assist import selectors as assist
        from fangkong.checkpoints import selectors as checkpoints
        from fangkong.control import selectors as control
        from fangkong.places import selectors as places
        from fangkong.testing import selectors as testing
        from fangkong.vaccination import selectors as vaccination

        source = {
            "assist": assist,
            "checkpoints": checkpoints,
            "control": control,
            "places": places,
            "testing": testing,
            "vaccination": vaccination,
        }[app]
        return _by_village(villages, source.counts_by_node(key, _prefixes(villages), day))

    return metric


# Overdue orders are kept by how many days past their due day they are, up to this
# ("7 days or more"): enough for any town's red-light rule (`ReportConfig`).
OVERDUE_AGE_CAP = 7


def overdue_breakdown(
    villages: Sequence[Jurisdiction], day: date
) -> dict[int, tuple[dict[str, int], dict[str, int]]]:
    """Open orders due before `day`, by village: ({kind: n}, {days overdue: n}), from one
    grouped query. What the overdue count is made of, for the dashboard (stored beside
    the metrics, not a metric of the report); the ages let each town's red-light rule
    be applied at read time without a recount."""
    from fangkong.workorders.models import WorkOrderTally

    paths = {v.path: v.pk for v in villages}
    out: dict[int, tuple[dict[str, int], dict[str, int]]] = {}
    for path, kind, due, n in (
        WorkOrderTally.objects.filter(
            _within(villages, "jurisdiction__path"), day__lt=day, open__gt=0
        )
        .values_list("jurisdiction__path", "kind", "day")
        .annotate(n=Sum("open"))
        .order_by()
    ):
        pk = nearest_in(path, paths)
        if pk is None:
            continue
        kinds, ages = out.setdefault(pk, ({}, {}))
        kinds[kind] = kinds.get(kind, 0) + int(n or 0)
        age = str(min((day - due).days, OVERDUE_AGE_CAP))  # JSON keys are strings
        ages[age] = ages.get(age, 0) + int(n or 0)
    return out


METRICS: dict[str, tuple[str | Promise, Callable[[Sequence[Jurisdiction], date], Counts]]] = {
    "returnees_new": (_("Returnees reported"), returnees_new),
    "central": (_("Sent to centralised isolation"), _measures("central")),
    "home_isolation": (_("Put under home isolation"), _measures("home_isolation")),
    "home_monitoring": (_("Put under home health monitoring"), _measures("home_monitoring")),
    "pushed_done": (_("Pushed-list people verified"), pushed_done),
    "pushed_pending": (_("Pushed-list people pending"), pushed_pending),
    "sweep_visited": (_("Households visited in sweeps"), sweep_visited),
    "orders_done": (_("Work orders done"), orders_done),
    # Counted by due day, unlike a home page's "overdue" (past the due time): an order
    # due at 09:00 today is not in it until tomorrow.
    "orders_overdue": (_("Work orders open past their due day"), orders_overdue),
    "control_new": (_("Put under control"), _counted_by("control", "control_new")),
    "control_active": (_("Under control"), _counted_by("control", "control_active")),
    "control_released": (_("Released from control"), _counted_by("control", "control_released")),
    "control_in_transit": (_("In transit"), _counted_by("control", "control_in_transit")),
    "vaccination_doses": (_("Vaccine doses given"), _counted_by("vaccination", "doses_day")),
    "vaccination_unvaccinated_60": (
        _("Residents of 60 or more not vaccinated"),
        _counted_by("vaccination", "unvaccinated_60"),
    ),
    "testing_sampled": (
        _("People sampled for nucleic acid tests"),
        _counted_by("testing", "testing_sampled"),
    ),
    "testing_results": (_("Test results back"), _counted_by("testing", "testing_results")),
    "testing_pool_positive": (
        _("People in positive pools"),
        _counted_by("testing", "testing_pool_positive"),
    ),
    "testing_positive": (
        _("Positive in a single tube"),
        _counted_by("testing", "testing_positive"),
    ),
    "assist_requests": (
        _("Households' requests asked"),
        _counted_by("assist", "assist_requests"),
    ),
    "assist_late": (
        _("Households' requests answered late"),
        _counted_by("assist", "assist_late"),
    ),
    "checkpoint_vehicles": (
        _("Vehicles checked at checkpoints"),
        _counted_by("checkpoints", "checkpoint_vehicles"),
    ),
    "checkpoint_people": (
        _("People checked at checkpoints"),
        _counted_by("checkpoints", "checkpoint_people"),
    ),
    "checkpoint_turned_back": (
        _("Turned back at checkpoints"),
        _counted_by("checkpoints", "checkpoint_turned_back"),
    ),
    "checkpoint_tested": (
        _("Tested on the spot at checkpoints"),
        _counted_by("checkpoints", "checkpoint_tested"),
    ),
    "places_enterprises_inspected": (
        _("Enterprises inspected"),
        _counted_by("places", "places_enterprises_inspected"),
    ),
    "places_logistics_inspected": (
        _("Logistics firms inspected"),
        _counted_by("places", "places_logistics_inspected"),
    ),
    "places_disinfections": (
        _("Enterprises' disinfection logs"),
        _counted_by("places", "places_disinfections"),
    ),
    "places_cold_chain_batches": (
        _("Cold-chain batches checked"),
        _counted_by("places", "places_cold_chain_batches"),
    ),
    "places_cold_chain_sampled": (
        _("Cold-chain samples taken"),
        _counted_by("places", "places_cold_chain_sampled"),
    ),
    "places_cold_chain_positive": (
        _("Cold-chain checks not all negative"),
        _counted_by("places", "places_cold_chain_positive"),
    ),
    "places_parcel_batches": (
        _("Parcel batches checked"),
        _counted_by("places", "places_parcel_batches"),
    ),
    "places_parcel_sampled": (
        _("Parcel samples taken"),
        _counted_by("places", "places_parcel_sampled"),
    ),
    "places_parcel_positive": (
        _("Parcel checks not all negative"),
        _counted_by("places", "places_parcel_positive"),
    ),
    "places_international_batches": (
        _("International parcel batches checked"),
        _counted_by("places", "places_international_batches"),
    ),
    "places_international_sampled": (
        _("International parcel samples taken"),
        _counted_by("places", "places_international_sampled"),
    ),
    "places_international_positive": (
        _("International parcel checks not all negative"),
        _counted_by("places", "places_international_positive"),
    ),
}


# Metrics whose rows also stand at a town's own node, outside every village: posts on
# the town's roads (checkpoints attached to the town). The bulletin counts them in a row
# of the town itself, so a town's total never drops them.
AT_TOWN = frozenset(
    {"checkpoint_vehicles", "checkpoint_people", "checkpoint_turned_back", "checkpoint_tested"}
)


def compute(
    keys: Iterable[str], villages: Sequence[Jurisdiction], day: date
) -> dict[int, dict[str, int]]:
    """{village id: {metric key: n}} for the metrics named, zero where nothing counted.
    A node above the villages among `villages` gets what is under it but under none of
    the others (the rows are rolled up to the nearest node given)."""
    out: dict[int, dict[str, int]] = {v.pk: {} for v in villages}
    for key in keys:
        counts = METRICS[key][1](villages, day)
        for v in villages:
            out[v.pk][key] = counts.get(v.pk, 0)
    return out
