"""The commander's review of the re-check's proposals: reads (scoped) and the writes
that accept or reject them. Accepting applies the change through control's own
services and helpers (a stricter or new order through `_create_chain`, which
supersedes with history; a shorter, longer, milder or ended order here, with the
order's events, sampling orders cancelled or added, and the audit log). A proposal
is decided once: deciding it again answers with what was decided (idempotent)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.models import (
    AT_SITE,
    ControlOrder,
    OrderSource,
    OrderStatus,
)
from fangkong.control.models_recheck import (
    ProposalKind,
    ProposalStatus,
    RecheckProposal,
)
from fangkong.control.services import (
    Phase,
    _audit,
    _bump,
    _cancel_samples,
    _create_chain,
    _event,
    _schedule,
    default_team,
)
from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person

# Reads --------------------------------------------------------------------------------


def proposal_for_user(user: Any, proposal_id: int, *, write: bool = False) -> RecheckProposal:
    """One proposal, for the commander who reviews it (the same 404 for missing and not
    yours; 403 to accept or reject without control.release at its node)."""
    return object_for_user(
        RecheckProposal.objects.select_related("person", "jurisdiction", "order", "run"),
        user,
        Perm.CONTROL_RELEASE,
        write=Perm.CONTROL_RELEASE if write else None,
        pk=proposal_id,
    )


def visible(user: Any) -> QuerySet[RecheckProposal]:
    """Every proposal of the viewer's area, whatever its status."""
    return RecheckProposal.objects.visible_to(user, Perm.CONTROL_RELEASE)


def proposals(
    user: Any, *, status: str = ProposalStatus.PENDING, kind: str = ""
) -> QuerySet[RecheckProposal]:
    """The review list of the viewer's area: one town's commander sees their town's."""
    rows = visible(user).filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.select_related("person", "jurisdiction", "order").order_by(
        "jurisdiction__path", "id"
    )


def pending_count(user: Any) -> int:
    return (
        RecheckProposal.objects.visible_to(user, Perm.CONTROL_RELEASE)
        .filter(status=ProposalStatus.PENDING)
        .count()
    )


# Writes ------------------------------------------------------------------------------


def _locked(proposal_id: int) -> RecheckProposal:
    return (
        RecheckProposal.objects.select_for_update(of=("self",))
        .select_related("person__jurisdiction", "person__household", "jurisdiction")
        .get(pk=proposal_id)
    )


def _audit_decision(proposal: RecheckProposal, actor: User, what: str) -> None:
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=proposal,
        object_repr=f"re-check proposal {proposal.pk}: {what} (person {proposal.person_id})",
        jurisdiction_path=proposal.jurisdiction.path,
        detail={"kind": proposal.kind, "order": proposal.order_id, "run": proposal.run_id},
    )


def _decided(proposal: RecheckProposal, status: str) -> bool:
    """True when the proposal was already decided this way (a resent request)."""
    if proposal.status == status:
        return True
    if proposal.status != ProposalStatus.PENDING:
        raise ValidationError(
            _("This proposal is already %(status)s.")
            % {"status": ProposalStatus(proposal.status).label}
        )
    return False


def _current_order(proposal: RecheckProposal) -> ControlOrder | None:
    """The order the proposal was made against, as it was then; refused when it has
    changed since (released, extended, superseded): the next re-check proposes again."""
    if proposal.order_id is None:
        active = ControlOrder.objects.filter(
            person_id=proposal.person_id, status=OrderStatus.ACTIVE
        ).exists()
        if active:
            raise ValidationError(
                _(
                    "The person was put under control since this was proposed; "
                    "the next re-check will say what is still to change."
                )
            )
        return None
    order = (
        ControlOrder.objects.select_for_update(of=("self",))
        .select_related("jurisdiction", "person__household", "room")
        .get(pk=proposal.order_id)
    )
    if order.status != OrderStatus.ACTIVE or order.version != proposal.order_version:
        raise ValidationError(
            _(
                "The order changed since this was proposed; "
                "the next re-check will say what is still to change."
            )
        )
    return order


def _phases(proposal: RecheckProposal) -> list[Phase]:
    assert proposal.starts_on is not None and proposal.ends_on is not None  # noqa: S101
    phases = [
        Phase(
            proposal.type,
            proposal.starts_on,
            (proposal.ends_on - proposal.starts_on).days + 1,
            tuple(proposal.test_days),
        )
    ]
    if proposal.then_type and proposal.then_days:
        phases.append(
            Phase(
                proposal.then_type,
                phases[0].ends_on + timedelta(days=1),
                proposal.then_days,
                tuple(proposal.then_test_days),
            )
        )
    return phases


