"""The dashboard's traffic lights on a day like the field trial's second: a town of 28
villages, each with a dozen or two work orders overdue since yesterday, a third of
the reports not in by the evening, three villages that have let work lie for days.

Red is for what the command post must act on today (a report missing after the
deadline; `red_overdue` orders still open `red_overdue_days` days after their due
day), amber for what to watch, green for nothing open. The rule is the area's
`ReportConfig`, set on the settings page, not a constant: when every village's pile
turned red, red said nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from fangkong.audit.models import AuditEvent
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.services import jurisdiction_create
from fangkong.reports import stats
from fangkong.reports.models import ReportConfig
from fangkong.reports.selectors import dashboard
from fangkong.reports.services import report_submit
from fangkong.workorders.models import WorkOrderTally

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(hour, minute)))


def _reds(node: Jurisdiction, now: datetime) -> set[str]:
    return {r.village.name for r in dashboard(node, now).rows if r.light == "red"}


@pytest.fixture
def trial_day(world):
    """28 villages in 王店镇; returns (villages, the ones not reported, the stale ones)."""
    town = world.nodes["T"]
    villages = [world.nodes["A"], world.nodes["B"]] + [
        jurisdiction_create(
            code=f"3304111022{10 + n}", name=f"演示村{n:02d}", level=Level.VILLAGE, parent=town
        )
        for n in range(26)
    ]
    today = timezone.localdate()
    for i, v in enumerate(villages):
        WorkOrderTally.objects.create(
            jurisdiction=v, kind="visit_household", day=today - timedelta(days=1), open=12 + i % 13
        )
    stale = villages[4:7]
    for v in stale:
        WorkOrderTally.objects.create(
            jurisdiction=v, kind="verify_person", day=today - timedelta(days=3), open=5
        )
    silent = villages[::3]
    for v in villages:
        if v not in silent:
            report_submit(
                actor=world.users["commander"], village=v, day=today, entered={}, now=at(9)
            )
    stats.refresh_now()
    return villages, silent, stale


def test_red_marks_only_what_needs_action_today(world, trial_day):
    villages, silent, stale = trial_day
    town = world.nodes["T"]
    evening = dashboard(town, at(17, 30))
    assert len(evening.rows) == 28
    want = {v.name for v in silent} | {v.name for v in stale}
    assert {r.village.name for r in evening.rows if r.light == "red"} == want
    assert 0 < len(want) < 28
    # Everyone else has overdue orders, all of them since yesterday only: watch.
    assert {r.light for r in evening.rows if r.village.name not in want} == {"amber"}
    rows = {r.village.name: r for r in evening.rows}
    lying = rows[stale[0].name]
    assert lying.stale == 5 and "overdue_stale" in lying.reasons
    assert rows[villages[1].name].reasons == ["overdue"]  # reported; orders a day late
    assert rows[silent[1].name].reasons[0] == "report_missing"
    # Red first on the screen, then amber.
    lights = [r.light for r in evening.rows]
    assert lights == sorted(lights, key=["red", "amber", "green"].index)
    # In the morning nobody is late yet: only the villages letting work lie are red.
    assert _reds(town, at(9, 30)) == {v.name for v in stale}


def test_the_rule_is_the_area_s_setting(world, trial_day):
    villages, _silent, stale = trial_day
    town = world.nodes["T"]
    # A town that wants a day's lateness to be red says so, and every pile turns red.
    ReportConfig.objects.create(jurisdiction=town, red_overdue_days=1)
    assert _reds(town, at(9, 30)) == {v.name for v in villages}
    # A higher count keeps the smaller piles amber.
    ReportConfig.objects.filter(jurisdiction=town).update(red_overdue=20)
    big = {
        r.village.name for r in dashboard(town, at(9, 30)).rows if r.values["orders_overdue"] >= 20
    }
    assert _reds(town, at(9, 30)) == big and 0 < len(big) < 28
    # Ages beyond the counted window still count as old: 7 days or more.
    ReportConfig.objects.filter(jurisdiction=town).update(red_overdue=5, red_overdue_days=7)
    WorkOrderTally.objects.create(
        jurisdiction=stale[0],
        kind="visit_household",
        day=timezone.localdate() - timedelta(days=30),
        open=5,
    )
    stats.refresh_now()
    assert _reds(town, at(9, 30)) == {stale[0].name}


def test_the_settings_page_sets_the_rule_and_refuses_nonsense(world, login):
    commander = login("commander")
    commander.cookies["django_language"] = "en"
    page = commander.get("/reports/settings/").content.decode()
    assert 'name="red_overdue_days"' in page and 'value="2"' in page
    for bad in ("0", "8", "two"):
        response = commander.post(
            "/reports/settings/",
            {"deadline": "17:00", "red_overdue": "5", "red_overdue_days": bad},
        )
        assert response.status_code == 200 and "red_overdue_days" in response.content.decode()
    assert not ReportConfig.objects.filter(jurisdiction=world.nodes["T"]).exists()
    ok = commander.post(
        "/reports/settings/", {"deadline": "17:00", "red_overdue": "8", "red_overdue_days": "3"}
    )
    assert ok.status_code == 302
    config = ReportConfig.objects.get(jurisdiction=world.nodes["T"])
    assert (config.red_overdue, config.red_overdue_days) == (8, 3)
    event = AuditEvent.objects.filter(object_repr="report settings").latest("pk")
    assert event.detail["after"]["red_overdue_days"] == 3
    # Left out (an older form), the number of days stays as it was.
    commander.post("/reports/settings/", {"deadline": "17:00", "red_overdue": "6"})
    config.refresh_from_db()
    assert (config.red_overdue, config.red_overdue_days) == (6, 3)
