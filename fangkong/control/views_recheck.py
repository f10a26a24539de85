"""The review list of the re-check's proposals (thin: `recheck_apply` decides and
reads). Only holders of control.release see it: a town's commander, their town's."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.control import recheck_apply
from fangkong.control.models_recheck import ProposalKind, ProposalStatus, RecheckProposal
from fangkong.core.paging import CappedPaginator
from fangkong.org.access import requires
from fangkong.org.roles import Perm

BATCH_MAX = 500


@require_GET
@requires(Perm.CONTROL_RELEASE)
def review_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", ProposalStatus.PENDING)
    if status not in ProposalStatus.values:
        status = ProposalStatus.PENDING
    kind = request.GET.get("kind", "")
    rows = recheck_apply.proposals(
        request.user, status=status, kind=kind if kind in ProposalKind.values else ""
    )
    page = CappedPaginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "control/recheck_list.html",
        {
            "page": page,
            "status": status,
            "kind": kind,
            "statuses": list(ProposalStatus),
            "kinds": list(ProposalKind),
            "pending": status == ProposalStatus.PENDING,
        },
    )


@require_GET
@requires(Perm.CONTROL_RELEASE)
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = recheck_apply.proposal_for_user(request.user, proposal_id)
    return render(request, "control/recheck_proposal.html", {"p": proposal})


def _decide(request: HttpRequest, proposal: RecheckProposal, accept: bool) -> None:
    try:
        if accept:
            recheck_apply.proposal_accept(proposal_id=proposal.pk, actor=request_user(request))
            messages.success(request, _("Accepted and applied."))
        else:
            recheck_apply.proposal_reject(
                proposal_id=proposal.pk,
                actor=request_user(request),
                note=request.POST.get("note", ""),
            )
            messages.success(request, _("Rejected: nothing changes."))
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))


@require_POST
@requires(Perm.CONTROL_RELEASE, writes=("POST",))
def proposal_accept(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = recheck_apply.proposal_for_user(request.user, proposal_id, write=True)
    _decide(request, proposal, accept=True)
    return redirect("control:recheck_proposal", proposal_id=proposal.pk)


@require_POST
@requires(Perm.CONTROL_RELEASE, writes=("POST",))
def proposal_reject(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = recheck_apply.proposal_for_user(request.user, proposal_id, write=True)
    _decide(request, proposal, accept=False)
    return redirect("control:recheck_proposal", proposal_id=proposal.pk)


@require_POST
@requires(Perm.CONTROL_RELEASE, writes=("POST",))
def batch(request: HttpRequest) -> HttpResponse:
    """Accept or reject the ticked proposals; each is checked at its own node, and the
    ones refused are named with the reason."""
    ids = [int(v) for v in request.POST.getlist("ids")[:BATCH_MAX] if v.isdigit()]
    # visible_to-narrowed: another town's ids are simply not found.
    chosen = list(recheck_apply.proposals(request.user).filter(pk__in=ids))
    accept = request.POST.get("action") == "accept"
    done = recheck_apply.proposals_decide(
        proposals=chosen,
        actor=request_user(request),
        accept=accept,
        note=request.POST.get("note", ""),
    )
    messages.success(
        request,
        ngettext("%(n)d proposal decided.", "%(n)d proposals decided.", len(done.done))
        % {"n": len(done.done)},
    )
    for pk, why in done.skipped:
        messages.error(request, _("Proposal %(id)d: %(why)s") % {"id": pk, "why": why})
    return redirect("control:recheck")
