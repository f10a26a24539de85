"""The re-check when the rules change (issue 16, "When the rules change").

When a risk area is added, changed or lifted, or an edition comes into force, everyone
who arrived from that area inside the look-back and everyone under an active order
that came from an arrival is decided again by the one decision function
(`policy.engine.decide`, with `as_of`: the rules of the day). What differs from what
they are under becomes a `RecheckProposal` in the town commander's review list, with
the reason in words; nothing changes until it is accepted (`recheck_apply.py`).

Two ways to the same proposals:
- `recheck_bulk` (the job): reads the candidates in a few queries, groups them by the
  inputs the decision reads (arrival day, origin, departure day, edition), decides once
  per group with the catalogue in memory, then writes the proposals in bulk;
- `recheck_each.recheck_each`: the same person by person through the ORM, kept as the
  benchmark's baseline and as the test's reference (the two must propose exactly the
  same).

Both run `draft_for` on a decision and the person's active order: that is the only
place that turns a decision into a proposed change. Running again proposes nothing
twice: a proposal is unique per person and fingerprint (what it proposes), and a
pending one that a later run no longer makes is marked outdated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fangkong.control.models import (
    TYPE_RANK,
    ControlOrder,
    OrderSource,
    OrderStatus,
    OrderType,
)
from fangkong.control.models_recheck import (
    ProposalKind,
    ProposalStatus,
    RecheckProposal,
    RecheckRun,
    RunStatus,
)
from fangkong.control.services import PLACE_TYPE
from fangkong.core.copytext import NULL, copy_line, in_blocks
from fangkong.org.models import Jurisdiction
from fangkong.policy.engine import Decision, Exposure, Origin, Rules, decide, edition_for
from fangkong.policy.hooks import RulesChange
from fangkong.policy.models import Place
from fangkong.screening.models import ReportStatus, ReturneeReport

# Reports that say nobody arrived (wrong information, not in town, a duplicate) are
# not re-checked.
SKIPPED_REPORTS = (ReportStatus.WRONG, ReportStatus.NOT_IN_TOWN, ReportStatus.DUPLICATE)
# Only orders that came from an arrival are shortened, ended or made milder by a
# re-check of that arrival; a case's contact, a positive or a judgement by hand is
# only ever made stricter by it.
FROM_ARRIVAL = frozenset({OrderSource.REPORT, OrderSource.PUSHED, OrderSource.RECHECK})
# A contact's order is re-decided from its kept exposure (with the person's arrival, if
# any): such a decision may shorten, end or soften it as well.
FROM_EXPOSURE = FROM_ARRIVAL | {OrderSource.CONTACT}
CHUNK = 2000


@dataclass(frozen=True)
class Current:
    """The person's active order, as read."""

    order_id: int
    version: int
    type: str
    starts_on: date
    ends_on: date
    source: str
    node_id: int


