"""A place's manager picked from the town's staff (issue 19): on the form, in the API,
checked against the place's own town; a named person stays possible."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from fangkong.places.models import Place, PlaceCategory
from fangkong.places.services import place_create

pytestmark = pytest.mark.django_db


def test_a_manager_of_the_town_s_staff_and_not_of_another_town(world) -> None:
    shop = PlaceCategory.objects.get(code="shop")
    ours, theirs = world.staff["T"], world.staff["U"]
    made = place_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes["A"],
        category=shop,
        name="四喜超市",
        manager_user=ours.user,
    )
    assert made.manager_user == ours.user
    with pytest.raises(ValidationError) as e:
        place_create(
            actor=world.users["commander"],
            jurisdiction=world.nodes["A"],
            category=shop,
            name="四喜药店",
            manager_user=theirs.user,
        )
    assert "manager_user" in e.value.message_dict
    assert not Place.objects.filter(name="四喜药店").exists()


def test_the_form_offers_the_staff_and_saves_the_one_chosen(world, login) -> None:
    client = login("commander")
    page = client.get("/places/new/").content.decode()
    assert 'name="manager_staff"' in page and world.staff["T"].name in page
    shop = PlaceCategory.objects.get(code="shop")
    sent = client.post(
        "/places/new/",
        {
            "node": world.nodes["A"].code,
            "category": shop.pk,
            "name": "四喜面馆",
            "manager_staff": world.staff["T"].pk,
        },
    )
    assert sent.status_code == 302
    assert Place.objects.get(name="四喜面馆").manager_user == world.staff["T"].user
    # The other town's commander is not offered this town's staff.
    assert world.staff["T"].name not in login("commander_u").get("/places/new/").content.decode()


def test_the_api_takes_a_staff_manager_of_the_town(world, login) -> None:
    client = login("commander")
    body = {"node": world.nodes["A"].code, "category": "shop", "name": "四喜茶馆"}
    made = client.post(
        "/api/v1/places/places",
        data=body | {"manager_staff_id": world.staff["T"].pk},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert Place.objects.get(name="四喜茶馆").manager_user == world.staff["T"].user
    unseen = client.post(
        "/api/v1/places/places",
        data=body | {"name": "四喜书店", "manager_staff_id": world.staff["U"].pk},
        content_type="application/json",
    )
    assert unseen.status_code == 422
    assert not Place.objects.filter(name="四喜书店").exists()
