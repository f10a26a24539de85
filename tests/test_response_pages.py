"""Emergency response through its pages and API: the commander copies the shipped plan,
edits it, activates it; the called tap "I'm here"; the timeline shows it; a step done
twice and a level switch repeated change nothing; whoever lacks the permission or the
node is refused."""

from __future__ import annotations

import pytest

from fangkong.org.models import StaffKind, TeamKind
from fangkong.org.services import staff_create, team_create
from fangkong.response.models import Activation, Callout, LevelChange, Plan

pytestmark = pytest.mark.django_db

EVENT = "有两名核酸检测异常人员到过太子农庄吃饭"


def _shipped() -> Plan:
    return Plan.objects.get(code="golden-24h", jurisdiction__isnull=True)


def test_plan_pages_copy_edit_activate(world, login):
    commander = login("commander")
    shipped = _shipped()
    page = commander.get(f"/response/plans/{shipped.pk}/")
    assert page.status_code == 200 and "流调溯源组" in page.content.decode()
    # A town commander does not change the shipped plan: they copy it.
    assert commander.post(f"/response/plans/{shipped.pk}/", {"title": "x"}).status_code == 403
    copied = commander.post(f"/response/plans/{shipped.pk}/copy/")
    plan = Plan.objects.get(code="golden-24h", jurisdiction=world.nodes["T"])
    assert copied["Location"] == f"/response/plans/{plan.pk}/"
    bad = commander.post(
        f"/response/plans/{plan.pk}/", {"action": "step", "title": "召开调度会", "minutes": "0"}
    )
    assert bad.status_code == 400
    ok = commander.post(
        f"/response/plans/{plan.pk}/",
        {"action": "step", "title": "召开调度会", "minutes": "45", "group": "office"},
    )
    assert ok.status_code == 302 and plan.steps.filter(title="召开调度会", minutes=45).exists()
    # The other town's commander sees neither the copy nor its activation page.
    other = login("commander_u")
    assert other.get(f"/response/plans/{plan.pk}/").status_code == 404
    assert other.post(f"/response/plans/{plan.pk}/activate/", {"event": EVENT}).status_code == 404
    done = commander.post(f"/response/plans/{plan.pk}/activate/", {"event": EVENT})
    act = Activation.objects.get(plan=plan)
    assert done["Location"] == f"/response/activations/{act.pk}/"
    again = commander.post(f"/response/plans/{plan.pk}/activate/", {"event": EVENT})
    assert again.status_code == 400 and "王店镇" in again.content.decode()
    assert Activation.objects.filter(plan=plan).count() == 1
    page = commander.get(f"/response/activations/{act.pk}/")
    assert page.status_code == 200 and "fk-timeline" in page.content.decode()
    assert commander.get("/response/").status_code == 200


def test_api_activation_arrival_step_done_and_level(world, login):
    node = world.nodes["T"]
    worker = staff_create(
        username="lt_api", name="周流调", kind=StaffKind.TOWN_CADRE, jurisdiction=node
    ).user
    team_create(
        name="流调溯源组", kind=TeamKind.WORK_GROUP, jurisdiction=node, members=[(worker, "")]
    )
    commander = login("commander")
    copied = commander.post(
        "/api/v1/response/copies",
        data={"plan_id": _shipped().pk},
        content_type="application/json",
    )
    assert copied.status_code == 200, copied.content
    plan_id = copied.json()["id"]
    made = commander.post(
        f"/api/v1/response/plans/{plan_id}/activations",
        data={"event": EVENT},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    act_id = made.json()["id"]
    assert len(made.json()["steps"]) == 12
    # The called worker reports; tapping again keeps the first time.
    from django.test import Client

    phone = Client()
    phone.force_login(worker)
    first = phone.post(
        "/api/v1/response/arrivals", data={"activation_id": act_id}, content_type="application/json"
    )
    assert first.status_code == 200 and first.json()["new"] and first.json()["on_time"]
    second = phone.post(
        "/api/v1/response/arrivals", data={"activation_id": act_id}, content_type="application/json"
    )
    assert second.json()["new"] is False
    # Someone not called: bad input on the field, nothing recorded.
    stranger = login("gw_a1").post(
        "/api/v1/response/arrivals", data={"activation_id": act_id}, content_type="application/json"
    )
    assert stranger.status_code == 422
    assert Callout.objects.filter(activation_id=act_id, arrived_at__isnull=False).count() == 1
    for _ in range(2):
        r = commander.post(
            f"/api/v1/response/activations/{act_id}/done",
            data={"position": 1},
            content_type="application/json",
        )
        assert r.status_code == 200 and r.json()["steps"][0]["state"] == "done"
    missing = commander.post(
        f"/api/v1/response/activations/{act_id}/done",
        data={"position": 99},
        content_type="application/json",
    )
    assert missing.status_code in (400, 422)
    # A village cadre reads the timeline but does not mark steps.
    cadre = login("cadre_a")
    assert cadre.get(f"/api/v1/response/activations/{act_id}").status_code == 404  # town's
    assert cadre.post(
        f"/api/v1/response/activations/{act_id}/done",
        data={"position": 2},
        content_type="application/json",
    ).status_code in (403, 404)
    # Level 2 at the town, twice: one change.
    for _ in range(2):
        r = commander.post(
            f"/api/v1/response/nodes/{node.code}/level",
            data={"level": "level2", "reason": "二级响应"},
            content_type="application/json",
        )
        assert r.status_code == 200 and r.json()["level"] == "level2"
    assert LevelChange.objects.filter(jurisdiction=node).count() == 1
    seen = cadre.get(f"/api/v1/response/nodes/{world.nodes['A'].code}/level")
    assert seen.status_code == 200 and seen.json()["level"] == "level2"
    unknown = commander.post(
        f"/api/v1/response/nodes/{node.code}/level",
        data={"level": "level9", "reason": "x"},
        content_type="application/json",
    )
    assert unknown.status_code == 422
    page = commander.get(f"/response/levels/{node.code}/")
    switched = commander.post(
        f"/response/levels/{node.code}/switch/", {"level": "peace", "reason": "解除"}
    )
    assert switched.status_code == 302
    assert LevelChange.objects.filter(jurisdiction=node).count() == 2
    assert page.status_code == 200 and "二级响应" in page.content.decode()


def test_here_page(world, login):
    gw = login("gw_a1")
    page = gw.get("/response/here/")
    assert page.status_code == 200
    assert gw.post("/response/here/", {}).status_code == 400
    assert gw.post("/response/here/", {"callout": "12345"}).status_code == 404
