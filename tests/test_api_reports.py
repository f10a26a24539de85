"""Reports API: daily reports read in scope and submitted by those who may at the
village; bulletins listed in scope and their documents downloaded, each download
audited; bad input named with nothing changed; a resent report never a second one."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from fangkong.audit.models import AuditEvent
from fangkong.reports.bulletin import bulletin_generate
from fangkong.reports.models import DailyReport

pytestmark = pytest.mark.django_db

API = "/api/v1/reports"


def _post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=body, content_type="application/json")


def test_a_cadre_submits_their_village_once_and_corrects_it(login, world):
    cadre = login("cadre_a")
    village = world.nodes["A"].code
    url = f"{API}/daily/{village}"
    before = cadre.get(url)
    assert before.status_code == 200 and before.json()["status"] == "not_started"
    keys = {f["key"]: f["kind"] for f in before.json()["fields"]}
    assert keys["propaganda"] == "number"
    sent = _post(cadre, url, {"values": {"propaganda": 3, "needs": "口罩"}})
    assert sent.status_code == 200, sent.content
    body = sent.json()
    assert body["status"] == "submitted" and body["values"]["propaganda"] == 3
    assert body["values"]["needs"] == "口罩"
    # Sent again (a retry, or a correction): still one report, the first time kept.
    again = _post(cadre, url, {"values": {"propaganda": 4}})
    assert again.json()["submitted_at"] == body["submitted_at"]
    assert DailyReport.objects.filter(village=world.nodes["A"]).count() == 1
    assert again.json()["values"]["propaganda"] == 4
    assert AuditEvent.objects.filter(object_repr__startswith=f"daily report {village}").count() == 2


def test_reports_are_scoped_to_the_village_and_the_town(login, world):
    a, p = world.nodes["A"].code, world.nodes["P"].code
    cadre = login("cadre_a")
    # Another village of the same town: seen by nobody but those above it.
    assert cadre.get(f"{API}/daily/{world.nodes['B'].code}").status_code == 404
    assert _post(cadre, f"{API}/daily/{world.nodes['B'].code}", {}).status_code == 404
    assert login("commander_u").get(f"{API}/daily/{a}").status_code == 404
    assert _post(login("commander_u"), f"{API}/daily/{a}", {}).status_code == 404
    # Reports are no business of a grid worker or the town's auditor.
    assert login("gw_a1").get(f"{API}/daily").status_code == 403
    assert login("auditor").get(f"{API}/daily/{a}").status_code == 403
    assert not DailyReport.objects.exists()
    # The town's list has its own villages, not the other town's.
    listed = login("commander").get(f"{API}/daily").json()["items"]
    assert {r["village_code"] for r in listed} == {a, world.nodes["B"].code}
    county = login("county").get(f"{API}/daily", {"limit": 2}).json()
    assert len(county["items"]) == 2 and county["next_cursor"]
    rest = login("county").get(f"{API}/daily", {"limit": 2, "cursor": county["next_cursor"]})
    assert {r["village_code"] for r in rest.json()["items"]} | {
        r["village_code"] for r in county["items"]
    } == {a, world.nodes["B"].code, p}


def test_a_bad_report_names_the_field_and_saves_nothing(login, world):
    cadre = login("cadre_a")
    cadre.cookies["django_language"] = "en"
    url = f"{API}/daily/{world.nodes['A'].code}"
    bad = _post(cadre, url, {"values": {"propaganda": "many"}})
    assert bad.status_code == 422
    assert list(bad.json()["errors"]) == ["propaganda"]
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    future = _post(cadre, url, {"day": tomorrow, "values": {}})
    assert future.status_code == 422 and list(future.json()["errors"]) == ["day"]
    too_big = _post(cadre, url, {"values": {"propaganda": 10**12}})
    assert too_big.status_code == 422
    assert not DailyReport.objects.filter(status="submitted").exists()


def test_bulletins_are_listed_in_scope_and_downloads_are_audited(login, world):
    t = bulletin_generate(node=world.nodes["T"], day=timezone.localdate())
    u = bulletin_generate(node=world.nodes["U"], day=timezone.localdate())
    commander = login("commander")
    listed = commander.get(f"{API}/bulletins").json()
    assert [b["id"] for b in listed["items"]] == [t.pk]
    assert listed["items"][0]["node_name"] == "王店镇"
    assert commander.get(f"{API}/bulletins/{u.pk}").status_code == 404
    assert commander.get(f"{API}/bulletins/{u.pk}/docx").status_code == 404
    assert login("county").get(f"{API}/bulletins").json()["items"][0]["id"] == u.pk

    docx = commander.get(f"{API}/bulletins/{t.pk}/docx")
    assert docx.status_code == 200
    assert "王店镇" in "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    xlsx = commander.get(f"{API}/bulletins/{t.pk}/xlsx")
    assert load_workbook(io.BytesIO(xlsx.content)).active is not None
    exports = AuditEvent.objects.filter(action="export", object_id=str(t.pk))
    assert sorted(e.detail["format"] for e in exports) == ["docx", "xlsx"]
    assert commander.get(f"{API}/bulletins/{t.pk}/pdf").status_code == 422


def test_a_town_sets_its_deadline_and_villages_follow_it(login, world):
    commander = login("commander")
    commander.cookies["django_language"] = "en"
    url = f"{API}/settings"
    assert commander.get(url).json()["deadline"] == "17:00"
    body = {"deadline": "16:30", "red_overdue": 5}
    saved = commander.put(url, data=body, content_type="application/json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["set_here"] is True and saved.json()["node_code"] == world.nodes["T"].code
    village = commander.get(f"{API}/daily/{world.nodes['A'].code}").json()
    assert "T16:30:00" in village["deadline"]
    # Resent: nothing more recorded.
    commander.put(url, data=body, content_type="application/json")
    assert AuditEvent.objects.filter(object_repr="report settings").count() == 1
    # The other town's deadline is not this commander's; the county's own is untouched.
    other = commander.put(
        url, data=body | {"node": world.nodes["U"].code}, content_type="application/json"
    )
    assert other.status_code == 404
    assert login("commander_u").get(url).json()["deadline"] == "17:00"
    bad = commander.put(
        url, data={"deadline": "25:00", "red_overdue": 0}, content_type="application/json"
    )
    assert bad.status_code == 422
    assert login("cadre_a").put(url, data=body, content_type="application/json").status_code == 403
