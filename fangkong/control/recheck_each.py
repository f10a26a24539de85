"""The re-check person by person through the ORM: the benchmark's baseline and the
tests' reference for `recheck.recheck_bulk` (the two must propose exactly the same)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fangkong.control.models import ControlOrder, OrderSource, OrderStatus
from fangkong.control.models_recheck import ProposalStatus, RecheckProposal, RecheckRun
from fangkong.control.recheck import (
    FROM_ARRIVAL,
    FROM_EXPOSURE,
    SKIPPED_REPORTS,
    Current,
    Draft,
    Outcome,
    Scope,
    decide_for,
    draft_for,
    reason_for,
)
from fangkong.policy.engine import Decision
from fangkong.screening.models import ReturneeReport


@dataclass(frozen=True)
class Checked:
    """Whom a proposal is for: the person, the arrival read (none for a contact re-decided
    from their exposure alone) and the node their proposal is listed at."""

    report_id: int | None
    person_id: int
    node_id: int


def _proposal(
    run: RecheckRun,
    arrival: Checked,
    current: Current | None,
    draft: Draft,
    decision: Decision,
    reason: str,
) -> RecheckProposal:
    return RecheckProposal(
        jurisdiction_id=current.node_id if current else arrival.node_id,
        person_id=arrival.person_id,
        report_id=arrival.report_id,
        order_id=current.order_id if current else None,
        order_version=current.version if current else None,
        run=run,
        kind=draft.kind,
        type=draft.type,
        starts_on=draft.starts_on,
        ends_on=draft.ends_on,
        test_days=list(draft.test_days),
        then_type=draft.then_type,
        then_days=draft.then_days,
        then_test_days=list(draft.then_test_days),
        edition=decision.edition.key if decision.edition else "",
        category=decision.category,
        reason=reason,
        fingerprint=draft.fingerprint(current),
    )


def candidates(scope: Scope) -> set[int]:
    """Who a run re-checks (the per-person way reads them first)."""
    found = set(ReturneeReport.objects.filter(scope.report_q()).values_list("person_id", flat=True))
    if scope.codes is None:
        found |= set(
            ControlOrder.objects.filter(status=OrderStatus.ACTIVE).values_list(
                "person_id", flat=True
            )
        )
    return found


def recheck_each(run: RecheckRun, scope: Scope, persons: Iterable[int] | None = None) -> Outcome:
    """The same re-check, one person at a time through the ORM (`persons`: only these
    of the candidates, for a benchmark's sample)."""
    outcome = Outcome()
    chosen = candidates(scope) if persons is None else set(persons)
    for person_id in sorted(chosen):
        report = (
            ReturneeReport.objects.filter(scope.report_q(), person_id=person_id)
            .order_by("-arrived_on", "-id")
            .select_related("jurisdiction")
            .first()
        )
        if report is None:
            report = (
                ReturneeReport.objects.filter(person_id=person_id)
                .exclude(status__in=SKIPPED_REPORTS)
                .order_by("-arrived_on", "-id")
                .select_related("jurisdiction")
                .first()
            )
        order = ControlOrder.objects.filter(person_id=person_id, status=OrderStatus.ACTIVE).first()
        exposure: tuple[Any, ...] = (
            (order.category, order.exposed_on)
            if order is not None
            and order.source == OrderSource.CONTACT
            and order.exposed_on is not None
            and order.category
            else ()
        )
        if report is None and not exposure:
            outcome.no_arrival += 1
            continue
        outcome.checked += 1
        current = (
            Current(
                order.pk,
                order.version,
                order.type,
                order.starts_on,
                order.ends_on,
                order.source,
                order.jurisdiction_id,
            )
            if order
            else None
        )
        if report is not None:
            read: tuple[Any, ...] = (
                report.arrived_on,
                report.origin_code,
                report.origin_place,
                report.left_on,
                "",
            )
            node = report.jurisdiction
        else:
            assert order is not None  # noqa: S101 (an exposure is read from the order)
            read = (None, "", "", None, "")
            node = order.jurisdiction
        decision = decide_for((*read, *exposure), node.path, as_of=scope.as_of)
        draft = draft_for(
            decision, current, scope.as_of, FROM_EXPOSURE if exposure else FROM_ARRIVAL
        )
        arrival = Checked(report.pk if report else None, person_id, node.pk)
        fingerprint = draft.fingerprint(current) if draft else ""
        for stale in RecheckProposal.objects.filter(
            person_id=person_id, status=ProposalStatus.PENDING
        ).exclude(fingerprint=fingerprint):
            stale.status = ProposalStatus.OUTDATED
            stale.version = 1
            stale.save(update_fields=["status", "version"])
            outcome.outdated += 1
        if draft is None:
            continue
        if RecheckProposal.objects.filter(person_id=person_id, fingerprint=fingerprint).exists():
            continue
        _proposal(
            run,
            arrival,
            current,
            draft,
            decision,
            reason_for(draft, decision, current, scope.as_of),
        ).save()
        outcome.proposed += 1
    return outcome
