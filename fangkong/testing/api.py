"""Testing API: rounds, the samplers' sync (the phone page's queue posts here), the lab's
results, coverage and the not-tested list, and a single positive made a case. Every
operation on a round loads it through `round_for_user`, before the body is parsed for
writes, with the permission the operation needs (404 for missing and not yours)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.control.selectors import site_for_user
from fangkong.core.api_kit import (
    Cursor,
    Limit,
    Page,
    SyncStatus,
    cursor_page,
    referenced,
    sync_status,
)
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name
from fangkong.org.access import Guard, ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.testing import coverage, recalls, results, rounds, sampling, selectors
from fangkong.testing.models import Round

router = ScopedRouter(tags=["testing"])

Barcode = Annotated[str, Field(max_length=40)]
Code = Annotated[str, Field(max_length=40)]
Short = Annotated[str, Field(max_length=40)]


class TestingRoundOut(Schema):
    id: Id
    name: str
    node: str
    scope: list[str]
    starts_on: date
    ends_on: date
    pool_size: Annotated[int, Field(ge=1, le=20)]
    status: str

    @classmethod
    def of(cls, r: Round) -> TestingRoundOut:
        return cls(
            id=r.pk,
            name=r.name,
            node=r.jurisdiction.code,
            scope=[n.code for n in r.scope.all()],
            starts_on=r.starts_on,
            ends_on=r.ends_on,
            pool_size=r.pool_size,
            status=r.status,
        )


class TestingRoundIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    node: Code = Field(description="Code of the organising node (a town)")
    scope: Annotated[list[Code], Field(min_length=1, max_length=200)]
    starts_on: date
    ends_on: date
    # 1, 5, 10 or 20 (domain-rules R2.1); the service names the field for any other.
    pool_size: Annotated[int, Field(ge=1, le=20, description="1, 5, 10 or 20")]
    min_age_years: Annotated[int, Field(ge=0, le=18)] = 0
    recall_hours: Annotated[int, Field(ge=1, le=48)] = 2
    hold_days: Annotated[int, Field(ge=1, le=14)] = 2


@router.read("/rounds", perm=None, response=list[TestingRoundOut])
def list_rounds(request: HttpRequest) -> list[TestingRoundOut]:
    found = selectors.rounds_visible(request.user).prefetch_related("scope")[:200]
    return [TestingRoundOut.of(r) for r in found]


@router.write("/rounds", perm=Perm.TESTING_MANAGE, response={201: TestingRoundOut})
def create_round(request: HttpRequest, body: TestingRoundIn) -> tuple[int, TestingRoundOut]:
    user = request_user(request)
    node = referenced(
        "node", lambda: jurisdiction_for_user(user, body.node, write=Perm.TESTING_MANAGE)
    )
    scope = [referenced("scope", partial(jurisdiction_for_user, user, c)) for c in body.scope]
    made = rounds.round_create(
        actor=user,
        jurisdiction=node,
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        pool_size=body.pool_size,
        scope=scope,
        min_age_years=body.min_age_years,
        recall_hours=body.recall_hours,
        hold_days=body.hold_days,
    )
    return 201, TestingRoundOut.of(made)


@router.read("/rounds/{round_id}", perm=Perm.TESTING_VIEW, response=TestingRoundOut)
def get_round(request: HttpRequest, round_id: Id) -> TestingRoundOut:
    return TestingRoundOut.of(selectors.round_for_user(request.user, round_id, Perm.TESTING_VIEW))


def round_guard(perm: Perm) -> Guard:
    """The round named in the path, checked for `perm` at its node before the body is
    read (the testing routers' `assignee`)."""

    def check(user: object, kwargs: dict[str, object]) -> object:
        return selectors.round_for_user(user, int(str(kwargs["round_id"])), perm)

    return check


class TestingRecordIn(Schema):
    client_id: uuid.UUID
    barcode: Barcode
    taken_at: datetime
    action: Literal["sample", "close"] = "sample"
    how: Literal["code", "id_number", "person", ""] = ""
    person: Annotated[str, Field(max_length=80)] = ""
    point_id: Id | None = None


class TestingSyncIn(Schema):
    records: Annotated[list[TestingRecordIn], Field(min_length=1, max_length=5000)]


class TestingAnswerOut(Schema):
    client_id: uuid.UUID
    status: SyncStatus
    error: str
    barcode: str
    size: Annotated[int, Field(ge=0, le=20)]
    closed: bool


class TestingSyncOut(Schema):
    recorded: Count
    answers: list[TestingAnswerOut]


@router.write(
    "/rounds/{round_id}/samples",
    perm=Perm.TESTING_SAMPLE,
    assignee=round_guard(Perm.TESTING_SAMPLE),
    response=TestingSyncOut,
)
def sync_samples(request: HttpRequest, round_id: Id, body: TestingSyncIn) -> TestingSyncOut:
    """Sampling records from a phone's queue (or a feed): each answered on its own,
    recorded once however often it is sent (its client id)."""
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_SAMPLE)
    records = [
        sampling.Record(
            client_id=r.client_id,
            barcode=r.barcode,
            taken_at=r.taken_at,
            action=r.action,
            how=r.how or sampling.BY_CODE,
            person=r.person,
            point_id=r.point_id,
        )
        for r in body.records
    ]
    done = sampling.samples_sync(round_=round_, records=records, actor=request_user(request))
    return TestingSyncOut(
        recorded=done.recorded,
        answers=[
            TestingAnswerOut(
                client_id=a.client_id,
                status=sync_status(a.status),
                error=a.error,
                barcode=a.barcode,
                size=a.size,
                closed=a.closed,
            )
            for a in done.answers
        ],
    )


