"""Testing API for periodic and door-to-door testing: the key occupations and their
intervals, a resident's occupation, the overdue list and its chase, a round's
door-to-door route and a team's route sent as work orders. Objects named in the path
load through their accessors before the body is parsed (404 for missing and not yours).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name
from fangkong.org.access import ScopedRouter, object_for_user
from fangkong.org.roles import Perm
from fangkong.org.selectors import node_or_top_for_user, team_for_user
from fangkong.people.models import Person
from fangkong.testing import doorstep, periodic, selectors
from fangkong.testing.models_periodic import KeyOccupation

router = ScopedRouter(tags=["testing"])
Code = Annotated[str, Field(max_length=40)]


class TestingOccupationOut(Schema):
    key: str
    name: str
    every_days: Annotated[int, Field(ge=1, le=30)]


@router.read("/periodic/occupations", perm=Perm.TESTING_VIEW, response=list[TestingOccupationOut])
def list_occupations(request: HttpRequest) -> list[TestingOccupationOut]:
    """The key occupations tested on a schedule, and how often (rules as data)."""
    return [
        TestingOccupationOut(key=o.key, name=o.name, every_days=o.every_days)
        for o in periodic.occupations()
    ]


class TestingAssignmentIn(Schema):
    occupation: Annotated[str, Field(min_length=1, max_length=30)]
    employer: Annotated[str, Field(min_length=1, max_length=100)]
    since: date | None = None


class TestingAssignmentOut(Schema):
    person_id: Id
    occupation: str
    employer: str
    since: date


def _person(user: object, person_id: int, *, write: bool = False) -> Person:
    return object_for_user(
        Person.objects.select_related("jurisdiction"),
        user,
        Perm.TESTING_PERIODIC,
        write=Perm.TESTING_PERIODIC if write else None,
        pk=person_id,
    )


def _person_guard(user: object, kwargs: dict[str, object]) -> object:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    try:
        return _person(user, int(str(kwargs["person_id"])), write=True)
    except PermissionDenied:
        raise Http404 from None


@router.write(
    "/periodic/persons/{person_id}/occupation",
    perm=Perm.TESTING_PERIODIC,
    assignee=_person_guard,
    response=TestingAssignmentOut,
)
def set_occupation(
    request: HttpRequest, person_id: Id, body: TestingAssignmentIn
) -> TestingAssignmentOut:
    """A resident's key occupation and employer (replacing any earlier one)."""
    from django.core.exceptions import ValidationError

    person = _person(request.user, person_id, write=True)
    occupation = KeyOccupation.objects.filter(key=body.occupation, active=True).first()
    if occupation is None:
        raise ValidationError({"occupation": [_("Unknown key occupation.")]})
    made = periodic.assignment_set(
        person=person,
        occupation=occupation,
        employer=body.employer,
        since=body.since,
        actor=request_user(request),
    )
    return TestingAssignmentOut(
        person_id=person.pk, occupation=occupation.key, employer=made.employer, since=made.since
    )


class TestingOverdueOut(Schema):
    person_id: Id
    name: str = Field(description="Masked name")
    grid: str
    employer: str
    occupation: str
    last_sampled: datetime | None
    due_on: date
    days_overdue: Count


class TestingOverdueListOut(Schema):
    node: str
    total: Count
    by_employer: dict[str, Count]
    by_grid: dict[str, Count]
    items: list[TestingOverdueOut]


@router.read("/periodic/overdue", perm=Perm.TESTING_VIEW, response=TestingOverdueListOut)
def list_overdue(request: HttpRequest, node: Code = "") -> TestingOverdueListOut:
    """Key-occupation workers overdue for their test in the caller's area (or under
    `node`), with the counts by employer and by grid; at most 2,000 listed."""
    where = node_or_top_for_user(request.user, node, Perm.TESTING_VIEW)
    rows = periodic.overdue(request.user, today=timezone.localdate(), node_path=where.path)
    return TestingOverdueListOut(
        node=where.code,
        total=len(rows),
        by_employer=dict(periodic.by_employer(rows)),
        by_grid={g.code: n for g, n in periodic.by_grid(rows)},
        items=[
            TestingOverdueOut(
                person_id=r.person.pk,
                name=mask_name(r.person.name),
                grid=r.assignment.jurisdiction.code,
                employer=r.assignment.employer,
                occupation=r.assignment.occupation.key,
                last_sampled=r.last_at,
                due_on=r.due_on,
                days_overdue=r.days,
            )
            for r in rows[:2000]
        ],
    )


class TestingPeriodicChaseIn(Schema):
    node: Code = Field(description="Code of the node whose overdue workers are chased")


class TestingOrdersOut(Schema):
    orders: list[Id]


@router.write("/periodic/chase", perm=Perm.TESTING_PERIODIC, response=TestingOrdersOut)
def chase(request: HttpRequest, body: TestingPeriodicChaseIn) -> TestingOrdersOut:
    """Work orders for the overdue under the node (one open order per worker)."""
    from fangkong.core.api_kit import referenced

    where = referenced(
        "node", lambda: node_or_top_for_user(request.user, body.node, Perm.TESTING_PERIODIC)
    )
    made = periodic.chase_overdue(node=where, actor=request_user(request))
    return TestingOrdersOut(orders=[o.pk for o in made])


class TestingStopOut(Schema):
    person_id: Id
    name: str = Field(description="Masked name")
    village: str
    grid: str
    address: str
    sampled: bool
    home_isolation: bool


@router.read("/rounds/{round_id}/doorstep", perm=Perm.TESTING_SAMPLE, response=list[TestingStopOut])
def round_route(request: HttpRequest, round_id: Id, node: Code = "") -> list[TestingStopOut]:
    """The round's door-to-door residents in the caller's area (or under `node`), by
    village, grid and address. Sample them through the samples operation with
    `how: "person"` and the `person_id`."""
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_SAMPLE)
    path = ""
    if node:
        path = node_or_top_for_user(request.user, node, Perm.TESTING_SAMPLE).path
    people = doorstep.doorstep_people(
        round_, user=request.user, perm=Perm.TESTING_SAMPLE, node_path=path
    )
    return [
        TestingStopOut(
            person_id=s.person.pk,
            name=s.name,
            village=g.village,
            grid=g.grid.code,
            address=s.address,
            sampled=s.sampled,
            home_isolation=s.isolated,
        )
        for g in doorstep.route(people)
        for s in g.stops
    ]


class TestingRouteSendIn(Schema):
    round_id: Id


def _team_guard(user: object, kwargs: dict[str, object]) -> object:
    return team_for_user(user, int(str(kwargs["team_id"])), Perm.TESTING_MANAGE)


@router.write(
    "/teams/{team_id}/doorstep",
    perm=Perm.TESTING_MANAGE,
    assignee=_team_guard,
    response=TestingOrdersOut,
)
def send_route(request: HttpRequest, team_id: Id, body: TestingRouteSendIn) -> TestingOrdersOut:
    """The team's route in the round as urgent work orders for its members."""
    from fangkong.core.api_kit import referenced

    user = request.user
    team = team_for_user(user, team_id, Perm.TESTING_MANAGE)
    round_ = referenced(
        "round_id", lambda: selectors.round_for_user(user, body.round_id, Perm.TESTING_MANAGE)
    )
    made = doorstep.route_send(round_=round_, team=team, actor=request_user(request))
    return TestingOrdersOut(orders=[o.pk for o in made])
