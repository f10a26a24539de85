"""Periodic testing of key occupations (intervals as data; overdue computed from the
latest sample; lists by employer and grid; the chase and the towns' alerts; the export)
and door-to-door sampling (the registry's tags and home isolation, a team's route, the
green channel's work orders, samples through the one ingest path)."""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone, translation

from fangkong.audit.models import AuditEvent
from fangkong.control.services import order_create
from fangkong.notify.models import Notice
from fangkong.org.roles import Perm
from fangkong.people.models import Household, Person, PersonTag
from fangkong.people.panels import panels_for
from fangkong.testing import doorstep, periodic
from fangkong.testing.kinds_periodic import DOORSTEP_KIND, OVERDUE_KIND
from fangkong.testing.models_periodic import KeyOccupation, OccupationAssignment
from fangkong.testing.rounds import exclusion_add, round_create
from fangkong.testing.sampling import BY_PERSON, RECORDED, Record, samples_sync
from fangkong.workorders.models import Priority, WorkOrder

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def person(world, key: str, name: str, address: str) -> Person:
    household = Household.objects.create(jurisdiction=world.nodes[key], address=address)
    return Person.objects.create(jurisdiction=world.nodes[key], household=household, name=name)


def a_round(world, days_ago: int = 0, scope=("T",)):
    today = timezone.localdate()
    return round_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="常态化核酸",
        starts_on=today - timedelta(days=days_ago),
        ends_on=today + timedelta(days=1),
        pool_size=1,
        scope=[world.nodes[k] for k in scope],
    )


def sample(round_, who: Person, barcode: str, at: datetime, actor=None) -> None:
    done = samples_sync(
        round_=round_,
        records=[
            Record(
                client_id=uuid.uuid4(),
                barcode=barcode,
                taken_at=at,
                how=BY_PERSON,
                person=str(who.pk),
            )
        ],
        actor=actor,
    )
    assert done.answers[0].status == RECORDED, done.answers[0].error


def xlsx_rows(response: Any) -> list[list[Any]]:
    """The rows of an exported workbook, read back."""
    data = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def signed_in(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.users[persona])
    client.cookies["django_language"] = "en"
    return client


def occupation(key: str) -> KeyOccupation:
    return KeyOccupation.objects.get(key=key)


def test_intervals_are_data_seeded_by_the_migration():
    seeded = dict(KeyOccupation.objects.values_list("key", "every_days"))
    assert seeded["cold_chain"] == 1 and seeded["express"] == 2 and seeded["market"] == 3
    assert seeded["logistics_indirect"] == 7


def test_overdue_comes_from_the_latest_sample_and_the_interval(world):
    commander = world.users["commander"]
    round_ = a_round(world, days_ago=3)
    now = timezone.now()
    today = timezone.localdate()
    cold = person(world, "A1", "冷链甲", "冷库路1号")
    courier = person(world, "A2", "快递乙", "快递路2号")
    fresh = person(world, "B1", "市场丙", "市场路3号")
    never = person(world, "B1", "司机丁", "车站路4号")
    since = today - timedelta(days=5)
    for who, key, employer in (
        (cold, "cold_chain", "嘉兴冷链物流有限公司"),
        (courier, "express", "王店顺丰营业部"),
        (fresh, "market", "王店农贸市场"),
        (never, "driver", "嘉兴冷链物流有限公司"),
    ):
        periodic.assignment_set(
            person=who, occupation=occupation(key), employer=employer, since=since, actor=commander
        )
    sample(round_, cold, "C001", now - timedelta(days=2))  # daily: overdue by 1 day
    # Every 2 days: a sample 2 days ago is due today, not overdue.
    sample(round_, courier, "C002", now - timedelta(days=2))
    sample(round_, fresh, "C003", now)
    rows = {r.person.pk: r for r in periodic.overdue(commander, today=today)}
    assert set(rows) == {cold.pk, never.pk}
    assert rows[cold.pk].days == 1 and rows[cold.pk].last_at is not None
    assert rows[never.pk].last_at is None and rows[never.pk].due_on == since
    assert periodic.by_employer(list(rows.values())) == [("嘉兴冷链物流有限公司", 2)]
    assert [(g.code, n) for g, n in periodic.by_grid(list(rows.values()))] == [
        (world.nodes["A1"].code, 1),
        (world.nodes["B1"].code, 1),
    ]
    # A rule change is data: cold chain every 3 days takes the worker off the list.
    KeyOccupation.objects.filter(key="cold_chain").update(every_days=3)
    assert {r.person.pk for r in periodic.overdue(commander, today=today)} == {never.pk}
    # Scoped: the grid worker of B1 sees B1's worker alone; another town sees none.
    assert {r.person.pk for r in periodic.overdue(world.users["gw_b1"], today=today)} == {never.pk}
    assert periodic.overdue(world.users["commander_u"], today=today) == []


