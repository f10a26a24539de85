"""Daily-report pages: a village confirms its report, the town sees its villages and
makes the bulletin, downloads are audited, settings add a field without code, and the
dashboard answers from pre-aggregated counts in a fixed number of queries."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from docx import Document

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.services import jurisdiction_create
from fangkong.reports import stats
from fangkong.reports.models import Bulletin, DailyReport, ReportConfig, ReportField, VillageDay
from fangkong.reports.selectors import dashboard
from tests.world import ensure_reports

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(login):
    def make(persona: str):
        client = login(persona)
        client.cookies["django_language"] = "en"
        return client

    return make


def test_a_village_confirms_its_report_and_bad_numbers_change_nothing(world, en):
    ensure_reports(world)  # a returnee in A1 today
    cadre = en("cadre_a")
    code = world.nodes["A"].code
    page = cadre.get(f"/reports/village/{code}/").content.decode()
    assert "Confirm and send" in page and "四喜社区" in page
    bad = cadre.post(f"/reports/village/{code}/", {"propaganda": "three", "problems": ""})
    assert bad.status_code == 200 and "must be a whole number" in bad.content.decode()
    assert not DailyReport.objects.filter(status="submitted").exists()
    ok = cadre.post(f"/reports/village/{code}/", {"propaganda": "2", "problems": "缺消毒液"})
    assert ok.status_code == 302
    report = DailyReport.objects.get(village=world.nodes["A"], day=timezone.localdate())
    assert report.values["returnees_new"] == 1 and report.values["propaganda"] == 2
    # Another village is not found; a grid worker has no report pages at all.
    assert cadre.get(f"/reports/village/{world.nodes['B'].code}/").status_code == 404
    assert en("gw_a1").get("/reports/").status_code == 403


def test_the_town_sees_its_villages_and_makes_an_audited_bulletin(world, en):
    commander = en("commander")
    overview = commander.get("/reports/").content.decode()
    assert "四喜社区" in overview and "建设村" in overview and "Make the bulletin" in overview
    # A village cadre's overview holds its own village only.
    mine = en("cadre_a").get("/reports/").content.decode()
    assert "四喜社区" in mine and "建设村" not in mine
    today = timezone.localdate().isoformat()
    made = commander.post(
        f"/reports/bulletins/make/?node={world.nodes['T'].code}",
        {"day": today, "highlights": "重点人员全部落实"},
    )
    bulletin = Bulletin.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/reports/bulletins/{bulletin.pk}/"
    assert "重点人员全部落实" in commander.get(made["Location"]).content.decode()
    download = commander.get(f"/reports/bulletins/{bulletin.pk}/bulletin.docx")
    assert download.status_code == 200
    assert "王店镇" in "\n".join(p.text for p in Document(io.BytesIO(download.content)).paragraphs)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.detail["format"] == "docx" and event.jurisdiction_path == world.nodes["T"].path
    # The town's bulletin is not a village's to download; tomorrow cannot be made.
    assert en("cadre_a").get(f"/reports/bulletins/{bulletin.pk}/bulletin.xlsx").status_code == 404
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    commander.post("/reports/bulletins/make/", {"day": tomorrow})
    assert Bulletin.objects.count() == 1


def test_settings_move_the_deadline_and_add_a_field_without_code(world, en):
    # The town's commander moves the town's deadline; the fields serve every town, so
    # the county's command post adds one.
    commander, county = en("commander"), en("county")
    # The villages' fields (the special teams' are their sets', not on this form).
    active = list(
        ReportField.objects.filter(active=True, field_set=None).values_list("pk", flat=True)
    )
    response = commander.post(
        "/reports/settings/", {"deadline": "18:30", "red_overdue": "3", "active": active}
    )
    assert response.status_code == 302
    config = ReportConfig.objects.get(jurisdiction=world.nodes["T"])
    assert config.deadline == time(18, 30) and config.red_overdue == 3
    response = county.post(
        "/reports/settings/",
        {
            "deadline": "17:00",
            "red_overdue": "5",
            "active": active,
            "new_label": "消杀次数",
            "new_kind": "number",
        },
    )
    assert response.status_code == 302
    field = ReportField.objects.get(label="消杀次数")
    page = en("cadre_a").get(f"/reports/village/{world.nodes['A'].code}/").content.decode()
    assert "消杀次数" in page and f'name="{field.key}"' in page
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, detail__fields__added=field.key
    ).exists()
    # The town keeps its own deadline under the county's.
    assert ReportConfig.objects.get(jurisdiction=world.nodes["T"]).deadline == time(18, 30)
    # A bad threshold changes nothing.
    commander.post("/reports/settings/", {"deadline": "19:00", "red_overdue": "0"})
    assert ReportConfig.objects.get(jurisdiction=world.nodes["T"]).deadline == time(18, 30)
    assert en("cadre_a").get("/reports/settings/").status_code == 403


def test_the_dashboard_reads_pre_aggregated_counts_in_fixed_queries(world, en):
    ensure_reports(world)
    stats.refresh_now()
    # The two villages of this town and the one of the other.
    assert VillageDay.objects.filter(day=timezone.localdate()).count() == 3
    assert VillageDay.objects.values("day").distinct().count() == stats.TREND_DAYS
    d = dashboard(world.nodes["T"])
    assert d.totals["returnees_new"] == 2 and d.trends["returnees_new"][-1] == 2
    commander = en("commander")
    for path in ("/reports/dashboard/", "/reports/dashboard/panel/"):
        commander.get(path)  # warm the session and the translations
    with CaptureQueriesContext(connection) as small:
        page = commander.get("/reports/dashboard/panel/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("data-light=") == 2 and "四喜社区" in html and "建设村" in html
    assert "fk-trend-data" in html
    # Twenty more villages with their counts: the same number of queries.
    for n in range(20):
        jurisdiction_create(
            code=f"3304111022{50 + n}",
            name=f"新村{n}",
            level=Level.VILLAGE,
            parent=world.nodes["T"],
        )
    stats.refresh_now()
    with CaptureQueriesContext(connection) as large:
        assert commander.get("/reports/dashboard/panel/").status_code == 200
    # The zones' map adds two reads (the villages, the zones in force) and one per zone
    # in force (its residents); none here.
    assert len(large) == len(small) <= 11, [q["sql"] for q in large.captured_queries]


def test_traffic_lights_follow_reports_and_overdue_work(world):
    from fangkong.workorders.models import WorkOrderTally

    today = timezone.localdate()
    # Six orders still open two days after their due day: the default rule's red (5
    # orders, 2 days; tests/test_reports_lights.py has the rest of the rule).
    WorkOrderTally.objects.create(
        jurisdiction=world.nodes["B1"],
        kind="visit_household",
        day=today - timedelta(days=2),
        open=6,
    )
    stats.refresh_now()
    after_deadline = timezone.make_aware(datetime.combine(today, time(17, 30)))
    rows = {r.village.code: r for r in dashboard(world.nodes["T"], after_deadline).rows}
    b = rows[world.nodes["B"].code]
    assert b.light == "red" and set(b.reasons) == {"report_missing", "overdue_stale"}
    # What the overdue work is, by type, from the same minute's counts.
    from fangkong.workorders.kinds import KINDS

    label = str(KINDS["visit_household"].label)
    assert dashboard(world.nodes["T"], after_deadline).overdue_kinds == [(label, 6)]
    before = timezone.make_aware(datetime.combine(today, time(9)))
    a = {r.village.code: r for r in dashboard(world.nodes["T"], before).rows}[world.nodes["A"].code]
    assert a.light == "amber" and a.reasons == ["report_pending"]


def test_backfill_counts_only_what_was_never_counted(world):
    stats.refresh_now()
    past = timezone.localdate() - timedelta(days=5)
    row = VillageDay.objects.get(village=world.nodes["A"], day=past)
    row.values = {**row.values, "orders_overdue": 9}  # that evening's snapshot
    row.save()
    new = jurisdiction_create(
        code="330411102299", name="新建村", level=Level.VILLAGE, parent=world.nodes["T"]
    )
    assert stats.backfill() == stats.TREND_DAYS  # the new village's fortnight, nothing else
    assert VillageDay.objects.get(village=world.nodes["A"], day=past).values["orders_overdue"] == 9
    assert VillageDay.objects.filter(village=new).count() == stats.TREND_DAYS


def test_a_county_screen_shows_its_towns_and_the_villages_needing_attention(world, en):
    county, quiet = world.nodes["C"], world.nodes["P"]
    stats.refresh_now()
    # 桃园村 reported on time with nothing open: green, so only counted in its town's row.
    from fangkong.reports.services import report_submit

    nine = timezone.make_aware(datetime.combine(timezone.localdate(), time(9)))
    report_submit(
        actor=world.users["commander"],
        village=quiet,
        day=timezone.localdate(),
        entered={},
        now=nine,
    )
    with CaptureQueriesContext(connection) as reads:
        d = dashboard(county, nine)
        assert [g.name for g in d.groups] == ["王店镇", "洪合镇"]
    assert len(reads) == 5, [q["sql"] for q in reads.captured_queries]
    assert (d.groups[1].villages, d.groups[1].green) == (1, 1)
    assert {r.village.name for r in d.shown_rows} == {"四喜社区", "建设村"} and d.hidden == 1
    town = dashboard(Jurisdiction.objects.get(pk=world.nodes["T"].pk), nine)
    assert town.groups == [] and len(town.shown_rows) == 2


def test_bad_days_and_numbers_are_refused_without_a_crash(world, en):
    cadre = en("cadre_a")
    code = world.nodes["A"].code
    for day in ("2024-02-30", "2024-13-01", "0001-01-01", "garbage", "9999-12-31"):
        assert cadre.get(f"/reports/village/{code}/?day={day}").status_code == 200, day
        assert en("commander").get(f"/reports/?day={day}").status_code == 200, day
    for number in ("²", "1" * 5000, "٣", "-1", "1.5"):
        response = cadre.post(f"/reports/village/{code}/", {"propaganda": number})
        assert response.status_code == 200 and "at most 9 digits" in response.content.decode()
    assert not DailyReport.objects.filter(status="submitted").exists()


def test_highlights_survive_a_remake_from_the_overview(world, en):
    commander = en("commander")
    today = timezone.localdate().isoformat()
    make = f"/reports/bulletins/make/?node={world.nodes['T'].code}"
    commander.post(make, {"day": today, "highlights": "核酸全覆盖"})
    commander.post(make, {"day": today, "highlights": ""})  # the overview's empty box
    bulletin = Bulletin.objects.get()
    assert bulletin.version == 2 and bulletin.highlights == "核酸全覆盖"
    commander.post(make, {"day": today, "highlights": "", "replace_highlights": "1"})
    bulletin.refresh_from_db()
    assert bulletin.version == 3 and bulletin.highlights == ""
    too_long = commander.post(make, {"day": today, "highlights": "字" * 4001}, follow=True)
    assert "Highlights" in too_long.content.decode() and Bulletin.objects.get().version == 3


def test_a_town_commander_under_a_county_keeps_to_the_town_s_own_settings(world, en):
    commander = en("commander")
    shipped = ReportField.objects.filter(active=True).count()
    page = commander.get("/reports/settings/").content.decode()
    assert "only a manager of the whole tree" in page and "new_label" not in page
    response = commander.post(
        "/reports/settings/",
        {
            "deadline": "18:00",
            "red_overdue": "4",
            "new_label": "改全县的表",
            "new_kind": "number",
        },
    )
    assert response.status_code == 302
    assert ReportConfig.objects.get(jurisdiction=world.nodes["T"]).deadline == time(18)
    assert not ReportField.objects.filter(label="改全县的表").exists()
    # Nothing switched off: the shipped fields (each app's data migration adds its own:
    # 16, testing's four, vaccination's two).
    assert ReportField.objects.filter(active=True).count() == shipped >= 22
    from fangkong.notify.models import MessageTemplate

    letter = MessageTemplate.objects.get(key="letter_to_villagers")
    assert (
        commander.post(
            f"/notify/templates/{letter.pk}/",
            {"key": letter.key, "name": "改了", "title": "x", "body": "y"},
        ).status_code
        == 403
    )


def test_the_late_report_notice_opens_the_village_s_report(world):
    from fangkong.notify.models import Notice
    from fangkong.reports.services import flag_missing

    evening = timezone.make_aware(datetime.combine(timezone.localdate(), time(17, 1)))
    flag_missing(evening)
    notice = Notice.objects.get(user=world.users["cadre_a"])
    assert notice.url == f"/reports/village/{world.nodes['A'].code}/"
    assert notice.title.startswith("四喜社区")
