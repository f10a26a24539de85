"""Shared objects of the places tests: a patrol member of 王店镇, and a shop, an
enterprise and a temple in 四喜社区 (each made once)."""

from __future__ import annotations

from typing import Any

from tests.world import PASSWORD, World


def patrol_user(world: World) -> Any:
    from fangkong.accounts.models import User
    from fangkong.org.models import StaffKind
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant, staff_create

    found = User.objects.filter(username="wd_patrol").first()
    if found is not None:
        return found
    user = staff_create(
        username="wd_patrol",
        name="巡查员",
        kind=StaffKind.OTHER,
        jurisdiction=world.nodes["T"],
        password=PASSWORD,
    ).user
    membership_grant(user=user, jurisdiction=world.nodes["T"], role=Role.PATROL)
    return user


def place_of(world: World, name: str, category: str, node: str = "A1") -> Any:
    from fangkong.places.models import Place, PlaceCategory
    from fangkong.places.services import place_create

    found = Place.objects.filter(name=name).first()
    if found is not None:
        return found
    return place_create(
        actor=world.users["commander"],
        jurisdiction=world.nodes[node],
        category=PlaceCategory.objects.get(code=category),
        name=name,
        owner="王老板",
        manager_name="张店长",
        manager_phone="13912345678",
    )
