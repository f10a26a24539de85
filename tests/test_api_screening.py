"""Screening API: returnee reports filed by staff and without an account (the public
form's checks, limits and honeypot), listed and read in scope and masked, verified
through the report's order; pushed lists uploaded as a file or as JSON rows through the
one pipeline, with per-row results and the feedback file; sweeps and their coverage."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from fangkong.screening.models import MeasureStatus, PersonMeasure, ReturneeReport
from fangkong.workorders.models import WorkOrder
from tests.world import RETURNEES, World, ensure_reports

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
    assert _post(gw, f"{API}/returnees", other).status_code == 404
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


def test_the_public_operation_and_the_form_share_their_limits(client, world):
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
