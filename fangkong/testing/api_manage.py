"""Testing API for running a round: its sampling points, boxes scanned out and in, and
the chase of the not-tested. Like `api.py`, every operation loads its round through
`round_for_user` with the permission it needs, before the body is parsed for writes."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import referenced
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.testing import boxes, chase, rounds, selectors
from fangkong.testing.api import round_guard
from fangkong.testing.models import SamplingPoint

router = ScopedRouter(tags=["testing"])

Code = Annotated[str, Field(max_length=40)]
Barcodes = Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=2000)]


class TestingPointOut(Schema):
    id: Id
    name: str
    node: str
    address: str
    opens_at: time
    closes_at: time
    capacity: Count
    staff: Count

    @classmethod
    def of(cls, p: SamplingPoint, staff: int) -> TestingPointOut:
        return cls(
            id=p.pk,
            name=p.name,
            node=p.jurisdiction.code,
            address=p.address,
            opens_at=p.opens_at,
            closes_at=p.closes_at,
            capacity=p.capacity,
            staff=staff,
        )


class TestingPointIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    node: Code = Field(description="Code of the village or grid where the point stands")
    address: Annotated[str, Field(max_length=200)] = ""
    opens_at: time
    closes_at: time
    capacity: Annotated[int, Field(ge=1, le=100000, description="People per hour")]
    staff: Annotated[list[Annotated[str, Field(max_length=150)]], Field(max_length=100)] = Field(
        default_factory=list, description="User names of the point's staff"
    )


@router.read("/rounds/{round_id}/points", perm=Perm.TESTING_MANAGE, response=list[TestingPointOut])
def list_points(request: HttpRequest, round_id: Id) -> list[TestingPointOut]:
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_MANAGE)
    return [TestingPointOut.of(p, p.staff_count) for p in selectors.points_of(round_)]  # type: ignore[attr-defined]


@router.write(
    "/rounds/{round_id}/points",
    perm=Perm.TESTING_MANAGE,
    assignee=round_guard(Perm.TESTING_MANAGE),
    response={201: TestingPointOut},
)
def create_point(
    request: HttpRequest, round_id: Id, body: TestingPointIn
) -> tuple[int, TestingPointOut]:
    user = request_user(request)
    round_ = selectors.round_for_user(user, round_id, Perm.TESTING_MANAGE)
    node = referenced("node", lambda: jurisdiction_for_user(user, body.node, Perm.TESTING_MANAGE))
    wanted = set(body.staff)
    staff = [
        s.user
        for s in selectors.point_staff_choices(user, round_).filter(user__username__in=wanted)
        if s.user is not None
    ]
    unknown = wanted - {u.username for u in staff}
    if unknown:
        raise ValidationError(
            {
                "staff": [
                    _("No such staff in your area: %(names)s")
                    % {"names": ", ".join(sorted(unknown)[:10])}
                ]
            }
        )
    point = rounds.point_create(
        actor=user,
        round_=round_,
        jurisdiction=node,
        name=body.name,
        address=body.address,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        capacity=body.capacity,
        staff=staff,
    )
    return 201, TestingPointOut.of(point, len(staff))


class TestingBoxOutIn(Schema):
    code: Code
    barcodes: Barcodes
    point_id: Id | None = None


class TestingBoxOut(Schema):
    code: str
    tubes: Count
    out_at: datetime | None


@router.write(
    "/rounds/{round_id}/boxes",
    perm=Perm.TESTING_SAMPLE,
    assignee=round_guard(Perm.TESTING_SAMPLE),
    response={201: TestingBoxOut},
)
def box_out(request: HttpRequest, round_id: Id, body: TestingBoxOutIn) -> tuple[int, TestingBoxOut]:
    """Closed tubes of the round packed into a box and scanned out at a point."""
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_SAMPLE)
    point = None
    if body.point_id is not None:
        point = round_.points.filter(pk=body.point_id).first()
        if point is None:
            raise ValidationError({"point_id": [_("No such point in this round.")]})
    box = boxes.box_out(
        round_=round_,
        code=body.code,
        barcodes=body.barcodes,
        actor=request_user(request),
        point=point,
    )
    return 201, TestingBoxOut(code=box.code, tubes=len(set(body.barcodes)), out_at=box.out_at)


class TestingBoxInIn(Schema):
    code: Code
    barcodes: Barcodes


class TestingBoxInOut(Schema):
    code: str
    differ: list[str] = Field(description="Packed but missing, or found but not packed")


@router.write(
    "/rounds/{round_id}/boxes/in",
    perm=Perm.TESTING_RESULTS,
    assignee=round_guard(Perm.TESTING_RESULTS),
    response=TestingBoxInOut,
)
def box_in(request: HttpRequest, round_id: Id, body: TestingBoxInIn) -> TestingBoxInOut:
    """The lab scans a box of the round in with the tubes found in it."""
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_RESULTS)
    differ = boxes.box_in(
        round_=round_,
        code=body.code,
        barcodes=body.barcodes,
        actor=request_user(request),
    )
    return TestingBoxInOut(code=body.code.strip(), differ=differ)


class TestingChaseIn(Schema):
    node: Code = Field(description="Code of the round's town, village or grid")


class TestingChaseOut(Schema):
    sent: Count = Field(description="New work orders")
    already_open: Count = Field(description="Not-tested residents whose chase is still open")


def _chase_guard(user: Any, kwargs: dict[str, object]) -> object:
    # The guard replaces the operation's permission check (ScopedRouter): it makes both,
    # the dispatcher's permission and the round in their testing view.
    if not has_perm(user, Perm.ORDERS_DISPATCH):
        raise Http404
    return selectors.round_for_user(user, int(str(kwargs["round_id"])), Perm.TESTING_VIEW)


@router.write(
    "/rounds/{round_id}/chase",
    perm=Perm.ORDERS_DISPATCH,
    assignee=_chase_guard,
    response=TestingChaseOut,
)
def chase_not_tested(request: HttpRequest, round_id: Id, body: TestingChaseIn) -> TestingChaseOut:
    """A work order per not-tested resident of the node to their grid worker; sent
    again, it opens nothing new while the first orders are open."""
    user = request_user(request)
    round_ = selectors.round_for_user(user, round_id, Perm.TESTING_VIEW)
    node = next((n for n in selectors.chase_nodes(user, round_) if n.code == body.node), None)
    if node is None:
        raise ValidationError(
            {"node": [_("Not a node of this round where you dispatch work orders.")]}
        )
    orders = chase.chase_not_tested(round_=round_, node=node, actor=user)
    fresh = sum(1 for o in orders if not getattr(o, "merged", False))
    return TestingChaseOut(sent=fresh, already_open=len(orders) - fresh)
