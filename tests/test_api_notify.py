"""Notifications API: a broadcast to a node in scope, sent once however often it is
resent; one's own inbox read and marked; channels and the delivery log of one's own
area; and the registers, scoped and masked, their exports audited."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from django.utils import timezone

from fangkong.audit.models import AuditEvent
from fangkong.notify.models import Channel, Delivery, Notice
from fangkong.people.models import Person
from tests.world import ensure_registry

pytestmark = pytest.mark.django_db

API = "/api/v1/notify"


def _post(client: Any, url: str, body: Any, method: str = "post") -> Any:
    return getattr(client, method)(url, data=body, content_type="application/json")


def _message(node: str, **extra: Any) -> dict[str, Any]:
    return {"key": str(uuid.uuid4()), "node": node, "title": "防疫通知", "body": "今晚核酸"} | extra


def test_a_broadcast_reaches_the_staff_under_the_node_once(login, world):
    cadre = login("cadre_a")
    body = _message(world.nodes["A"].code)
    sent = _post(cadre, f"{API}/broadcasts", body)
    assert sent.status_code == 200, sent.content
    reached = set(Notice.objects.values_list("user__username", flat=True))
    assert "gw_hongxing" in reached and "gw_guangming" not in reached
    assert sent.json()["repeated"] is False and sent.json()["inbox"] == len(reached)
    again = _post(cadre, f"{API}/broadcasts", body)
    assert again.json()["repeated"] is True
    assert Notice.objects.count() == len(reached)
    assert AuditEvent.objects.filter(object_repr="broadcast: 防疫通知").count() == 1


def test_a_broadcast_outside_ones_area_is_refused_and_sends_nothing(login, world):
    cadre = login("cadre_a")
    # The village next door, the town above, the other town: none are the cadre's.
    for key in ("B", "T", "P"):
        refused = _post(cadre, f"{API}/broadcasts", _message(world.nodes[key].code))
        assert refused.status_code == 404, key
    assert _post(login("gw_a1"), f"{API}/broadcasts", {}).status_code == 403
    other_team = world.teams["P"]
    team = _post(cadre, f"{API}/broadcasts", _message(world.nodes["A"].code, team_id=other_team.pk))
    assert team.status_code == 404
    assert not Notice.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "长" * 201}, "title"),
        ({"roles": ["nobody"]}, "roles"),
        ({"key": "not-a-uuid"}, "key"),
    ],
)
def test_a_bad_broadcast_names_the_field(login, world, change, field):
    response = _post(login("commander"), f"{API}/broadcasts", _message("330411102000") | change)
    assert response.status_code == 422
    assert field in str(response.json())
    assert not Notice.objects.exists()


def test_roles_and_a_team_together_are_refused_by_name(login, world):
    body = _message(world.nodes["T"].code, roles=["grid_worker"], team_id=world.teams["A"].pk)
    response = _post(login("commander"), f"{API}/broadcasts", body)
    assert response.status_code == 422 and list(response.json()["errors"]) == ["roles"]
    assert not Notice.objects.exists()


def test_the_inbox_is_ones_own_and_marking_read_touches_only_it(login, world):
    mine = Notice.objects.create(user=world.users["gw_a1"], title="任务一")
    other = Notice.objects.create(user=world.users["gw_b1"], title="任务二")
    client = login("gw_a1")
    page = client.get(f"{API}/notices").json()
    assert [n["id"] for n in page["items"]] == [mine.pk]
    marked = _post(client, f"{API}/notices/read", {"ids": [mine.pk, other.pk]})
    assert marked.json() == {"marked": 1, "unread": 0}
    other.refresh_from_db()
    mine.refresh_from_db()
    assert other.read_at is None and mine.read_at is not None
    first = mine.read_at
    assert _post(client, f"{API}/notices/read", {"all": True}).json()["marked"] == 0
    mine.refresh_from_db()
    assert mine.read_at == first
    assert client.get(f"{API}/notices", {"unread": True}).json()["items"] == []
    assert login("anonymous").get(f"{API}/notices").status_code == 401


def test_channels_and_deliveries_are_seen_in_ones_area_only(login, world):
    t = Channel.objects.create(
        key="t-robot", name="王店群", kind="console", jurisdiction=world.nodes["T"]
    )
    u = Channel.objects.create(
        key="u-robot", name="洪合群", kind="console", jurisdiction=world.nodes["U"]
    )
    for channel in (t, u):
        Delivery.objects.create(
            channel=channel, title="x", body="y", key=f"k-{channel.key}", next_try_at=timezone.now()
        )
    commander = login("commander")
    assert commander.get(f"{API}/channels/{t.pk}").json()["name"] == "王店群"
    assert commander.get(f"{API}/channels/{u.pk}").status_code == 404
    assert (
        _post(commander, f"{API}/channels/{u.pk}", {"enabled": False}, "patch").status_code == 404
    )
    log = commander.get(f"{API}/deliveries").json()["items"]
    assert [d["channel_id"] for d in log] == [t.pk]
    paused = _post(commander, f"{API}/channels/{t.pk}", {"enabled": False}, "patch")
    assert paused.json()["enabled"] is False
    u.refresh_from_db()
    assert u.enabled is True
    assert login("cadre_a").get(f"{API}/deliveries").status_code == 403


# Registers ------------------------------------------------------------------------------


def test_registers_are_scoped_masked_and_their_exports_audited(login, world):
    ensure_registry(world)
    Person.objects.filter(pk__in=[world.persons["A2"].pk, world.persons["P1M1"].pk]).update(
        residency="liudong"
    )
    cadre = login("cadre_a")
    counts = {r["key"]: r["count"] for r in cadre.get("/api/v1/registers").json()}
    assert counts["floating"] == 1
    page = cadre.get("/api/v1/registers/floating").json()
    assert [p["name"] for p in page["items"]] == ["韩东居"]
    person = page["items"][0]
    assert person["id_number_masked"] != "110101199003070011" and "*" in person["phone_masked"]
    other = login("commander_u").get("/api/v1/registers/floating").json()["items"]
    assert [p["name"] for p in other] == ["戚桃居"]
    assert cadre.get("/api/v1/registers/nothing").status_code == 404
    # Under a node outside the caller's area: the same 404 as a missing one.
    assert (
        cadre.get("/api/v1/registers/floating", {"node": world.nodes["P"].code}).status_code == 404
    )

    export = cadre.get("/api/v1/registers/floating/export/csv")
    assert export.status_code == 200
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2 and "韩东居" in rows[1] and "110101199003070011" not in text
    assert "13600000002" not in text
    event = AuditEvent.objects.get(action="export")
    assert event.detail["register"] == "floating" and event.detail["unmasked"] is False
    # No export permission, no export, and nothing recorded.
    assert login("gw_a1").get("/api/v1/registers/floating/export/csv").status_code == 403
    assert AuditEvent.objects.filter(action="export").count() == 1
