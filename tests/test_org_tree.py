"""The jurisdiction tree: code rules, subtree queries, moves and count roll-ups.

Every test builds its own small tree with the services; the module runs on SQLite and
on PostgreSQL (set DATABASE_URL).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Role
from fangkong.org.scoping import forget_grants
from fangkong.org.services import (
    jurisdiction_create,
    jurisdiction_move,
    jurisdiction_rollup_counts,
    jurisdiction_set_leaf_counts,
    membership_grant,
)

pytestmark = pytest.mark.django_db

COUNTY = "433122000000"
TOWN = "433122102000"
TOWN2 = "433122103000"
VILLAGE = "433122102201"
VILLAGE2 = "433122102202"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def make_tree() -> dict[str, Jurisdiction]:
    """County → 2 towns; town 1 → 2 villages with grids and micro-grids; town 2 → 1 village."""
    n: dict[str, Jurisdiction] = {}
    n["county"] = jurisdiction_create(code=COUNTY, name="泸溪县", level=Level.COUNTY, parent=None)
    n["town"] = jurisdiction_create(code=TOWN, name="浦市镇", level=Level.TOWN, parent=n["county"])
    n["town2"] = jurisdiction_create(
        code=TOWN2, name="潭溪镇", level=Level.TOWN, parent=n["county"]
    )
    n["v1"] = jurisdiction_create(
        code=VILLAGE, name="浦市社区", level=Level.VILLAGE, parent=n["town"]
    )
    n["v2"] = jurisdiction_create(
        code=VILLAGE2, name="河街社区", level=Level.VILLAGE, parent=n["town"]
    )
    n["v3"] = jurisdiction_create(
        code="433122103201", name="潭溪村", level=Level.VILLAGE, parent=n["town2"]
    )
    n["g11"] = jurisdiction_create(
        code=VILLAGE + "-G01", name="一网格", level=Level.GRID, parent=n["v1"]
    )
    n["g12"] = jurisdiction_create(
        code=VILLAGE + "-G02", name="二网格", level=Level.GRID, parent=n["v1"]
    )
    n["g21"] = jurisdiction_create(
        code=VILLAGE2 + "-G01", name="河街一网格", level=Level.GRID, parent=n["v2"]
    )
    n["g31"] = jurisdiction_create(
        code="433122103201-G1", name="潭溪一网格", level=Level.GRID, parent=n["v3"]
    )
    n["m111"] = jurisdiction_create(
        code=VILLAGE + "-G01-M01", name="一组", level=Level.MICROGRID, parent=n["g11"]
    )
    n["m112"] = jurisdiction_create(
        code=VILLAGE + "-G01-M02", name="二组", level=Level.MICROGRID, parent=n["g11"]
    )
    n["m121"] = jurisdiction_create(
        code=VILLAGE + "-G02-M01", name="三组", level=Level.MICROGRID, parent=n["g12"]
    )
    n["m211"] = jurisdiction_create(
        code=VILLAGE2 + "-G01-M1", name="河街一组", level=Level.MICROGRID, parent=n["g21"]
    )
    return n


def code_errors(**kwargs: Any) -> list[str]:
    with pytest.raises(ValidationError) as info:
        jurisdiction_create(name=kwargs.pop("name", "x"), **kwargs)
    return info.value.message_dict["code"]


def codes(qs: Any) -> set[str]:
    return set(qs.values_list("code", flat=True))


def subtree_codes(tree: dict[str, Jurisdiction], root_key: str) -> set[str]:
    """The expected subtree, computed in Python from the parent links."""
    by_parent: dict[int | None, list[Jurisdiction]] = {}
    for j in Jurisdiction.objects.all():
        by_parent.setdefault(j.parent_id, []).append(j)
    out: set[str] = set()
    todo = [tree[root_key]]
    while todo:
        node = todo.pop()
        out.add(node.code)
        todo.extend(by_parent.get(node.pk, []))
    return out


# Creating nodes ---------------------------------------------------------------------


def test_valid_tree_paths_and_party_orgs():
    n = make_tree()
    assert n["county"].path == f"/{COUNTY}/"
    assert n["town"].path == f"/{COUNTY}/{TOWN}/"
    assert n["m111"].path == f"/{COUNTY}/{TOWN}/{VILLAGE}/{VILLAGE}-G01/{VILLAGE}-G01-M01/"
    assert n["m111"].depth == 5
    assert n["m111"].ancestor_codes() == [COUNTY, TOWN, VILLAGE, VILLAGE + "-G01", n["m111"].code]
    assert n["town"].party_org_name == "浦市镇党委"
    assert n["g11"].party_org_name == "一网格网格党支部"
    assert Jurisdiction.objects.count() == 14


def test_six_digit_county_and_town_at_top():
    county = jurisdiction_create(code="433122", name="县", level=Level.COUNTY, parent=None)
    town = jurisdiction_create(code=TOWN, name="镇", level=Level.TOWN, parent=county)
    assert town.path == f"/433122/{TOWN}/"
    top_town = jurisdiction_create(code="433122104000", name="顶镇", level=Level.TOWN, parent=None)
    assert top_town.path == "/433122104000/"


@pytest.mark.parametrize(
    "code,message",
    [
        ("43312", "A county code is 6 digits (or 12 digits ending in 000000)."),
        ("4331220000001", "A county code is 6 digits (or 12 digits ending in 000000)."),
        ("433122000001", "A county code is 6 digits (or 12 digits ending in 000000)."),
        ("43312A", "A county code is 6 digits (or 12 digits ending in 000000)."),
    ],
)
def test_county_code_rules(code, message):
    assert code_errors(code=code, level=Level.COUNTY, parent=None) == [message]


@pytest.mark.parametrize(
    "code,message",
    [
        ("433122102001", "A town code is 12 digits ending in 000."),
        ("43312210200", "A town code is 12 digits ending in 000."),
        ("4331221020000", "A town code is 12 digits ending in 000."),
        ("43312210A000", "A town code is 12 digits ending in 000."),
        ("433123102000", "A town code starts with its county's 6 digits."),
        # Full-width digits are not the digits of a division code.
        ("４３３１２２１０２０００", "A town code is 12 digits ending in 000."),
    ],
)
def test_town_code_rules(code, message):
    county = jurisdiction_create(code=COUNTY, name="县", level=Level.COUNTY, parent=None)
    assert code_errors(code=code, level=Level.TOWN, parent=county) == [message]


@pytest.mark.parametrize(
    "code,message",
    [
        ("43312210220", "A village/community code is 12 digits."),
        ("43312210220X", "A village/community code is 12 digits."),
        ("433122102２01", "A village/community code is 12 digits."),
        ("433122103201", "A village code starts with its town's first 9 digits."),
        ("433123102201", "A village code starts with its town's first 9 digits."),
    ],
)
def test_village_code_rules(code, message):
    town = jurisdiction_create(code=TOWN, name="镇", level=Level.TOWN, parent=None)
    assert code_errors(code=code, level=Level.VILLAGE, parent=town) == [message]


GRID_MESSAGE = "A grid or micro-grid code is its parent's code, '-', and 1-8 letters or digits."


@pytest.mark.parametrize(
    "suffix", ["", "-", "G01", "_G01", "-G_1", "-G01X23456", "-网格1", "-G.1", "X-G01"]
)
def test_grid_and_microgrid_code_rules(suffix):
    town = jurisdiction_create(code=TOWN, name="镇", level=Level.TOWN, parent=None)
    village = jurisdiction_create(code=VILLAGE, name="村", level=Level.VILLAGE, parent=town)
    bad_grid = suffix if suffix.startswith("X") else VILLAGE + suffix
    assert code_errors(code=bad_grid, level=Level.GRID, parent=village) == [GRID_MESSAGE]
    grid = jurisdiction_create(code=VILLAGE + "-G1", name="网格", level=Level.GRID, parent=village)
    assert grid.code == VILLAGE + "-G1"
    bad_micro = suffix if suffix.startswith("X") else grid.code + suffix
    assert code_errors(code=bad_micro, level=Level.MICROGRID, parent=grid) == [GRID_MESSAGE]
    micro = jurisdiction_create(
        code=grid.code + "-12345678", name="微网格", level=Level.MICROGRID, parent=grid
    )
    assert micro.path.endswith(f"/{VILLAGE}-G1/{VILLAGE}-G1-12345678/")


def test_code_shape_errors():
    assert code_errors(code="", level=Level.TOWN, parent=None) == ["The code is empty."]
    too_long = "A code has at most 40 characters, without spaces or '/'."
    assert code_errors(code="4" * 41, level=Level.TOWN, parent=None) == [too_long]
    assert code_errors(code="4331/2102000", level=Level.TOWN, parent=None) == [too_long]
    assert code_errors(code="433122 102000", level=Level.TOWN, parent=None) == [too_long]


@pytest.mark.parametrize(
    "level,parent_key,message",
    [
        (Level.VILLAGE, "county", "A Village / community cannot be placed under a County."),
        (Level.GRID, "town", "A Grid cannot be placed under a Town / street."),
        (Level.MICROGRID, "v1", "A Micro-grid cannot be placed under a Village / community."),
        (Level.TOWN, "town", "A Town / street cannot be placed under a Town / street."),
        (Level.COUNTY, "county", "A County cannot be placed under a County."),
    ],
)
def test_wrong_parent_level_rejected(level, parent_key, message):
    n = make_tree()
    before = Jurisdiction.objects.count()
    parent = n[parent_key]
    # A code that would be fine in shape for the level, so the parent rule is what fails.
    code = {
        Level.VILLAGE: "433122000201",
        Level.GRID: parent.code + "-G9",
        Level.MICROGRID: parent.code + "-M9",
        Level.TOWN: "433122105000",
        Level.COUNTY: "433100",
    }[level]
    assert message in code_errors(code=code, level=level, parent=parent)
    assert Jurisdiction.objects.count() == before


@pytest.mark.parametrize("level", [Level.VILLAGE, Level.GRID, Level.MICROGRID])
def test_only_county_or_town_at_top(level):
    code = {Level.VILLAGE: VILLAGE, Level.GRID: "-G1", Level.MICROGRID: "-M1"}[level]
    errors = code_errors(code=code, level=level, parent=None)
    assert errors[0] == "Only a county or a town can be at the top; give a parent code."


def test_duplicate_code_rejected():
    make_tree()
    with pytest.raises(ValidationError) as info:
        jurisdiction_create(code=TOWN, name="again", level=Level.TOWN, parent=None)
    assert "code" in info.value.message_dict


# Subtree queries ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["county", "town", "town2", "v1", "v2", "g11", "g12", "m111"])
def test_within_returns_exactly_the_subtree(key):
    n = make_tree()
    got = codes(Jurisdiction.objects.within(n[key].path))
    assert got == subtree_codes(n, key)
    assert Jurisdiction.objects.within(n[key].path).count() == len(got)


def test_within_does_not_match_code_prefixes():
    """A sibling whose code extends another's ("-G1" vs "-G10") is not in its subtree."""
    n = make_tree()
    g1 = jurisdiction_create(code=VILLAGE + "-G1", name="g1", level=Level.GRID, parent=n["v1"])
    g10 = jurisdiction_create(code=VILLAGE + "-G10", name="g10", level=Level.GRID, parent=n["v1"])
    jurisdiction_create(code=g10.code + "-M1", name="m", level=Level.MICROGRID, parent=g10)
    assert codes(Jurisdiction.objects.within(g1.path)) == {g1.code}
    assert codes(Jurisdiction.objects.within(g10.path)) == {g10.code, g10.code + "-M1"}


