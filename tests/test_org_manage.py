"""Registering staff and forming teams: scoped, role-limited, audited, clear errors."""

from __future__ import annotations

import html

import pytest
from django.utils import translation

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.org.models import Membership, StaffProfile, Team, TeamTemplate
from fangkong.org.roles import Role


def staff_post(**overrides):
    data = {
        "node": "330411102201-G01",
        "username": "new_vol",
        "name": "杨新志愿",
        "kind": "volunteer",
        "phone": "13700000001",
        "id_number": "",
        "unit": "",
        "role": "volunteer",
        "responsibility": "",
        "post": "",
    }
    return data | overrides


@pytest.mark.django_db
def test_cadre_registers_a_volunteer_in_the_village(world, login):
    client = login("cadre_a")
    with translation.override("zh-hans"):
        response = client.post("/org/staff/new/", staff_post())
    assert response.status_code == 200
    password = response.content.decode().split('id="fk-initial-password">')[1].split("<")[0]
    profile = StaffProfile.objects.get(user__username="new_vol")
    assert profile.jurisdiction == world.nodes["A1"] and profile.phone == "13700000001"
    assert Membership.objects.get(user=profile.user).role == Role.VOLUNTEER
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(profile.pk)).exists()
    # The generated password works.
    from django.test import Client

    assert (
        Client().post("/accounts/login/", {"username": "new_vol", "password": password}).status_code
        == 302
    )


@pytest.mark.django_db
def test_registration_errors_are_specific_and_write_nothing(world, login):
    client = login("cadre_a")
    client.cookies["django_language"] = "en"
    before = StaffProfile.objects.count()
    cases = [
        (staff_post(node="330411102202-G01"), "No such node in your jurisdiction."),  # village B
        (staff_post(role="village_cadre"), "You may not grant this role at this node."),
        (staff_post(role="town_commander"), "You may not grant this role at this node."),
        (staff_post(phone="12345"), "Not a valid mainland mobile or landline number."),
        (staff_post(id_number="110105194912310021"), "The ID number's check digit is wrong."),
        (staff_post(username="sx_cadre"), "This user name is taken."),
        (staff_post(username="a b"), "3-30 letters, digits"),
    ]
    for data, message in cases:
        with translation.override("en"):
            response = client.post("/org/staff/new/", data)
        assert response.status_code == 400, data
        assert message in html.unescape(response.content.decode()), (message, data)
    assert StaffProfile.objects.count() == before
    # A grid worker cannot register anyone.
    assert login("gw_a1").post("/org/staff/new/", staff_post()).status_code == 403


@pytest.mark.django_db
def test_form_and_fill_a_one_one_two_unit(world, login):
    client = login("cadre_a")
    client.cookies["django_language"] = "en"
    template = TeamTemplate.objects.get(code="grid-unit-1-1-2")
    for username, kind in (("p_backbone", "other"), ("v_one", "volunteer"), ("v_two", "volunteer")):
        client.post("/org/staff/new/", staff_post(username=username, kind=kind, phone="", role=""))
    StaffProfile.objects.filter(user__username="p_backbone").update(is_party_member=True)
    response = client.post(
        "/org/teams/new/",
        {
            "node": "330411102201-G01",
            "name": "红星1+1+2单元",
            "kind": "grid_unit",
            "duty": "",
            "template": template.pk,
        },
    )
    team = Team.objects.get(name="红星1+1+2单元")
    assert response.status_code == 302 and team.template == template
    # Incomplete: refused with the composition problem, members unchanged.
    with translation.override("en"):
        bad = client.post(
            f"/org/teams/{team.pk}/members/",
            {"members": "gw_hongxing,cadre\np_backbone,backbone\nv_one,volunteer", "leader": ""},
        )
    assert bad.status_code == 400 and "needs 2 志愿者; it has 1" in bad.content.decode()
    assert team.members.count() == 0
    unknown = client.post(
        f"/org/teams/{team.pk}/members/", {"members": "gw_guangming", "leader": ""}
    )
    assert unknown.status_code == 400  # a grid worker of village B is not in the cadre's scope
    ok = client.post(
        f"/org/teams/{team.pk}/members/",
        {
            "members": "gw_hongxing,cadre\np_backbone,backbone\nv_one,volunteer\nv_two,volunteer",
            "leader": "gw_hongxing",
        },
    )
    assert ok.status_code == 302
    team.refresh_from_db()
    assert team.members.count() == 4 and team.leader == world.users["gw_a1"]
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(team.pk)).exists()
    # Village B's team is not the cadre's to change.
    other = world.teams["B1"]
    assert client.post(f"/org/teams/{other.pk}/members/", {"members": ""}).status_code == 404