class TestingResultIn(Schema):
    barcode: Barcode
    result: Short = Field(description="阴性/阳性/无效 or negative/positive/invalid")
    ct_orf: Short = ""
    ct_n: Short = ""
    tested_at: Short = Field("", description="2022-07-10 14:30 (default: now)")


class TestingResultsIn(Schema):
    rows: Annotated[list[TestingResultIn], Field(min_length=1, max_length=20000)]


class TestingProblemOut(Schema):
    row: Count
    barcode: str
    error: str


class TestingResultsOut(Schema):
    recorded: Count
    already: Count
    positives: list[str]
    recalled: Count
    problems: list[TestingProblemOut]


@router.write(
    "/rounds/{round_id}/results",
    perm=Perm.TESTING_RESULTS,
    assignee=round_guard(Perm.TESTING_RESULTS),
    response=TestingResultsOut,
)
def send_results(request: HttpRequest, round_id: Id, body: TestingResultsIn) -> TestingResultsOut:
    """The lab's results by barcode; rows that cannot be recorded come back with the
    reason (row = the item's position from 1), nothing is guessed."""
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_RESULTS)
    rows = [
        results.ResultRow(i, r.barcode.strip(), r.result, r.ct_orf, r.ct_n, r.tested_at)
        for i, r in enumerate(body.rows, start=1)
    ]
    report = results.results_record(
        round_=round_, rows=rows, actor=request_user(request), source="api"
    )
    return TestingResultsOut(
        recorded=report.recorded,
        already=report.already,
        positives=report.positives,
        recalled=report.recalled,
        problems=[
            TestingProblemOut(row=p.row, barcode=p.barcode, error=p.error) for p in report.problems
        ],
    )


class TestingCoverageRowOut(Schema):
    node: str
    name: str
    expected: Count
    tested: Count
    not_tested: Count
    samples: Count
    results: Count
    positive: Count


class TestingCoverageOut(Schema):
    total: TestingCoverageRowOut
    villages: list[TestingCoverageRowOut]
    grids: list[TestingCoverageRowOut]


def _row(r: coverage.Row) -> TestingCoverageRowOut:
    return TestingCoverageRowOut(
        node=r.node.code,
        name=r.node.name,
        expected=r.expected,
        tested=r.tested,
        not_tested=max(r.not_tested, 0),
        samples=r.samples,
        results=r.results,
        positive=r.positive,
    )


@router.read("/rounds/{round_id}/coverage", perm=Perm.TESTING_VIEW, response=TestingCoverageOut)
def get_coverage(request: HttpRequest, round_id: Id) -> TestingCoverageOut:
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_VIEW)
    cov = coverage.coverage(round_, today=timezone.localdate(), user=request.user)
    return TestingCoverageOut(
        total=_row(cov.total),
        villages=[_row(r) for r in cov.villages],
        grids=[_row(r) for r in cov.grids],
    )


class TestingNotTestedOut(Schema):
    id: Id
    name: str = Field(description="Masked name")
    grid: str
    address: str


@router.read(
    "/rounds/{round_id}/not-tested", perm=Perm.TESTING_VIEW, response=Page[TestingNotTestedOut]
)
def list_not_tested(
    request: HttpRequest, round_id: Id, cursor: Cursor = "", limit: Limit = 50
) -> Page[TestingNotTestedOut]:
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_VIEW)
    people = coverage.not_tested(round_, today=timezone.localdate(), user=request.user)
    rows, after = cursor_page(people.order_by("pk"), cursor=cursor, limit=limit)
    return Page[TestingNotTestedOut](
        items=[
            TestingNotTestedOut(
                id=p.pk,
                name=mask_name(p.name),
                grid=p.jurisdiction.code,
                address=p.household.address if p.household else "",
            )
            for p in rows
        ],
        next_cursor=after,
    )


class TestingCaseIn(Schema):
    hospital_id: Id
    vehicle: Annotated[str, Field(min_length=1, max_length=20)]
    driver: Annotated[str, Field(min_length=1, max_length=50)]


class TestingCaseOut(Schema):
    transfer_id: Id
    contacts: Count


def _recall_guard(user: object, kwargs: dict[str, object]) -> object:
    return selectors.recall_for_user(user, int(str(kwargs["recall_id"])), write=True)


@router.write(
    "/recalls/{recall_id}/case",
    perm=Perm.TESTING_MANAGE,
    assignee=_recall_guard,
    response={201: TestingCaseOut},
)
def open_case(
    request: HttpRequest, recall_id: Id, body: TestingCaseIn
) -> tuple[int, TestingCaseOut]:
    """A single positive becomes a case (control's case service): to the hospital named,
    the household under control."""
    user = request_user(request)
    recall = selectors.recall_for_user(user, recall_id, write=True)
    hospital = referenced("hospital_id", lambda: site_for_user(user, body.hospital_id))
    made = recalls.case_open(
        recall=recall,
        actor=user,
        hospital=hospital,
        vehicle=body.vehicle,
        driver=body.driver,
    )
    return 201, TestingCaseOut(transfer_id=made.transfer.pk, contacts=len(made.contacts))