@dataclass(frozen=True)
class Draft:
    """A proposed change, before it is written."""

    kind: str
    type: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    test_days: tuple[int, ...] = ()
    then_type: str = ""
    then_days: int = 0
    then_test_days: tuple[int, ...] = ()

    def fingerprint(self, current: Current | None) -> str:
        parts = [
            self.kind,
            str(current.order_id) if current else "",
            str(current.version) if current else "",
            self.type,
            self.starts_on.isoformat() if self.starts_on else "",
            self.ends_on.isoformat() if self.ends_on else "",
            ",".join(map(str, self.test_days)),
            self.then_type,
            str(self.then_days),
            ",".join(map(str, self.then_test_days)),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass
class Scope:
    """Who a run re-checks: arrivals from these division codes' counties (the engine's
    rule for the rest of a county reaches that far), or every arrival and every active
    order when an edition changed (`codes` None)."""

    as_of: date
    codes: frozenset[str] | None = None
    horizon_days: int = 0

    def report_q(self) -> Q:
        q = Q(
            person__isnull=False,
            arrived_on__gte=self.as_of - timedelta(days=self.horizon_days),
            arrived_on__lte=self.as_of,
        ) & ~Q(status__in=SKIPPED_REPORTS)
        if self.codes is not None:
            county = Q(pk__in=[])
            for prefix in sorted({c[:6] for c in self.codes}):
                county |= Q(origin_code__startswith=prefix)
            q &= county
        return q


def horizon_days(as_of: date, rules: Rules) -> int:
    """How far back arrivals are looked at: the longest arrivals window of an edition
    in force on `as_of` plus its longest measure (someone still inside a period when an
    area is found to have been risky needs an order)."""
    longest = 0
    for edition in rules.editions:
        if edition.effective_from > as_of or (
            edition.effective_to is not None and edition.effective_to <= as_of
        ):
            continue
        days = max(
            (max(m.days, m.within_days) + m.then_days for m in edition.measures.all()),
            default=0,
        )
        longest = max(longest, edition.arrival_window_days + days + 1)
    return longest or 30


# From a decision to a proposal ------------------------------------------------------------


def _day_numbers(dates: Iterable[date], start: date, end: date) -> tuple[int, ...]:
    return tuple((d - start).days + 1 for d in dates if start <= d <= end)


def _fmt(day: date | None) -> str:
    return date_format(day, "DATE_FORMAT") if day else ""


def draft_for(
    decision: Decision,
    current: Current | None,
    as_of: date,
    adjusts: frozenset[str] = FROM_ARRIVAL,
) -> Draft | None:
    """The change a decision calls for against the person's active order (None: none).

    The decision's period that covers `as_of` (or the next one) is compared with the
    order: none and no order — nothing; none and an order from an arrival — end it;
    a period and no order — a new order (with the period after it); a stricter type —
    a stricter order; a milder one — end this order and start the milder one today;
    the same type ending on another day — shorter or longer. `adjusts`: the sources of
    orders the decision may also shorten, end or soften."""
    periods = [p for p in decision.periods if p.end >= as_of and p.place in PLACE_TYPE]
    now = periods[0] if periods else None
    after = periods[1] if len(periods) > 1 else None
    then: dict[str, Any] = {}
    if now is not None and after is not None:
        then = {
            "then_type": PLACE_TYPE[Place(after.place)],
            "then_days": after.days,
            "then_test_days": _day_numbers(after.test_dates, after.start, after.end),
        }
    adjustable = current is not None and current.source in adjusts
    if now is None:
        if current is None or not adjustable:
            return None
        return Draft(ProposalKind.END)
    new_type = PLACE_TYPE[Place(now.place)]
    tests = _day_numbers(now.test_dates, now.start, now.end)
    if current is None:
        return Draft(ProposalKind.NEW, new_type, now.start, now.end, tests, **then)
    rank, current_rank = TYPE_RANK[OrderType(new_type)], TYPE_RANK[OrderType(current.type)]
    if rank > current_rank:
        return Draft(ProposalKind.STRICTER, new_type, now.start, now.end, tests, **then)
    if not adjustable:
        return None
    if rank < current_rank:
        # The milder period runs from today: what was served under the stricter order
        # counts, and its test days from today on are kept.
        tests = _day_numbers(now.test_dates, as_of, now.end)
        return Draft(ProposalKind.MILDER, new_type, as_of, now.end, tests, **then)
    if now.end == current.ends_on:
        return None
    kind = ProposalKind.SHORTEN if now.end < current.ends_on else ProposalKind.EXTEND
    tests = _day_numbers(now.test_dates, current.starts_on, now.end)
    return Draft(kind, new_type, current.starts_on, now.end, tests, **then)


def _where(current: Current | None, as_of: date) -> str:
    if current is None:
        return _("Not under a control order now.")
    return _("Now on day %(day)d of %(days)d of %(type)s.") % {
        "day": max((as_of - current.starts_on).days + 1, 1),
        "days": (current.ends_on - current.starts_on).days + 1,
        "type": OrderType(current.type).label,
    }


# What each kind of proposal says, translated when it is said (English msgids here).
_PROPOSAL_WORDS = {
    ProposalKind.NEW: gettext_noop("Proposed: %(type)s from %(start)s to %(end)s."),
    ProposalKind.STRICTER: gettext_noop("Proposed: %(type)s from %(start)s to %(end)s instead."),
    ProposalKind.EXTEND: gettext_noop("Proposed: extend it to %(end)s (was %(old)s)."),
    ProposalKind.SHORTEN: gettext_noop("Proposed: shorten it to end on %(end)s (was %(old)s)."),
    ProposalKind.MILDER: gettext_noop(
        "Proposed: end %(old_type)s today and continue with %(type)s until %(end)s."
    ),
    ProposalKind.END: gettext_noop("Proposed: end %(old_type)s early."),
}


def _proposal_words(draft: Draft, current: Current | None) -> str:
    values = {
        "type": OrderType(draft.type).label if draft.type else "",
        "start": _fmt(draft.starts_on),
        "end": _fmt(draft.ends_on),
        "old": _fmt(current.ends_on) if current else "",
        "old_type": OrderType(current.type).label if current else "",
    }
    return _(_PROPOSAL_WORDS[ProposalKind(draft.kind)]) % values


def reason_for(
    draft: Draft,
    decision: Decision,
    current: Current | None,
    as_of: date,
    cache: dict[tuple[Any, ...], str] | None = None,
) -> str:
    """The decision's reason, where the person stands, then what is proposed, in
    words. `cache` keeps the pieces across many people (a run's few distinct ones)."""
    pieces = {} if cache is None else cache
    at = ("where", *((current.type, current.starts_on, current.ends_on) if current else ()))
    where = pieces.get(at)
    if where is None:
        where = pieces[at] = _where(current, as_of)
    said = ("proposal", draft, *((current.type, current.ends_on) if current else ()))
    proposal = pieces.get(said)
    if proposal is None:
        proposal = pieces[said] = _proposal_words(draft, current)
    frame = pieces.get(("frame",))
    if frame is None:
        # Translators: the decision's reason, where the person stands, what is proposed.
        frame = pieces[("frame",)] = _("%(decision)s %(where)s %(proposal)s")
    return frame % {"decision": decision.reason, "where": where, "proposal": proposal}


# Writing ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a run found: persons re-checked, groups decided (the fast path), proposals
    made, pending ones outdated, persons under an order with no arrival to re-check."""

    checked: int = 0
    groups: int = 0
    proposed: int = 0
    outdated: int = 0
    no_arrival: int = 0


PROPOSAL_COLUMNS = (
    "jurisdiction_id",
    "person_id",
    "report_id",
    "order_id",
    "order_version",
    "run_id",
    "kind",
    "type",
    "starts_on",
    "ends_on",
    "test_days",
    "then_type",
    "then_days",
    "then_test_days",
    "edition",
    "category",
    "reason",
    "fingerprint",
    "status",
    "note",
    "version",
    "created_at",
)


def _shared(
    run: RecheckRun,
    current: Current | None,
    draft: Draft,
    decision: Decision,
    reason: str,
    now: Any,
) -> tuple[Any, ...]:
    """The columns of a proposal row after (node, person, report, order, order version):
    `_proposal`'s values, column by column, the same for a whole group."""
    return (
        run.pk,
        draft.kind,
        draft.type,
        draft.starts_on,
        draft.ends_on,
        json.dumps(list(draft.test_days)),
        draft.then_type,
        draft.then_days,
        json.dumps(list(draft.then_test_days)),
        decision.edition.key if decision.edition else "",
        decision.category,
        reason,
        draft.fingerprint(current),
        ProposalStatus.PENDING,
        "",
        0,
        now,
    )


# A proposal row as made: its own columns (node, person, report, order, order version)
# and the rest, one tuple shared by every row of a group (`_shared`).
Row = tuple[tuple[Any, ...], tuple[Any, ...]]
HEAD = 5


def _lines(rows: list[Row]) -> Iterator[str]:
    """The rows as COPY text lines. Each distinct shared part is formatted once and the
    own columns are numbers (or none), so a row costs one join: the driver's per-value
    adaptation took most of a million-person run's write."""
    tails: dict[tuple[Any, ...], str] = {}
    for head, tail in rows:
        text = tails.get(tail)
        if text is None:
            text = tails[tail] = "\t" + copy_line(tail)
        yield "\t".join([NULL if v is None else str(v) for v in head]) + text


def _copy_lines(rows: list[Row]) -> Iterator[bytes]:
    return in_blocks(_lines(rows))


def _insert(rows: list[Row]) -> int:
    """Insert proposal rows, skipping any the unique constraints refuse (made before);
    COPY through a temporary table on PostgreSQL, executemany on SQLite. Returns how
    many were inserted."""
    if not rows:
        return 0
    table = RecheckProposal._meta.db_table
    columns = ", ".join(PROPOSAL_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Straight into the table: nothing this run makes was made before (`_write`
            # left those out), so only a run at the same time can collide, and then the
            # rows go again through a temporary table, skipping the ones it made.
            try:
                with (
                    transaction.atomic(savepoint=True),
                    # The driver's own COPY: its errors made Django's, as execute()'s are.
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                ):
                    for block in _copy_lines(rows):
                        copy.write(block)
                return len(rows)
            except IntegrityError:
                pass
            cursor.execute(
                f"CREATE TEMP TABLE recheck_in ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY recheck_in ({columns}) FROM STDIN") as copy:
                for block in _copy_lines(rows):
                    copy.write(block)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM recheck_in "  # noqa: S608
                "ON CONFLICT DO NOTHING"
            )
            inserted = cursor.rowcount
            cursor.execute("DROP TABLE recheck_in")
            return int(inserted)
        marks = ", ".join("%s" for _c in PROPOSAL_COLUMNS)
        inserted = 0
        for i in range(0, len(rows), 50_000):
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608
                "ON CONFLICT DO NOTHING",
                [(*head, *tail) for head, tail in rows[i : i + 50_000]],
            )
            inserted += max(int(cursor.rowcount), 0)
        return inserted


def _raw(queryset: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a `values_list` queryset straight from the driver: without the ORM's
    per-value converters (dates stay ISO text on SQLite; see `_as_date`)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10_000):
            yield from rows


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _write(run: RecheckRun, checked: Q, made: list[Row], outcome: Outcome) -> None:
    """Outdate the pending proposals of the persons checked (`checked`: a filter on
    `person_id`) that this run does not make again, then insert the new ones; those
    already made, whatever became of them, are not made again."""
    fingerprint_at = PROPOSAL_COLUMNS.index("fingerprint") - HEAD
    wanted = {head[1]: tail[fingerprint_at] for head, tail in made}
    known: set[tuple[int, str]] = set()
    stale: list[int] = []
    for pk, person_id, fingerprint, status in _raw(
        RecheckProposal.objects.filter(checked).values_list(
            "pk", "person_id", "fingerprint", "status"
        )
    ):
        known.add((person_id, fingerprint))
        if status == ProposalStatus.PENDING and wanted.get(person_id) != fingerprint:
            stale.append(pk)
    for i in range(0, len(stale), CHUNK):
        outcome.outdated += RecheckProposal.objects.filter(
            pk__in=stale[i : i + CHUNK], status=ProposalStatus.PENDING
        ).update(status=ProposalStatus.OUTDATED, version=1)
    fresh = (
        [row for row in made if (row[0][1], row[1][fingerprint_at]) not in known] if known else made
    )
    outcome.proposed += _insert(fresh)


# The fast path ---------------------------------------------------------------------------


ARRIVAL_FIELDS = (
    "pk",
    "person_id",
    "jurisdiction_id",
    "origin_code",
    "origin_place",
    "left_on",
    "arrived_on",
)
CURRENT_FIELDS = ("pk", "version", "type", "starts_on", "ends_on", "source", "jurisdiction_id")


def _latest(rows: Iterable[tuple[Any, ...]]) -> dict[int, tuple[Any, ...]]:
    """Each person's latest arrival (by arrival day, then id), as raw rows."""
    latest: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        held = latest.get(row[1])
        if held is None or (row[6], row[0]) > (held[6], held[0]):
            latest[row[1]] = row
    return latest


def _current(row: tuple[Any, ...]) -> Current:
    pk, version, type_, starts, ends, source, node = row
    return Current(pk, version, type_, _as_date(starts), _as_date(ends), source, node)


def decide_for(
    key: tuple[Any, ...], path: str, *, as_of: date, rules: Rules | None = None
) -> Decision:
    """The decision for what a re-check reads of a person: `key` is (arrived, origin
    code, origin place, left, edition) of their latest arrival, empty when they have
    none, then (category, last exposure) when their order is a contact's."""
    arrived, code, place, left = key[:4]
    exposures = [Exposure(key[5], key[6])] if len(key) > 5 else []
    on = _as_date(arrived) if arrived is not None else exposures[0].last_on
    return decide(
        on,
        [Origin(code, _as_date(left), place)] if code else [],
        exposures,
        path=path,
        as_of=as_of,
        rules=rules,
    )


def recheck_bulk(run: RecheckRun, scope: Scope, rules: Rules | None = None) -> Outcome:
    """Re-check every candidate in a few queries: group by what the decision reads,
    decide once per group, propose per person in memory, write in bulk.

    Most people are under no order: their proposal depends on their group alone, so it
    is made once per group and only the person's ids are added per person."""
    rules = rules or Rules.load()
    outcome = Outcome()
    paths = dict(Jurisdiction.objects.values_list("pk", "path"))
    in_scope = ReturneeReport.objects.filter(scope.report_q())
    arrivals = _latest(_raw(in_scope.values_list(*ARRIVAL_FIELDS)))
    active = ControlOrder.objects.filter(status=OrderStatus.ACTIVE)
    # Persons are named by subqueries, never by long lists of ids.
    checked = Q(person_id__in=in_scope.values("person_id"))
    if scope.codes is not None:
        # An area's change concerns only those who arrived from its county.
        active = active.filter(checked)
    else:
        checked |= Q(person_id__in=active.values("person_id"))
    currents = {
        row[0]: _current(row[1:]) for row in _raw(active.values_list("person_id", *CURRENT_FIELDS))
    }
    if scope.codes is None:
        earlier = _latest(
            _raw(
                ReturneeReport.objects.filter(person_id__in=active.values("person_id"))
                .exclude(status__in=SKIPPED_REPORTS)
                .values_list(*ARRIVAL_FIELDS)
            )
        )
        for person_id in currents:
            if person_id not in arrivals and person_id in earlier:
                arrivals[person_id] = earlier[person_id]
    exposures: dict[int, tuple[str, date]] = {
        person_id: (category, _as_date(exposed_on))
        for person_id, category, exposed_on in _raw(
            active.filter(source=OrderSource.CONTACT, exposed_on__isnull=False)
            .exclude(category="")
            .values_list("person_id", "category", "exposed_on")
        )
    }
    if scope.codes is None:
        outcome.no_arrival = sum(1 for p in currents if p not in arrivals and p not in exposures)
    editions: dict[int, str] = {}
    decisions: dict[tuple[Any, ...], Decision] = {}
    shared: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}
    made: list[Row] = []
    now = timezone.now()

    def decision_of(key: tuple[Any, ...], node_id: int) -> Decision:
        decision = decisions.get(key)
        if decision is None:
            decision = decisions[key] = decide_for(
                key, paths.get(node_id, ""), as_of=scope.as_of, rules=rules
            )
        return decision

    reasons: dict[tuple[Any, ...], str] = {}  # whole reasons, made once per distinct words
    pieces: dict[tuple[Any, ...], str] = {}  # and their parts, shared between reasons

    def proposed(key: tuple[Any, ...], node_id: int, current: Current | None) -> Any:
        decision = decision_of(key, node_id)
        draft = draft_for(
            decision, current, scope.as_of, FROM_EXPOSURE if len(key) > 5 else FROM_ARRIVAL
        )
        if draft is None:
            return None
        # The words depend on the group, the draft and where the person stands.
        words = (
            key,
            draft,
            *((current.type, current.starts_on, current.ends_on) if current else ()),
        )
        reason = reasons.get(words)
        if reason is None:
            reason = reasons[words] = reason_for(
                draft, decision, current, scope.as_of, cache=pieces
            )
        return _shared(run, current, draft, decision, reason, now)

    def edition_at(node_id: int) -> str:
        edition = editions.get(node_id)
        if edition is None:
            found = edition_for(scope.as_of, paths.get(node_id, ""), rules)
            edition = editions[node_id] = found.key if found else ""
        return edition

    # The edition in force where each arrival is listed: looked up once per place.
    edition_of = {node_id: edition_at(node_id) for node_id in {a[2] for a in arrivals.values()}}
    for person_id, (report_id, _p, node_id, code, place, left, arrived) in arrivals.items():
        key = (arrived, code, place, left, edition_of[node_id], *exposures.get(person_id, ()))
        current = currents.get(person_id)
        if current is None:
            if key in shared:
                common = shared[key]
            else:
                common = shared[key] = proposed(key, node_id, None)
            if common is not None:
                made.append(((node_id, person_id, report_id, None, None), common))
            continue
        common = proposed(key, node_id, current)
        if common is not None:
            made.append(
                (
                    (current.node_id, person_id, report_id, current.order_id, current.version),
                    common,
                )
            )
    # Contacts with no arrival: re-decided from their exposure alone.
    for person_id, exposure in exposures.items():
        if person_id in arrivals:
            continue
        current = currents[person_id]
        key = (None, "", "", None, edition_at(current.node_id), *exposure)
        common = proposed(key, current.node_id, current)
        if common is not None:
            made.append(
                ((current.node_id, person_id, None, current.order_id, current.version), common)
            )
    outcome.checked = len(arrivals) + sum(1 for p in exposures if p not in arrivals)
    outcome.groups = len(decisions)
    _write(run, checked, made, outcome)
    return outcome


