"""Door-knocking sweeps (敲门行动): every household of a scope becomes a visit order for
its grid worker; the visit records each member's answers; "nobody home" queues a
revisit; an arrival found at the door becomes a returnee report; coverage is counted
from one row per household."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.scoping import ancestor_paths, nearest_in, subtree_q
from fangkong.people.models import Household, Person
from fangkong.policy import divisions
from fangkong.screening.models import Mode, Source, Sweep, SweepVisit, VisitOutcome
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import WorkOrder

SWEEP_KIND = "sweep_visit"


def default_questions(arrival_days: int) -> list[dict[str, Any]]:
    """The usual questions of a sweep; the organiser keeps, drops or adds to them."""
    return [
        {
            "key": "arrived",
            "kind": "bool",
            "per": "person",
            "label": str(_("Arrived from elsewhere in the last %(n)d days") % {"n": arrival_days}),
        },
        {
            "key": "arrived_from",
            "kind": "text",
            "per": "person",
            "label": str(_("From (county or district)")),
        },
        {"key": "arrived_on", "kind": "date", "per": "person", "label": str(_("Arrived on"))},
        {
            "key": "vaccine",
            "kind": "choice",
            "per": "person",
            "label": str(_("Vaccine doses")),
            "choices": [["0", "0"], ["1", "1"], ["2", "2"], ["3", "3"], ["4", "4"]],
        },
        {
            "key": "needs",
            "kind": "text",
            "per": "household",
            "label": str(_("Special needs (medicine, living alone, disability…)")),
        },
    ]


QUESTION_KINDS = {"bool", "int", "text", "choice", "date"}
OUTCOME_LABELS = {
    "visited": gettext_lazy("Visited, everyone seen"),
    "nobody_home": gettext_lazy("Nobody home"),
    "refused": gettext_lazy("Refused to open"),
}


def _end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59)))


@transaction.atomic
def sweep_create(
    *,
    actor: User,
    organiser: Jurisdiction,
    name: str,
    scope: Sequence[Jurisdiction],
    starts_on: date,
    ends_on: date,
    questions: list[dict[str, Any]],
    arrival_days: int = 14,
    now: datetime | None = None,
) -> Sweep:
    """A sweep and a visit order per household in scope, to each grid's worker."""
    from fangkong.workorders.services import Subject, orders_create

    now = now or timezone.now()
    if not scope:
        raise ValidationError({"scope": _("Choose the villages or grids to sweep.")})
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("A sweep ends after it starts.")})
    if _end_of(ends_on) <= now:
        raise ValidationError({"ends_on": _("The end date has passed.")})
    for question in questions:
        if question.get("kind") not in QUESTION_KINDS or question.get("per") not in (
            "person",
            "household",
        ):
            raise ValidationError({"questions": _("A question is not well formed.")})
    sweep = Sweep.objects.create(
        jurisdiction=organiser,
        name=name,
        questions=questions,
        arrival_days=arrival_days,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor,
    )
    sweep.scope.set(scope)
    in_scope = Q(pk__in=[])
    for node in scope:
        in_scope |= subtree_q("jurisdiction__path", node.path)
    households = list(
        Household.objects.filter(in_scope)
        .select_related("jurisdiction")
        .annotate(n=Count("members"))
        .order_by("jurisdiction_id", "id")
    )
    orders = orders_create(
        kind=SWEEP_KIND,
        subjects=[Subject.of(h, label=h.address) for h in households],
        actor=actor,
        strategy=Strategy.GRID,
        due_at=_end_of(ends_on),
        title=_("Door-knocking sweep: %(name)s") % {"name": name},
        source=f"sweep:{sweep.pk}",
        batch=uuid.uuid5(uuid.NAMESPACE_URL, f"fangkong:sweep:{sweep.pk}"),
        now=now,
    )
    SweepVisit.objects.bulk_create(
        [
            SweepVisit(
                sweep=sweep, household=h, jurisdiction=h.jurisdiction, order=o, registered=h.n
            )
            for h, o in zip(households, orders, strict=True)
        ],
        batch_size=2000,
    )
    return sweep


def visit_for(order: WorkOrder) -> SweepVisit | None:
    return SweepVisit.objects.filter(order=order).select_related("sweep", "household").first()