def test_assignment_needs_the_permission_and_an_employer(world):
    worker = person(world, "A1", "冷链甲", "冷库路1号")
    with pytest.raises(PermissionDenied):
        periodic.assignment_set(
            person=worker,
            occupation=occupation("cold_chain"),
            employer="某公司",
            actor=world.users["gw_a1"],
        )
    with pytest.raises(ValidationError) as e:
        periodic.assignment_set(
            person=worker,
            occupation=occupation("cold_chain"),
            employer="  ",
            actor=world.users["cadre_a"],
        )
    assert "employer" in e.value.message_dict
    periodic.assignment_set(
        person=worker,
        occupation=occupation("cold_chain"),
        employer="甲公司",
        actor=world.users["cadre_a"],
    )
    periodic.assignment_set(
        person=worker,
        occupation=occupation("express"),
        employer="乙公司",
        actor=world.users["cadre_a"],
    )
    assert OccupationAssignment.objects.get(person=worker).occupation.key == "express"


def test_the_page_form_names_the_field_and_changes_nothing_on_bad_input(world):
    worker = person(world, "A1", "冷链甲", "冷库路1号")
    client = signed_in(world, "cadre_a")
    bad = client.post(
        f"/testing/periodic/person/{worker.pk}/", {"occupation": "999", "employer": ""}
    )
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"occupation", "employer"}
    assert not OccupationAssignment.objects.exists()
    ok = client.post(
        f"/testing/periodic/person/{worker.pk}/",
        {"occupation": occupation("cold_chain").pk, "employer": "嘉兴冷链"},
    )
    assert ok.status_code == 200 and OccupationAssignment.objects.count() == 1
    assert (
        signed_in(world, "commander_u").get(f"/testing/periodic/person/{worker.pk}/").status_code
        == 404
    )


def test_the_chase_is_one_open_order_per_worker_and_the_alert_once_a_day(world):
    commander = world.users["commander"]
    worker = person(world, "A1", "冷链甲", "冷库路1号")
    periodic.assignment_set(
        person=worker,
        occupation=occupation("cold_chain"),
        employer="嘉兴冷链",
        since=timezone.localdate() - timedelta(days=3),
        actor=commander,
    )
    client = signed_in(world, "commander")
    page = client.get("/testing/periodic/")
    assert page.status_code == 200 and "嘉兴冷链" in page.content.decode()
    assert worker.name not in page.content.decode()
    assert (
        client.post("/testing/periodic/chase/", {"node": world.nodes["T"].code}).status_code == 200
    )
    client.post("/testing/periodic/chase/", {"node": world.nodes["T"].code})
    orders = WorkOrder.objects.filter(kind=OVERDUE_KIND)
    assert orders.count() == 1 and orders.get().priority == Priority.HIGH
    assert client.post("/testing/periodic/chase/").status_code == 400
    assert periodic.overdue_alerts() == 1
    periodic.overdue_alerts()
    notices = Notice.objects.filter(key__startswith="testing-overdue:")
    # Once per user and day: the town's commander (and town staff) of 王店.
    assert notices.filter(user=commander).count() == 1
    assert "嘉兴冷链" in notices.get(user=commander).body
    assert not notices.filter(user=world.users["commander_u"]).exists()


