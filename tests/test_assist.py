"""Requests from households: residents of 幸福小区 1栋 (封控区, home isolation) ask through
their personal link or by phone; each becomes a work order to 四喜社区's service team due
by its kind's target; a dialysis patient's request reaches the town's medical group at
once with a 30-minute target and its hand-over to 120 is recorded; a retried phone makes
one request; someone under no measure cannot ask; response times by village and kind
name the late ones."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fangkong.assist.models import HelpRequest, RequestKind, RequestStatus
from fangkong.assist.selectors import percentile, response_times
from fangkong.assist.services import request_create
from fangkong.control.checks import self_check_token
from fangkong.control.models import ControlOrder, OrderStatus
from fangkong.notify.models import Notice
from fangkong.org.models import StaffKind, Team, TeamKind
from fangkong.org.services import staff_create, team_create
from fangkong.policy.models import Edition
from fangkong.workorders.models import Priority, WorkOrder
from fangkong.workorders.services import order_complete
from fangkong.zones.models import Place
from fangkong.zones.places import places_derive
from fangkong.zones.services import zones_delineate
from tests.world import ensure_registry
from tests.zones_support import build_compound

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(world):
    commander = world.users["commander"]
    ensure_registry(world)
    compound = build_compound(world)
    places_derive(actor=commander, village=world.nodes["A"])
    zones_delineate(
        actor=commander,
        place=Place.objects.get(name="1栋"),
        reason="病例",
        edition=Edition.objects.get(key="nat-8"),
    )
    doctor = staff_create(
        username="wd_doctor2",
        name="王店医生乙",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["T"],
        phone="13900000098",
    )
    # The village's service team (the test world's 四喜红色服务队, or one made here).
    team = Team.objects.filter(kind=TeamKind.SERVICE_TEAM, jurisdiction=world.nodes["A"]).first()
    if team is None:
        server = staff_create(
            username="sx_server",
            name="四喜服务员",
            kind=StaffKind.VOLUNTEER,
            jurisdiction=world.nodes["A"],
            phone="13900000097",
        )
        team = team_create(
            name="四喜服务队",
            kind=TeamKind.SERVICE_TEAM,
            jurisdiction=world.nodes["A"],
            members=[(server.user, "")],
        )
    servers = set(team.members.values_list("user_id", flat=True))
    assert servers
    return compound.people, doctor.user, servers


def _token(person) -> str:
    return self_check_token(ControlOrder.objects.get(person=person, status=OrderStatus.ACTIVE))


def test_a_dialysis_patient_asks_by_link_and_the_medical_group_is_told(world, client, sealed):
    people, doctor, servers = sealed
    dialysis = RequestKind.objects.get(code="dialysis")
    url = f"/assist/r/{_token(people['楼丙'])}/"
    page = client.get(url)
    assert page.status_code == 200 and "透析" in page.content.decode()
    client_id = str(uuid.uuid4())
    form = {"kind": "dialysis", "detail": "周三透析，需车辆", "client_id": client_id}
    assert client.post(url, form).status_code == 200
    assert client.post(url, form).status_code == 200  # the phone retried
    req = HelpRequest.objects.get()
    assert (req.kind, req.channel, req.status) == (dialysis, "link", RequestStatus.OPEN)
    assert (req.due_at - req.created_at) == timedelta(minutes=30)
    order = req.work_order
    assert order is not None
    assert (order.priority, order.due_at) == (Priority.URGENT, req.due_at)
    assert order.assignee_id in servers
    notice = Notice.objects.get(user=doctor)
    assert "透析" in notice.title and "楼*" in notice.title and "楼丙" not in notice.title
    # The hand-over to 120, by the village's cadre.
    cadre = world.users["cadre_a"]
    from django.test import Client

    staff = Client()
    staff.force_login(cadre)
    response = staff.post(f"/assist/q/{req.pk}/handover/", {"to": "120", "note": "120车组"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert (req.status, req.handover) == (RequestStatus.HANDED_OVER, "120")
    assert req.handover_at is not None
    assert req.handover_at - req.created_at < timedelta(minutes=30)
    times = response_times(cadre, timezone.now() - timedelta(days=1))
    assert [(t.village, t.kind, t.asked, t.answered, t.late) for t in times] == [
        ("四喜社区", "透析", 1, 1, [])
    ]


def test_requests_by_phone_are_served_and_timed(world, sealed):
    people, _doctor, servers = sealed
    cadre = world.users["cadre_a"]
    supplies = RequestKind.objects.get(code="supplies")
    now = timezone.now()
    made = []
    # Asked 10 h, 6 h and 2 h ago; the target is 8 h: the first is late.
    for hours, name in ((10, "楼丙"), (6, "楼丁"), (2, "楼乙")):
        req, new = request_create(
            person=people[name],
            kind=supplies,
            channel="phone",
            detail="大米一袋",
            client_id=uuid.uuid4(),
            actor=cadre,
            now=now - timedelta(hours=hours),
        )
        assert new and req.work_order is not None
        assert req.work_order.assignee_id in servers
        made.append(req)
    for req in made[:2]:
        assert req.work_order is not None and req.work_order.assignee is not None
        order_complete(
            order_id=req.work_order.pk,
            actor=req.work_order.assignee,
            result={"served": True, "note": "送到门口"},
            client_id=uuid.uuid4(),
        )
    made[0].refresh_from_db()
    assert made[0].status == RequestStatus.SERVED
    [row] = response_times(cadre, now - timedelta(days=1))
    assert (row.kind, row.asked, row.answered) == ("生活物资", 3, 2)
    assert row.median is not None and row.p90 is not None
    assert 355 <= row.median <= 365 and 595 <= row.p90 <= 605
    assert [(x.name, x.answered) for x in row.late] == [("楼*", True)]
    assert 115 <= row.late[0].minutes_late <= 125
    # Someone under no measure and in no zone cannot ask.
    with pytest.raises(ValidationError):
        request_create(
            person=world.persons["A2"],
            kind=supplies,
            channel="phone",
            detail="",
            client_id=uuid.uuid4(),
            actor=cadre,
        )
    # B1's grid worker does not see 四喜社区's requests; the other town cannot enter one.
    assert response_times(world.users["gw_b1"], now - timedelta(days=1)) == []
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied
        request_create(
            person=people["楼丙"],
            kind=supplies,
            channel="phone",
            detail="",
            client_id=uuid.uuid4(),
            actor=world.users["commander_u"],
        )
    assert WorkOrder.objects.filter(kind="assist_request").count() == 3


def test_the_api_enters_a_request_once_and_shows_the_times(world, login, sealed):
    people, _doctor, _server = sealed
    client = login("gw_a1")
    body = {
        "person_id": people["楼丁"].pk,
        "kind": "medicine",
        "channel": "door",
        "detail": "降压药",
        "client_id": str(uuid.uuid4()),
    }
    for _ in range(2):
        response = client.post(
            "/api/v1/assist/requests", data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 201, response.content
    assert HelpRequest.objects.count() == 1
    assert response.json()["person"] == "楼*"
    times = client.get("/api/v1/assist/times?days=1").json()
    assert [(t["kind"], t["asked"]) for t in times] == [("药品", 1)]
    assert login("gw_b1").get(f"/api/v1/assist/requests/{response.json()['id']}").status_code == 404


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5, 1, 3], 50) == 3
    assert percentile(list(range(1, 11)), 90) == 9


def test_a_vulnerable_persons_request_goes_by_the_green_channel(world, sealed):
    from fangkong.people.models import PersonTag

    people, doctor, _servers = sealed
    PersonTag.objects.create(person=people["楼丁"], tag="alone")
    supplies = RequestKind.objects.get(code="supplies")
    req, _new = request_create(
        person=people["楼丁"],
        kind=supplies,
        channel="phone",
        detail="独居老人，缺米",
        client_id=uuid.uuid4(),
        actor=world.users["cadre_a"],
    )
    assert req.green and req.due_at - req.created_at == timedelta(minutes=30)
    assert req.work_order is not None and req.work_order.priority == Priority.URGENT
    assert Notice.objects.filter(user=doctor, title__contains="生活物资").count() == 1
    # Their neighbour's request for the same is not.
    other, _new = request_create(
        person=people["楼丙"],
        kind=supplies,
        channel="phone",
        detail="",
        client_id=uuid.uuid4(),
        actor=world.users["cadre_a"],
    )
    assert not other.green and other.due_at - other.created_at == timedelta(minutes=480)
