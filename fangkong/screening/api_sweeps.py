"""Sweeps API (敲门行动): the door-knocking sweeps of your area and their coverage by
village and grid, counted from your own households' visits (read-only; sweeps are
organised and visited on the pages)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Schema

from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter
from fangkong.org.models import Level
from fangkong.org.roles import Perm
from fangkong.screening import selectors
from fangkong.screening import sweeps as svc
from fangkong.screening.models import Sweep, SweepVisit

router = ScopedRouter(tags=["screening"])


class CoverageOut(Schema):
    node_code: str
    node_name: str
    households: Count
    visited: Count
    nobody_home: Count
    refused: Count
    not_reached: Count
    registered: Count = Field(description="Members registered when the sweep began")
    persons_seen: Count

    @staticmethod
    def of(c: svc.Coverage) -> CoverageOut:
        return CoverageOut(
            node_code=c.node.code,
            node_name=c.node.name,
            households=c.households,
            visited=c.visited,
            nobody_home=c.nobody_home,
            refused=c.refused,
            not_reached=max(c.not_reached, 0),
            registered=c.registered,
            persons_seen=c.persons_seen,
        )


class SweepOut(Schema):
    id: Id
    name: str
    node_code: str
    node_name: str
    starts_on: date
    ends_on: date
    arrival_days: Count
    questions: list[dict[str, Any]]
    created_at: datetime
    total: CoverageOut = Field(description="Your households of the sweep")

    @staticmethod
    def of(sweep: Sweep, total: svc.Coverage) -> SweepOut:
        return SweepOut(
            id=sweep.pk,
            name=sweep.name,
            node_code=sweep.jurisdiction.code,
            node_name=sweep.jurisdiction.name,
            starts_on=sweep.starts_on,
            ends_on=sweep.ends_on,
            arrival_days=sweep.arrival_days,
            questions=list(sweep.questions),
            created_at=sweep.created_at,
            total=CoverageOut.of(total),
        )


def _visits(request: HttpRequest, sweep: Sweep) -> Any:
    return SweepVisit.objects.visible_to(request.user, Perm.ORDERS_VIEW).filter(sweep=sweep)


@router.read("/sweeps", perm=Perm.ORDERS_VIEW, response=Page[SweepOut])
def list_sweeps(request: HttpRequest, cursor: Cursor = "", limit: Limit = 20) -> Page[SweepOut]:
    """Sweeps organised at your area or above it, newest first, each with the coverage
    of your households."""
    sweeps = selectors.sweeps_visible(request.user).select_related("jurisdiction")
    rows, after = cursor_page(sweeps, cursor=cursor, limit=limit)
    return Page[SweepOut](
        items=[SweepOut.of(s, svc.coverage(s, _visits(request, s))[1]) for s in rows],
        next_cursor=after,
    )


@router.read("/sweeps/{int:sweep_id}", perm=Perm.ORDERS_VIEW, response=SweepOut)
def get_sweep(request: HttpRequest, sweep_id: Id) -> SweepOut:
    sweep = selectors.sweep_for_user(request.user, sweep_id)
    return SweepOut.of(sweep, svc.coverage(sweep, _visits(request, sweep))[1])


@router.read("/sweeps/{int:sweep_id}/coverage", perm=Perm.ORDERS_VIEW, response=list[CoverageOut])
def sweep_coverage(
    request: HttpRequest, sweep_id: Id, by: Literal["village", "grid"] = "village"
) -> list[CoverageOut]:
    """Coverage by village or by grid: households visited, nobody home, refused, not
    reached yet, and persons seen, from one grouped count of your visits."""
    sweep = selectors.sweep_for_user(request.user, sweep_id)
    level = Level.VILLAGE if by == "village" else Level.GRID
    by_level, _total = svc.coverage(sweep, _visits(request, sweep), (level,))
    return [CoverageOut.of(c) for c in by_level[level]]
