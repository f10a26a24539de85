"""The demo town's control: a site with rooms, people under every type of control at the
site and at home with their 四包一 teams, missed checks, a fever, releases due and done
today, a transfer on the road and finished ones; the pages show them."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from fangkong.control import release
from fangkong.control.kinds import FEVER_KIND, MISSED_CHECK_KIND, SAMPLE_KIND
from fangkong.control.models import (
    ControlOrder,
    IsolationRoom,
    IsolationSite,
    OrderSource,
    OrderStatus,
    OrderType,
    RoomState,
    Transfer,
    TransferStatus,
)
from fangkong.control.transfers import in_transit
from fangkong.notify.models import Notice
from fangkong.org.demo import DEMO_PASSWORD
from fangkong.org.models import Level, Membership
from fangkong.org.roles import Role
from fangkong.workorders.models import Priority, WorkOrder
from fangkong.workorders.services import tally_differences


@pytest.mark.django_db
def test_the_demo_town_has_a_site_transfers_and_people_under_control():
    call_command("demo_town", "--residents", "3000")
    today = timezone.localdate()
    hotel = IsolationSite.objects.get(kind="hotel")
    assert hotel.jurisdiction.level == Level.TOWN
    assert IsolationSite.objects.filter(kind="hospital").exists()
    rooms = IsolationRoom.objects.filter(site=hotel)
    assert rooms.count() == 20
    # Each order says where it came from in a known word and why in a sentence (SQLite
    # would keep a sentence in the 10-character source column; PostgreSQL refuses it).
    orders = ControlOrder.objects.all()
    assert set(orders.values_list("source", flat=True)) <= set(OrderSource.values)
    assert all(len(o.reason) > 10 for o in orders)
    states = set(rooms.values_list("state", flat=True))
    assert {RoomState.FREE, RoomState.OCCUPIED, RoomState.CLEANING} <= states
    active = ControlOrder.objects.filter(status=OrderStatus.ACTIVE)
    assert set(active.values_list("type", flat=True)) == set(OrderType.values) - {
        OrderType.DAILY_MONITORING
    }
    # At the site in a room, at home with the household; every one with a full 四包一.
    assert not active.filter(type=OrderType.CENTRAL, room=None).exists()
    assert not active.exclude(type=OrderType.CENTRAL).filter(household=None).exists()
    for order in active:
        assert None not in (order.cadre, order.grid_worker, order.doctor, order.police), order
    # The chain of a close contact: 7 days at the site, then 3 at home, planned.
    assert ControlOrder.objects.filter(
        status=OrderStatus.PLANNED, type=OrderType.HOME_MONITORING
    ).exists()
    # Yesterday's missed checks opened visits; this morning's fever told the medical group.
    assert WorkOrder.objects.filter(kind=MISSED_CHECK_KIND).count() == 3
    assert WorkOrder.objects.filter(kind=FEVER_KIND, priority=Priority.URGENT).count() == 1
    doctor = Membership.objects.get(user__username="doctor1", role=Role.MEDICAL_GROUP).user
    fever = Notice.objects.get(user=doctor, key__startswith="control-alarm:")
    assert "38.3" in fever.body
    assert WorkOrder.objects.filter(kind=SAMPLE_KIND, status="done").exists()
    # Releases: one done today with its notice, the others due today and free to go.
    released = ControlOrder.objects.get(status=OrderStatus.RELEASED)
    assert released.released_on == today and released.notice_code
    due = active.filter(ends_on=today, release_proposed_on=today)
    assert due.count() >= 2
    assert all(release.release_blockers(o, today) == [] for o in due)
    # Two transfers arrived, one is on the road with two people.
    assert Transfer.objects.filter(status=TransferStatus.RECEIVED).count() == 2
    assert in_transit().count() == 2
    assert tally_differences() == []
    # The demo grid worker has people to check, and the pages show them.
    client = Client()
    client.post("/accounts/login/", {"username": "gw0101", "password": DEMO_PASSWORD})
    page = client.get("/control/")
    assert page.status_code == 200
    mine = [o for o in page.context["page"] if o.type == OrderType.HOME_ISOLATION]
    assert mine
    check = client.get(f"/control/o/{mine[0].pk}/check/")
    assert check.status_code == 200
    commander = Client()
    commander.post("/accounts/login/", {"username": "commander", "password": DEMO_PASSWORD})
    listed = commander.get("/control/")
    assert listed.status_code == 200 and listed.context["page"].paginator.count == active.count()
