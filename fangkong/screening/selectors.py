"""Reads of screening, scoped to the viewer: one accessor per entity.

Reports, pushed rows and sweep visits are scoped by their node like persons. Pushed
lists and sweeps are organised at a town for everyone under it: they are seen by anyone
whose area is at, under or above their node, each seeing only their own rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from fangkong.core.crypto import blind_index
from fangkong.org.access import object_for_user
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, at_or_above_q, scope_paths
from fangkong.people.models import Person
from fangkong.screening.models import PushedList, PushedRow, ReturneeReport, RowMatch, Sweep


def returnee_report_for_user(user: Any, report_id: int, *, write: bool = False) -> ReturneeReport:
    return object_for_user(
        ReturneeReport.objects.select_related("jurisdiction", "order"),
        user,
        Perm.PEOPLE_VIEW,
        write=Perm.PEOPLE_EDIT if write else None,
        pk=report_id,
    )


def reports_visible(user: Any) -> QuerySet[ReturneeReport]:
    return ReturneeReport.objects.visible_to(user, Perm.PEOPLE_VIEW).select_related(
        "jurisdiction", "order"
    )


def public_village(code: str) -> Jurisdiction:
    """A village by the code on its poster: public by design (anyone may report to it)."""
    village = Jurisdiction.objects.filter(code=code, level=Level.VILLAGE).first()
    if village is None:
        raise Http404
    return village


def report_by_code(code: str, phone: str) -> ReturneeReport | None:
    """A resident's own report, by the code they were given and their phone: both must
    match, so a code alone (read over a shoulder) shows nothing."""
    if not code or not phone:
        return None
    return (
        ReturneeReport.objects.filter(code=code, phone_hash=blind_index(phone))
        .select_related("jurisdiction")
        .first()
    )


def report_destinations(user: Any) -> tuple[QuerySet[Jurisdiction], QuerySet[Jurisdiction]]:
    """Villages a staff member may register returnees into (those holding any part of
    their area), and the grids they may choose there."""
    roots = scope_paths(user, Perm.PEOPLE_EDIT)
    if not roots:
        return Jurisdiction.objects.none(), Jurisdiction.objects.none()
    near = Q()
    for root in roots:
        near |= Q(path__startswith=root) | Q(path__in=ancestor_paths(root))
    villages = Jurisdiction.objects.filter(near, level=Level.VILLAGE).order_by("code")
    grids = Jurisdiction.objects.visible_to(user, Perm.PEOPLE_EDIT).filter(level=Level.GRID)
    return villages, grids


def pushed_lists_visible(user: Any, perm: Perm = Perm.PEOPLE_VIEW) -> QuerySet[PushedList]:
    """Lists received at a node the user sees, or above it (a village sees the town's
    lists, with only its own rows)."""
    return PushedList.objects.filter(
        at_or_above_q(user, perm, "jurisdiction__path")
    ).select_related("jurisdiction", "import_job")


def progress_groups(user: Any, pushed: PushedList) -> list[Jurisdiction]:
    """The rows of a list's progress table: villages, or for someone whose area is
    smaller than a village, their own grids."""
    mine = Jurisdiction.objects.visible_to(user, Perm.PEOPLE_VIEW).within(pushed.jurisdiction.path)
    villages = list(mine.filter(level=Level.VILLAGE))
    return villages or list(mine.filter(level=Level.GRID))


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


@dataclass(frozen=True)
class ListedPerson:
    """One row of a pushed list as another app reads it: who the row names (the
    registry person it was matched to, else the name and phone as received)."""

    row_id: int
    row_number: int
    person: Person | None
    name: str
    phone: str


def listed_persons(pushed: PushedList, limit: int = 5000) -> list[ListedPerson]:
    """The rows of a list the caller has loaded through `pushed_list_for_user` (all its
    rows: a tracer links the whole list to a case), matched ones with their person."""
    columns = pushed.columns or {}

    def cell(cells: list[str], name: str) -> str:
        index = columns.get(name)
        return str(cells[index]).strip() if index is not None and index < len(cells) else ""

    out = []
    rows = (
        PushedRow.objects.filter(pushed=pushed)
        .select_related("person__jurisdiction")
        .order_by("row_number")[:limit]
    )
    for row in rows:
        cells = json.loads(row.cells) if row.cells else []
        matched = row.person if row.match in (RowMatch.MATCHED, RowMatch.LOCATED) else None
        out.append(
            ListedPerson(
                row_id=row.pk,
                row_number=row.row_number,
                person=matched,
                name=row.name or cell(cells, "name"),
                phone=cell(cells, "phone") or cell(cells, "phone2"),
            )
        )
    return out