# Runs ------------------------------------------------------------------------------------


def _change_json(change: RulesChange) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "label": change.label,
        "action": change.action,
        "codes": list(change.area_codes),
        "edition": change.edition_key,
    }


def recheck_request(change: RulesChange, enqueue: Callable[[int], object] | None = None) -> int:
    """Registered with policy (`RULES_CHANGED`): ask for a re-check. Changes arriving
    while a run waits in the queue join it (an import of fifty areas is one run)."""
    with transaction.atomic():
        run = (
            RecheckRun.objects.select_for_update()
            .filter(status=RunStatus.QUEUED)
            .order_by("id")
            .first()
        )
        if run is not None:
            run.changes = [*run.changes, _change_json(change)]
            run.save(update_fields=["changes"])
            return run.pk
        run = RecheckRun.objects.create(changes=[_change_json(change)])
        transaction.on_commit(lambda: (enqueue or _enqueue)(run.pk))
    return run.pk


def _enqueue(run_id: int) -> None:
    from fangkong.control.tasks_recheck import recheck_task

    recheck_task.enqueue(run_id)


def scope_of(run: RecheckRun, as_of: date, rules: Rules) -> Scope:
    codes: set[str] = set()
    everyone = False
    for change in run.changes:
        if change.get("kind") == "area":
            codes.update(str(c) for c in change.get("codes", []))
        else:
            everyone = True
    return Scope(
        as_of=as_of,
        codes=None if everyone or not codes else frozenset(codes),
        horizon_days=horizon_days(as_of, rules),
    )