def test_the_api_lists_and_sets(world):
    worker = person(world, "A1", "冷链甲", "冷库路1号")
    client = signed_in(world, "commander")
    made = client.post(
        f"/api/v1/testing/periodic/persons/{worker.pk}/occupation",
        json.dumps({"occupation": "cold_chain", "employer": "嘉兴冷链", "since": "2026-01-01"}),
        content_type="application/json",
    )
    assert made.status_code == 200, made.content
    unknown = client.post(
        f"/api/v1/testing/periodic/persons/{worker.pk}/occupation",
        json.dumps({"occupation": "astronaut", "employer": "x"}),
        content_type="application/json",
    )
    assert unknown.status_code == 422 and "occupation" in unknown.json()["errors"]
    listed = client.get("/api/v1/testing/periodic/overdue").json()
    assert listed["total"] == 1 and listed["by_employer"] == {"嘉兴冷链": 1}
    assert listed["items"][0]["name"] != worker.name
    assert len(client.get("/api/v1/testing/periodic/occupations").json()) >= 8


def test_the_overdue_export_is_masked_read_back_and_audited(world):
    worker = person(world, "A1", "冷链甲", "冷库路1号")
    periodic.assignment_set(
        person=worker,
        occupation=occupation("cold_chain"),
        employer="嘉兴冷链",
        since=timezone.localdate() - timedelta(days=3),
        actor=world.users["commander"],
    )
    response = signed_in(world, "commander").get("/testing/periodic/overdue.xlsx")
    assert response.status_code == 200
    rows = xlsx_rows(response)
    assert rows[0][:3] == ["Employer", "Occupation", "Grid"]
    assert (
        rows[1][0] == "嘉兴冷链" and rows[1][3] != worker.name and str(rows[1][3]).startswith("冷")
    )
    assert AuditEvent.objects.filter(action="export", object_repr__contains="overdue").exists()


@pytest.fixture
def homebound(world):
    """Bedridden in A1 and A2, a home-isolated resident in A1, an untagged one in A1,
    a bedridden resident in B1."""
    out = {
        "bed_a1": person(world, "A1", "卧床甲", "红星路2号"),
        "blind_a1": person(world, "A1", "视障乙", "红星路1号"),
        "bed_a2": person(world, "A2", "卧床丙", "东风路5号"),
        "plain_a1": person(world, "A1", "普通丁", "红星路3号"),
        "bed_b1": person(world, "B1", "卧床戊", "光明路7号"),
        "iso_a1": person(world, "A1", "居家己", "红星路9号"),
    }
    for key, tag in (
        ("bed_a1", "mobility"),
        ("blind_a1", "visual"),
        ("bed_a2", "mobility"),
        ("bed_b1", "mobility"),
    ):
        PersonTag.objects.create(person=out[key], tag=tag)
    order_create(
        person=out["iso_a1"],
        type="home_isolation",
        starts_on=timezone.localdate(),
        days=7,
        actor=world.users["commander"],
        reason="密接",
    )
    return out


def test_the_route_holds_the_tagged_and_home_isolated_by_grid_and_address(world, homebound):
    round_ = a_round(world)
    commander = world.users["commander"]
    people = doorstep.doorstep_people(round_, user=commander, perm=Perm.TESTING_SAMPLE)
    groups = doorstep.route(people)
    order = [[s.person.pk for s in g.stops] for g in groups]
    h = homebound
    assert order == [
        [h["blind_a1"].pk, h["bed_a1"].pk, h["iso_a1"].pk],
        [h["bed_a2"].pk],
        [h["bed_b1"].pk],
    ]
    assert groups[0].village == world.nodes["A"].name and groups[0].stops[2].isolated
    # A sample through the one ingest path marks the stop; an exclusion takes one off.
    sample(round_, h["bed_a1"], "D001", timezone.now(), actor=world.users["sampler"])
    exclusion_add(
        round_=round_,
        person=h["bed_a2"],
        reason="away",
        actor=commander,
        until=timezone.localdate() + timedelta(days=3),
    )
    groups = doorstep.route(
        doorstep.doorstep_people(round_, user=commander, perm=Perm.TESTING_SAMPLE)
    )
    stops = {s.person.pk: s for g in groups for s in g.stops}
    assert stops[h["bed_a1"].pk].sampled and h["bed_a2"].pk not in stops
    # The sampler of A sees A's route only.
    sampler = doorstep.doorstep_people(
        round_, user=world.users["sampler"], perm=Perm.TESTING_SAMPLE
    )
    assert h["bed_b1"].pk not in set(sampler.values_list("pk", flat=True))


