"""Daily health checks: by staff or through the person's own link (signed, expiring, no
account), idempotent by client id; a fever or symptom tells the town's medical group at
once and opens an urgent visit; a missed check opens a visit; nothing for a released
person."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from fangkong.control.checks import check_record, missed_checks, self_check_token
from fangkong.control.kinds import FEVER_KIND, MISSED_CHECK_KIND
from fangkong.control.models import ControlOrder, HealthCheck, OrderStatus, OrderType
from fangkong.control.services import order_create
from fangkong.notify.models import Channel, Delivery, Notice
from fangkong.org.models import StaffKind
from fangkong.org.services import staff_create
from fangkong.workorders.models import Priority, WorkOrder
from tests.world import World, ensure_registry

pytestmark = pytest.mark.django_db


def home_order(world: World, key: str = "A2", days: int = 7) -> ControlOrder:
    ensure_registry(world)
    return order_create(
        person=world.persons[key],
        type=OrderType.HOME_ISOLATION,
        starts_on=timezone.localdate(),
        days=days,
        test_days=[d for d in (1, 4, 7) if d <= days],
        actor=world.users["commander"],
        reason="密接的密接",
    ).orders[0]


def test_staff_record_a_check_once_however_often_the_phone_retries(world):
    order = home_order(world)
    client_id = uuid.uuid4()
    first, created = check_record(
        order=order, temperature="36.6", client_id=client_id, actor=world.users["cadre_a"]
    )
    again, created_again = check_record(
        order=order, temperature="36.6", client_id=client_id, actor=world.users["cadre_a"]
    )
    assert created and not created_again and first == again
    assert HealthCheck.objects.count() == 1 and not first.alarm
    with pytest.raises(PermissionDenied):
        check_record(
            order=order, temperature="36.6", client_id=uuid.uuid4(), actor=world.users["gw_b1"]
        )
    with pytest.raises(ValidationError):
        check_record(
            order=order, temperature="98.6", client_id=uuid.uuid4(), actor=world.users["cadre_a"]
        )
    with pytest.raises(ValidationError):
        check_record(
            order=order,
            temperature="36.5",
            symptoms=["<script>"],
            client_id=uuid.uuid4(),
            actor=world.users["cadre_a"],
        )
    assert HealthCheck.objects.count() == 1


def test_a_fever_tells_the_town_s_medical_group_at_once_and_opens_an_urgent_visit(world):
    doctor = staff_create(
        username="wd_doctor",
        name="王店医生",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["T"],
        phone="13900000099",
    )
    other_town = staff_create(
        username="hh_doctor",
        name="洪合医生",
        kind=StaffKind.MEDICAL,
        jurisdiction=world.nodes["U"],
        phone="13900000098",
    )
    robot = Channel.objects.create(
        key="wd-medical",
        name="王店医疗组群",
        kind="dingtalk",
        url="http://127.0.0.1:9/x",
        jurisdiction=world.nodes["T"],
        events=["control_alert"],
    )
    order = home_order(world)
    check, _created = check_record(
        order=order,
        temperature="37.3",
        symptoms=["cough"],
        client_id=uuid.uuid4(),
        actor=None,
        by_self=True,
    )
    assert check.alarm and check.by_self
    (notice,) = Notice.objects.filter(user=doctor.user)
    assert "韩东居" in notice.title and "37.3" in notice.body
    assert not Notice.objects.filter(user=other_town.user).exists()
    assert Delivery.objects.filter(channel=robot, event="control_alert").count() == 1
    (urgent,) = WorkOrder.objects.filter(kind=FEVER_KIND)
    assert urgent.priority == Priority.URGENT and urgent.subject_id == order.pk
    assert urgent.assignee is None or urgent.assignee.username != "gw_guangming"


def test_a_check_for_a_released_person_is_refused_and_changes_nothing(world):
    order = home_order(world)
    ControlOrder.objects.filter(pk=order.pk).update(status=OrderStatus.RELEASED)
    with pytest.raises(ValidationError):
        check_record(
            order=order, temperature="36.5", client_id=uuid.uuid4(), actor=world.users["cadre_a"]
        )
    assert not HealthCheck.objects.exists()


def test_a_missed_check_opens_one_visit_for_the_grid_worker(world):
    checked = home_order(world, "A2")
    short = home_order(world, "A1M1")
    for _i in range(2):
        check_record(
            order=checked, temperature="36.4", client_id=uuid.uuid4(), actor=world.users["cadre_a"]
        )
    check_record(
        order=short, temperature="36.4", client_id=uuid.uuid4(), actor=world.users["cadre_a"]
    )
    # 20:00 of the local day the checks were recorded on, whatever the clock says in UTC.
    evening = timezone.localtime().replace(hour=20, minute=0, second=0, microsecond=0)
    (visit,) = missed_checks(now=evening)
    assert visit.kind == MISSED_CHECK_KIND and visit.subject_id == short.pk
    assert visit.assignee == world.users["gw_a1"]
    # The next run finds the visit still open and opens no second one.
    missed_checks(now=evening + timedelta(minutes=5))
    assert WorkOrder.objects.filter(kind=MISSED_CHECK_KIND).count() == 1


def test_the_person_s_own_link_records_a_check_without_an_account(world):
    order = home_order(world)
    client = Client()
    url = f"/control/self/{self_check_token(order)}/"
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert "韩*居" in body and "韩东居" not in body and "东风巷" not in body
    client_id = str(uuid.uuid4())
    data = {"temperature": "36.5", "note": "一切正常", "client_id": client_id}
    done = client.post(url, data)
    assert done.status_code == 200 and "36.5" in done.content.decode()
    client.post(url, data)  # the phone sends it again
    assert HealthCheck.objects.filter(order=order, by_self=True).count() == 1
    bad = client.post(url, {**data, "client_id": str(uuid.uuid4()), "temperature": "abc"})
    assert bad.status_code == 400
    # A forged or altered link shows nothing.
    assert client.get("/control/self/forged/").status_code == 404
    forged = signing.dumps({"o": order.pk, "u": "2099-01-01"}, salt="another salt")
    assert client.get(f"/control/self/{forged}/").status_code == 404


def test_the_link_expires_a_day_after_the_order_and_stops_on_release(world):
    order = home_order(world, days=1)
    token = self_check_token(order)
    from fangkong.control.checks import order_for_token

    assert order_for_token(token) == order
    assert order_for_token(token, timezone.localdate() + timedelta(days=1)) == order
    assert order_for_token(token, timezone.localdate() + timedelta(days=2)) is None
    ControlOrder.objects.filter(pk=order.pk).update(status=OrderStatus.RELEASED)
    response = Client().post(
        f"/control/self/{token}/", {"temperature": "36.5", "client_id": str(uuid.uuid4())}
    )
    assert response.status_code == 400 and not HealthCheck.objects.exists()