def test_within_unknown_path_is_empty():
    make_tree()
    assert not Jurisdiction.objects.within("/999999/").exists()


def _user(username: str) -> User:
    return User.objects.create_user(username=username, password="x-pass-123456")


@pytest.mark.parametrize(
    "grants,expected_roots",
    [
        ([("g11", Role.GRID_WORKER)], ["g11"]),
        ([("v1", Role.VILLAGE_CADRE)], ["v1"]),
        ([("town", Role.TOWN_COMMANDER)], ["town"]),
        ([("g11", Role.GRID_WORKER), ("v2", Role.VILLAGE_CADRE)], ["g11", "v2"]),
        # A membership under another one adds nothing.
        ([("town", Role.TOWN_STAFF), ("g11", Role.GRID_WORKER)], ["town"]),
        ([("g12", Role.GRID_WORKER), ("v3", Role.VILLAGE_CADRE)], ["g12", "v3"]),
    ],
)
def test_visible_to_is_the_union_of_membership_subtrees(grants, expected_roots):
    n = make_tree()
    user = _user("u1")
    for key, role in grants:
        membership_grant(user=user, jurisdiction=n[key], role=role)
    expected = set().union(*(subtree_codes(n, k) for k in expected_roots))
    assert codes(Jurisdiction.objects.visible_to(user)) == expected