def _clean_answers(
    sweep: Sweep, members: Iterable[Person], raw: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Answers typed as the questions say; errors keyed by the form field."""
    answers: dict[str, Any] = {"household": {}}
    errors: dict[str, str] = {}
    holders = [("household", "h")] + [(str(p.pk), f"p{p.pk}") for p in members]
    for key, prefix in holders:
        per = "household" if key == "household" else "person"
        answers.setdefault(key, {})
        for q in sweep.questions:
            if q["per"] != per:
                continue
            name = f"{prefix}_{q['key']}"
            value = str(raw.get(name, "")).strip()
            if q["kind"] == "bool":
                answers[key][q["key"]] = value in ("1", "on", "true", "yes")
                continue
            if not value:
                continue
            if q["kind"] == "int" and not value.isdigit():
                errors[name] = _("Write a whole number.")
            elif q["kind"] == "date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    errors[name] = _("Write a date such as 2022-07-03.")
            elif q["kind"] == "choice" and value not in {c[0] for c in q.get("choices", [])}:
                errors[name] = _("Choose one of the options.")
            elif len(value) > 200:
                errors[name] = _("At most 200 characters.")
            answers[key][q["key"]] = value
    return answers, errors


def visit_record(
    *,
    actor: User,
    order: WorkOrder,
    outcome: str,
    raw: Mapping[str, str],
    client_id: uuid.UUID,
    expected_version: int | None = None,
) -> SweepVisit:
    """Record a visit from the sweep form: the answers, then the order's result (which
    queues a revisit when nobody was home), then any arrival found as a report."""
    from fangkong.workorders.services import order_complete

    visit = visit_for(order)
    if visit is None:
        raise ValidationError(_("This order is not part of a sweep."))
    if outcome not in OUTCOME_LABELS:
        raise ValidationError({"outcome": _("Choose what happened at the door.")})
    members = list(Person.objects.filter(household=visit.household).order_by("id"))
    answers: dict[str, Any] = {"household": {}}
    errors: dict[str, str] = {}
    if outcome == VisitOutcome.VISITED:
        answers, errors = _clean_answers(visit.sweep, members, raw)
    if errors:
        raise ValidationError(errors)
    seen = len(members) if outcome == VisitOutcome.VISITED else 0
    with transaction.atomic():
        SweepVisit.objects.filter(pk=visit.pk).update(answers=answers)
        order_complete(
            order_id=order.pk,
            actor=actor,
            client_id=client_id,
            expected_version=expected_version,
            result={"outcome": outcome, "persons_seen": seen},
        )
        if outcome == VisitOutcome.VISITED:
            _report_arrivals(visit, members, answers, actor)
    visit.refresh_from_db()
    return visit


def sweep_visit_done(order: WorkOrder, result: dict[str, Any], actor: User) -> None:
    """on_done of sweep_visit orders, however the result came (form, flat form, API)."""
    visit = SweepVisit.objects.filter(order=order).first()
    if visit is None:
        return
    visit.outcome = str(result.get("outcome", ""))
    visit.persons_seen = int(result.get("persons_seen") or 0)
    visit.attempts += 1
    visit.visited_by, visit.visited_at = actor, timezone.now()
    # "Nobody home" made a revisit order (the kind's follow-up): the household waits on it.
    follow = WorkOrder.objects.filter(source=f"workorder:{order.pk}").order_by("-id").first()
    if follow is not None:
        visit.order = follow
    visit.save()


def _origin_code(text: str) -> str:
    """A typed county or district name as a division code, when it names just one."""
    for length in (6, 9):
        found = divisions.find(text, length=length)
        if len(found) == 1:
            return found[0][0]
    return ""


def _report_arrivals(
    visit: SweepVisit, members: Sequence[Person], answers: Mapping[str, Any], actor: User
) -> None:
    from fangkong.screening.services import ReportInput, report_submit

    head = next((m for m in members if m.phone), None)
    for person in members:
        given = answers.get(str(person.pk), {})
        if not given.get("arrived"):
            continue
        try:
            arrived = date.fromisoformat(str(given.get("arrived_on") or ""))
        except ValueError:
            arrived = timezone.localdate()
        typed = str(given.get("arrived_from", ""))
        code = _origin_code(typed)
        report_submit(
            ReportInput(
                name=person.name,
                id_number=person.id_number or "",
                phone=person.phone or (head.phone if head else ""),
                # What names no single division stays as typed, for the verifying worker.
                origin_code=code,
                origin_place="" if code else typed[:60],
                left_on=arrived,
                arrived_on=arrived,
                mode=Mode.OTHER,
                jurisdiction=visit.jurisdiction,
                address=visit.household.address[:120],
            ),
            source=Source.SWEEP,
            actor=actor,
        )


# Coverage ------------------------------------------------------------------------------


@dataclass
class Coverage:
    node: Jurisdiction
    households: int = 0
    visited: int = 0
    nobody_home: int = 0
    refused: int = 0
    registered: int = 0
    persons_seen: int = 0

    @property
    def not_reached(self) -> int:
        return self.households - self.visited - self.nobody_home - self.refused

    @property
    def household_share(self) -> float:
        return self.visited / self.households if self.households else 0.0


def coverage(
    sweep: Sweep, visits: Any, levels: tuple[int, ...] = (Level.VILLAGE,)
) -> tuple[dict[int, list[Coverage]], Coverage]:
    """Coverage per node of each level asked for (villages, grids) and in total, from
    one grouped query over the sweep's visit rows."""
    levels = tuple(dict.fromkeys(levels))
    rows = list(
        visits.values("jurisdiction__path", "outcome")
        .annotate(n=Count("id"), registered=Sum("registered"), seen=Sum("persons_seen"))
        .order_by()
    )
    paths = {r["jurisdiction__path"] for r in rows}
    above = Jurisdiction.objects.filter(
        path__in={a for p in paths for a in ancestor_paths(p)}, level__in=levels
    )
    nodes: dict[int, dict[str, Jurisdiction]] = {level: {} for level in levels}
    for n in above:
        nodes[n.level][n.path] = n
    cells: dict[int, dict[str, Coverage]] = {level: {} for level in levels}
    total = Coverage(sweep.jurisdiction)
    for row in rows:
        targets = [total]
        for level in levels:
            node = nearest_in(row["jurisdiction__path"], nodes[level])
            if node is not None:
                targets.append(cells[level].setdefault(node.path, Coverage(node)))
        for cell in targets:
            cell.households += row["n"]
            cell.registered += row["registered"] or 0
            cell.persons_seen += row["seen"] or 0
            if row["outcome"] in (
                VisitOutcome.VISITED,
                VisitOutcome.NOBODY_HOME,
                VisitOutcome.REFUSED,
            ):
                setattr(cell, row["outcome"], getattr(cell, row["outcome"]) + row["n"])
    return {level: [c[k] for k in sorted(c)] for level, c in cells.items()}, total
