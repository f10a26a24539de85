"""Reads of screening, scoped to the viewer: one accessor per entity.

Reports, pushed rows and sweep visits are scoped by their node like persons. Pushed
lists and sweeps are organised at a town for everyone under it: they are seen by anyone
whose area is at, under or above their node, each seeing only their own rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm
from fangkong.org.scoping import at_or_above_q
from fangkong.screening.models import PushedList, PushedRow, ReturneeReport, Sweep


def returnee_report_for_user(user: Any, report_id: int, *, write: bool = False) -> ReturneeReport:
    return object_for_user(
        ReturneeReport.objects.select_related("jurisdiction", "order"),
        user,
        Perm.PEOPLE_VIEW,
        write=Perm.PEOPLE_EDIT if write else None,
        pk=report_id,
    )


def pushed_lists_visible(user: Any, perm: Perm = Perm.PEOPLE_VIEW) -> QuerySet[PushedList]:
    """Lists received at a node the user sees, or above it (a village sees the town's
    lists, with only its own rows)."""
    return PushedList.objects.filter(
        at_or_above_q(user, perm, "jurisdiction__path")
    ).select_related("jurisdiction", "import_job")


def pushed_list_for_user(user: Any, list_id: int, perm: Perm = Perm.PEOPLE_VIEW) -> PushedList:
    pushed = pushed_lists_visible(user, perm).filter(pk=list_id).first()
    if pushed is None:
        raise Http404
    return pushed


def pushed_list_of_job(user: Any, job: Any) -> PushedList | None:
    """The list an import job made, if the user sees it."""
    return pushed_lists_visible(user).filter(import_job=job).first()


def pushed_row_for_user(user: Any, row_id: int, *, write: bool = False) -> PushedRow:
    """A row of a list: 404 outside people.view, 403 without people.edit at its node."""
    return object_for_user(
        PushedRow.objects.select_related("pushed", "person", "jurisdiction"),
        user,
        Perm.PEOPLE_VIEW,
        write=Perm.PEOPLE_EDIT if write else None,
        pk=row_id,
    )


def sweeps_visible(user: Any) -> QuerySet[Sweep]:
    return Sweep.objects.filter(at_or_above_q(user, Perm.ORDERS_VIEW, "jurisdiction__path"))


def sweep_for_user(user: Any, sweep_id: int) -> Sweep:
    sweep = sweeps_visible(user).filter(pk=sweep_id).select_related("jurisdiction").first()
    if sweep is None:
        raise Http404
    return sweep