def recheck_run(run_id: int, as_of: date | None = None) -> RecheckRun:
    """Run a queued re-check (the job). A run already done is not run again."""
    with transaction.atomic():
        run = RecheckRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.QUEUED:
            return run
        run.status = RunStatus.RUNNING
        run.started_at = timezone.now()
        run.as_of = as_of or timezone.localdate()
        run.save()
    rules = Rules.load()
    try:
        with transaction.atomic():
            outcome = recheck_bulk(run, scope_of(run, run.as_of, rules), rules)
    except Exception as e:
        RecheckRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(e)[:500], finished_at=timezone.now()
        )
        raise
    run.status = RunStatus.DONE
    run.checked, run.groups = outcome.checked, outcome.groups
    run.proposed, run.outdated = outcome.proposed, outcome.outdated
    run.finished_at = timezone.now()
    run.save()
    return run


def rules_due_today(today: date | None = None) -> int:
    """The morning scan: an edition coming into force or ending today, an area becoming
    risky or lifted today (entered in advance) changes the rules without anyone saving
    anything, so the scan asks for the re-check that a save would have asked for."""
    from fangkong.policy.models import Edition, RiskArea

    today = today or timezone.localdate()
    asked = 0
    for edition in Edition.objects.filter(Q(effective_from=today) | Q(effective_to=today)):
        recheck_request(RulesChange(kind="edition", label=edition.name, edition_key=edition.key))
        asked += 1
    for area in RiskArea.objects.filter(Q(effective_from=today) | Q(effective_to=today)):
        action = "lifted" if area.effective_to == today else "created"
        recheck_request(
            RulesChange(kind="area", label=area.name, action=action, area_codes=(area.code,))
        )
        asked += 1
    return asked
