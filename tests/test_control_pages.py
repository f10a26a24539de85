"""Control pages and API: the under-control list by area and type (day N of M, tests
due today, checks missing, release due), an order's page with its history, a grid
worker's daily check on a phone, the release button, and the API's scoped, masked
operations."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from fangkong.control.models import ControlOrder, HealthCheck, OrderStatus, OrderType
from fangkong.control.services import order_create
from tests.world import World, ensure_registry

pytestmark = pytest.mark.django_db


def two_orders(world: World) -> tuple[ControlOrder, ControlOrder]:
    ensure_registry(world)
    made = []
    for key, persona in (("A1M1", "commander"), ("P1M1", "commander_u")):
        made.append(
            order_create(
                person=world.persons[key],
                type=OrderType.HOME_ISOLATION,
                starts_on=timezone.localdate(),
                days=7,
                test_days=[1, 4, 7],
                actor=world.users[persona],
                reason="居家隔离",
            ).orders[0]
        )
    return made[0], made[1]


def test_the_list_shows_day_tests_due_and_missing_checks_in_scope_only(
    world, login, django_assert_max_num_queries
):
    mine, other = two_orders(world)
    client = login("gw_a1")
    with django_assert_max_num_queries(20):
        page = client.get("/control/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "沈楼居" in body and "戚桃居" not in body
    assert "第 1 天，共 7 天" in body or "day 1 of 7" in body or "第1天" in body
    assert [o.pk for o in page.context["page"]] == [mine.pk]
    assert page.context["page"][0].tests_today == 1 and page.context["page"][0].missing == 2
    filtered = login("commander").get("/control/?type=central")
    assert list(filtered.context["page"]) == []
    assert login("volunteer").get("/control/").status_code == 403
    assert client.get(f"/control/o/{other.pk}/").status_code == 404


def test_a_grid_worker_records_a_check_on_the_phone_page(world, login):
    mine, _other = two_orders(world)
    client = login("gw_a1")
    form = client.get(f"/control/o/{mine.pk}/check/")
    assert form.status_code == 200 and "沈*居" in form.content.decode()
    client_id = form.context["form"].initial["client_id"]
    data = {"temperature": "36.8", "symptoms": ["cough"], "client_id": str(client_id)}
    done = client.post(f"/control/o/{mine.pk}/check/", data)
    assert done.status_code == 302
    client.post(f"/control/o/{mine.pk}/check/", data)  # a double tap
    check = HealthCheck.objects.get()
    assert check.alarm and check.recorded_by == world.users["gw_a1"]
    page = client.get(f"/control/o/{mine.pk}/")
    assert "36.8" in page.content.decode() and page.context["history"] == [mine]
    assert login("gw_b1").post(f"/control/o/{mine.pk}/check/", data).status_code == 404


def test_the_release_button_refuses_an_early_release_with_the_reasons(world, login):
    mine, _other = two_orders(world)
    client = login("commander")
    response = client.post(f"/control/o/{mine.pk}/release/", {"version": mine.version})
    assert response.status_code == 302
    assert ControlOrder.objects.get(pk=mine.pk).status == OrderStatus.ACTIVE
    page = client.get(f"/control/o/{mine.pk}/")
    assert page.context["blockers"]
    assert login("gw_a1").post(f"/control/o/{mine.pk}/release/", {"version": 0}).status_code == 403


def test_the_api_lists_masked_orders_in_scope_and_records_checks_once(world, login):
    mine, other = two_orders(world)
    client = login("gw_a1")
    listing = client.get("/api/v1/control/orders").json()
    assert [o["id"] for o in listing["items"]] == [mine.pk]
    assert listing["items"][0]["person"] == "沈*居" and listing["items"][0]["days"] == 7
    detail = client.get(f"/api/v1/control/orders/{mine.pk}").json()
    assert [t["day"] for t in detail["tests"]] == [1, 4, 7] and detail["release_blockers"]
    assert client.get(f"/api/v1/control/orders/{other.pk}").status_code == 404
    body = {"temperature": "36.5", "client_id": str(uuid.uuid4())}
    first = client.post(
        f"/api/v1/control/orders/{mine.pk}/checks", body, content_type="application/json"
    )
    again = client.post(
        f"/api/v1/control/orders/{mine.pk}/checks", body, content_type="application/json"
    )
    assert first.json()["created"] and not again.json()["created"]
    hot = client.post(
        f"/api/v1/control/orders/{mine.pk}/checks",
        {"temperature": "99", "client_id": str(uuid.uuid4())},
        content_type="application/json",
    )
    assert hot.status_code == 422
    early = login("commander").post(
        f"/api/v1/control/orders/{mine.pk}/release",
        {"version": mine.version},
        content_type="application/json",
    )
    assert early.status_code == 422
    assert client.get("/api/v1/control/in-transit").json() == []
