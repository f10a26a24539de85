"""The re-check when the rules change: an area added or lifted, or an edition coming into
force, re-decides the people it concerns with the one decision function; the changes
wait in one review list per town, with reasons in words; accepting applies them through
the control services, audited; nothing changes silently; running twice proposes
nothing twice; the fast path and the per-person loop propose exactly the same."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.utils import translation

from fangkong.audit.models import AuditEvent
from fangkong.control import recheck, recheck_apply, recheck_each
from fangkong.control.models import (
    ControlOrder,
    ControlTest,
    OrderSource,
    OrderStatus,
    OrderType,
)
from fangkong.control.models_recheck import (
    ProposalKind,
    ProposalStatus,
    RecheckProposal,
    RecheckRun,
    RunStatus,
)
from fangkong.control.services import plan_from_exposure
from fangkong.control.sites import site_create
from fangkong.people.models import Person
from fangkong.policy.engine import Rules
from fangkong.policy.hooks import RulesChange
from fangkong.policy.models import Edition, RiskArea
from fangkong.policy.services import AreaData, area_lift, area_save, edition_copy, edition_update
from fangkong.screening.models import ReportStatus, ReturneeReport
from fangkong.workorders.models import Status
from tests.world import World, ensure_registry

pytestmark = pytest.mark.django_db

DAY = date(2022, 7, 10)  # inside the 9th edition
NOW = datetime(2022, 7, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CHAOYANG = "110105"  # 北京市朝阳区
PUDONG = "310115"  # 上海市浦东新区
_codes = iter(range(10_000, 99_999))


def report(person: Person, code: str, left_on: date, arrived_on: date, place: str = "") -> Any:
    return ReturneeReport.objects.create(
        jurisdiction=person.jurisdiction,
        name=person.name,
        id_number="",
        id_number_hash="",
        phone="",
        phone_hash="",
        origin_code=code,
        origin_place=place,
        origin_label=code,
        left_on=left_on,
        arrived_on=arrived_on,
        mode="car",
        address="x",
        code=f"R{next(_codes)}",
        category="returnee",
        proposed_place="none",
        status=ReportStatus.VERIFIED,
        person=person,
    )


def high_area(code: str = CHAOYANG, since: date = date(2022, 7, 1)) -> RiskArea:
    return area_save(actor=None, data=AreaData(code=code, level="high", effective_from=since))


def run(scope_codes: set[str] | None, as_of: date = DAY) -> RecheckRun:
    change = (
        RulesChange(kind="area", label="x", area_codes=tuple(scope_codes))
        if scope_codes
        else RulesChange(kind="edition", label="x", edition_key="nat-9")
    )
    run_id = recheck.recheck_request(change, enqueue=lambda _pk: None)
    return recheck.recheck_run(run_id, as_of=as_of)


def pending(**filters: Any) -> list[RecheckProposal]:
    return list(RecheckProposal.objects.filter(status=ProposalStatus.PENDING, **filters))


@pytest.fixture
def arrivals(world: World) -> World:
    ensure_registry(world)
    for key in ("A1M1", "P1M1"):
        report(world.persons[key], CHAOYANG + "001000", date(2022, 7, 7), date(2022, 7, 8))
    report(world.persons["B1"], PUDONG, date(2022, 7, 7), date(2022, 7, 8))
    for town, persona in (("T", "commander"), ("U", "commander_u")):
        site_create(
            actor=world.users[persona],
            jurisdiction=world.nodes[town],
            name=f"{town}隔离点",
            kind="hotel",
            rooms=[("101", 1), ("102", 1)],
        )
    return world


def test_an_area_saved_asks_for_a_background_recheck_after_commit(
    arrivals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        high_area()
        high_area(PUDONG)
    # Both changes wait in one queued run (an import of fifty areas is one run).
    (queued,) = RecheckRun.objects.filter(status=RunStatus.QUEUED)
    assert {c for change in queued.changes for c in change["codes"]} == {CHAOYANG, PUDONG}
    assert not RecheckProposal.objects.exists()  # nothing until the job runs


def test_new_area_proposes_orders_with_reasons_and_running_twice_proposes_nothing_again(
    arrivals,
):
    high_area()
    with translation.override("en"):
        first = run({CHAOYANG})
    assert (first.status, first.checked, first.proposed) == (RunStatus.DONE, 2, 2)
    a1 = pending(person=arrivals.persons["A1M1"])[0]
    assert (a1.kind, a1.type, a1.starts_on, a1.ends_on, a1.test_days) == (
        ProposalKind.NEW,
        OrderType.CENTRAL,
        date(2022, 7, 8),
        date(2022, 7, 14),
        [1, 2, 3, 5, 7],
    )
    assert a1.jurisdiction == arrivals.persons["A1M1"].jurisdiction
    assert "High risk" in a1.reason and "Proposed: Centralised isolation" in a1.reason
    assert not pending(person=arrivals.persons["B1"])  # Pudong is not a risk area
    assert not ControlOrder.objects.exists()  # nothing changes silently
    again = run({CHAOYANG})
    assert (again.checked, again.proposed, again.outdated) == (2, 0, 0)
    assert RecheckProposal.objects.count() == 2


def test_a_run_at_the_same_time_writing_the_same_proposals_writes_them_once(arrivals):
    high_area()
    run({CHAOYANG})
    # What a second run that read before the first committed would write: the same rows.
    rows = [
        tuple(json.dumps(v) if isinstance(v, list) else v for v in row)
        for row in RecheckProposal.objects.values_list(*recheck.PROPOSAL_COLUMNS)
    ]
    assert len(rows) == 2
    assert (
        recheck._insert([(row[: recheck.HEAD], row[recheck.HEAD :]) for row in rows]) == 0
    )  # the straight COPY collides; the fallback skips them
    assert RecheckProposal.objects.count() == 2  # and the transaction goes on


def test_the_reason_is_in_chinese_by_default(arrivals):
    high_area()
    with translation.override("zh-hans"):
        run({CHAOYANG})
    (a1,) = pending(person=arrivals.persons["A1M1"])
    assert "建议" in a1.reason and "第九版" in a1.reason


def test_each_town_commander_sees_only_their_town(arrivals):
    high_area()
    run({CHAOYANG})
    w = arrivals
    (t_one,) = recheck_apply.proposals(w.users["commander"])
    (u_one,) = recheck_apply.proposals(w.users["commander_u"])
    assert t_one.person == w.persons["A1M1"] and u_one.person == w.persons["P1M1"]
    with pytest.raises(Http404):
        recheck_apply.proposal_for_user(w.users["commander_u"], t_one.pk)
    with pytest.raises(Http404):
        recheck_apply.proposal_for_user(w.users["gw_a1"], t_one.pk)  # no control.release
    assert {p.pk for p in recheck_apply.proposals(w.users["county"])} == {t_one.pk, u_one.pk}
    with pytest.raises(PermissionDenied):
        recheck_apply.proposal_reject(proposal_id=t_one.pk, actor=w.users["commander_u"])
    t_one.refresh_from_db()
    assert t_one.status == ProposalStatus.PENDING


def test_accept_applies_through_control_and_is_audited_reject_is_final(arrivals):
    high_area()
    run({CHAOYANG})
    w = arrivals
    (t_one,) = pending(person=w.persons["A1M1"])
    (u_one,) = pending(person=w.persons["P1M1"])
    recheck_apply.proposal_accept(proposal_id=t_one.pk, actor=w.users["commander"])
    order = ControlOrder.objects.get(person=w.persons["A1M1"], status=OrderStatus.ACTIVE)
    assert (order.type, order.source, order.edition, order.ends_on) == (
        OrderType.CENTRAL,
        OrderSource.RECHECK,
        "nat-9",
        date(2022, 7, 14),
    )
    assert order.room is not None and order.tests.count() == 5
    assert AuditEvent.objects.filter(object_repr__startswith=f"re-check proposal {t_one.pk}")
    # Accepting again (a resent request) changes nothing more.
    recheck_apply.proposal_accept(proposal_id=t_one.pk, actor=w.users["commander"])
    assert ControlOrder.objects.filter(person=w.persons["A1M1"]).count() == 1
    recheck_apply.proposal_reject(proposal_id=u_one.pk, actor=w.users["commander_u"], note="已离开")
    with pytest.raises(ValidationError, match="已驳回"):
        recheck_apply.proposal_accept(proposal_id=u_one.pk, actor=w.users["commander_u"])
    assert not ControlOrder.objects.filter(person=w.persons["P1M1"]).exists()
    # The rules as they are now: nothing left to propose, and the rejection stands.
    assert run({CHAOYANG}).proposed == 0


def test_lifting_the_area_proposes_ending_the_orders_it_caused(arrivals):
    area = high_area()
    run({CHAOYANG})
    w = arrivals
    (t_one,) = pending(person=w.persons["A1M1"])
    recheck_apply.proposal_accept(proposal_id=t_one.pk, actor=w.users["commander"])
    area_lift(actor=None, area=area, on=date(2022, 7, 12))
    with translation.override("en"):
        lifted = run({CHAOYANG}, as_of=date(2022, 7, 12))
    (end,) = pending(person=w.persons["A1M1"])
    assert end.kind == ProposalKind.END
    assert "lifted on" in end.reason and "day 5 of 7" in end.reason
    # P1M1's pending new order is no longer called for: outdated, not left to accept.
    assert lifted.outdated == 1 and not pending(person=w.persons["P1M1"])
    order = end.order
    assert order is not None and order.status == OrderStatus.ACTIVE  # until accepted
    recheck_apply.proposal_accept(
        proposal_id=end.pk, actor=w.users["commander"], now=NOW + timedelta(days=2)
    )
    order.refresh_from_db()
    assert (order.status, order.released_on) == (OrderStatus.RELEASED, date(2022, 7, 12))
    assert order.events.filter(action="ended_early").exists()


def test_a_new_local_edition_shortens_the_orders_of_its_town_only(arrivals):
    high_area()
    run({CHAOYANG})
    w = arrivals
    (t_one,) = pending(person=w.persons["A1M1"])
    recheck_apply.proposal_accept(proposal_id=t_one.pk, actor=w.users["commander"])
    order = ControlOrder.objects.get(person=w.persons["A1M1"], status=OrderStatus.ACTIVE)
    local = edition_copy(
        actor=w.users["commander"],
        source=Edition.objects.get(key="nat-9"),
        name="王店 5+3",
        scope=w.nodes["T"],
        effective_from=DAY,
    )
    edition_update(
        actor=w.users["commander"],
        edition=local,
        changes={},
        measures={
            "arrival_high": {
                "days": 5,
                "tests": [1, 3, 5],
                "then_place": "home_monitoring",
                "then_days": 3,
                "then_tests": [3],
            }
        },
    )
    with translation.override("en"):
        run(None)
    (short,) = pending(person=w.persons["A1M1"])
    assert (short.kind, short.ends_on, short.test_days, short.then_type, short.then_days) == (
        ProposalKind.SHORTEN,
        date(2022, 7, 12),
        [1, 3, 5],
        OrderType.HOME_MONITORING,
        3,
    )
    assert "shorten it to end on" in short.reason
    # 洪合 (U) keeps the national edition: its pending proposal is the same as before.
    (u_one,) = pending(person=w.persons["P1M1"])
    assert u_one.kind == ProposalKind.NEW and u_one.ends_on == date(2022, 7, 14)
    day7 = order.tests.get(day=7)
    recheck_apply.proposal_accept(proposal_id=short.pk, actor=w.users["commander"], now=NOW)
    order.refresh_from_db()
    assert order.ends_on == date(2022, 7, 12) and order.status == OrderStatus.ACTIVE
    assert sorted(order.tests.values_list("day", flat=True)) == [1, 2, 3, 5]
    assert not ControlTest.objects.filter(pk=day7.pk).exists()
    assert day7.work_order is not None
    day7.work_order.refresh_from_db()
    assert day7.work_order.status == Status.CANCELLED
    (follower,) = ControlOrder.objects.filter(previous=order, status=OrderStatus.PLANNED)
    assert (follower.type, follower.starts_on, follower.ends_on) == (
        OrderType.HOME_MONITORING,
        date(2022, 7, 13),
        date(2022, 7, 15),
    )


def test_the_20_measures_shorten_a_case_contact_s_order_from_the_kept_exposure(arrivals):
    w = arrivals
    person = w.persons["A2"]
    exposed = date(2022, 11, 8)  # under the 9th edition: 7 days centralised, 3 at home
    phases, exposure = plan_from_exposure(
        category="close_contact", last_on=exposed, path=person.jurisdiction.path
    )
    assert exposure is not None and exposure.edition == "nat-9"
    assert [(p.type, p.starts_on, p.ends_on, p.test_days) for p in phases] == [
        (OrderType.CENTRAL, date(2022, 11, 9), date(2022, 11, 15), (1, 2, 3, 5, 7)),
        (OrderType.HOME_MONITORING, date(2022, 11, 16), date(2022, 11, 18), (3,)),
    ]
    order = ControlOrder.objects.create(
        person=person,
        jurisdiction=person.jurisdiction,
        type=OrderType.CENTRAL,
        status=OrderStatus.ACTIVE,
        starts_on=date(2022, 11, 9),
        ends_on=date(2022, 11, 15),
        source=OrderSource.CONTACT,
        category="close_contact",
        edition="nat-9",
        exposed_on=exposed,
        test_days=[1, 2, 3, 5, 7],
    )
    # The 20 measures, in force from 11-11: 5 days centralised, then 3 of home isolation.
    with translation.override("en"):
        outcome = run(None, as_of=date(2022, 11, 11))
    assert outcome.status == RunStatus.DONE
    (short,) = pending(person=person)
    assert (
        short.kind,
        short.report_id,
        short.ends_on,
        short.test_days,
        short.then_type,
        short.then_days,
        short.edition,
    ) == (
        ProposalKind.SHORTEN,
        None,
        date(2022, 11, 13),
        [1, 2, 3, 5],
        OrderType.HOME_ISOLATION,
        3,
        "nat-20",
    )
    assert "last exposure" in short.reason and "shorten it to end on" in short.reason
    recheck_apply.proposal_accept(
        proposal_id=short.pk,
        actor=w.users["commander"],
        now=datetime(2022, 11, 11, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    order.refresh_from_db()
    assert order.ends_on == date(2022, 11, 13)
    (follower,) = ControlOrder.objects.filter(previous=order, status=OrderStatus.PLANNED)
    assert (follower.type, follower.starts_on, follower.ends_on) == (
        OrderType.HOME_ISOLATION,
        date(2022, 11, 14),
        date(2022, 11, 16),
    )
    # Re-running proposes nothing again; a contact without a kept exposure is not
    # guessed at (only counted as having nothing to re-read).
    again = run(None, as_of=date(2022, 11, 11))
    assert not pending(person=person) and again.status == RunStatus.DONE


def test_accepting_after_the_order_changed_is_refused_and_changes_nothing(arrivals):
    from fangkong.control.release import order_extend

    high_area()
    run({CHAOYANG})
    w = arrivals
    (t_one,) = pending(person=w.persons["A1M1"])
    recheck_apply.proposal_accept(proposal_id=t_one.pk, actor=w.users["commander"])
    area = RiskArea.objects.get(code=CHAOYANG)
    area_lift(actor=None, area=area, on=date(2022, 7, 12))
    run({CHAOYANG}, as_of=date(2022, 7, 12))
    (end,) = pending(person=w.persons["A1M1"])
    order = end.order
    assert order is not None
    order_extend(
        order_id=order.pk,
        actor=w.users["commander"],
        expected_version=order.version,
        days=2,
        reason="复核",
    )
    with pytest.raises(ValidationError, match="管控单已变更"):
        recheck_apply.proposal_accept(proposal_id=end.pk, actor=w.users["commander"])
    order.refresh_from_db()
    end.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE and end.status == ProposalStatus.PENDING


# The fast path against the per-person loop ---------------------------------------------


def _snapshot() -> set[tuple[Any, ...]]:
    return {
        tuple(tuple(v) if isinstance(v, list) else v for v in row)
        for row in RecheckProposal.objects.values_list(
            "person_id",
            "jurisdiction_id",
            "report_id",
            "order_id",
            "order_version",
            "kind",
            "type",
            "starts_on",
            "ends_on",
            "test_days",
            "then_type",
            "then_days",
            "then_test_days",
            "edition",
            "category",
            "reason",
            "fingerprint",
        )
    }


def _varied(world: World, n: int = 120) -> None:
    """Persons in both towns, arriving from a high area (whole county or one compound),
    the rest of its county, a lifted area, a medium area, nowhere risky; some under
    orders of every type and source, some with two arrivals."""
    rng = random.Random(16)
    ensure_registry(world)
    leaves = [world.persons[k].jurisdiction for k in ("A1M1", "A2", "B1", "P1M1")]
    high_area()
    RiskArea.objects.create(
        code="310115005", name="陆家嘴", level="medium", effective_from=date(2022, 7, 2)
    )
    RiskArea.objects.create(
        code="120101",
        name="和平区",
        level="high",
        effective_from=date(2022, 6, 20),
        effective_to=date(2022, 7, 6),
    )
    RiskArea.objects.create(
        code="440305",
        place="科技园",
        name="南山科技园",
        level="high",
        effective_from=date(2022, 7, 3),
    )
    local = edition_copy(
        actor=world.users["commander"],
        source=Edition.objects.get(key="nat-9"),
        name="王店 10 天",
        scope=world.nodes["T"],
        effective_from=date(2022, 7, 5),
    )
    edition_update(
        actor=world.users["commander"],
        edition=local,
        changes={},
        measures={"arrival_high": {"days": 10, "tests": [1, 4, 7, 10]}},
    )
    origins = [
        (CHAOYANG + "001000", ""),
        (CHAOYANG, ""),
        ("110101", ""),  # 东城区: another county, nothing
        ("310115005", ""),
        ("310115", ""),  # the rest of Pudong: low risk
        ("120101", ""),
        ("440305", "科技园3栋"),
        ("440305", "别处"),
        ("", ""),
    ]
    types = list(OrderType)
    sources = [OrderSource.REPORT, OrderSource.REPORT, OrderSource.MANUAL, OrderSource.CONTACT]
    for i in range(n):
        node = leaves[i % len(leaves)]
        person = Person.objects.create(
            jurisdiction=node, name=f"复核{i}", name_key=f"复核{i}", name_initials="fh"
        )
        for _k in range(1 + (i % 7 == 0)):
            code, place = rng.choice(origins)
            arrived = DAY - timedelta(days=rng.randint(0, 12))
            report(person, code, arrived - timedelta(days=rng.randint(0, 9)), arrived, place)
        if i % 3 == 0:
            start = DAY - timedelta(days=rng.randint(0, 8))
            source = rng.choice(sources)
            contact = source == OrderSource.CONTACT
            ControlOrder.objects.create(
                person=person,
                jurisdiction=node,
                type=rng.choice(types),
                status=OrderStatus.ACTIVE,
                starts_on=start,
                ends_on=start + timedelta(days=rng.choice((2, 6, 9, 13))),
                source=source,
                version=rng.randint(0, 3),
                category=rng.choice(("close_contact", "secondary_contact")) if contact else "",
                exposed_on=start - timedelta(days=1) if contact else None,
            )
    # Some under an order with no arrival at all: contacts, half of them with their
    # exposure kept (re-decided from it), half without (nothing to re-read).
    for i, node in enumerate(leaves * 2):
        person = Person.objects.create(
            jurisdiction=node, name="无行程", name_key="无行程", name_initials="wxc"
        )
        kept = i >= len(leaves)
        ControlOrder.objects.create(
            person=person,
            jurisdiction=node,
            type=OrderType.HOME_ISOLATION if i % 2 else OrderType.CENTRAL,
            status=OrderStatus.ACTIVE,
            starts_on=DAY - timedelta(days=i),
            ends_on=DAY + timedelta(days=6 - i),
            source=OrderSource.CONTACT,
            category="close_contact" if kept else "",
            exposed_on=DAY - timedelta(days=i + 1) if kept else None,
        )


@pytest.mark.parametrize("codes", [{CHAOYANG, "310115005", "120101", "440305"}, None])
def test_the_fast_path_and_the_per_person_loop_propose_exactly_the_same(world, codes):
    _varied(world)
    rules = Rules.load()
    with translation.override("zh-hans"):
        slow_run = RecheckRun.objects.create(as_of=DAY)
        scope = recheck.scope_of(
            RecheckRun(
                changes=[{"kind": "area", "codes": sorted(codes)}]
                if codes
                else [{"kind": "edition"}]
            ),
            DAY,
            rules,
        )
        slow = recheck_each.recheck_each(slow_run, scope)
        reference = _snapshot()
        RecheckProposal.objects.all().delete()
        fast_run = RecheckRun.objects.create(as_of=DAY)
        fast = recheck.recheck_bulk(fast_run, scope, rules)
    assert _snapshot() == reference
    assert (fast.checked, fast.proposed, fast.no_arrival) == (
        slow.checked,
        slow.proposed,
        slow.no_arrival,
    )
    kinds = {row[5] for row in reference}
    # A varied sample: new, stricter, shorter/longer/milder and ended orders all appear.
    assert {ProposalKind.NEW, ProposalKind.STRICTER, ProposalKind.END} <= kinds
    assert kinds & {ProposalKind.SHORTEN, ProposalKind.EXTEND, ProposalKind.MILDER}
    assert fast.groups < fast.checked
    # And running it again proposes nothing twice.
    with translation.override("zh-hans"):
        again = recheck.recheck_bulk(RecheckRun.objects.create(as_of=DAY), scope, rules)
    assert (again.proposed, again.outdated) == (0, 0)
    if codes is None:
        assert fast.no_arrival == 4
        # The contacts with no arrival but a kept exposure were re-decided.
        contacts = RecheckProposal.objects.filter(person__name="无行程", report=None)
        assert contacts.exists()


# Pages and API -------------------------------------------------------------------------


def test_the_review_page_and_batch(arrivals, login):
    high_area()
    run({CHAOYANG})
    w = arrivals
    page = login("commander").get("/control/recheck/")
    html = page.content.decode()
    assert page.status_code == 200
    assert w.persons["A1M1"].name in html and w.persons["P1M1"].name not in html
    assert login("gw_a1").get("/control/recheck/").status_code == 403
    (t_one,) = pending(person=w.persons["A1M1"])
    (u_one,) = pending(person=w.persons["P1M1"])
    # Another town's id in the batch is simply not found.
    login("commander").post(
        "/control/recheck/batch/", {"ids": [t_one.pk, u_one.pk], "action": "accept"}
    )
    t_one.refresh_from_db()
    u_one.refresh_from_db()
    assert (t_one.status, u_one.status) == (ProposalStatus.ACCEPTED, ProposalStatus.PENDING)
    detail = login("commander").get(f"/control/recheck/{t_one.pk}/")
    assert detail.status_code == 200 and t_one.reason[:20] in detail.content.decode()
    assert login("commander_u").get(f"/control/recheck/{t_one.pk}/").status_code == 404


def test_api_lists_accepts_and_rejects_idempotently(arrivals, login):
    high_area()
    run({CHAOYANG})
    w = arrivals
    t_client, u_client = login("commander"), login("commander_u")
    listed = t_client.get("/api/v1/control/recheck/proposals").json()
    (item,) = listed["items"]
    assert item["kind"] == "new" and "*" in item["person"]
    pk = item["id"]
    assert u_client.get(f"/api/v1/control/recheck/proposals/{pk}").status_code == 404
    assert u_client.post(f"/api/v1/control/recheck/proposals/{pk}/accept").status_code == 404
    first = t_client.post(f"/api/v1/control/recheck/proposals/{pk}/accept")
    again = t_client.post(f"/api/v1/control/recheck/proposals/{pk}/accept")
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "accepted"
    assert ControlOrder.objects.filter(person=w.persons["A1M1"]).count() == 1
    refused = t_client.post(
        f"/api/v1/control/recheck/proposals/{pk}/reject", {"note": ""}, "application/json"
    )
    assert refused.status_code == 422 and "已采纳" in refused.json()["detail"]
    (u_one,) = pending(person=w.persons["P1M1"])
    batch = u_client.post(
        "/api/v1/control/recheck/decide",
        {"ids": [u_one.pk, pk], "accept": False, "note": "已核实不在本地"},
        "application/json",
    ).json()
    assert batch == {"done": [u_one.pk], "skipped": [], "not_found": [pk]}
    schema = json.loads(Client().get("/api/v1/openapi.json").content)["paths"]
    for path in (
        "/api/v1/control/recheck/proposals",
        "/api/v1/control/recheck/proposals/{proposal_id}",
        "/api/v1/control/recheck/proposals/{proposal_id}/accept",
        "/api/v1/control/recheck/proposals/{proposal_id}/reject",
        "/api/v1/control/recheck/decide",
    ):
        assert path in schema


def test_the_morning_scan_asks_for_rules_that_take_effect_today(arrivals):
    # Entered in advance: nothing is saved on the day, so the scan asks for the run.
    RiskArea.objects.create(
        code=CHAOYANG, name="朝阳区", level="high", effective_from=date(2022, 7, 9)
    )
    assert recheck.rules_due_today(date(2022, 7, 8)) == 0
    assert recheck.rules_due_today(date(2022, 7, 9)) == 1
    (queued,) = RecheckRun.objects.filter(status=RunStatus.QUEUED)
    assert queued.changes[0]["codes"] == [CHAOYANG]
    # The 9th edition came into force on 2022-06-28 (and the 8th ended that day).
    assert recheck.rules_due_today(date(2022, 6, 28)) == 2
    done = recheck.recheck_run(queued.pk, as_of=DAY)
    assert done.status == RunStatus.DONE
    # Run again: a run already done is not run twice.
    assert recheck.recheck_run(queued.pk, as_of=DAY).proposed == done.proposed