def _replace_followers(
    order: ControlOrder, proposal: RecheckProposal, actor: User, now: datetime
) -> None:
    """The planned orders after `order` give way to the period the proposal names."""
    for follower in ControlOrder.objects.select_for_update().filter(
        previous=order, status=OrderStatus.PLANNED
    ):
        follower.status = OrderStatus.SUPERSEDED
        _bump(follower)
        _event(follower, actor, "superseded", proposal.reason)
        _audit(follower, actor, AuditAction.UPDATE, "superseded", recheck=proposal.pk)
        _cancel_samples(follower, actor, _("The rules changed."))
    if not proposal.then_type or not proposal.then_days:
        return
    start = order.ends_on + timedelta(days=1)
    follower = ControlOrder.objects.create(
        person=order.person,
        jurisdiction=order.jurisdiction,
        type=proposal.then_type,
        status=OrderStatus.PLANNED,
        starts_on=start,
        ends_on=start + timedelta(days=proposal.then_days - 1),
        household=order.person.household,
        source=OrderSource.RECHECK,
        edition=proposal.edition,
        category=proposal.category,
        test_days=list(proposal.then_test_days),
        checks_per_day=order.checks_per_day,
        reason=proposal.reason,
        previous=order,
        created_by=actor,
        **default_team(order.person),
    )
    _event(follower, actor, "planned", proposal.reason)
    _audit(follower, actor, AuditAction.CREATE, "planned", recheck=proposal.pk)
    _schedule(follower, now)


def _resize(order: ControlOrder, proposal: RecheckProposal, actor: User, now: datetime) -> None:
    """A shorter or longer period of the same order: tests after the new end go (their
    sampling orders cancelled), test days newly inside it are scheduled."""
    assert proposal.ends_on is not None  # noqa: S101
    before = order.ends_on
    order.ends_on = proposal.ends_on
    order.test_days = list(proposal.test_days)
    order.release_proposed_on = None
    _bump(order)
    last = order.days
    dropped = list(order.tests.filter(day__gt=last))
    if dropped:
        _cancel_samples_of(order, dropped, actor)
    have = set(order.tests.values_list("day", flat=True))
    missing = [d for d in proposal.test_days if d not in have and 1 <= d <= last]
    if missing:
        order.test_days = missing
        _schedule(order, now)
        order.test_days = list(proposal.test_days)
    _event(order, actor, proposal.kind, proposal.reason, before=before.isoformat())
    _audit(order, actor, AuditAction.UPDATE, proposal.kind, recheck=proposal.pk)
    _replace_followers(order, proposal, actor, now)


def _cancel_samples_of(order: ControlOrder, tests: Sequence[Any], actor: User) -> None:
    from fangkong.workorders.models import OPEN_STATUSES, Action, Status, WorkOrder, WorkOrderEvent
    from fangkong.workorders.services import local_day, tally_add

    works = list(
        WorkOrder.objects.select_for_update().filter(
            pk__in=[t.work_order_id for t in tests if t.work_order_id], status__in=OPEN_STATUSES
        )
    )
    for work in works:
        WorkOrder.objects.filter(pk=work.pk).update(
            status=Status.CANCELLED, version=work.version + 1, updated_at=timezone.now()
        )
        WorkOrderEvent.objects.create(
            order=work,
            actor=actor,
            action=Action.CANCELLED,
            from_status=work.status,
            to_status=Status.CANCELLED,
            note=_("The rules changed: the test falls after the new end."),
        )
    tally_add(((w.jurisdiction_id, w.kind, local_day(w.due_at)), -1, 0) for w in works)
    order.tests.filter(pk__in=[t.pk for t in tests]).delete()


