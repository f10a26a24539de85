"""Pages and API for isolation sites (rooms with beds and state, staff, the site's own
daily count), transfers (made with vehicle, driver, escort and passengers; left and
received at both ends) and an order's 四包一 team: scoped, with clear refusals that
change nothing, idempotent by Idempotency-Key."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fangkong.control.models import (
    ControlOrder,
    IsolationRoom,
    IsolationSite,
    OrderType,
    RoomState,
    Transfer,
    TransferStatus,
)
from fangkong.control.services import order_create
from tests.world import World, ensure_registry

pytestmark = pytest.mark.django_db
JSON = "application/json"


def at_the_site(world: World, site: IsolationSite, key: str = "A1M1") -> ControlOrder:
    ensure_registry(world)
    return order_create(
        person=world.persons[key],
        type=OrderType.CENTRAL,
        starts_on=timezone.localdate(),
        days=7,
        test_days=[1, 2, 3, 5, 7],
        room=site.rooms.order_by("number").first(),
        actor=world.users["commander"],
        reason="密接",
    ).orders[0]


def test_a_site_is_made_and_run_from_its_pages(world, login):
    boss = login("commander")
    made = boss.post(
        "/control/sites/new/",
        {
            "node": world.nodes["T"].code,
            "name": "王店宾馆",
            "kind": "hotel",
            "address": "王店镇长水路1号",
            "rooms": "101:2，102：1\n103",
        },
    )
    assert made.status_code == 302
    site = IsolationSite.objects.get(name="王店宾馆")
    assert [(r.number, r.capacity) for r in site.rooms.order_by("number")] == [
        ("101", 2),
        ("102", 1),
        ("103", 1),
    ]
    bad = boss.post(
        "/control/sites/new/",
        {"node": world.nodes["T"].code, "name": "坏宾馆", "kind": "hotel", "rooms": "201:x"},
    )
    assert bad.status_code == 400 and "201:x" in bad.content.decode()
    assert not IsolationSite.objects.filter(name="坏宾馆").exists()
    # Another town's node: no site made there.
    theirs = boss.post(
        "/control/sites/new/", {"node": world.nodes["U"].code, "name": "越界", "kind": "hotel"}
    )
    assert theirs.status_code == 404 and not IsolationSite.objects.filter(name="越界").exists()
    order = at_the_site(world, site)
    page = boss.get(f"/control/sites/{site.pk}/")
    count = page.context["count"]
    assert (count.people, count.beds, count.arrived, count.free_rooms) == (1, 4, 1, 2)
    # Rooms: added, a duplicate refused, never fewer beds than people, never "free" with
    # someone in it; a room waiting to be cleaned is made free.
    boss.post(f"/control/sites/{site.pk}/rooms/", {"number": "104", "capacity": "3"})
    boss.post(f"/control/sites/{site.pk}/rooms/", {"number": "104", "capacity": "1"})
    assert site.rooms.filter(number="104").get().capacity == 3
    assert order.room is not None
    room = IsolationRoom.objects.get(pk=order.room.pk)
    refused = boss.post(
        f"/control/rooms/{room.pk}/",
        {"capacity": "1", "state": RoomState.FREE, "version": room.version},
    )
    assert refused.status_code == 400 and "101" in refused.content.decode()
    fewer = boss.post(
        f"/control/rooms/{room.pk}/",
        {"capacity": "0", "state": RoomState.OCCUPIED, "version": room.version},
    )
    assert fewer.status_code == 400
    stale = boss.post(
        f"/control/rooms/{room.pk}/",
        {"capacity": "2", "state": RoomState.OCCUPIED, "version": room.version + 5},
    )
    assert stale.status_code == 409
    room.refresh_from_db()
    assert (room.capacity, room.state) == (2, RoomState.OCCUPIED)
    spare = site.rooms.get(number="103")
    cleaned = boss.post(
        f"/control/rooms/{spare.pk}/",
        {"capacity": "1", "state": RoomState.CLEANING, "version": spare.version},
    )
    assert cleaned.status_code == 302
    # Staff: of the site's area only.
    mine, other = world.staff["A"], world.staff["P"]
    boss.post(f"/control/sites/{site.pk}/staff/", {"staff": [mine.pk]})
    assert list(site.staff.all()) == [mine]
    outside = boss.post(f"/control/sites/{site.pk}/staff/", {"staff": [other.pk]})
    assert outside.status_code == 404 and list(site.staff.all()) == [mine]
    # Another town's commander sees nothing of it.
    assert login("commander_u").get(f"/control/sites/{site.pk}/").status_code == 404


def test_a_transfer_is_made_and_confirmed_at_both_ends_from_its_pages(world, login):
    from fangkong.control.sites import site_create

    site = site_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["T"],
        name="王店隔离点",
        kind="hotel",
        rooms=[("101", 1), ("102", 1)],
    )
    order = at_the_site(world, site)
    boss = login("commander")
    form = boss.get("/control/transfers/new/")
    assert form.status_code == 200
    escort = world.staff["A"]  # the cadre of 四喜社区
    made = boss.post(
        "/control/transfers/new/",
        {
            "pickup": "王店高速卡口",
            "destination": site.pk,
            "vehicle": "浙F12345",
            "driver": "驾驶员甲",
            "escort": escort.pk,
            "passengers": [order.pk],
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    transfer = Transfer.objects.get(vehicle="浙F12345")
    (rider,) = transfer.passengers.all()
    assert (rider.person_id, rider.room_id, transfer.jurisdiction.code) == (
        order.person_id,
        order.room_id,
        world.nodes["T"].code,
    )
    cadre = login("cadre_a")
    # The escort is of 四喜社区 and the transfer is the town's: they confirm through the
    # API (their key to the order), the command through the page.
    left = boss.post(f"/control/transfers/{transfer.pk}/depart/", {"version": 0})
    assert left.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.IN_TRANSIT and transfer.departed_at
    assert cadre.get(f"/control/transfers/{transfer.pk}/").status_code == 404
    page = boss.get(f"/control/transfers/{transfer.pk}/")
    assert page.context["can_receive"] and "浙F12345" in page.content.decode()
    boss.post(f"/control/transfers/{transfer.pk}/receive/", {"version": 0})  # stale
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.IN_TRANSIT
    boss.post(f"/control/transfers/{transfer.pk}/receive/", {"version": 1})
    transfer.refresh_from_db()
    assert (
        transfer.status == TransferStatus.RECEIVED
        and transfer.received_by == world.users["commander"]
    )
    listed = boss.get("/control/transfers/")
    assert [t.pk for t in listed.context["page"]] == [transfer.pk]


def test_the_team_is_changed_on_the_page_and_through_the_api(world, login):
    ensure_registry(world)
    order = order_create(
        person=world.persons["A1M1"],
        type=OrderType.HOME_ISOLATION,
        starts_on=timezone.localdate(),
        days=7,
        actor=world.users["commander"],
        reason="居家隔离",
    ).orders[0]
    cadre = login("cadre_a")
    page = cadre.get(f"/control/o/{order.pk}/team/")
    assert page.status_code == 200
    done = cadre.post(
        f"/control/o/{order.pk}/team/",
        {"version": order.version, "cadre": world.staff["A"].pk, "grid_worker": ""},
    )
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.cadre == world.staff["A"] and order.grid_worker is None
    api = login("commander")
    url = f"/api/v1/control/orders/{order.pk}/team"
    # Staff of the other town: 422 on that field, nothing changed.
    outside = api.put(
        url, {"version": order.version, "doctor": world.staff["P"].pk}, content_type=JSON
    )
    assert outside.status_code == 422 and "doctor" in outside.json()["errors"]
    stale = api.put(url, {"version": 0, "cadre": world.staff["T"].pk}, content_type=JSON)
    assert stale.status_code == 409
    ok = api.put(
        url,
        {"version": order.version, "cadre": world.staff["T"].pk, "grid_worker": None},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="team-1",
    )
    again = api.put(
        url,
        {"version": order.version, "cadre": world.staff["T"].pk, "grid_worker": None},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="team-1",
    )
    assert ok.status_code == 200 and again.json() == ok.json()
    assert ok.json()["cadre"] == world.staff["T"].pk
    # The other town's commander: 404, before the body is read.
    assert login("commander_u").put(url, {}, content_type=JSON).status_code == 404


def test_sites_and_transfers_through_the_api(world, login):
    ensure_registry(world)
    api = login("commander")
    body = {
        "node": world.nodes["T"].code,
        "name": "王店接口隔离点",
        "kind": "dormitory",
        "rooms": [{"number": "A1", "capacity": 2}, {"number": "A2"}],
    }
    first = api.post("/api/v1/control/sites", body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="s-1")
    again = api.post("/api/v1/control/sites", body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="s-1")
    assert first.status_code == 200 and again.json() == first.json()
    assert IsolationSite.objects.filter(name="王店接口隔离点").count() == 1
    site = first.json()
    assert (site["rooms"], site["beds"], site["today"]["people"]) == (2, 3, 0)
    far = api.post(
        "/api/v1/control/sites",
        {**body, "node": world.nodes["U"].code, "name": "越界"},
        content_type=JSON,
    )
    assert far.status_code == 422 and "node" in far.json()["errors"]
    room = api.post(
        f"/api/v1/control/sites/{site['id']}/rooms",
        {"number": "A1", "capacity": 1},
        content_type=JSON,
    )
    assert room.status_code == 422 and "A1" in room.json()["detail"]
    full = api.post(
        f"/api/v1/control/sites/{site['id']}/rooms",
        {"number": "A3", "capacity": 21},
        content_type=JSON,
    )
    assert full.status_code == 422
    # A room that does not exist: 404 on the page and the API, nothing made.
    missing = api.post(
        "/api/v1/control/rooms/99999999",
        {"capacity": 1, "state": "free", "version": 0},
        content_type=JSON,
    )
    assert missing.status_code == 404 and api.get("/control/rooms/99999999/").status_code == 404
    order = at_the_site(world, IsolationSite.objects.get(pk=site["id"]))
    trip = api.post(
        "/api/v1/control/transfers",
        {
            "pickup": "王店高铁站",
            "destination": site["id"],
            "vehicle": "浙F54321",
            "driver": "驾驶员丙",
            "escort": world.staff["T"].pk,
            "passengers": [order.pk],
        },
        content_type=JSON,
    )
    assert trip.status_code == 200, trip.content
    t = trip.json()
    assert t["status"] == "planned" and t["passengers"][0]["person"] == "沈*居"
    # Someone already on a transfer is not put on a second one.
    twice = api.post(
        "/api/v1/control/transfers",
        {
            **{k: v for k, v in t.items() if k in ("pickup", "destination", "vehicle", "driver")},
            "escort": world.staff["T"].pk,
            "passengers": [order.pk],
        },
        content_type=JSON,
    )
    assert twice.status_code == 422 and Transfer.objects.count() == 1
    left = api.post(
        f"/api/v1/control/transfers/{t['id']}/depart", {"version": 0}, content_type=JSON
    )
    assert left.status_code == 200 and left.json()["status"] == "in_transit"
    stale = api.post(
        f"/api/v1/control/transfers/{t['id']}/receive", {"version": 0}, content_type=JSON
    )
    assert stale.status_code == 409
    got = api.post(
        f"/api/v1/control/transfers/{t['id']}/receive", {"version": 1}, content_type=JSON
    )
    assert got.status_code == 200 and got.json()["received_at"]
    other = login("commander_u")
    assert other.get(f"/api/v1/control/transfers/{t['id']}").status_code == 404
    assert other.get(f"/api/v1/control/sites/{site['id']}").status_code == 404
    assert other.get("/api/v1/control/sites").json()["items"] == []