def test_a_team_route_becomes_urgent_orders_once(world, homebound):
    round_ = a_round(world)
    team = world.teams["A"]
    client = signed_in(world, "commander")
    page = client.get(f"/testing/doorstep/{team.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "红星路1号" in text and "光明路7号" not in text
    assert homebound["bed_a1"].name not in text
    sent = client.post(f"/testing/doorstep/{team.pk}/send/", {"round": round_.pk})
    assert sent.status_code == 200
    orders = WorkOrder.objects.filter(kind=DOORSTEP_KIND)
    assert orders.count() == 4  # A's three in A1 and one in A2
    assert set(orders.values_list("priority", flat=True)) == {Priority.URGENT}
    assert set(orders.values_list("team_id", flat=True)) == {team.pk}
    client.post(f"/testing/doorstep/{team.pk}/send/", {"round": round_.pk})
    assert WorkOrder.objects.filter(kind=DOORSTEP_KIND).count() == 4
    assert client.post(f"/testing/doorstep/{team.pk}/send/").status_code == 400
    # The sampler reads the round's route but does not send it.
    sampler = signed_in(world, "sampler")
    assert sampler.get(f"/testing/r/{round_.pk}/doorstep/").status_code == 200
    assert (
        sampler.post(f"/testing/doorstep/{team.pk}/send/", {"round": round_.pk}).status_code == 403
    )
    api = client.get(f"/api/v1/testing/rounds/{round_.pk}/doorstep").json()
    assert [s["address"] for s in api][:3] == ["红星路1号", "红星路2号", "红星路9号"]


def test_the_overdue_page_takes_the_same_queries_for_few_and_many(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(world, "commander")
    since = timezone.localdate() - timedelta(days=3)

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            periodic.assignment_set(
                person=person(world, "A1", f"工人{i:02d}", f"厂路{i}号"),
                occupation=occupation("express"),
                employer=f"单位{i % 3}",
                since=since,
                actor=world.users["commander"],
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert signed_in(world, "commander").get("/testing/periodic/").status_code == 200
        return len(seen)

    add(2, 0)
    few = queries()
    add(20, 2)
    assert queries() == few and few <= 25
    assert client.get("/testing/periodic/").status_code == 200


def test_the_person_page_shows_the_key_occupation_and_when_it_is_due(world, login):
    commander = world.users["commander"]
    round_ = a_round(world, days_ago=3)
    today = timezone.localdate()
    cold = person(world, "A1", "冷链甲", "冷库路1号")
    other = person(world, "A1", "居民乙", "冷库路2号")
    periodic.assignment_set(
        person=cold,
        occupation=occupation("cold_chain"),
        employer="嘉兴冷链物流有限公司",
        since=today - timedelta(days=5),
        actor=commander,
    )
    sample(round_, cold, "C101", timezone.now() - timedelta(days=3))
    # The page speaks the installation's language (Chinese by default).
    page = login("commander").get(f"/people/p/{cold.pk}/").content.decode()
    assert "重点行业（定期核酸）" in page
    assert "嘉兴冷链物流有限公司" in page and "每 1 天检测一次" in page
    assert "已逾期 2 天" in page
    other_page = login("commander").get(f"/people/p/{other.pk}/").content.decode()
    assert "未登记为重点行业人员。" in other_page
    with translation.override("en"):  # the request left its own language active
        (panel,) = [p for p in panels_for(commander, cold) if p.key == "occupation"]
    assert "tested every day" in panel.rows[0][1]
    assert panel.rows[0][2].endswith("overdue by 2 days")
    # Only for those who follow testing where the person lives.
    assert periodic.occupation_panel(world.users["commander_u"], cold) is None
    assert periodic.occupation_panel(commander, cold) is not None