def test_visible_to_respects_the_permission_asked_for():
    from fangkong.org.roles import Perm

    n = make_tree()
    user = _user("u2")
    membership_grant(user=user, jurisdiction=n["town"], role=Role.VOLUNTEER)
    membership_grant(user=user, jurisdiction=n["g11"], role=Role.GRID_WORKER)
    assert codes(Jurisdiction.objects.visible_to(user, Perm.ORG_VIEW)) == subtree_codes(n, "g11")
    assert codes(Jurisdiction.objects.visible_to(user)) == subtree_codes(n, "town")
    assert not Jurisdiction.objects.visible_to(user, Perm.ORG_MANAGE).exists()


def test_visible_to_without_memberships_is_empty():
    make_tree()
    assert not Jurisdiction.objects.visible_to(_user("nobody")).exists()


def test_scoped_models_use_the_same_subtree():
    from fangkong.org.models import StaffProfile
    from fangkong.org.services import staff_create

    n = make_tree()
    for key in ("town", "v1", "g11", "m111", "v2", "town2"):
        staff_create(username=f"s-{key}", name=key, kind="other", jurisdiction=n[key])
    got = set(StaffProfile.objects.within(n["v1"].path).values_list("name", flat=True))
    assert got == {"v1", "g11", "m111"}
    user = _user("u3")
    membership_grant(user=user, jurisdiction=n["v1"], role=Role.VILLAGE_CADRE)
    got = set(StaffProfile.objects.visible_to(user).values_list("name", flat=True))
    assert got == {"v1", "g11", "m111"}


