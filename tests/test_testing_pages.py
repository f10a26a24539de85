"""The command post's testing pages and their API operations: a round opened from a
phone (a pool size other than 1/5/10/20 refused, the field named), its sampling points,
a box scanned out at the point and in at the lab, and the one tap that sends the
not-tested to their grid workers (a second tap sends nothing new)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from fangkong.testing.kinds import CHASE_KIND
from fangkong.testing.models import Box, Round, SamplingPoint, Tube
from fangkong.testing.sampling import CLOSE, Record, samples_sync
from fangkong.workorders.models import WorkOrder
from tests.test_testing_services import a_round, people, rec

pytestmark = pytest.mark.django_db


@pytest.fixture
def english(login):
    def make(persona: str):
        client = login(persona)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make


def post_json(client, url, body, key: str = ""):
    return client.post(
        url,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def round_form(world, **changes):
    today = timezone.localdate()
    data = {
        "node": world.nodes["T"].code,
        "name": "四喜社区第二轮",
        "scope": [world.nodes["A"].code],
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=1)).isoformat(),
        "pool_size": "10",
        "min_age_years": "0",
        "recall_hours": "2",
        "hold_days": "2",
    }
    data.update(changes)
    return data


def test_a_round_is_opened_from_its_page_and_a_wrong_pool_size_is_named(world, english):
    commander = english("commander")
    page = commander.get("/testing/new/")
    assert page.status_code == 200
    assert world.nodes["A"].name in page.content.decode()
    bad = commander.post("/testing/new/", round_form(world, pool_size="7"))
    assert bad.status_code == 400
    assert bad.context["form"].errors["pool_size"] == [
        "A pool holds 1, 5, 10 or 20 people (validated sizes); 7 is not one."
    ]
    no_scope = commander.post("/testing/new/", round_form(world, scope=[]))
    assert no_scope.status_code == 400
    assert not Round.objects.exists()
    made = commander.post("/testing/new/", round_form(world))
    round_ = Round.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/testing/r/{round_.pk}/points/"
    assert round_.pool_size == 10
    assert [n.code for n in round_.scope.all()] == [world.nodes["A"].code]
    # 洪合's commander organises nothing in 王店; a grid worker organises nothing.
    other = english("commander_u").post("/testing/new/", round_form(world))
    assert other.status_code == 400
    assert other.context["form"].non_field_errors() == ["Choose the town that organises the round."]
    assert english("gw_a1").get("/testing/new/").status_code == 403
    assert Round.objects.count() == 1


def test_sampling_points_with_hours_staff_and_capacity(world, english):
    round_ = a_round(world)
    commander = english("commander")
    url = f"/testing/r/{round_.pk}/points/"
    page = commander.get(url)
    assert page.status_code == 200
    sampler_staff = next(
        pk for pk, label in page.context["form"].fields["staff"].choices if "柏采样" in label
    )
    form = {
        "name": "四喜社区文化礼堂",
        "node": world.nodes["A1"].code,
        "address": "四喜路1号",
        "opens_at": "07:00",
        "closes_at": "06:00",
        "capacity": "600",
        "staff": [str(sampler_staff)],
    }
    bad = commander.post(url, form)
    assert bad.status_code == 400
    assert bad.context["form"].errors["closes_at"] == ["The point closes before it opens."]
    outside = commander.post(url, form | {"closes_at": "18:00", "node": world.nodes["B"].code})
    assert outside.status_code == 400 and not SamplingPoint.objects.exists()
    assert commander.post(url, form | {"closes_at": "18:00"}).status_code == 302
    point = SamplingPoint.objects.get()
    assert point.jurisdiction == world.nodes["A1"] and point.capacity == 600
    assert list(point.staff.all()) == [world.users["sampler"]]
    assert "四喜社区文化礼堂" in commander.get(url).content.decode()
    # Through the API too; a second point of the same name is refused by name.
    api = f"/api/v1/testing/rounds/{round_.pk}/points"
    body = {
        "name": "红星网格点",
        "node": world.nodes["A1"].code,
        "opens_at": "07:00",
        "closes_at": "11:00",
        "capacity": 300,
        "staff": [world.users["sampler"].username],
    }
    made = post_json(commander, api, body)
    assert made.status_code == 201, made.content
    assert made.json()["staff"] == 1
    again = post_json(commander, api, body)
    assert again.status_code == 422 and "name" in again.content.decode()
    assert [p["name"] for p in commander.get(api).json()] == ["四喜社区文化礼堂", "红星网格点"]
    # Samplers and grid workers do not set up points.
    assert english("sampler").get(url).status_code == 403
    assert english("gw_a1").post(url, form).status_code == 403


def _closed_tubes(world, round_):
    grid = people(world, "A1", 12, "箱")
    samples_sync(
        round_=round_,
        records=[rec("BX01", p) for p in grid[:10]] + [rec("BX02", p) for p in grid[10:]],
        actor=world.users["sampler"],
    )
    samples_sync(
        round_=round_,
        records=[Record(uuid.uuid4(), "BX02", timezone.now(), CLOSE)],
        actor=world.users["sampler"],
    )


def test_a_box_is_scanned_out_at_the_point_and_in_at_the_lab(world, english):
    round_ = a_round(world)
    point = SamplingPoint.objects.create(
        round=round_,
        jurisdiction=world.nodes["A1"],
        name="礼堂",
        opens_at="07:00",
        closes_at="18:00",
        capacity=500,
    )
    _closed_tubes(world, round_)
    sampler, lab = english("sampler"), english("lab")
    out = f"/testing/r/{round_.pk}/boxes/out/"
    assert sampler.get(out).status_code == 200
    bad = sampler.post(out, {"point": point.pk, "code": "箱1", "barcodes": "BX01\nNOPE"})
    assert bad.status_code == 400
    assert "NOPE" in " ".join(bad.context["form"].errors["barcodes"])
    done = sampler.post(out, {"point": point.pk, "code": "箱1", "barcodes": "BX01\nBX02\n"})
    assert done.status_code == 302
    box = Box.objects.get()
    assert box.point == point and box.out_by == world.users["sampler"]
    assert set(Tube.objects.filter(box=box).values_list("barcode", flat=True)) == {"BX01", "BX02"}
    assert "箱1" in sampler.get(out).content.decode()
    # The lab finds one tube missing and one it was not told of.
    url = f"/testing/r/{round_.pk}/boxes/in/"
    shown = lab.post(url, {"code": "箱1", "barcodes": "BX01 X9"})
    assert shown.status_code == 200
    assert shown.context["differ"] == ["BX02", "X9"]
    box.refresh_from_db()
    assert box.in_by == world.users["lab"]
    twice = lab.post(url, {"code": "箱1", "barcodes": "BX01"})
    assert twice.status_code == 400
    assert twice.context["form"].errors["code"] == ["This box was already scanned in."]
    # Each does only their own half.
    assert lab.get(out).status_code == 403
    assert sampler.get(url).status_code == 403


def test_boxes_through_the_api(world, english):
    round_ = a_round(world)
    _closed_tubes(world, round_)
    sampler, lab = english("sampler"), english("lab")
    api = f"/api/v1/testing/rounds/{round_.pk}/boxes"
    made = post_json(sampler, api, {"code": "API1", "barcodes": ["BX01", "BX02"]})
    assert made.status_code == 201, made.content
    assert made.json()["tubes"] == 2
    refused = post_json(sampler, api, {"code": "API2", "barcodes": ["BX01"]})
    assert refused.status_code == 422 and "barcodes" in refused.content.decode()
    back = post_json(lab, api + "/in", {"code": "API1", "barcodes": ["BX01", "BX02"]})
    assert back.status_code == 200 and back.json()["differ"] == []


def test_one_tap_chases_the_not_tested_and_a_second_tap_sends_nothing_new(world, english):
    grid1 = people(world, "A1", 4, "追")
    round_ = a_round(world)
    samples_sync(round_=round_, records=[rec("CH01", grid1[0])], actor=world.users["sampler"])
    cadre = english("cadre_a")
    page = cadre.get(f"/testing/r/{round_.pk}/")
    assert page.status_code == 200
    assert page.context["chase_nodes"][0] == world.nodes["A"]
    url = f"/testing/r/{round_.pk}/chase/"
    first = cadre.post(url, {"node": world.nodes["A"].code}, follow=True)
    orders = WorkOrder.objects.filter(kind=CHASE_KIND)
    assert {o.subject_id for o in orders} == {p.pk for p in grid1[1:]}
    assert {o.assignee for o in orders} == {world.users["gw_a1"]}
    assert "3 work orders sent" in first.content.decode()
    second = cadre.post(url, {"node": world.nodes["A"].code}, follow=True)
    assert WorkOrder.objects.filter(kind=CHASE_KIND).count() == 3
    assert "0 work orders sent" in second.content.decode()
    assert "3 were already open" in second.content.decode()
    # The API answers the same way; a grid worker dispatches nothing; a node outside
    # the round is refused by name.
    api = f"/api/v1/testing/rounds/{round_.pk}/chase"
    again = post_json(cadre, api, {"node": world.nodes["A1"].code})
    assert again.json() == {"sent": 0, "already_open": 3}
    wrong = post_json(cadre, api, {"node": world.nodes["B"].code})
    assert wrong.status_code == 422 and "node" in wrong.content.decode()
    assert english("gw_a1").post(url, {"node": world.nodes["A1"].code}).status_code == 403
    worker = post_json(english("gw_a1"), api, {"node": world.nodes["A1"].code})
    assert worker.status_code == 404
    assert WorkOrder.objects.filter(kind=CHASE_KIND).count() == 3
