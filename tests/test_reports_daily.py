"""Daily reports: computed numbers, typed fields, the 17:00 deadline with the clock set
(A and B on time, C at 17:05, D never), missing villages flagged and told once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fangkong.notify.models import Channel, Delivery, Notice
from fangkong.org.models import Level
from fangkong.org.services import jurisdiction_create
from fangkong.reports.models import DailyReport, ReportConfig, ReportStatus
from fangkong.reports.services import computed_values, deadline_for, flag_missing, report_submit
from tests.world import ensure_reports

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


def at(hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(DAY, time(hour, minute)))


@pytest.fixture
def four(world):
    """Villages A and B of the world, and C and D beside them."""
    town = world.nodes["T"]
    c = jurisdiction_create(code="330411102203", name="丙村", level=Level.VILLAGE, parent=town)
    d = jurisdiction_create(code="330411102204", name="丁村", level=Level.VILLAGE, parent=town)
    return {"A": world.nodes["A"], "B": world.nodes["B"], "C": c, "D": d}


def test_on_time_late_and_missing_with_the_clock_set(world, four):
    log = Channel.objects.create(
        key="town-log",
        name="log",
        kind="console",
        events=["late_report"],
        jurisdiction=world.nodes["T"],
    )
    cadre = world.users["cadre_a"]
    for key, moment in (("A", at(16, 30)), ("B", at(16, 59))):
        report_submit(
            actor=cadre,
            village=four[key],
            day=DAY,
            now=moment,
            entered={"propaganda": "3", "problems": "", "needs": ""},
        )
    assert flag_missing(at(16, 59)) == 0  # before the deadline nobody is missing
    # C and D; and 桃园村 of the other town, whose log is not this one.
    assert flag_missing(at(17, 0)) == 3
    assert flag_missing(at(17, 3)) == 0  # once only
    late = report_submit(
        actor=cadre, village=four["C"], day=DAY, now=at(17, 5), entered={"propaganda": "0"}
    )  # a zero report is a report
    status = {k: DailyReport.objects.get(village=v, day=DAY) for k, v in four.items()}
    assert [(k, r.status, r.late) for k, r in sorted(status.items())] == [
        ("A", "submitted", False),
        ("B", "submitted", False),
        ("C", "submitted", True),
        ("D", "missing", False),
    ]
    assert late.values["propaganda"] == 0 and late.submitted_at == at(17, 5)
    # The command post's channel heard of C and D, once each; their cadres' inboxes too.
    titles = sorted(
        Delivery.objects.filter(channel=log, event="late_report").values_list("title", flat=True)
    )
    assert len(titles) == 2 and {t[:2] for t in titles} == {"丙村", "丁村"}
    # A's cadre sent on time and hears nothing.
    assert not Notice.objects.filter(user=cadre, key__startswith="late-report").exists()


def test_a_village_sets_its_own_deadline(world, four):
    ReportConfig.objects.create(jurisdiction=world.nodes["T"], deadline=time(18, 0))
    assert deadline_for(four["C"]) == time(18, 0)
    report_submit(
        actor=world.users["cadre_a"], village=four["A"], day=DAY, now=at(17, 30), entered={}
    )
    assert DailyReport.objects.get(village=four["A"], day=DAY).late is False
    # Only the other town's village, whose deadline stays at 17:00, is missing yet.
    assert flag_missing(at(17, 30)) == 1
    assert DailyReport.objects.get(day=DAY, status="missing").village == world.nodes["P"]


def test_typed_fields_are_checked(world, four):
    with pytest.raises(ValidationError) as e:
        report_submit(
            actor=world.users["cadre_a"],
            village=four["A"],
            day=DAY,
            now=at(9),
            entered={"propaganda": "三次"},
        )
    assert "propaganda" in e.value.message_dict
    assert not DailyReport.objects.filter(status=ReportStatus.SUBMITTED).exists()


def test_computed_numbers_come_from_the_day_s_data(world, four):
    reports = ensure_reports(world)  # one returnee in A1, B1 and P1 each, filed now
    today = timezone.localdate()
    values = computed_values(list(four.values()), today)
    assert values[four["A"].pk]["returnees_new"] == 1 == values[four["B"].pk]["returnees_new"]
    assert values[four["C"].pk]["returnees_new"] == 0
    assert (
        computed_values([four["A"]], today - timedelta(days=1))[four["A"].pk]["returnees_new"] == 0
    )
    assert len(reports) == 3