def test_queries_use_the_backend_specific_filter():
    n = make_tree()
    sql = str(Jurisdiction.objects.within(n["v1"].path).query)
    if connection.vendor == "postgresql":
        assert "LIKE" in sql
    else:
        assert ">=" in sql and "<" in sql and "LIKE" not in sql


# Moving ----------------------------------------------------------------------------


def test_move_updates_the_whole_subtree():
    n = make_tree()
    v1_subtree = subtree_codes(n, "v1")
    other = {j.code: j.path for j in Jurisdiction.objects.exclude(code__in=v1_subtree)}
    moved = jurisdiction_move(node=n["v1"], new_parent=n["town2"])
    assert moved.parent_id == n["town2"].pk
    assert moved.path == f"/{COUNTY}/{TOWN2}/{VILLAGE}/"
    for j in Jurisdiction.objects.filter(code__in=v1_subtree):
        assert j.path.startswith(moved.path)
        parent = j.parent
        assert j.path == (parent.path if parent else "/") + j.code + "/"
    # Nothing else changed.
    assert {j.code: j.path for j in Jurisdiction.objects.exclude(code__in=v1_subtree)} == other
    assert codes(Jurisdiction.objects.within(n["town2"].path)) == subtree_codes(n, "town2")
    assert codes(Jurisdiction.objects.within(n["town"].path)) == subtree_codes(n, "town")
    assert codes(Jurisdiction.objects.within(moved.path)) == v1_subtree