def _end(order: ControlOrder, proposal: RecheckProposal, actor: User, today: date) -> None:
    """End an order early because the rules changed: released today, its open sampling
    orders and its planned followers cancelled, its room left to be cleaned."""
    from fangkong.control.sites import room_leave

    order.status = OrderStatus.RELEASED
    order.released_on = today
    order.released_by = actor
    order.notice_code = secrets.token_urlsafe(12)
    _bump(order)
    _event(order, actor, "ended_early", proposal.reason)
    _audit(order, actor, AuditAction.UPDATE, "ended early", recheck=proposal.pk)
    _cancel_samples(order, actor, _("The rules changed: the order ended early."))
    for follower in ControlOrder.objects.select_for_update().filter(
        previous=order, status=OrderStatus.PLANNED
    ):
        follower.status = OrderStatus.SUPERSEDED
        _bump(follower)
        _event(follower, actor, "superseded", proposal.reason)
        _cancel_samples(follower, actor, _("The rules changed."))
    if order.room is not None:
        room_leave(room=order.room, person=order.person)


def _new_orders(
    proposal: RecheckProposal, person: Person, actor: User, now: datetime
) -> list[ControlOrder]:
    from fangkong.control.sites import find_room

    phases = _phases(proposal)
    room = find_room(person) if phases[0].type in AT_SITE else None
    if phases[0].type in AT_SITE and room is None:
        raise ValidationError(_("No room is free at a site of the person's town."))
    made = _create_chain(
        person=person,
        phases=phases,
        source=OrderSource.RECHECK,
        actor=actor,
        reason=proposal.reason,
        room=room,
        pm=None,
        now=now,
    )
    ControlOrder.objects.filter(pk__in=[o.pk for o in made.orders]).update(
        edition=proposal.edition, category=proposal.category
    )
    return made.orders


@transaction.atomic
def proposal_accept(
    *, proposal_id: int, actor: User, now: datetime | None = None
) -> RecheckProposal:
    """Apply the proposal through the control services; refused with the reason (and
    nothing changed) when the order changed since or no room is free."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    proposal = _locked(proposal_id)
    if not has_perm(actor, Perm.CONTROL_RELEASE, proposal.jurisdiction.path):
        raise PermissionDenied
    if _decided(proposal, ProposalStatus.ACCEPTED):
        return proposal
    order = _current_order(proposal)
    kind = ProposalKind(proposal.kind)
    if kind in (ProposalKind.NEW, ProposalKind.STRICTER):
        _new_orders(proposal, proposal.person, actor, now)
    elif order is not None and kind in (ProposalKind.SHORTEN, ProposalKind.EXTEND):
        if proposal.ends_on is not None and proposal.ends_on < today:
            _end(order, proposal, actor, today)
        else:
            _resize(order, proposal, actor, now)
    elif order is not None and kind == ProposalKind.END:
        _end(order, proposal, actor, today)
    elif order is not None and kind == ProposalKind.MILDER:
        _end(order, proposal, actor, today)
        _new_orders(proposal, proposal.person, actor, now)
    proposal.status = ProposalStatus.ACCEPTED
    proposal.decided_by = actor
    proposal.decided_at = now
    proposal.version += 1
    proposal.save()
    _audit_decision(proposal, actor, "accepted")
    return proposal


@transaction.atomic
def proposal_reject(
    *, proposal_id: int, actor: User, note: str = "", now: datetime | None = None
) -> RecheckProposal:
    """Keep things as they are; the same proposal is never made again."""
    proposal = _locked(proposal_id)
    if not has_perm(actor, Perm.CONTROL_RELEASE, proposal.jurisdiction.path):
        raise PermissionDenied
    if _decided(proposal, ProposalStatus.REJECTED):
        return proposal
    proposal.status = ProposalStatus.REJECTED
    proposal.decided_by = actor
    proposal.decided_at = now or timezone.now()
    proposal.note = note.strip()[:300]
    proposal.version += 1
    proposal.save()
    _audit_decision(proposal, actor, "rejected")
    return proposal


@dataclass
class Batch:
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (proposal id, why)


def proposals_decide(
    *, proposals: Sequence[RecheckProposal], actor: User, accept: bool, note: str = ""
) -> Batch:
    """A batch: each proposal in its own transaction, so one refused (the order changed,
    no room free) leaves the others done and says why."""
    batch = Batch()
    for proposal in proposals:
        try:
            if accept:
                proposal_accept(proposal_id=proposal.pk, actor=actor)
            else:
                proposal_reject(proposal_id=proposal.pk, actor=actor, note=note)
        except ValidationError as e:
            batch.skipped.append((proposal.pk, " ".join(e.messages)))
            continue
        except IntegrityError:
            batch.skipped.append((proposal.pk, _("Someone else changed this person's order.")))
            continue
        batch.done.append(proposal.pk)
    return batch
