"""Team templates: the 1+1+2 composition is data and is enforced with clear errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from fangkong.org.models import StaffKind, Team, TeamKind, TeamTemplate
from fangkong.org.services import staff_create, team_create, team_set_members


@pytest.fixture
def grid_people(world):
    node = world.nodes["A1"]

    def person(username, kind, party=False):
        return staff_create(
            username=username, name=username, kind=kind, jurisdiction=node, is_party_member=party
        ).user

    return {
        "cadre": person("c1", StaffKind.GRID_WORKER),
        "backbone": person("p1", StaffKind.OTHER, party=True),
        "vol1": person("v1", StaffKind.VOLUNTEER),
        "vol2": person("v2", StaffKind.VOLUNTEER),
        "vol3": person("v3", StaffKind.VOLUNTEER),
        "nonparty": person("n1", StaffKind.OTHER),
    }


@pytest.mark.django_db
def test_valid_one_one_two_unit(world, grid_people):
    template = TeamTemplate.objects.get(code="grid-unit-1-1-2")
    p = grid_people
    team = team_create(
        name="红星1+1+2",
        kind=TeamKind.GRID_UNIT,
        jurisdiction=world.nodes["A1"],
        template=template,
        leader=p["cadre"],
        members=[
            (p["cadre"], "cadre"),
            (p["backbone"], "backbone"),
            (p["vol1"], "volunteer"),
            (p["vol2"], "volunteer"),
        ],
    )
    assert team.members.count() == 4


@pytest.mark.django_db
def test_invalid_compositions_are_refused_with_clear_errors(world, grid_people):
    template = TeamTemplate.objects.get(code="grid-unit-1-1-2")
    p = grid_people
    before = Team.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as err:
        team_create(
            name="缺人",
            kind=TeamKind.GRID_UNIT,
            jurisdiction=world.nodes["A1"],
            template=template,
            members=[(p["cadre"], "cadre"), (p["nonparty"], "backbone"), (p["vol1"], "volunteer")],
        )
    messages = " | ".join(err.value.messages)
    assert "does not qualify as 党员骨干" in messages
    assert "needs 2 志愿者; it has 1" in messages
    assert Team.objects.count() == before  # nothing saved
    team = team_create(
        name="好的",
        kind=TeamKind.GRID_UNIT,
        jurisdiction=world.nodes["A1"],
        template=template,
        members=[
            (p["cadre"], "cadre"),
            (p["backbone"], "backbone"),
            (p["vol1"], "volunteer"),
            (p["vol2"], "volunteer"),
        ],
    )
    with translation.override("en"), pytest.raises(ValidationError) as err:
        team_set_members(
            team=team,
            members=[
                (p["cadre"], "cadre"),
                (p["backbone"], "backbone"),
                (p["vol1"], "volunteer"),
                (p["vol2"], "volunteer"),
                (p["vol3"], "volunteer"),
            ],
        )
    assert "needs 2 志愿者; it has 3" in " ".join(err.value.messages)
    assert team.members.count() == 4  # the failed change was rolled back
    with pytest.raises(ValidationError):
        team_create(
            name="错模板",
            kind=TeamKind.WORK_GROUP,
            jurisdiction=world.nodes["T"],
            template=template,
        )
