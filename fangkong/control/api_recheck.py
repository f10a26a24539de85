"""API of the re-check's review list: list the proposals of the caller's area, one
proposal, accept or reject one, or a batch. Every operation on a proposal loads it
through `recheck_apply.proposal_for_user`; deciding a proposal again answers with
what was decided (idempotent), and accepting one already rejected is refused (400)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.control import recheck_apply
from fangkong.control.models_recheck import ProposalKind, ProposalStatus, RecheckProposal
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm

router = ScopedRouter(tags=["control"])

DayNumber = Annotated[int, Field(ge=0, le=400)]


class RecheckProposalOut(Schema):
    id: Id
    person: str = Field(description="Masked name")
    node: str
    kind: str
    status: str
    type: str
    starts_on: date | None
    ends_on: date | None
    test_days: list[DayNumber]
    then_type: str
    then_days: DayNumber
    order: Id | None
    edition: str
    reason: str
    version: Count

    @classmethod
    def of(cls, p: RecheckProposal) -> RecheckProposalOut:
        return cls(
            id=p.pk,
            person=mask_name(p.person.name),
            node=p.jurisdiction.code,
            kind=p.kind,
            status=p.status,
            type=p.type,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            test_days=[int(d) for d in p.test_days],
            then_type=p.then_type,
            then_days=p.then_days,
            order=p.order_id,
            edition=p.edition,
            reason=p.reason,
            version=p.version,
        )


@router.read("/proposals", perm=Perm.CONTROL_RELEASE, response=Page[RecheckProposalOut])
def list_proposals(
    request: HttpRequest,
    cursor: Cursor = "",
    limit: Limit = 50,
    status: ProposalStatus = ProposalStatus.PENDING,
    kind: ProposalKind | None = None,
) -> Page[RecheckProposalOut]:
    rows, after = cursor_page(
        recheck_apply.proposals(request.user, status=status, kind=kind or ""),
        cursor=cursor,
        limit=limit,
    )
    return Page[RecheckProposalOut](
        items=[RecheckProposalOut.of(p) for p in rows], next_cursor=after
    )


@router.read("/proposals/{proposal_id}", perm=Perm.CONTROL_RELEASE, response=RecheckProposalOut)
def get_proposal(request: HttpRequest, proposal_id: Id) -> RecheckProposalOut:
    return RecheckProposalOut.of(recheck_apply.proposal_for_user(request.user, proposal_id))


def _may_decide(user: object, kwargs: dict[str, object]) -> object:
    """Before the body is parsed: one answer (404) for missing and not yours."""
    try:
        return recheck_apply.proposal_for_user(user, int(str(kwargs["proposal_id"])), write=True)
    except PermissionDenied:
        raise Http404 from None


class RecheckRejectIn(Schema):
    note: Annotated[str, Field(max_length=300)] = ""


@router.write(
    "/proposals/{proposal_id}/accept",
    perm=Perm.CONTROL_RELEASE,
    assignee=_may_decide,
    response=RecheckProposalOut,
)
def accept_proposal(request: HttpRequest, proposal_id: Id) -> RecheckProposalOut:
    proposal = recheck_apply.proposal_for_user(request.user, proposal_id, write=True)
    done = recheck_apply.proposal_accept(proposal_id=proposal.pk, actor=request_user(request))
    return RecheckProposalOut.of(recheck_apply.proposal_for_user(request.user, done.pk))


@router.write(
    "/proposals/{proposal_id}/reject",
    perm=Perm.CONTROL_RELEASE,
    assignee=_may_decide,
    response=RecheckProposalOut,
)
def reject_proposal(
    request: HttpRequest, proposal_id: Id, body: RecheckRejectIn
) -> RecheckProposalOut:
    proposal = recheck_apply.proposal_for_user(request.user, proposal_id, write=True)
    done = recheck_apply.proposal_reject(
        proposal_id=proposal.pk,
        actor=request_user(request),
        note=body.note,
    )
    return RecheckProposalOut.of(recheck_apply.proposal_for_user(request.user, done.pk))


class RecheckBatchIn(Schema):
    ids: Annotated[list[Id], Field(min_length=1, max_length=500)]
    accept: bool
    note: Annotated[str, Field(max_length=300)] = ""


class RecheckSkippedOut(Schema):
    id: Id
    reason: str


class RecheckBatchOut(Schema):
    done: list[Id]
    skipped: list[RecheckSkippedOut]
    not_found: list[Id]


@router.write("/decide", perm=Perm.CONTROL_RELEASE, response=RecheckBatchOut)
def decide_batch(request: HttpRequest, body: RecheckBatchIn) -> RecheckBatchOut:
    """Accept or reject many; each checked at its own node. Ids outside the caller's
    area are listed as not found, like missing ones."""
    chosen = list(recheck_apply.visible(request.user).filter(pk__in=body.ids))
    done = recheck_apply.proposals_decide(
        proposals=chosen,
        actor=request_user(request),
        accept=body.accept,
        note=body.note,
    )
    found = {p.pk for p in chosen}
    return RecheckBatchOut(
        done=done.done,
        skipped=[RecheckSkippedOut(id=pk, reason=why) for pk, why in done.skipped],
        not_found=[pk for pk in body.ids if pk not in found],
    )
