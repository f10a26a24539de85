"""Screening API: returnee reports filed by staff and without an account (the public
form's checks, limits and honeypot), listed and read in scope and masked, verified
through the report's order; pushed lists uploaded as a file or as JSON rows through the
one pipeline, with per-row results and the feedback file; sweeps and their coverage."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.core.models import Upload
from fangkong.screening.models import (
    MeasureStatus,
    PersonMeasure,
    PushedList,
    PushedRow,
    ReturneeReport,
)
from fangkong.screening.pushed import FEEDBACK_HEADERS
from fangkong.workorders.models import WorkOrder
from tests.world import REGISTRY, RETURNEES, World, ensure_registry, ensure_reports, ensure_sweep

pytestmark = pytest.mark.django_db

API = "/api/v1/screening"


def _post(client: Any, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, data=body, content_type="application/json", **extra)


def _report(**changes: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "name": "归乡丁",
        "id_number": "110101199003070054",
        "phone": "13911112222",
        "origin_code": "310115005",
        "left_on": (today - timedelta(days=2)).isoformat(),
        "arrived_on": (today - timedelta(days=1)).isoformat(),
        "mode": "train",
        "vehicle": "G1234",
        "address": "红星路12号",
        "vaccination": 3,
    } | changes


# Returnee reports -------------------------------------------------------------------


def test_staff_file_a_report_once_and_see_it_masked(login, world: World):
    gw = login("gw_a1")
    body = _report(village=world.nodes["A"].code, grid=world.nodes["A1"].code)
    first = _post(gw, f"{API}/returnees", body)
    assert first.status_code == 200, first.content
    report = first.json()["report"]
    assert first.json()["created"] is True and report["node_code"] == world.nodes["A1"].code
    assert report["id_number_masked"] == "110***********0054"
    assert report["phone_masked"] == "139****2222" and report["source"] == "staff"
    assert [m["status"] for m in report["measures"]] == ["proposed"]
    assert "13911112222" not in first.content.decode()
    again = _post(gw, f"{API}/returnees", body | {"address": "红星路12号3室"})
    assert again.json()["created"] is False and again.json()["report"]["code"] == report["code"]
    assert ReturneeReport.objects.count() == 1
    # A grid worker names one of their grids: the village alone is not theirs.
    no_grid = _post(gw, f"{API}/returnees", body | {"grid": ""})
    assert no_grid.status_code == 422 and "grid" in no_grid.json()["errors"]
    # Another town's village is not a destination of theirs.
    other = body | {"village": world.nodes["P"].code, "grid": ""}
    assert _post(gw, f"{API}/returnees", other).json()["errors"].keys() == {"village"}
    assert ReturneeReport.objects.count() == 1


def test_bad_reports_name_their_fields_and_file_nothing(login, world: World):
    cadre = login("cadre_a")
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    bad = _post(
        cadre,
        f"{API}/returnees",
        _report(
            village=world.nodes["A"].code,
            id_number="110101199003070011X",
            phone="12345",
            origin_code="99",
            arrived_on=future,
            vehicle="",
            name="<b>",
        ),
    )
    assert bad.status_code == 422, bad.content
    errors = bad.json()["errors"]
    assert {"id_number", "phone", "origin_code", "arrived_on", "vehicle", "name"} <= set(errors)
    assert ReturneeReport.objects.count() == 0 and WorkOrder.objects.count() == 0


def test_reports_are_listed_and_read_in_scope(login, world: World):
    reports = ensure_reports(world)
    cadre = login("cadre_a")
    names = [r["name"] for r in cadre.get(f"{API}/returnees").json()["items"]]
    assert names == [RETURNEES["A1"][0]]
    assert cadre.get(f"{API}/returnees/{reports['B1'].pk}").status_code == 404
    assert login("commander_u").get(f"{API}/returnees/{reports['A1'].pk}").status_code == 404
    commander = login("commander")
    all_names = {r["name"] for r in commander.get(f"{API}/returnees").json()["items"]}
    assert all_names == {RETURNEES["A1"][0], RETURNEES["B1"][0]}
    by_village = commander.get(f"{API}/returnees", {"village": world.nodes["B"].code}).json()
    assert [r["name"] for r in by_village["items"]] == [RETURNEES["B1"][0]]
    assert commander.get(f"{API}/returnees", {"village": world.nodes["P"].code}).status_code == 404
    on_day = commander.get(f"{API}/returnees", {"arrived_from": "2026-01-03"}).json()
    assert on_day["items"] == []
    one = commander.get(f"{API}/returnees/{reports['A1'].pk}").json()
    assert one["id_number_masked"].startswith("110") and RETURNEES["A1"][1] not in str(one)


def test_the_assignee_verifies_once_and_the_measure_is_recorded(login, world: World):
    reports = ensure_reports(world)
    report = reports["A1"]
    assert report.order is not None
    assignee = report.order.assignee
    assert assignee == world.users["gw_a1"]
    gw = login("gw_a1")
    url = f"{API}/returnees/{report.pk}/verify"
    key = str(uuid.uuid4())
    bad = _post(gw, url, {"client_id": key, "outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.json()["errors"], bad.content
    assert _post(gw, url, {"client_id": "x", "outcome": "found_controlled"}).status_code == 422
    body = {
        "client_id": key,
        "outcome": "found_controlled",
        "measure": "home_monitoring",
        "note": "已上门",
    }
    done = _post(gw, url, body)
    assert done.status_code == 200, done.content
    assert done.json()["created"] is True and done.json()["report"]["status"] == "verified"
    verified = PersonMeasure.objects.filter(report=report, status=MeasureStatus.VERIFIED)
    assert [m.place for m in verified] == ["home_monitoring"]
    again = _post(gw, url, body)
    assert again.status_code == 200 and again.json()["created"] is False
    assert verified.count() == 1
    # Not in the area: 404; a viewer without people.edit: 403.
    assert _post(login("gw_b1"), url, body).status_code == 404
    assert _post(login("auditor"), url, body).status_code == 403


# Without an account -----------------------------------------------------------------


def test_a_resident_files_without_an_account_and_sees_only_their_own_report(client, world):
    ensure_reports(world)
    body = _report(village=world.nodes["A"].code)
    filed = _post(client, f"{API}/returnees/public", body)
    assert filed.status_code == 200, filed.content
    receipt = filed.json()
    assert set(receipt) == {
        "code",
        "village_name",
        "name",
        "id_number_masked",
        "origin_label",
        "arrived_on",
        "status",
        "proposed_place",
        "reason",
    }
    assert receipt["village_name"] == "四喜社区" and receipt["id_number_masked"].endswith("0054")
    report = ReturneeReport.objects.get(code=receipt["code"])
    assert report.source == "self" and report.jurisdiction == world.nodes["A"]
    # Filed again (a retry): the same report and code.
    assert _post(client, f"{API}/returnees/public", body).json()["code"] == receipt["code"]
    assert ReturneeReport.objects.filter(name="归乡丁").count() == 1
    status = _post(
        client,
        f"{API}/returnees/public/status",
        {"code": receipt["code"].lower(), "phone": "139 1111 2222"},
    )
    assert status.status_code == 200 and status.json()["code"] == receipt["code"]
    # Someone else's code with this phone, or this code with another phone: nothing.
    other = ReturneeReport.objects.exclude(pk=report.pk).first()
    assert other is not None
    for code, phone in ((other.code, "13911112222"), (receipt["code"], RETURNEES["A1"][2])):
        missing = _post(client, f"{API}/returnees/public/status", {"code": code, "phone": phone})
        assert missing.status_code == 404 and RETURNEES["A1"][0] not in missing.content.decode()
    # A village code that is not a village (a town) is unknown.
    town = _post(client, f"{API}/returnees/public", body | {"village": world.nodes["T"].code})
    assert town.status_code == 404


def test_the_public_operation_has_the_forms_honeypot_and_checks(client, world):
    trap = _post(
        client, f"{API}/returnees/public", _report(village=world.nodes["A"].code, website="x")
    )
    assert trap.status_code == 422 and "website" in trap.json()["errors"]
    bad = _post(
        client, f"{API}/returnees/public", _report(village=world.nodes["A"].code, phone="1")
    )
    assert bad.status_code == 422 and "phone" in bad.json()["errors"]
    assert ReturneeReport.objects.count() == 0


def test_the_public_operation_and_the_form_share_their_limits(client, world, frozen_clock):
    village = world.nodes["A"].code
    phone = "13955556666"
    # The form counts every attempt carrying a phone; so does the API, on the same counter.
    for _i in range(6):
        page = client.post(f"/r/{village}/", {"phone": phone, "name": "x"})
        assert page.status_code == 400
    for _i in range(4):
        api = _post(
            client, f"{API}/returnees/public", _report(village=village, phone=phone, id_number="1")
        )
        assert api.status_code == 422
    refused = _post(client, f"{API}/returnees/public", _report(village=village, phone=phone))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["detail"] and ReturneeReport.objects.count() == 0


# Pushed lists -------------------------------------------------------------------------

LIST_HEADERS = ["序号", "姓名", "身份证号码", "联系电话", "备注"]


@pytest.fixture
def listed(world: World, settings: Any) -> World:
    # The import job runs as soon as it is queued (the worker's path is the pages' tests').
    settings.FANGKONG_IMPORT_SYNC = True
    ensure_registry(world)
    return world


def _list_rows() -> list[list[str]]:
    rows = [
        [str(i + 1), REGISTRY[key][1], REGISTRY[key][2], REGISTRY[key][3], "请核查"]
        for i, key in enumerate(("A1M1", "A2", "B1", "P1M1"))
    ]
    rows.append(["5", "查无此人", "", "13700000099", "县里补充"])
    return rows


def _xlsx(headers: list[str], rows: list[list[str]]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _meta(**changes: Any) -> dict[str, Any]:
    deadline = timezone.localtime() + timedelta(days=1)
    return {
        "name": "红码核查第38批",
        "source": "县指挥部",
        "category": "red_code",
        "deadline": deadline.isoformat(),
    } | changes


def _upload(client: Any, data: bytes, **meta: Any) -> Any:
    return client.post(
        f"{API}/lists",
        {"file": SimpleUploadedFile("第38批.xlsx", data), **_meta(**meta)},
    )


def _results(client: Any, list_id: int) -> list[tuple[Any, ...]]:
    items = client.get(f"{API}/lists/{list_id}/rows", {"limit": 200}).json()["items"]
    return sorted(
        (r["row_number"], r["name"], r["match"], r["person_id"], r["node_code"]) for r in items
    )


def test_a_file_and_the_same_rows_as_json_give_the_same_results_once(login, listed):
    commander = login("commander")
    data = _xlsx(LIST_HEADERS, _list_rows())
    sent = _upload(commander, data)
    assert sent.status_code == 200, sent.content
    assert sent.json()["created"] is True
    pushed = sent.json()["list"]
    assert pushed["job"]["status"] == "done" and pushed["node_code"] == listed.nodes["T"].code
    assert pushed["job"]["counts"]["matched"] == 3  # 戚桃居 lives in the other town
    again = _upload(commander, data, name="又传一次")
    assert again.json()["created"] is False and again.json()["list"]["id"] == pushed["id"]
    assert PushedList.objects.count() == 1 and Upload.objects.count() == 0
    body = _meta(name="同一批(JSON)", headers=LIST_HEADERS, rows=_list_rows())
    as_json = _post(commander, f"{API}/lists/rows", body)
    assert as_json.status_code == 200, as_json.content
    assert as_json.json()["created"] is True
    other = as_json.json()["list"]["id"]
    assert _results(commander, other) == _results(commander, pushed["id"])
    assert len(_results(commander, other)) == 5
    assert _post(commander, f"{API}/lists/rows", body).json()["list"]["id"] == other
    assert PushedList.objects.count() == 2 and PushedRow.objects.count() == 10


def test_lists_are_read_in_scope_with_progress_by_village(login, listed):
    commander = login("commander")
    pushed = _upload(commander, _xlsx(LIST_HEADERS, _list_rows())).json()["list"]
    detail = commander.get(f"{API}/lists/{pushed['id']}").json()
    by_node = {p["node_name"]: (p["total"], p["done"], p["to_locate"]) for p in detail["progress"]}
    assert by_node["四喜社区"] == (2, 0, 0) and by_node["建设村"] == (1, 0, 0)
    assert by_node["王店镇"] == (2, 0, 2)  # not found: the town locates them
    gw = login("gw_a1")
    mine = gw.get(f"{API}/lists/{pushed['id']}")
    assert mine.status_code == 200 and mine.json()["job"]["rows_total"] == 0
    assert [r[1] for r in _results(gw, pushed["id"])] == [REGISTRY["A1M1"][1]]
    assert login("commander_u").get(f"{API}/lists/{pushed['id']}").status_code == 404
    assert login("commander_u").get(f"{API}/lists/{pushed['id']}/rows").status_code == 404
    body = commander.get(f"{API}/lists/{pushed['id']}/rows").content.decode()
    assert REGISTRY["A1M1"][2] not in body and REGISTRY["A1M1"][3] not in body


def test_the_feedback_file_opens_in_the_senders_layout_and_is_audited(login, listed):
    commander = login("commander")
    pushed = _upload(commander, _xlsx(LIST_HEADERS, _list_rows())).json()["list"]
    response = commander.get(f"{API}/lists/{pushed['id']}/feedback/xlsx")
    assert response.status_code == 200
    data = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == [*LIST_HEADERS, *FEEDBACK_HEADERS]
    assert [r[1] for r in rows[1:]] == [r[1] for r in _list_rows()]
    assert {r[len(LIST_HEADERS)] for r in rows[1:]} == {"待核查"}
    assert rows[1][4] == "请核查" and rows[5][4] == "县里补充"
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.detail["via"] == "api" and event.detail["rows"] == 5
    assert login("gw_a1").get(f"{API}/lists/{pushed['id']}/feedback/xlsx").status_code == 403


def test_unknown_columns_are_refused_until_mapped_and_nothing_is_held(login, listed):
    commander = login("commander")
    headers = ["编号", "人员", "证件", "手机号码"]
    rows = [[r[0], r[1], r[2], r[3]] for r in _list_rows()]
    body = _meta(headers=headers, rows=rows)
    refused = _post(commander, f"{API}/lists/rows", body)
    assert refused.status_code == 422 and "mapping" in refused.json()["errors"], refused.content
    assert PushedList.objects.count() == 0 and Upload.objects.count() == 0
    bad = _post(commander, f"{API}/lists/rows", body | {"category": "purple"})
    assert bad.status_code == 422 and "category" in bad.json()["errors"]
    for deadline in ("0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00"):
        late = _post(commander, f"{API}/lists/rows", body | {"deadline": deadline})
        assert late.status_code == 422 and "deadline" in late.json()["errors"], deadline
    mapped = _post(
        commander,
        f"{API}/lists/rows",
        body | {"mapping": {"人员": "name", "证件": "id_number", "编号": ""}},
    )
    assert mapped.status_code == 200, mapped.content
    assert mapped.json()["list"]["job"]["counts"]["matched"] == 3
    # Without people.import anywhere: refused before anything is read.
    assert _post(login("gw_a1"), f"{API}/lists/rows", body).status_code == 403


# Sweeps -------------------------------------------------------------------------------


def test_sweeps_and_their_coverage_are_read_in_scope(login, world: World):
    sweep = ensure_sweep(world)
    commander = login("commander")
    listed = commander.get(f"{API}/sweeps").json()["items"]
    assert [s["name"] for s in listed] == ["敲门行动第一轮"]
    assert listed[0]["total"]["households"] == 3 and listed[0]["total"]["not_reached"] == 3
    villages = commander.get(f"{API}/sweeps/{sweep.pk}/coverage").json()
    assert {c["node_name"]: c["households"] for c in villages} == {"四喜社区": 2, "建设村": 1}
    grids = commander.get(f"{API}/sweeps/{sweep.pk}/coverage", {"by": "grid"}).json()
    assert {c["node_name"] for c in grids} == {"红星网格", "东风网格", "光明网格"}
    gw = login("gw_a1")
    assert gw.get(f"{API}/sweeps/{sweep.pk}").json()["total"]["households"] == 1
    assert [c["node_name"] for c in gw.get(f"{API}/sweeps/{sweep.pk}/coverage?by=grid").json()] == [
        "红星网格"
    ]
    assert login("commander_u").get(f"{API}/sweeps/{sweep.pk}").status_code == 404
    assert login("commander_u").get(f"{API}/sweeps/{sweep.pk}/coverage").status_code == 404
