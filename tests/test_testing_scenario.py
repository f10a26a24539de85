"""Issue 17's scenario through the pages and the API, as the people would do it.

四喜社区 (village A: grids 红星 A1 with its micro-grid, 东风 A2) holds 43 residents, one of
them away. The town commander opens a 10-in-1 round over the village; a sampler whose
phone lost the connection sends the same queue twice; the lab uploads an xlsx from its
system (a merged title row above the header, a barcode nobody sampled, a row twice);
one pool is positive: its 10 members are held at home by control and each gets a home
sampling order due within 2 hours; the grid workers take the single samples; one is
positive and the commander makes them a case. Coverage and the not-tested lists are
checked by grid, and the not-tested list is exported."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from fangkong.control.models import ControlOrder, OrderStatus, OrderType
from fangkong.control.sites import site_create
from fangkong.people.models import Household, Person, PersonStatus
from fangkong.testing.codes import resident_code
from fangkong.testing.counts import counts_differences
from fangkong.testing.kinds import RECALL_KIND
from fangkong.testing.models import Recall, RecallStatus, Round, Sample
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import order_complete

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def lab_file(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["王店镇核酸检测结果", "", "", "", ""])
    sheet.merge_cells("A1:E1")
    sheet.append(["样本条码", "检测结果", "ORF1ab", "N基因", "检测时间"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_village_round_from_sampling_to_a_case(world, login):
    commander, sampler, lab = login("commander"), login("sampler"), login("lab")
    for client in (commander, sampler, lab):
        # The assertions read the answers' messages in English.
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    residents: dict[str, list[Person]] = {"A1": [], "A1M1": [], "A2": []}
    for key, n in (("A1", 25), ("A1M1", 5), ("A2", 13)):
        for i in range(n):
            household = Household.objects.create(
                jurisdiction=world.nodes[key], address=f"{key}路{i}号"
            )
            residents[key].append(
                Person.objects.create(
                    jurisdiction=world.nodes[key], household=household, name=f"{key}居民{i:02d}"
                )
            )
    away = residents["A2"][-1]
    Person.objects.filter(pk=away.pk).update(status=PersonStatus.AWAY)
    today = timezone.localdate()
    made = post(
        commander,
        "/api/v1/testing/rounds",
        {
            "name": "四喜社区全员核酸",
            "node": world.nodes["T"].code,
            "scope": [world.nodes["A"].code],
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
            "pool_size": 10,
        },
    )
    assert made.status_code == 201, made.content
    round_id = made.json()["id"]
    bad = post(
        commander,
        "/api/v1/testing/rounds",
        {
            "name": "x",
            "node": world.nodes["T"].code,
            "scope": [world.nodes["A"].code],
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
            "pool_size": 30,
        },
    )
    assert bad.status_code == 422

    # The sampler's phone: 40 of the 42 present residents in 4 tubes of 10, the queue
    # sent twice (the first answer was lost); one grid-A2 resident is missed.
    present = residents["A1"] + residents["A1M1"] + residents["A2"][:-1]
    sampled, missed = present[:40], present[40:]
    now = timezone.now()
    queue = [
        {
            "client_id": str(uuid.uuid4()),
            "barcode": f"SX{i // 10 + 1:04d}",
            "how": "code",
            "person": resident_code(p.pk),
            "taken_at": now.isoformat(),
        }
        for i, p in enumerate(sampled)
    ]
    url = f"/api/v1/testing/rounds/{round_id}/samples"
    first = post(sampler, url, {"records": queue})
    assert first.status_code == 200, first.content
    assert first.json()["recorded"] == 40
    again = post(sampler, url, {"records": queue})
    assert again.json()["recorded"] == 0
    assert {a["status"] for a in again.json()["answers"]} == {"already"}
    assert Sample.objects.count() == 40
    closed = [a for a in first.json()["answers"] if a["closed"]]
    assert len(closed) == 4  # each tube closed at its tenth person
    # Grid workers and the other town's sampler-less commander cannot sync.
    assert post(login("gw_a1"), url, {"records": queue[:1]}).status_code in (403, 404)
    assert post(login("commander_u"), url, {"records": queue[:1]}).status_code == 404

    # The lab's file: tube SX0002 positive, a barcode nobody sampled, SX0001 twice.
    page = f"/testing/r/{round_id}/results/"
    content = lab_file(
        [
            ["SX0001", "阴性", "", "", ""],
            [
                "SX0002",
                "阳性",
                "27.3",
                "29.8",
                (now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"),
            ],
            ["SX0003", "阴性", "", "", ""],
            ["SX0004", "阴性", "", "", ""],
            ["SX9999", "阴性", "", "", ""],
            ["SX0001", "阴性", "", "", ""],
        ]
    )
    upload = io.BytesIO(content)
    upload.name = "结果.xlsx"
    preview = lab.post(page, {"file": upload})
    assert preview.status_code == 200, preview.context["form"].errors
    assert preview.context["row_count"] == 6
    held = preview.context["upload"]
    confirmed_at = timezone.now()
    report = lab.post(f"/testing/results/{held.pk}/confirm/", {"round": round_id})
    assert report.status_code == 200, report.context["error"]
    result = report.context["report"]
    assert result.recorded == 4 and result.positives == ["SX0002"] and result.recalled == 10
    problems = {p.row: p.error for p in result.problems}
    assert "No tube with this barcode" in problems[7]  # the spreadsheet's own row numbers
    assert "recorded once" in problems[8]
    assert "SX9999" in report.content.decode()

    pool = sampled[10:20]
    recalls = Recall.objects.filter(pool__barcode="SX0002")
    assert {r.person_id for r in recalls} == {p.pk for p in pool}
    assert all(r.status == RecallStatus.WAITING for r in recalls)
    held_orders = ControlOrder.objects.filter(person__in=pool, status=OrderStatus.ACTIVE)
    assert held_orders.count() == 10
    assert {o.type for o in held_orders} == {OrderType.HOME_ISOLATION}
    orders = WorkOrder.objects.filter(kind=RECALL_KIND).order_by("id")
    assert orders.count() == 10
    assert all(
        timedelta(hours=2) <= o.due_at - confirmed_at <= timedelta(hours=2, minutes=5)
        for o in orders
    )

    # The grid workers take the single samples at home.
    for i, order in enumerate(orders):
        assert order.assignee is not None
        order_complete(
            order_id=order.pk,
            actor=order.assignee,
            result={"tube": f"DD{i:04d}"},
            client_id=uuid.uuid4(),
        )
    singles = [{"barcode": f"DD{i:04d}", "result": "阳性" if i == 6 else "阴性"} for i in range(10)]
    sent = post(lab, f"/api/v1/testing/rounds/{round_id}/results", {"rows": singles})
    assert sent.status_code == 200, sent.content
    assert sent.json()["recorded"] == 10 and sent.json()["positives"] == ["DD0006"]
    positive = Recall.objects.get(status=RecallStatus.POSITIVE)
    assert Recall.objects.filter(status=RecallStatus.NEGATIVE).count() == 9

    # The single positive becomes a case: to the hospital, by the commander.
    hospital = site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="王店定点医院",
        kind="hospital",
    )
    case_url = f"/api/v1/testing/recalls/{positive.pk}/case"
    body = {"hospital_id": hospital.pk, "vehicle": "浙F12345", "driver": "王师傅"}
    assert post(lab, case_url, body).status_code in (403, 404)
    case = post(commander, case_url, body)
    assert case.status_code == 201, case.content
    positive.refresh_from_db()
    assert positive.status == RecallStatus.CASE
    assert ControlOrder.objects.get(
        person=positive.person, type=OrderType.HOME_ISOLATION
    ).status == (OrderStatus.TRANSFERRED)

    # Coverage by grid: 红星 counts its micro-grid; 东风's away resident is not expected.
    assert counts_differences(world_round(round_id), today) == {}
    cov = commander.get(f"/api/v1/testing/rounds/{round_id}/coverage").json()
    grids = {g["name"]: g for g in cov["grids"]}
    assert (grids["红星网格"]["expected"], grids["红星网格"]["tested"]) == (30, 30)
    assert (grids["东风网格"]["expected"], grids["东风网格"]["tested"]) == (12, 10)
    assert grids["红星网格"]["results"] == 30 and grids["红星网格"]["positive"] == 10
    assert cov["total"]["not_tested"] == 2
    listed = commander.get(f"/api/v1/testing/rounds/{round_id}/not-tested").json()["items"]
    assert {p["id"] for p in listed} == {p.pk for p in missed}
    assert all("*" in p["name"] for p in listed)
    # 红星's grid worker sees their grid only, and nobody of theirs is missing.
    mine = login("gw_a1").get(f"/api/v1/testing/rounds/{round_id}/coverage").json()
    assert [g["name"] for g in mine["grids"]] == ["红星网格"]
    assert login("gw_a1").get(f"/api/v1/testing/rounds/{round_id}/not-tested").json()["items"] == []
    # The export, through the one writer, masked.
    export = commander.get(f"/testing/r/{round_id}/not-tested.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(
        io.BytesIO(b"".join(export.streaming_content) if export.streaming else export.content)
    ).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + len(missed)
    assert all(missed_person.name not in str(rows) for missed_person in missed)


def world_round(round_id: int) -> Round:
    return Round.objects.get(pk=round_id)