def test_move_with_a_stale_instance_still_moves_descendants():
    """A node object read before its parent moved still moves its own subtree."""
    n = make_tree()
    stale_grid = Jurisdiction.objects.get(pk=n["g11"].pk)
    jurisdiction_move(node=n["v1"], new_parent=n["town2"])
    jurisdiction_move(node=stale_grid, new_parent=n["v3"])
    for j in Jurisdiction.objects.all():
        assert j.path == (j.parent.path if j.parent else "/") + j.code + "/"
    assert codes(Jurisdiction.objects.within(stale_grid.path)) == subtree_codes(n, "g11")


def test_move_then_visible_to_follows():
    n = make_tree()
    user = _user("u4")
    membership_grant(user=user, jurisdiction=n["town2"], role=Role.TOWN_STAFF)
    jurisdiction_move(node=n["v2"], new_parent=n["town2"])
    forget_grants(user)
    assert codes(Jurisdiction.objects.visible_to(user)) == subtree_codes(n, "town2")
    assert VILLAGE2 + "-G01-M1" in codes(Jurisdiction.objects.visible_to(user))


def test_move_under_a_wrong_level_is_rejected():
    n = make_tree()
    with pytest.raises(ValidationError, match="cannot be placed under"):
        jurisdiction_move(node=n["v1"], new_parent=n["county"])
    n["v1"].refresh_from_db()
    assert n["v1"].parent_id == n["town"].pk


# Count roll-up ----------------------------------------------------------------------


def _assert_parents_are_sums() -> int:
    nodes = list(Jurisdiction.objects.all())
    children: dict[int, list[Jurisdiction]] = {}
    for j in nodes:
        if j.parent_id:
            children.setdefault(j.parent_id, []).append(j)
    checked = 0
    for j in nodes:
        kids = children.get(j.pk)
        if kids:
            assert j.household_count == sum(k.household_count for k in kids), j.code
            assert j.resident_count == sum(k.resident_count for k in kids), j.code
            checked += 1
    return checked


def test_rollup_sums_every_ancestor():
    n = make_tree()
    leaves = {
        "m111": (10, 31),
        "m112": (7, 20),
        "m121": (3, 9),
        "m211": (12, 40),
        "g31": (5, 17),  # a grid without micro-grids is a leaf
    }
    jurisdiction_set_leaf_counts(counts={n[k].pk: v for k, v in leaves.items()})
    assert _assert_parents_are_sums() == 9
    get = Jurisdiction.objects.get
    assert (get(code=COUNTY).household_count, get(code=COUNTY).resident_count) == (37, 117)
    assert (get(code=TOWN).household_count, get(code=TOWN).resident_count) == (32, 100)
    assert (get(code=TOWN2).household_count, get(code=TOWN2).resident_count) == (5, 17)
    assert get(code=VILLAGE + "-G01").household_count == 17
    assert get(code="433122103201").resident_count == 17


def test_rollup_rerun_changes_nothing():
    n = make_tree()
    jurisdiction_set_leaf_counts(counts={n["m111"].pk: (4, 9), n["g31"].pk: (2, 5)})
    before = {
        j.code: (j.household_count, j.resident_count, j.updated_at)
        for j in Jurisdiction.objects.all()
    }
    jurisdiction_rollup_counts()
    jurisdiction_set_leaf_counts(counts={n["m111"].pk: (4, 9)})
    after = {
        j.code: (j.household_count, j.resident_count, j.updated_at)
        for j in Jurisdiction.objects.all()
    }
    assert after == before


def test_rollup_follows_changes_and_moves():
    n = make_tree()
    jurisdiction_set_leaf_counts(counts={n["m111"].pk: (10, 30), n["g31"].pk: (1, 2)})
    jurisdiction_set_leaf_counts(counts={n["m111"].pk: (1, 3)})
    assert Jurisdiction.objects.get(code=TOWN).household_count == 1
    jurisdiction_move(node=n["v1"], new_parent=n["town2"])
    jurisdiction_rollup_counts()
    _assert_parents_are_sums()
    assert Jurisdiction.objects.get(code=TOWN2).household_count == 2
    assert Jurisdiction.objects.get(code=COUNTY).household_count == 2
