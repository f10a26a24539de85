"""The town's medical group (医疗组) as a role: it hears of fevers under control in its
town (not another's), approves releases there (not elsewhere) and changes no registry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from fangkong.accounts.models import User
from fangkong.control.checks import check_record, medical_group
from fangkong.control.models import OrderStatus
from fangkong.control.release import order_release
from fangkong.notify.models import Notice
from fangkong.org.models import StaffKind
from fangkong.org.roles import GRANTABLE_ROLES, Perm, Role
from fangkong.org.scoping import has_perm
from fangkong.org.services import membership_grant, staff_create
from tests.test_control_checks import home_order
from tests.test_control_release import DAY, all_negative, isolated
from tests.world import World

pytestmark = pytest.mark.django_db


def medic(world: World, town: str, username: str) -> User:
    # A township hospital doctor: not listed as medical staff, a member by role only.
    user = staff_create(
        username=username,
        name=f"{town}医疗组",
        kind=StaffKind.OTHER,
        jurisdiction=world.nodes[town],
    ).user
    membership_grant(user=user, jurisdiction=world.nodes[town], role=Role.MEDICAL_GROUP)
    return user


def test_the_role_releases_and_calls_but_never_edits_the_registry(world):
    user = medic(world, "T", "wd_medic")
    t, u = world.nodes["T"].path, world.nodes["U"].path
    assert has_perm(user, Perm.CONTROL_RELEASE, t) and has_perm(user, Perm.PII_UNMASK, t)
    assert not has_perm(user, Perm.CONTROL_RELEASE, u)
    for perm in (Perm.PEOPLE_EDIT, Perm.PEOPLE_IMPORT, Perm.DATA_EXPORT, Perm.STAFF_MANAGE):
        assert not has_perm(user, perm, t), perm
    # A town commander appoints the group; a village cadre cannot.
    assert Role.MEDICAL_GROUP in GRANTABLE_ROLES[Role.TOWN_COMMANDER]
    assert Role.MEDICAL_GROUP not in GRANTABLE_ROLES[Role.VILLAGE_CADRE]


def test_a_fever_reaches_the_group_of_its_own_town_only(world):
    ours, theirs = medic(world, "T", "wd_medic"), medic(world, "U", "hh_medic")
    order = home_order(world)
    assert ours.pk in medical_group(order.jurisdiction)
    assert theirs.pk not in medical_group(order.jurisdiction)
    check, _created = check_record(
        order=order, temperature="38.1", client_id=uuid.uuid4(), actor=None, by_self=True
    )
    assert check.alarm
    assert Notice.objects.filter(user=ours).count() == 1
    assert not Notice.objects.filter(user=theirs).exists()


def test_the_group_approves_a_release_in_its_town_and_not_in_another(world):
    order = isolated(world)
    all_negative(world, order)
    with pytest.raises(PermissionDenied):
        order_release(
            order_id=order.pk,
            actor=medic(world, "U", "hh_medic"),
            expected_version=order.version,
            today=order.ends_on,
        )
    released = order_release(
        order_id=order.pk,
        actor=medic(world, "T", "wd_medic"),
        expected_version=order.version,
        today=order.ends_on,
    )
    assert released.status == OrderStatus.RELEASED
    assert order.ends_on > DAY + timedelta(days=1)
