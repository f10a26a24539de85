"""Special teams' daily reports (issue 19): a town makes its 物流专班 a reporting unit; its
computed numbers come from the logistics firms' goods checks, its typed ones from the
team; late and missing are flagged like a village's; its rows are in the town's
bulletin, on the page and in both documents; the API reads, submits and sets it up."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fangkong.audit.models import AuditEvent
from fangkong.notify.models import Notice
from fangkong.org.models import TeamKind
from fangkong.org.services import team_create
from fangkong.places.models import PlaceCategory
from fangkong.places.services import goods_check_record, place_create
from fangkong.reports.bulletin import bulletin_generate, bulletin_summary
from fangkong.reports.models import ReportField, ReportStatus, TeamFieldSet, TeamReport
from fangkong.reports.services import fields
from fangkong.reports.teams import (
    flag_missing_teams,
    reporting_team_set,
    team_computed,
    team_report_submit,
)

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


def at(hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(DAY, time(hour, minute)))


@pytest.fixture
def logistics(world):
    """The town's 物流专班 (its leader the extra staff member of T), reporting by 16:00,
    and a logistics firm of village A with a cold-chain check of 12 batches, 3 sampled,
    not all negative."""
    town = world.nodes["T"]
    team = team_create(
        name="物流专班",
        kind=TeamKind.WORK_GROUP,
        jurisdiction=town,
        members=[(world.staff["T"].user, "")],
    )
    team.leader = world.users["commander"]
    team.save()
    unit = reporting_team_set(
        actor=world.users["commander"],
        team=team,
        field_set=TeamFieldSet.objects.get(code="logistics"),
        deadline=time(16, 0),
    )
    firm = place_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["A"],
        category=PlaceCategory.objects.get(code="logistics"),
        name="顺达物流",
    )
    goods_check_record(
        actor=world.users["commander"],
        place=firm,
        day=DAY,
        kind="cold_chain",
        batches=12,
        sampled=3,
        all_negative=False,
        disinfected=True,
    )
    return {"team": team, "unit": unit, "firm": firm}


def test_the_three_teams_field_sets_are_shipped_and_kept_off_the_villages_form() -> None:
    sets = {s.code: s.name for s in TeamFieldSet.objects.all()}
    assert sets == {
        "enterprise": "企业专班",
        "logistics": "物流专班",
        "international": "国际快件专班",
    }
    assert ReportField.objects.filter(field_set__code="logistics", kind="computed").count() == 7
    assert not [f for f in fields() if f.field_set_id is not None]


def test_computed_from_the_goods_checks_at_the_teams_node(logistics) -> None:
    counted = team_computed(logistics["unit"], DAY)
    assert counted["log_cold_chain_batches"] == 12
    assert counted["log_cold_chain_sampled"] == 3
    assert counted["log_cold_chain_positive"] == 1
    assert counted["log_parcel_batches"] == 0


def test_submitted_on_time_then_corrected_keeps_the_first_time(world, logistics) -> None:
    team, actor = logistics["team"], world.users["commander"]
    sent = team_report_submit(
        actor=actor, team=team, day=DAY, entered={"log_staff_tested": "40"}, now=at(15, 30)
    )
    assert (sent.status, sent.late, sent.values["log_staff_tested"]) == ("submitted", False, 40)
    assert sent.values["log_cold_chain_batches"] == 12
    again = team_report_submit(
        actor=actor, team=team, day=DAY, entered={"log_staff_tested": "41"}, now=at(18, 0)
    )
    assert (again.late, again.version, again.submitted_at) == (False, 2, at(15, 30))
    assert AuditEvent.objects.filter(object_repr__startswith="team report 物流专班 ").count() == 2


def test_bad_number_names_the_field_and_changes_nothing(world, logistics) -> None:
    with pytest.raises(ValidationError) as e:
        team_report_submit(
            actor=world.users["commander"],
            team=logistics["team"],
            day=DAY,
            entered={"log_staff_tested": "四十"},
            now=at(15, 0),
        )
    assert "log_staff_tested" in e.value.message_dict
    assert not TeamReport.objects.exists()


def test_a_team_not_reporting_cannot_submit(world) -> None:
    with pytest.raises(ValidationError):
        team_report_submit(
            actor=world.users["commander"], team=world.teams["T"], day=DAY, entered={}
        )


def test_setting_a_team_up_needs_rules_manage_at_its_node(world) -> None:
    with pytest.raises(PermissionDenied):
        reporting_team_set(
            actor=world.users["cadre_a"],
            team=world.teams["T"],
            field_set=TeamFieldSet.objects.get(code="enterprise"),
        )


def test_missing_at_its_deadline_flagged_once_and_told(world, logistics) -> None:
    assert flag_missing_teams(at(15, 59)) == 0
    assert flag_missing_teams(at(16, 0)) == 1
    assert flag_missing_teams(at(16, 5)) == 0  # once only
    report = TeamReport.objects.get(team=logistics["team"], day=DAY)
    assert report.status == ReportStatus.MISSING
    told = set(
        Notice.objects.filter(key__startswith="late-team-report:").values_list("user_id", flat=True)
    )
    assert told == {world.users["commander"].pk, world.staff["T"].user_id}
    late = team_report_submit(
        actor=world.users["commander"], team=logistics["team"], day=DAY, entered={}, now=at(16, 30)
    )
    assert (late.status, late.late) == ("submitted", True)


def test_rows_in_the_towns_bulletin_and_documents(world, logistics) -> None:
    summary = bulletin_summary(world.nodes["T"], DAY, at(16, 30))
    (row,) = summary["teams"]
    assert (row["name"], row["set"], row["status"]) == ("物流专班", "物流专班", "missing")
    assert ["冷链货物检查批次", 12] in row["values"]
    team_report_submit(
        actor=world.users["commander"],
        team=logistics["team"],
        day=DAY,
        entered={"log_staff_tested": "40", "log_notes": "冷库全覆盖"},
        now=at(16, 40),
    )
    bulletin = bulletin_generate(node=world.nodes["T"], day=DAY, now=at(17, 30))
    (row,) = bulletin.summary["teams"]
    assert row["status"] == "late" and ["从业人员检测数", 40] in row["values"]
    sheet = load_workbook(io.BytesIO(bytes(bulletin.xlsx)))["专班报表"]
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert ["物流专班", "迟报 16:40", "从业人员检测数", 40] in cells
    assert "冷库全覆盖" in json.dumps(cells, ensure_ascii=False)
    from docx import Document

    text = "\n".join(
        cell.text
        for table in Document(io.BytesIO(bytes(bulletin.docx))).tables
        for row in table.rows
        for cell in row.cells
    )
    assert "快递包裹检查批次" in text
    # The other town's bulletin has none of it.
    assert bulletin_summary(world.nodes["U"], DAY, at(17, 30))["teams"] == []


def test_the_team_page_sends_the_report_and_the_overview_lists_it(world, logistics, login) -> None:
    client = login("commander")
    url = reverse("reports:team", args=[logistics["team"].pk])
    page = client.get(url)
    assert page.status_code == 200 and "冷链货物检查批次" in page.content.decode()
    sent = client.post(url, {"log_staff_tested": "7", "log_notes": ""})
    assert sent.status_code == 302
    today = timezone.localdate()
    assert TeamReport.objects.get(team=logistics["team"], day=today).values["log_staff_tested"] == 7
    overview = client.get(reverse("reports:overview") + "?node=" + world.nodes["T"].code)
    assert 'id="fk-report-teams"' in overview.content.decode()
    # Out of scope: the other town's commander does not see the team.
    assert login("commander_u").get(url).status_code == 404


def test_the_team_page_sets_the_team_up(world, login) -> None:
    team = world.teams["T"]
    client = login("commander")
    url = reverse("reports:team_reporting", args=[team.pk])
    assert client.post(url, {"field_set": "international", "deadline": "15:00"}).status_code == 302
    page = client.get(reverse("reports:team", args=[team.pk])).content.decode()
    assert "国际快件检查批次" in page
    assert client.post(url, {"field_set": "nonsense"}).status_code == 302
    assert TeamFieldSet.objects.get(code="international").teams.get().deadline == time(15, 0)


def test_api_sets_up_reads_and_submits(world, login) -> None:
    team = world.teams["T"]
    client = login("commander")
    base = f"/api/v1/reports/teams/{team.pk}"
    got = client.get(base).json()
    assert got["status"] == "not_reporting"
    put = client.put(
        f"{base}/reporting",
        data={"field_set": "enterprise", "deadline": None},
        content_type="application/json",
    )
    assert put.status_code == 200, put.content
    assert put.json()["field_set"] == "enterprise"
    sent = client.post(base, data={"values": {"ent_problems": 2}}, content_type="application/json")
    assert sent.status_code == 200, sent.content
    body = sent.json()
    assert body["status"] == "submitted"
    assert {f["key"]: f["value"] for f in body["fields"]}["ent_problems"] == 2
    bad = client.put(
        f"{base}/reporting", data={"field_set": "nope"}, content_type="application/json"
    )
    assert bad.status_code in (400, 422)
    sets = client.get("/api/v1/reports/team-field-sets").json()
    assert [s["code"] for s in sets] == ["enterprise", "logistics", "international"]
