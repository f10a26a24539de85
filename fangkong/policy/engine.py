"""One function decides: which edition applies on a date, and which measure a person's
travel or exposure calls for, with the reason in words.

Rules (docs/reference/domain-rules.md):
- the edition in force on the date; a local edition whose scope covers the person's
  place wins over a national one;
- an origin counts as a risk area only if the area was in force on the day the person
  left it (arriving before an area became risky, or leaving after it was lifted, is not
  an arrival from it) and the departure is within the edition's window;
- the rest of a county that holds a high- or medium-risk area is low-risk (R1.6.3);
  before the 9th edition the same holds for 封控/管控 and 防范 areas (R1.7.3);
- periods count from the departure or last exposure (R1.4.1, R1.4.2): time already
  spent elsewhere counts (填平补齐, R1.4.3); day 1 is the next day unless the edition
  says otherwise; tests-only measures ("三天两检") count from the arrival;
- with several origins or exposures the strictest measure wins (place first, then
  length, then the later end);
- a re-check (`as_of`: the rules as they stand on that day, for someone who arrived
  earlier) applies the edition in force on `as_of`, and an area lifted by then no
  longer counts (a lifted area's arrivals go back to routine, as their health code
  turns green, domain rules R3.1): control's re-check proposes the changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from fangkong.policy import divisions
from fangkong.policy.models import (
    COLOUR_RANK,
    PLACE_RANK,
    Category,
    CodeRule,
    Colour,
    DayOne,
    Edition,
    Measure,
    Place,
    RiskArea,
    RiskLevel,
)

LEVEL_CATEGORY = {
    RiskLevel.HIGH: Category.ARRIVAL_HIGH,
    RiskLevel.SEALED: Category.ARRIVAL_HIGH,
    RiskLevel.MEDIUM: Category.ARRIVAL_MEDIUM,
    RiskLevel.CONTROLLED: Category.ARRIVAL_MEDIUM,
    RiskLevel.LOW: Category.ARRIVAL_LOW,
    RiskLevel.PREVENTION: Category.ARRIVAL_LOW,
}
LEVEL_RANK = {
    RiskLevel.HIGH: 3,
    RiskLevel.SEALED: 3,
    RiskLevel.MEDIUM: 2,
    RiskLevel.CONTROLLED: 2,
    RiskLevel.LOW: 1,
    RiskLevel.PREVENTION: 1,
}
EXPOSURES = (
    Category.CLOSE_CONTACT,
    Category.SECONDARY_CONTACT,
    Category.COMPANION,
    Category.KEY_OCCUPATION,
)


@dataclass(frozen=True)
class Origin:
    """Where someone came from: a division code (any level), the day they left it, and
    optionally a compound or building inside it."""

    code: str
    left_on: date
    place: str = ""

    @property
    def label(self) -> str:
        return (divisions.full_name(self.code) or self.code) + self.place


@dataclass(frozen=True)
class Exposure:
    category: str
    last_on: date


@dataclass(frozen=True)
class Period:
    place: str
    start: date
    end: date  # inclusive
    test_dates: tuple[date, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_json(self) -> dict[str, Any]:
        return {
            "place": self.place,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "tests": [d.isoformat() for d in self.test_dates],
        }


@dataclass
class Finding:
    """What one origin or exposure calls for, explained."""

    category: str
    text: str
    measure: Measure | None = None
    periods: list[Period] = field(default_factory=list)
    area: RiskArea | None = None

    def strictness(self) -> tuple[int, int, date]:
        if self.measure is None or not self.periods:
            return (PLACE_RANK[Place.NONE], 0, date.min)
        first = self.periods[0]
        return (
            PLACE_RANK[Place(first.place)],
            sum(p.days for p in self.periods),
            self.periods[-1].end,
        )


@dataclass
class Decision:
    on: date
    edition: Edition | None
    category: str
    measure: Measure | None
    periods: list[Period]
    reason: str
    findings: list[Finding]

    @property
    def place(self) -> str:
        return self.periods[0].place if self.periods else Place.NONE

    @property
    def end(self) -> date | None:
        return self.periods[-1].end if self.periods else None

    def place_on(self, day: date) -> str:
        for period in self.periods:
            if period.start <= day <= period.end:
                return period.place
        return Place.NONE

    def as_json(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "edition": self.edition.key if self.edition else "",
            "category": self.category,
            "place": self.place,
            "periods": [p.as_json() for p in self.periods],
            "reason": self.reason,
        }


def _in_force(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day < end)


@dataclass
class Rules:
    """The editions (with their measures) and the risk areas held in memory, so that
    many decisions in a row (a re-check of a town) make no query each. `decide` reads
    the database when it is given none."""

    editions: list[Edition]
    areas: list[RiskArea]

    @classmethod
    def load(cls) -> Rules:
        return cls(
            list(Edition.objects.select_related("scope").prefetch_related("measures")),
            list(RiskArea.objects.all()),
        )


def edition_for(day: date, path: str = "", rules: Rules | None = None) -> Edition | None:
    """The edition in force on `day` at `path`: the deepest local edition covering it,
    else the national one that took effect last."""
    found = (
        [e for e in rules.editions if _in_force(e.effective_from, e.effective_to, day)]
        if rules is not None
        else Edition.objects.filter(effective_from__lte=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day))
        .select_related("scope")
        .prefetch_related("measures")
    )
    editions = [e for e in found if e.scope is None or path.startswith(e.scope.path)]
    if not editions:
        return None
    return max(editions, key=lambda e: (len(e.scope.path) if e.scope else 0, e.effective_from))


def _areas_for(origins: Sequence[Origin], rules: Rules | None = None) -> list[RiskArea]:
    """Areas that may cover an origin, and every area of its county (for the implied
    low-risk rest of a county)."""
    if rules is not None:
        wanted = [
            ({o.code[:n] for n in (2, 4, 6, 9, 12) if len(o.code) >= n}, o.code[:6])
            for o in origins
            if o.code
        ]
        return [
            a
            for a in rules.areas
            if any(a.code in prefixes or a.code.startswith(county) for prefixes, county in wanted)
        ]
    q = Q(pk__in=[])
    for o in origins:
        if not o.code:
            continue
        prefixes = {o.code[:n] for n in (2, 4, 6, 9, 12) if len(o.code) >= n}
        q |= Q(code__in=prefixes) | Q(code__startswith=o.code[:6])
    return list(RiskArea.objects.filter(q))


def _level_text(level: str) -> str:
    return str(RiskLevel(level).label)


# The reason is read by residents on the page after their report and by staff on the
# order: written as a person writes, in the reader's language. Dates, the glue between
# clauses and lists are translated too (Chinese takes full-width commas and stops, and
# dates such as 2022年7月3日).
def _day(day: date) -> str:
    return date_format(day, "DATE_FORMAT")


def _clauses(parts: Sequence[str]) -> str:
    # Translators: between the parts of one sentence of a measure's reason.
    return pgettext("reason", "; ").join(parts)


def _numbers(numbers: Iterable[int]) -> str:
    # Translators: between the numbers of a list (test days 1, 2, 3).
    return pgettext("list", ", ").join(str(n) for n in numbers)


def _plan(measure: Measure, edition: Edition, start_from: date, arrived: date) -> list[Period]:
    if measure.place == Place.NONE:
        return []
    if measure.place == Place.TESTS_ONLY:
        # "三天两检" and the like run from the arrival, not from the departure.
        days = measure.within_days or 1
        return [
            Period(
                measure.place,
                arrived,
                arrived + timedelta(days=days - 1),
                tuple(arrived + timedelta(days=t - 1) for t in measure.tests),
            )
        ]
    shift = 1 if edition.day_one == DayOne.NEXT_DAY else 0
    day1 = start_from + timedelta(days=shift)
    periods = [_period(measure.place, day1, measure.days, measure.tests)]
    if measure.then_place != Place.NONE and measure.then_days:
        periods.append(
            _period(
                measure.then_place,
                periods[0].end + timedelta(days=1),
                measure.then_days,
                measure.then_tests,
            )
        )
    return periods


def _period(place: str, day1: date, days: int, tests: Iterable[int]) -> Period:
    return Period(
        place,
        day1,
        day1 + timedelta(days=max(days, 1) - 1),
        tuple(day1 + timedelta(days=t - 1) for t in tests if 1 <= t <= days),
    )


def _measured(
    finding: Finding, measures: dict[str, Measure], edition: Edition, start: date, on: date
) -> Finding:
    measure = measures.get(finding.category)
    if measure is None or not measure.identified:
        note = f" ({measure.note})" if measure is not None and measure.note else ""
        finding.text = _clauses(
            [
                finding.text,
                _("%(edition)s does not manage “%(category)s”%(note)s")
                % {
                    "edition": edition.name,
                    "category": Category(finding.category).label,
                    "note": note,
                },
            ]
        )
        finding.category = Category.RETURNEE
        measure = measures.get(Category.RETURNEE)
    finding.measure = measure
    if measure is not None:
        periods = _plan(measure, edition, start, on)
        if periods and periods[-1].end < on:
            finding.text = _clauses(
                [
                    finding.text,
                    _("the period ended on %(end)s, before the arrival")
                    % {"end": _day(periods[-1].end)},
                ]
            )
            periods = []
        finding.periods = periods
    return finding


def _lifted_by(area: RiskArea, as_of: date | None) -> bool:
    return as_of is not None and area.effective_to is not None and area.effective_to <= as_of


def _origin_finding(
    o: Origin,
    on: date,
    edition: Edition,
    measures: dict[str, Measure],
    areas: list[RiskArea],
    as_of: date | None = None,
) -> Finding:
    covering = [
        a for a in areas if o.code.startswith(a.code) and (not a.place or a.place in o.place)
    ]
    then = [a for a in covering if _in_force(a.effective_from, a.effective_to, o.left_on)]
    # On a re-check, an area lifted since no longer calls for anything.
    active = [a for a in then if not _lifted_by(a, as_of)]
    left = _("Left %(origin)s on %(left)s") % {"origin": o.label, "left": _day(o.left_on)}
    if active:
        area = max(active, key=lambda a: (LEVEL_RANK[RiskLevel(a.level)], a.effective_from))
        parts = [
            left,
            _("%(area)s has been %(level)s since %(from)s")
            % {
                "area": area.name,
                "level": _level_text(area.level),
                "from": _day(area.effective_from),
            },
        ]
        if (on - o.left_on).days > edition.arrival_window_days:
            parts.append(
                _("that was more than %(n)d days before arriving, so it no longer counts")
                % {"n": edition.arrival_window_days}
            )
            finding = Finding(Category.RETURNEE, _clauses(parts))
            return _measured(finding, measures, edition, o.left_on, on)
        text = _clauses(parts)
        category = LEVEL_CATEGORY[RiskLevel(area.level)]
        return _measured(Finding(category, text, area=area), measures, edition, o.left_on, on)
    notes = [left]
    for a in then:
        if a.effective_to is None:
            continue
        notes.append(
            _("%(area)s was %(level)s when they left and was lifted on %(to)s")
            % {"area": a.name, "level": _level_text(a.level), "to": _day(a.effective_to)}
        )
    for a in covering:
        if a in then:
            continue
        if a.effective_from > o.left_on:
            notes.append(
                _("%(area)s only became %(level)s on %(from)s, after they left")
                % {
                    "area": a.name,
                    "level": _level_text(a.level),
                    "from": _day(a.effective_from),
                }
            )
        elif a.effective_to is not None and a.effective_to <= o.left_on:
            notes.append(
                _("%(area)s had been lifted on %(to)s")
                % {"area": a.name, "to": _day(a.effective_to)}
            )
    county = [
        a
        for a in areas
        if a.code.startswith(o.code[:6])
        and a not in covering
        and LEVEL_RANK[RiskLevel(a.level)] >= 2
        and _in_force(a.effective_from, a.effective_to, o.left_on)
        and not _lifted_by(a, as_of)
    ]
    if county and (on - o.left_on).days <= edition.arrival_window_days:
        area = max(county, key=lambda a: LEVEL_RANK[RiskLevel(a.level)])
        notes.append(
            _("the rest of a county with %(area)s (%(level)s) is low-risk")
            % {"area": area.name, "level": _level_text(area.level)}
        )
        return _measured(
            Finding(Category.ARRIVAL_LOW, _clauses(notes), area=area),
            measures,
            edition,
            o.left_on,
            on,
        )
    notes.append(_("it was not a risk area when they left"))
    return _measured(Finding(Category.RETURNEE, _clauses(notes)), measures, edition, o.left_on, on)


def _exposure_finding(
    x: Exposure, on: date, edition: Edition, measures: dict[str, Measure]
) -> Finding:
    text = _("%(category)s, last exposure %(last)s") % {
        "category": Category(x.category).label,
        "last": _day(x.last_on),
    }
    return _measured(Finding(x.category, text), measures, edition, x.last_on, on)


def describe(measure: Measure | None, periods: Sequence[Period]) -> str:
    """'7 days centralised isolation (07-02 to 07-08), tests on days 1, 2, 3, 5, 7; …'"""
    if measure is None:
        return _("no measure")
    if not periods:
        return measure.note or str(Place(measure.place).label)
    text = ""
    for i, p in enumerate(periods):
        tests = measure.tests if i == 0 else measure.then_tests
        part = _("%(place)s %(days)d days (%(start)s to %(end)s)") % {
            "place": Place(p.place).label,
            "days": p.days,
            "start": _day(p.start),
            "end": _day(p.end),
        }
        if p.place == Place.TESTS_ONLY and measure.n_tests:
            part = _(
                "%(n)d tests within %(days)d days, at least %(h)d hours apart (from %(start)s)"
            ) % {
                "n": measure.n_tests,
                "days": p.days,
                "h": measure.min_interval_hours,
                "start": _day(p.start),
            }
        elif tests:
            part += _(", tests on days %(days)s") % {"days": _numbers(tests)}
        text = _("%(first)s; then %(then)s") % {"first": text, "then": part} if text else part
    return text


def decide(
    on: date,
    origins: Sequence[Origin] = (),
    exposures: Sequence[Exposure] = (),
    path: str = "",
    *,
    as_of: date | None = None,
    rules: Rules | None = None,
) -> Decision:
    """The measure for someone arriving (or assessed) on `on` at the place `path`.

    `as_of` re-checks an earlier arrival under the rules of that day: the edition in
    force on `as_of`, and areas lifted by then no longer counting. `rules` is the
    catalogue already in memory (see `Rules`)."""
    edition = edition_for(as_of or on, path, rules)
    if edition is None:
        return Decision(
            on,
            None,
            "",
            None,
            [],
            _("No control rules were in force on %(on)s.") % {"on": _day(as_of or on)},
            [],
        )
    measures = {m.category: m for m in edition.measures.all()}
    areas = _areas_for(origins, rules)
    findings = [_origin_finding(o, on, edition, measures, areas, as_of) for o in origins if o.code]
    findings += [_exposure_finding(x, on, edition, measures) for x in exposures]
    if not findings:
        findings = [
            _measured(Finding(Category.RETURNEE, _("No origin given")), measures, edition, on, on)
        ]
    winner = max(findings, key=Finding.strictness)
    reason = _("%(finding)s. Under %(edition)s: %(measure)s.") % {
        "finding": winner.text,
        "edition": edition.name,
        # A measure's note is data and may end a sentence of its own.
        "measure": describe(winner.measure, winner.periods).rstrip("。."),
    }
    if len(findings) > 1:
        reason = _("%(reason)s This is the strictest of the %(n)d places and contacts given.") % {
            "reason": reason,
            "n": len(findings),
        }
    return Decision(on, edition, winner.category, winner.measure, winner.periods, reason, findings)


# Health-code colours -----------------------------------------------------------------

_PLACE_TRIGGER = {
    Place.CENTRAL: "central",
    Place.HOME_ISOLATION: "home_isolation",
    Place.HOME_MONITORING: "home_monitoring",
    Place.TESTS_ONLY: "tests_only",
}


def colour_table() -> dict[str, CodeRule]:
    """The colour rules by trigger: load once for a list, pass to colour_for."""
    return {r.trigger: r for r in CodeRule.objects.all()}


def colour_for(
    triggers: Iterable[str], table: dict[str, CodeRule] | None = None
) -> tuple[str, list[CodeRule]]:
    """The most severe colour the rules give for these triggers, and the rules that
    gave it (green when none applies)."""
    table = colour_table() if table is None else table
    rules = [table[t] for t in set(triggers) if t in table]
    if not rules:
        return Colour.GREEN, []
    top = max(COLOUR_RANK[Colour(r.colour)] for r in rules)
    chosen = [r for r in rules if COLOUR_RANK[Colour(r.colour)] == top]
    return chosen[0].colour, chosen


def colour_on(
    decision: Decision,
    day: date,
    extra: Iterable[str] = (),
    table: dict[str, CodeRule] | None = None,
) -> tuple[str, list[CodeRule]]:
    """A person's colour on `day` under a decision (the phase they are in), plus any
    other triggers (a category such as close_contact, fever, …)."""
    triggers = set(extra)
    place = decision.place_on(day)
    if place in _PLACE_TRIGGER:
        triggers.add(_PLACE_TRIGGER[Place(place)])
    # The category itself colours the first period only: a close contact is red while
    # isolated and yellow in the home monitoring after it (R3.1.3, R3.1.4).
    first = decision.periods[0] if decision.periods else None
    if (
        first is not None
        and first.start <= day <= first.end
        and decision.category
        in (
            Category.CLOSE_CONTACT,
            Category.SECONDARY_CONTACT,
            Category.COMPANION,
        )
    ):
        triggers.add(decision.category)
    return colour_for(triggers, table)


def colour_of_record(
    record: dict[str, Any], day: date, table: dict[str, CodeRule] | None = None
) -> tuple[str, list[CodeRule]]:
    """The colour on `day` for a decision stored as `Decision.as_json()` made it."""
    periods = [
        Period(p["place"], date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))
        for p in record.get("periods", [])
    ]
    stored = Decision(day, None, str(record.get("category", "")), None, periods, "", [])
    return colour_on(stored, day, table=table)
