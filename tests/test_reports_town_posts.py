"""A post attached to the town itself (a road of the town, no village's) is counted in
the town's bulletin, in a row of the town itself, in the town's row of the county's and
in the command dashboard's totals (issue 19: village rows alone dropped it)."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from fangkong.checkpoints.services import PostData, Record, entries_sync, post_save
from fangkong.org.models import Level
from fangkong.reports import stats
from fangkong.reports.bulletin import bulletin_summary
from fangkong.reports.documents import table
from fangkong.reports.selectors import dashboard
from tests.checkpoints_support import build_checkpoint
from tests.world import build_world

pytestmark = pytest.mark.django_db


def _car(plate: str, outcome: str = "pass") -> Record:
    return Record(
        client_id=uuid.uuid4(), at=timezone.now(), mode="car", outcome=outcome, plate=plate
    )


def test_a_post_under_the_town_is_in_the_town_s_and_the_county_s_bulletin() -> None:
    world = build_world()
    village_post = build_checkpoint(world, risk_area=False)
    town_post = post_save(
        actor=world.users["commander"],
        data=PostData(
            name="王店高速出口",
            kind="expressway",
            jurisdiction=world.nodes["T"],
            open_levels=[1, 2],
            leader=world.users["commander"],
        ),
    )
    entries_sync(
        post=village_post.post, records=[_car("浙F12345")], actor=village_post.crew[0].user
    )
    entries_sync(
        post=town_post,
        records=[_car("浙F22345"), _car("浙F22346", outcome="turned_back")],
        actor=world.users["commander"],
    )
    today = timezone.localdate()
    town = bulletin_summary(world.nodes["T"], today)
    assert town["totals"]["checkpoint_vehicles"] == 3
    assert town["totals"]["checkpoint_turned_back"] == 1
    itself = [r for r in town["rows"] if r["code"] == world.nodes["T"].code]
    assert len(itself) == 1 and itself[0]["name"] == "王店镇（镇直属）"
    assert itself[0]["values"]["checkpoint_vehicles"] == 2
    assert itself[0]["villages"] == 0  # not a village: the reporting counts are the villages'
    assert town["counts"]["villages"] == len(town["rows"]) - 1
    _header, rows, _total, _change = table(town)
    assert rows[-1][0] == "王店镇（镇直属）"
    county = bulletin_summary(world.nodes["C"], today)
    (t_row,) = [r for r in county["rows"] if r["code"] == world.nodes["T"].code]
    assert t_row["values"]["checkpoint_vehicles"] == 3
    assert county["totals"]["checkpoint_vehicles"] == 3
    # The command dashboard's totals too, from the town's own pre-counted row.
    stats.refresh(days=[today])
    board = dashboard(world.nodes["T"])
    assert board.totals["checkpoint_vehicles"] == 3
    assert all(r.village.level == Level.VILLAGE for r in board.rows)
    assert dashboard(world.nodes["A"]).totals["checkpoint_vehicles"] == 1
    # A town without such a post has no row of its own.
    other = bulletin_summary(world.nodes["U"], today)
    assert all(r["code"] != world.nodes["U"].code for r in other["rows"])
