"""Mass testing's services: rounds, sampling (idempotent, pool invariants), lab results
(never guessed), recalls through work orders and control, coverage by grid."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from fangkong.control.models import ControlOrder, OrderStatus, OrderType
from fangkong.people.models import Household, Person, PersonStatus
from fangkong.testing.codes import person_id_of, resident_code
from fangkong.testing.counts import counts_differences, counts_recount
from fangkong.testing.coverage import coverage, not_tested
from fangkong.testing.models import Recall, RecallStatus, Sample, Tube, TubeStatus
from fangkong.testing.results import ResultRow, results_record
from fangkong.testing.rounds import exclusion_add, round_create
from fangkong.testing.sampling import (
    ALREADY,
    BY_CODE,
    BY_ID_NUMBER,
    CLOSE,
    RECORDED,
    REFUSED,
    Record,
    samples_sync,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # The assertions read the services' messages in English.
    with translation.override("en"):
        yield


TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(TZ).replace(microsecond=0)


def people(world, key: str, n: int, prefix: str) -> list[Person]:
    out = []
    for i in range(n):
        household = Household.objects.create(
            jurisdiction=world.nodes[key], address=f"{prefix}{i}号"
        )
        out.append(
            Person.objects.create(
                jurisdiction=world.nodes[key], household=household, name=f"{prefix}{i:02d}"
            )
        )
    return out


def a_round(world, pool_size: int = 10, scope=("A",)):
    return round_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="第一轮全员核酸",
        starts_on=NOW.date(),
        ends_on=NOW.date() + timedelta(days=1),
        pool_size=pool_size,
        scope=[world.nodes[k] for k in scope],
    )


def rec(barcode: str, person: Person | str, how: str = BY_CODE, **kw) -> Record:
    value = resident_code(person.pk) if isinstance(person, Person) else person
    return Record(
        client_id=kw.pop("client_id", uuid.uuid4()),
        barcode=barcode,
        taken_at=kw.pop("taken_at", NOW),
        how=how,
        person=value,
        **kw,
    )


def test_pool_sizes_other_than_1_5_10_20_are_refused(world):
    for bad in (0, 2, 15, 30, 50):
        with pytest.raises(ValidationError) as e:
            a_round(world, pool_size=bad)
        assert "pool_size" in e.value.message_dict
    assert a_round(world, pool_size=20).pool_size == 20
    # The database refuses it too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Tube.objects.create(
            barcode="X1",
            round=a_round(world),
            jurisdiction=world.nodes["A"],
            pool_size=3,
            opened_at=NOW,
        )


def test_a_round_is_organised_by_the_town_only(world):
    with pytest.raises(PermissionDenied):
        round_create(
            actor=world.users["gw_a1"],
            jurisdiction=world.nodes["T"],
            name="x",
            starts_on=NOW.date(),
            ends_on=NOW.date(),
            pool_size=10,
            scope=[world.nodes["A"]],
        )
    with pytest.raises(ValidationError):
        round_create(
            actor=world.users["commander"],
            jurisdiction=world.nodes["T"],
            name="x",
            starts_on=NOW.date(),
            ends_on=NOW.date(),
            pool_size=10,
            scope=[world.nodes["P"]],  # another town's village
        )


def test_resident_codes_are_opaque_and_signed(world):
    (p,) = people(world, "A1", 1, "码")
    code = resident_code(p.pk)
    assert person_id_of(code) == p.pk
    assert p.name not in code
    assert person_id_of(code[:-1] + ("A" if code[-1] != "A" else "B")) is None
    assert person_id_of("FK1:forged") is None


def test_a_tube_fills_to_its_pool_size_and_closes(world):
    round_ = a_round(world, pool_size=5)
    members = people(world, "A1", 7, "红")
    result = samples_sync(
        round_=round_, records=[rec("T0001", p) for p in members], actor=world.users["sampler"]
    )
    statuses = [a.status for a in result.answers]
    assert statuses == [RECORDED] * 5 + [REFUSED] * 2
    assert result.answers[4].closed and result.answers[4].size == 5
    assert "closed" in result.answers[5].error
    tube = Tube.objects.get(barcode="T0001")
    assert tube.status == TubeStatus.CLOSED and tube.size == 5
    assert list(
        Sample.objects.filter(tube=tube).order_by("position").values_list("position", flat=True)
    ) == [1, 2, 3, 4, 5]
    # The two left over go into the next tube.
    again = samples_sync(
        round_=round_, records=[rec("T0002", p) for p in members[5:]], actor=world.users["sampler"]
    )
    assert [a.status for a in again.answers] == [RECORDED, RECORDED]


def test_invariants_person_twice_reused_tube_other_round(world):
    round_ = a_round(world)
    a, b = people(world, "A2", 2, "东")
    sampler = world.users["sampler"]
    result = samples_sync(
        round_=round_,
        records=[rec("T1", a), rec("T1", a), rec("T2", a), rec("T1", "FKforged"), rec("T 1", b)],
        actor=sampler,
    )
    assert [x.status for x in result.answers] == [RECORDED, REFUSED, REFUSED, REFUSED, REFUSED]
    assert "already in this tube" in result.answers[1].error
    assert "already sampled this round" in result.answers[2].error
    assert "not a resident code" in result.answers[3].error
    assert "letters and digits" in result.answers[4].error
    samples_sync(round_=round_, records=[Record(uuid.uuid4(), "T1", NOW, CLOSE)], actor=sampler)
    closed = samples_sync(round_=round_, records=[rec("T1", b)], actor=sampler)
    assert "closed" in closed.answers[0].error
    # A tube of one round is never used in another.
    other = a_round(world)
    reused = samples_sync(round_=other, records=[rec("T1", b)], actor=sampler)
    assert "another round" in reused.answers[0].error
    # A person of another village is outside the round.
    (far,) = people(world, "B1", 1, "光")
    outside = samples_sync(round_=round_, records=[rec("T3", far)], actor=sampler)
    assert "outside the round" in outside.answers[0].error
    assert Sample.objects.count() == 1
    # The database holds the line as well.
    with pytest.raises(IntegrityError), transaction.atomic():
        Sample.objects.create(
            tube=Tube.objects.get(barcode="T1"),
            round=round_,
            person=a,
            jurisdiction=a.jurisdiction,
            position=2,
            pool_size=10,
            client_id=uuid.uuid4(),
            taken_at=NOW,
            received_at=NOW,
        )


def test_by_id_number_and_sync_twice_records_once(world):
    from tests.world import ensure_registry

    ensure_registry(world)
    round_ = a_round(world)
    resident = world.persons["A2"]
    records = [
        rec("T9", "110101199003070011", how=BY_ID_NUMBER),
        rec("T9", "110101199003070012", how=BY_ID_NUMBER),
    ]
    first = samples_sync(round_=round_, records=records, actor=world.users["sampler"])
    assert [a.status for a in first.answers] == [RECORDED, REFUSED]
    assert "No resident with this ID number" in first.answers[1].error
    second = samples_sync(round_=round_, records=records, actor=world.users["sampler"])
    assert [a.status for a in second.answers] == [ALREADY, REFUSED]
    assert Sample.objects.filter(person=resident).count() == 1
    # The same client id for another sample is refused, not merged.
    clash = samples_sync(
        round_=round_,
        records=[rec("T10", world.persons["A1M1"], client_id=records[0].client_id)],
        actor=world.users["sampler"],
    )
    assert clash.answers[0].status == REFUSED


def test_samplers_of_another_town_and_grid_workers_cannot_sample(world):
    round_ = a_round(world)
    (p,) = people(world, "A1", 1, "权")
    for persona in ("gw_a1", "commander_u", "lab"):
        with pytest.raises(PermissionDenied):
            samples_sync(round_=round_, records=[rec("T5", p)], actor=world.users[persona])


def _sampled_round(world):
    grid1 = people(world, "A1", 12, "甲")
    grid2 = people(world, "A2", 8, "乙")
    round_ = a_round(world)
    records = [rec("P01", p) for p in grid1[:10]] + [rec("P02", p) for p in grid2[:6]]
    samples_sync(round_=round_, records=records, actor=world.users["sampler"])
    samples_sync(
        round_=round_,
        records=[Record(uuid.uuid4(), "P02", NOW, CLOSE)],
        actor=world.users["sampler"],
    )
    return round_, grid1, grid2


def test_lab_results_list_unknown_duplicate_and_conflicting_rows(world):
    round_, _g1, _g2 = _sampled_round(world)
    rows = [
        ResultRow(2, "P02", "阴性", "", "", ""),
        ResultRow(3, "P99", "阴性"),
        ResultRow(4, "P02", "阴性"),  # the same again: recorded once
        ResultRow(5, "P01", "maybe"),
    ]
    report = results_record(round_=round_, rows=rows, actor=world.users["lab"], source="api")
    assert report.recorded == 1
    errors = {(p.row, p.barcode): p.error for p in report.problems}
    assert "No tube with this barcode" in errors[(3, "P99")]
    assert "recorded once" in errors[(4, "P02")]
    assert "Unknown result" in errors[(5, "P01")]
    # A conflicting result in one file records neither; one differing from what is
    # recorded is kept and listed.
    conflict = results_record(
        round_=round_,
        rows=[
            ResultRow(2, "P01", "阴性"),
            ResultRow(3, "P01", "阳性"),
            ResultRow(4, "P02", "阳性"),
        ],
        actor=world.users["lab"],
        source="api",
    )
    assert conflict.recorded == 0
    assert sum("Different results" in p.error for p in conflict.problems) == 2
    assert any("recorded before" in p.error for p in conflict.problems)
    assert Tube.objects.get(barcode="P02").outcome == "negative"
    assert not Recall.objects.exists()
    # Sending the same again records nothing new.
    again = results_record(round_=round_, rows=rows[:1], actor=world.users["lab"], source="api")
    assert again.recorded == 0 and again.already == 1
    with pytest.raises(PermissionDenied):
        results_record(round_=round_, rows=rows, actor=world.users["gw_a1"], source="api")


def test_positive_pool_recalls_holds_and_a_single_positive_becomes_a_case(world):
    from fangkong.control.sites import site_create
    from fangkong.testing.kinds import CONTROL_SAMPLE_KIND, RECALL_KIND
    from fangkong.testing.recalls import case_open
    from fangkong.workorders.models import Status, WorkOrder
    from fangkong.workorders.services import order_complete

    round_, grid1, _g2 = _sampled_round(world)
    sent_at = datetime.now(TZ)
    report = results_record(
        round_=round_,
        rows=[ResultRow(2, "P01", "阳性", "28.5", "30.1"), ResultRow(3, "P02", "阴性")],
        actor=world.users["lab"],
        source="api",
    )
    assert report.positives == ["P01"] and report.recalled == 10
    recalls = list(Recall.objects.filter(pool__barcode="P01"))
    assert {r.person_id for r in recalls} == {p.pk for p in grid1[:10]}
    held = ControlOrder.objects.filter(person__in=grid1[:10], status=OrderStatus.ACTIVE)
    assert held.count() == 10 and {o.type for o in held} == {OrderType.HOME_ISOLATION}
    work = WorkOrder.objects.filter(kind=RECALL_KIND)
    assert work.count() == 10
    due = {w.due_at for w in work}
    assert all(timedelta(hours=2) <= d - sent_at <= timedelta(hours=2, minutes=5) for d in due)
    # Control's own day-1 sampling order was taken over: one order per person.
    assert (
        not WorkOrder.objects.filter(kind=CONTROL_SAMPLE_KIND)
        .exclude(status=Status.CANCELLED)
        .exists()
    )
    # Running the consequences again (the same file resent) recalls nobody twice.
    results_record(
        round_=round_,
        rows=[ResultRow(2, "P01", "阳性", "28.5", "30.1")],
        actor=world.users["lab"],
        source="api",
    )
    assert Recall.objects.count() == 10
    # The grid worker samples each at home and completes the order with the tube.
    for i, recall_order in enumerate(work.order_by("id")):
        assert recall_order.assignee is not None
        order_complete(
            order_id=recall_order.pk,
            actor=recall_order.assignee,
            result={"tube": f"S{i:02d}"},
            client_id=uuid.uuid4(),
        )
    assert Recall.objects.filter(status=RecallStatus.SAMPLED).count() == 10
    single_rows = [ResultRow(i + 2, f"S{i:02d}", "阳性" if i == 3 else "阴性") for i in range(10)]
    results_record(round_=round_, rows=single_rows, actor=world.users["lab"], source="api")
    assert Recall.objects.filter(status=RecallStatus.NEGATIVE).count() == 9
    # Recall samples are no routine samples: the kept counts are still exact.
    assert counts_differences(round_, NOW.date()) == {}
    positive = Recall.objects.get(status=RecallStatus.POSITIVE)
    hospital = site_create(
        actor=world.users["county"], jurisdiction=world.nodes["C"], name="定点医院", kind="hospital"
    )
    with pytest.raises(PermissionDenied):
        case_open(
            recall=positive, actor=world.users["lab"], hospital=hospital, vehicle="浙F", driver="x"
        )
    made = case_open(
        recall=positive,
        actor=world.users["commander"],
        hospital=hospital,
        vehicle="浙F12345",
        driver="司机",
    )
    assert made.transfer.pk
    positive.refresh_from_db()
    assert positive.status == RecallStatus.CASE
    order = ControlOrder.objects.get(person=positive.person, type=OrderType.HOME_ISOLATION)
    assert order.status == OrderStatus.TRANSFERRED


def test_coverage_by_grid_with_exclusions(world):
    round_, grid1, grid2 = _sampled_round(world)
    # One of grid 2 away with a date: not expected; one moved out: not expected either.
    exclusion_add(
        actor=world.users["commander"],
        round_=round_,
        person=grid2[7],
        reason="away",
        until=NOW.date() + timedelta(days=5),
    )
    results_record(
        round_=round_, rows=[ResultRow(2, "P01", "阴性")], actor=world.users["lab"], source="api"
    )
    # The kept counts followed every write exactly.
    assert counts_differences(round_, NOW.date()) == {}
    # A registry change reaches them with the periodic recount.
    Person.objects.filter(pk=grid2[6].pk).update(status=PersonStatus.MOVED_OUT)
    assert counts_differences(round_, NOW.date()) != {}
    assert counts_recount(round_, NOW.date()) == 1
    assert counts_differences(round_, NOW.date()) == {}
    cov = coverage(round_, today=NOW.date())
    rows = {r.node.name: r for r in cov.grids}
    red, east = rows["红星网格"], rows["东风网格"]
    assert (red.expected, red.tested, red.not_tested, red.results) == (12, 10, 2, 10)
    assert (east.expected, east.tested, east.not_tested, east.results) == (6, 6, 0, 0)
    assert (cov.total.expected, cov.total.tested) == (18, 16)
    assert [v.node.name for v in cov.villages] == ["四喜社区"]
    missing = not_tested(round_, today=NOW.date(), node=world.nodes["A1"])
    assert {p.pk for p in missing} == {p.pk for p in grid1[10:]}
    # A grid worker of 红星 sees only their grid.
    mine = coverage(round_, today=NOW.date(), user=world.users["gw_a1"])
    assert [r.node.name for r in mine.grids] == ["红星网格"]


def test_boxes_are_scanned_out_at_the_point_and_in_at_the_lab(world):
    from fangkong.testing.boxes import box_in, box_out

    round_, _g1, _g2 = _sampled_round(world)
    samples_sync(
        round_=round_,
        records=[rec("OPEN1", people(world, "A1", 1, "开")[0])],
        actor=world.users["sampler"],
    )
    sampler, lab = world.users["sampler"], world.users["lab"]
    with pytest.raises(ValidationError):  # an open tube is not packed
        box_out(round_=round_, code="BOX1", barcodes=["P01", "OPEN1"], actor=sampler)
    box = box_out(round_=round_, code="BOX1", barcodes=["P01", "P02"], actor=sampler)
    assert set(Tube.objects.filter(box=box).values_list("barcode", flat=True)) == {"P01", "P02"}
    with pytest.raises(ValidationError):  # a tube goes in one box
        box_out(round_=round_, code="BOX2", barcodes=["P01"], actor=sampler)
    with pytest.raises(PermissionDenied):
        box_out(round_=round_, code="BOX3", barcodes=["P02"], actor=world.users["gw_a1"])
    assert box_in(code="BOX1", barcodes=["P01", "X9"], actor=lab) == ["P02", "X9"]
    with pytest.raises(ValidationError):
        box_in(code="BOX1", barcodes=[], actor=lab)


def test_one_tap_sends_the_not_tested_to_their_grid_workers(world):
    from fangkong.testing.chase import chase_not_tested
    from fangkong.testing.kinds import CHASE_KIND

    round_, grid1, grid2 = _sampled_round(world)
    orders = chase_not_tested(round_=round_, node=world.nodes["A"], actor=world.users["cadre_a"])
    assert {o.subject_id for o in orders} == {p.pk for p in grid1[10:] + grid2[6:]}
    assert all(o.kind == CHASE_KIND for o in orders)
    assert {o.assignee for o in orders if o.subject_id in {p.pk for p in grid1}} == {
        world.users["gw_a1"]
    }
    # 东风 has no grid worker in this world: its orders wait for someone to dispatch them.
    assert {o.assignee for o in orders if o.subject_id in {p.pk for p in grid2}} == {None}
    with pytest.raises(PermissionDenied):
        chase_not_tested(round_=round_, node=world.nodes["A"], actor=world.users["gw_a1"])


def test_odd_values_are_refused_with_reasons_not_errors(world):
    round_, _g1, _g2 = _sampled_round(world)
    report = results_record(
        round_=round_,
        rows=[
            ResultRow(2, "P01", "阴性", "NaN"),
            ResultRow(3, "P01", "阴性", "Infinity"),
            ResultRow(4, "P02", "阴性", "", "", "0001-01-01 00:00"),
        ],
        actor=world.users["lab"],
        source="api",
    )
    assert report.recorded == 0 and len(report.problems) == 3
    (late,) = people(world, "A1", 1, "钟")
    naive = samples_sync(
        round_=round_,
        records=[rec("NV1", late, taken_at=NOW.replace(tzinfo=None))],
        actor=world.users["sampler"],
    )
    assert naive.answers[0].status == RECORDED
