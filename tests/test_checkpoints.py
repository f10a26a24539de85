"""Checkpoints: posts, the log recorded once by client id, plates checked per
domain-rules §4.3, the screening loop (a risk-area arrival → a returnee report and a
verification order for the destination grid; a transfer when the rules say central
isolation), counts per hour, rosters with their gaps, the hand-over the incoming shift
must acknowledge before checking in, the late-check-in alert, and the crew's exact
permissions."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import override

from fangkong.checkpoints import rosters, selectors
from fangkong.checkpoints.models import Entry, Outcome, Shift
from fangkong.checkpoints.services import Arrival, PostData, Record, entries_sync, post_save
from fangkong.org.roles import ROLE_PERMISSIONS, Perm, Role
from tests.checkpoints_support import build_checkpoint, rules_in_force
from tests.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def cp():
    world = build_world()
    return world, build_checkpoint(world)


def _car(plate: str, outcome: str = "pass", **kw) -> Record:
    return Record(
        client_id=uuid.uuid4(), at=timezone.now(), mode="car", outcome=outcome, plate=plate, **kw
    )


def test_the_crew_holds_exactly_what_it_needs():
    assert ROLE_PERMISSIONS[Role.CHECKPOINT_CREW] == {Perm.CHECKPOINTS_VIEW, Perm.CHECKPOINTS_LOG}


def test_a_record_is_kept_once_however_often_it_is_sent(cp):
    _world, c = cp
    user = c.crew[0].user
    first = [_car("浙F12345"), _car(" 浙f·d12345 ", occupants=3)]
    done = entries_sync(post=c.post, records=first, actor=user)
    assert [a.status for a in done.answers] == ["recorded", "recorded"]
    again = entries_sync(post=c.post, records=[*first, _car("浙F54321")], actor=user)
    assert [a.status for a in again.answers] == ["already", "already", "recorded"]
    assert Entry.objects.count() == 3
    assert sorted(Entry.objects.values_list("plate", flat=True)) == [
        "浙F12345",
        "浙F54321",
        "浙FD12345",
    ]


@pytest.mark.parametrize(
    "plate",
    ["京AI2345", "浙A1234", "X12345", "浙AO2345", ""],
)
def test_a_bad_plate_is_refused_by_name_and_the_rest_recorded(cp, plate):
    _world, c = cp
    done = entries_sync(post=c.post, records=[_car(plate), _car("京A12345D")], actor=c.crew[0].user)
    assert done.answers[0].status == "refused"
    assert done.answers[0].error
    assert done.answers[1].status == "recorded"
    assert Entry.objects.count() == 1


def test_bad_values_are_refused_with_reasons(cp):
    _world, c = cp
    user = c.crew[0].user
    bad = [
        _car("浙F12345", temperature=Decimal("53.0")),
        Record(uuid.uuid4(), timezone.now(), "foot", "pass", occupants=0),
        _car("浙F12345", outcome="waved"),
        Record(uuid.uuid4(), timezone.now() - timedelta(days=9), "car", "pass", plate="浙F12345"),
        Record(uuid.uuid4(), timezone.now(), "boat", "pass", plate="x"),
    ]
    done = entries_sync(post=c.post, records=bad, actor=user)
    assert [a.status for a in done.answers] == ["refused"] * 5
    assert all(a.error for a in done.answers)
    assert not Entry.objects.exists()


def test_logging_needs_the_permission_at_the_post(cp):
    world, c = cp
    with pytest.raises(PermissionDenied):
        entries_sync(post=c.post, records=[_car("浙F12345")], actor=world.users["gw_a1"])
    with pytest.raises(PermissionDenied):
        entries_sync(post=c.post, records=[_car("浙F12345")], actor=world.users["commander_u"])


def _arrival(world, **kw) -> Arrival:
    values = {
        "name": "陆返乡",
        "id_number": "110101199003074477",
        "phone": "13912345678",
        "origin_code": "310115005",
        "left_on": timezone.localdate() - timedelta(days=1),
        "destination_node": world.nodes["A1"].code,
        "address": "红星路1号",
    }
    values.update(kw)
    return Arrival(**values)


def test_a_risk_area_arrival_reaches_the_destination_grid_worker(cp):
    from fangkong.screening.models import ReturneeReport
    from fangkong.workorders.models import WorkOrder

    world, c = cp
    done = entries_sync(
        post=c.post,
        records=[_car("沪A12345", outcome="pass", arrival=_arrival(world))],
        actor=c.crew[0].user,
    )
    (answer,) = done.answers
    assert answer.status == "recorded" and answer.report_code
    report = ReturneeReport.objects.get(code=answer.report_code)
    assert report.jurisdiction == world.nodes["A1"]
    assert report.category == "arrival_high"
    assert report.vehicle == "沪A12345"
    order = WorkOrder.objects.get(pk=report.order_id or 0)
    assert order.assignee_id == world.users["gw_a1"].pk
    entry = Entry.objects.get()
    assert entry.report == report and entry.outcome != Outcome.PASS
    # Sent again (a retry): no second report, no second order.
    entries_sync(
        post=c.post,
        records=[Record(entry.client_id, entry.at, "car", "pass", plate="沪A12345")],
        actor=c.crew[0].user,
    )
    assert ReturneeReport.objects.count() == 1


def test_an_arrival_from_no_risk_area_files_nothing(cp):
    from fangkong.screening.models import ReturneeReport

    world, c = cp
    done = entries_sync(
        post=c.post,
        records=[_car("苏E12345", arrival=_arrival(world, origin_code="320506"))],
        actor=c.crew[0].user,
    )
    assert done.answers[0].status == "recorded" and not done.answers[0].report_code
    assert not ReturneeReport.objects.exists()


def test_a_bad_arrival_is_refused_and_nothing_is_filed(cp):
    from fangkong.screening.models import ReturneeReport

    world, c = cp
    bad = [
        _arrival(world, id_number="110101199003074478"),
        _arrival(world, destination_node=world.nodes["P1"].code),
        _arrival(world, origin_code="999999"),
        _arrival(world, name=""),
    ]
    done = entries_sync(
        post=c.post, records=[_car("沪A12345", arrival=a) for a in bad], actor=c.crew[0].user
    )
    assert [a.status for a in done.answers] == ["refused"] * 4
    assert not ReturneeReport.objects.exists() and not Entry.objects.exists()


def test_central_isolation_waits_for_a_transfer_and_the_command_hears(cp):
    from fangkong.notify.models import Notice

    world, c = cp
    rules_in_force("central")
    done = entries_sync(
        post=c.post,
        records=[_car("沪A12345", arrival=_arrival(world))],
        actor=c.crew[0].user,
    )
    assert done.answers[0].waiting_transfer
    entry = Entry.objects.get()
    assert entry.outcome == Outcome.TRANSFER
    heard = set(Notice.objects.values_list("user_id", flat=True))
    assert world.users["commander"].pk in heard and world.users["cadre_a"].pk in heard
    assert world.users["commander_u"].pk not in heard


def test_counts_per_hour_and_day(cp):
    world, c = cp
    day = timezone.localdate()
    at = timezone.make_aware(datetime.combine(day, time(9, 10)))
    records = [
        Record(uuid.uuid4(), at, "car", "pass", plate="浙F12345", occupants=2),
        Record(uuid.uuid4(), at, "car", "turned_back", plate="浙F12346"),
        Record(uuid.uuid4(), at + timedelta(hours=1), "foot", "tested", occupants=3),
    ]
    entries_sync(post=c.post, records=records, actor=c.crew[0].user, now=at + timedelta(hours=2))
    (row,) = selectors.counts_by_hour([c.post], day)
    assert (row.total.vehicles, row.total.people, row.total.turned_back, row.total.tested) == (
        2,
        6,
        1,
        1,
    )
    assert row.hours[9].vehicles == 2 and row.hours[10].people == 3
    assert selectors.counts_under(world.nodes["T"].path, day).people == 6
    assert selectors.counts_under(world.nodes["P"].path, day).people == 0


def _three_shifts(world, c, day):
    return rosters.shifts_plan(
        actor=world.users["commander"],
        post=c.post,
        day=day,
        starts=[time(0), time(8), time(16)],
        hours=8,
        crews=[[c.crew[0]], [c.crew[1]], []],
    )


def test_gaps_are_shown_before_they_happen(cp):
    world, c = cp
    day = timezone.localdate() + timedelta(days=1)
    _three_shifts(world, c, day)
    start = timezone.make_aware(datetime.combine(day, time(0)))
    found = rosters.gaps([c.post], start, start + timedelta(days=1))
    assert [(g.starts_at, g.ends_at) for g in found] == [
        (start + timedelta(hours=16), start + timedelta(hours=24))
    ]


def test_only_a_manager_plans_the_roster(cp):
    _world, c = cp
    with pytest.raises(PermissionDenied):
        rosters.shifts_plan(
            actor=c.crew[0].user,
            post=c.post,
            day=timezone.localdate(),
            starts=[time(8)],
            hours=8,
            crews=[[c.crew[0]]],
        )


def test_the_incoming_shift_acknowledges_the_hand_over_before_checking_in(cp):
    world, c = cp
    day = timezone.localdate()
    first, second, _third = _three_shifts(world, c, day)
    out_user, in_user = c.crew[0].user, c.crew[1].user
    rosters.check_in(actor=out_user, shift=first, now=first.starts_at)
    turned = Record(
        uuid.uuid4(), first.starts_at + timedelta(hours=1), "car", "turned_back", plate="浙F12345"
    )
    entries_sync(post=c.post, records=[turned], actor=out_user, now=first.ends_at)
    with override("en"), pytest.raises(ValidationError, match="hand-over"):
        rosters.check_in(actor=in_user, shift=second, now=second.starts_at)
    with pytest.raises(ValidationError):
        rosters.handover_acknowledge(actor=in_user, shift=second)  # nothing written yet
    rosters.handover_write(actor=out_user, shift=first, note="一辆劝返车可能绕行")
    second.refresh_from_db()
    assert [i["kind"] for i in second.handover_open] == ["turned_back"]
    with pytest.raises(ValidationError):
        rosters.handover_acknowledge(actor=out_user, shift=second)  # not on its crew
    rosters.handover_acknowledge(actor=in_user, shift=second)
    member = rosters.check_in(actor=in_user, shift=second, now=second.starts_at)
    assert member.checked_in_at is not None
    with pytest.raises(ValidationError):
        rosters.handover_write(actor=out_user, shift=first, note="再改")


def test_a_shift_without_check_in_alerts_the_leader_once(cp):
    from fangkong.notify.models import Notice

    world, c = cp
    day = timezone.localdate()
    _first, second, third = _three_shifts(world, c, day)
    at = second.starts_at + timedelta(minutes=14)
    assert rosters.late_shifts_alert(now=at) == 0
    assert rosters.late_shifts_alert(now=second.starts_at + timedelta(minutes=16)) == 1
    assert rosters.late_shifts_alert(now=second.starts_at + timedelta(minutes=30)) == 0
    (notice,) = Notice.objects.filter(user=world.users["cadre_a"])
    assert c.post.name in notice.title
    assert Shift.objects.get(pk=second.pk).late_alerted_at is not None
    # The third shift has no crew: nothing to alert (the gap shows it instead).
    assert rosters.late_shifts_alert(now=third.starts_at + timedelta(minutes=20)) == 0


def test_a_post_is_validated_and_changed_only_by_a_manager(cp):
    world, c = cp
    bad = PostData(
        name="夜间卡口", kind="road", jurisdiction=world.nodes["A"], all_day=False, open_levels=[5]
    )
    with pytest.raises(ValidationError) as e:
        post_save(actor=world.users["commander"], data=bad)
    assert set(e.value.message_dict) == {"opens_at", "open_levels"}
    good = PostData(
        name="夜间卡口",
        kind="landing",
        jurisdiction=world.nodes["A"],
        all_day=False,
        opens_at=time(20),
        closes_at=time(6),
    )
    with pytest.raises(PermissionDenied):
        post_save(actor=c.crew[0].user, data=good)
    with pytest.raises(PermissionDenied):
        post_save(actor=world.users["commander_u"], data=good)
    post = post_save(actor=world.users["commander"], data=good)
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time(0)))
    gaps = rosters.gaps([post], start, start + timedelta(days=1))
    assert [(g.starts_at.hour, g.ends_at.hour) for g in gaps] == [(0, 6), (20, 0)]


def test_the_bulletin_and_the_dashboard_count_the_day_s_checkpoints(cp):
    from fangkong.checkpoints.selectors import counts_by_node
    from fangkong.reports import stats
    from fangkong.reports.bulletin import bulletin_summary
    from fangkong.reports.selectors import dashboard

    world, c = cp
    today = timezone.localdate()
    records = [
        _car("浙F12345", occupants=2),
        _car("浙F12346", outcome="turned_back"),
        Record(uuid.uuid4(), timezone.now(), "foot", "tested", occupants=3),
    ]
    entries_sync(post=c.post, records=records, actor=c.crew[0].user)
    village = world.nodes["A"].path
    assert counts_by_node("checkpoint_people", [village], today) == [(village, 6)]
    assert counts_by_node("checkpoint_vehicles", [world.nodes["P"].path], today) == []
    with pytest.raises(ValueError):
        counts_by_node("checkpoint_everything", [village], today)
    stats.refresh(days=[today])
    keys = ("checkpoint_vehicles", "checkpoint_people", "checkpoint_turned_back")
    summary = bulletin_summary(world.nodes["T"], today)
    assert {k: summary["totals"][k] for k in keys} == {
        "checkpoint_vehicles": 2,
        "checkpoint_people": 6,
        "checkpoint_turned_back": 1,
    }
    assert summary["totals"]["checkpoint_tested"] == 1
    assert dict(summary["fields"])["checkpoint_turned_back"] == "卡口劝返"
    board = dashboard(world.nodes["T"])
    assert {k: board.totals[k] for k in keys} == {k: summary["totals"][k] for k in keys}
    other = bulletin_summary(world.nodes["U"], today)
    assert all(other["totals"][k] == 0 for k in keys)


def test_the_command_pages_set_up_a_post_and_its_roster(cp):
    from django.test import Client

    from fangkong.checkpoints.models import CrewMember, Post
    from fangkong.org.models import Team, TeamMember

    world, c = cp
    client = Client()
    client.force_login(world.users["commander"])
    made = client.post(
        "/checkpoints/new/",
        {
            "name": "圣堂高速出口",
            "kind": "expressway",
            "node": world.nodes["T"].code,
            "all_day": "on",
            "open_levels": ["1", "2"],
            "active": "on",
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    post = Post.objects.get(name="圣堂高速出口")
    assert post.open_levels == [1, 2] and post.kind == "expressway"
    team = Team.objects.create(jurisdiction=world.nodes["A"], name="卡点服务组", kind="work_group")
    TeamMember.objects.create(team=team, user=c.crew[1].user)
    day = timezone.localdate() + timedelta(days=1)
    saved = client.post(
        f"/checkpoints/{post.pk}/roster/",
        {
            "day": day.isoformat(),
            "pattern": "2x12",
            "crew0": [str(c.crew[0].pk)],
            "team1": [str(team.pk)],
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    crews = [
        sorted(CrewMember.objects.filter(shift=s).values_list("staff__name", flat=True))
        for s in post.shifts.order_by("starts_at")
    ]
    assert crews == [["卡口甲"], ["卡口乙"]]
    page = client.get(f"/checkpoints/{post.pk}/").content.decode()
    assert "圣堂高速出口" in page and "卡口乙" in page
    listing = client.get("/checkpoints/").content.decode()
    assert "圣堂高速出口" in listing and "四喜公路卡口" in listing
    # The crew logs there but sets up nothing; the other town sees nothing of it.
    crew = Client()
    crew.force_login(c.crew[0].user)
    assert crew.get(f"/checkpoints/{c.post.pk}/log/").status_code == 200
    assert crew.get(f"/checkpoints/{c.post.pk}/roster/").status_code == 403
    other = Client()
    other.force_login(world.users["commander_u"])
    assert other.get(f"/checkpoints/{post.pk}/").status_code == 404
    assert "圣堂高速出口" not in other.get("/checkpoints/").content.decode()
