"""Webhooks out: subscriptions made through the API at a node by a manager there, their
addresses checked like every channel's, events emitted where they happen and delivered
to the subscriptions at or above that node only, signed (HMAC-SHA256 over the timestamp
and the body), retried with back-off and written to the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, get_args

import pytest
from django.utils import timezone

from fangkong.audit.models import AuditEvent
from fangkong.notify import webhooks
from fangkong.notify.api import EventName
from fangkong.notify.forms import ChannelForm
from fangkong.notify.models import Channel, Delivery
from fangkong.notify.services import MAX_ATTEMPTS, send_due
from fangkong.reports.bulletin import bulletin_generate
from fangkong.reports.services import flag_missing
from fangkong.screening.pushed import row_result
from tests.world import ensure_pushed

pytestmark = pytest.mark.django_db

API = "/api/v1/notify/webhooks"
PORTS = range(8510, 8600)  # this branch's range on the shared machine


class Receiver:
    """An integrator's endpoint: records each raw body and its headers; answers with the
    queued statuses, then 204."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.statuses: deque[int] = deque()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append((body, dict(self.headers)))
                self.send_response(outer.statuses.popleft() if outer.statuses else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        for port in PORTS:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    server = Receiver()
    # The integrator's endpoint runs on this machine: named as the installation's
    # internal gateway, as an intranet system would be.
    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = ["127.0.0.1"]
    yield server
    server.close()


def _subscribe(client: Any, node: str, url: str, events: list[str], **extra: Any) -> Any:
    body = {"client_id": str(uuid.uuid4()), "node": node, "name": "县平台", "url": url}
    return client.post(API, data=body | {"events": events} | extra, content_type="application/json")


def _verify(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """What the integrator does (docs/api/rules-reports-notify.md)."""
    timestamp = headers["X-Fangkong-Timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + expected.hexdigest(), headers["X-Fangkong-Signature"])


def test_the_api_names_the_events_the_module_emits():
    assert set(get_args(EventName)) == set(webhooks.EVENTS)


def test_a_subscription_is_made_once_by_a_manager_of_its_node(login, world, receiver):
    commander = login("commander")
    body = {
        "client_id": str(uuid.uuid4()),
        "node": world.nodes["A"].code,
        "name": "县平台",
        "url": receiver.url,
        "events": ["report.late", "bulletin.made"],
    }
    first = commander.post(API, data=body, content_type="application/json")
    assert first.status_code == 200, first.content
    made = first.json()
    assert made["created"] is True and len(made["secret"]) >= 32
    assert made["webhook"]["node_code"] == world.nodes["A"].code
    # Sent again after a lost answer: the same subscription and secret, not a second.
    again = commander.post(API, data=body, content_type="application/json").json()
    assert again["created"] is False and again["secret"] == made["secret"]
    assert Channel.objects.filter(kind="webhook").count() == 1
    reused = commander.post(
        API, data=body | {"events": ["bulletin.made"]}, content_type="application/json"
    )
    assert reused.status_code == 422 and list(reused.json()["errors"]) == ["client_id"]
    # Audited without the secret or the address.
    event = AuditEvent.objects.get(object_repr="webhook: 县平台")
    assert made["secret"] not in json.dumps(event.detail) and receiver.url not in str(event.detail)
    listed = commander.get(API).json()["items"]
    assert [w["id"] for w in listed] == [made["webhook"]["id"]]
    assert login("commander_u").get(API).json()["items"] == []


def test_a_subscription_outside_ones_area_or_without_the_permission_is_refused(
    login, world, receiver
):
    p = world.nodes["P"].code
    assert _subscribe(login("commander"), p, receiver.url, ["report.late"]).status_code == 404
    assert _subscribe(login("cadre_a"), world.nodes["A"].code, receiver.url, []).status_code == 403
    assert not Channel.objects.filter(kind="webhook").exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8511/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.1.10/hook",
        "ftp://example.com/hook",
    ],
)
def test_loopback_private_link_local_and_metadata_addresses_are_refused(
    login, world, settings, url
):
    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = []
    commander = login("commander")
    commander.cookies["django_language"] = "en"
    response = _subscribe(commander, world.nodes["T"].code, url, ["bulletin.made"])
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["url"]
    assert not Channel.objects.filter(kind="webhook").exists()


def test_bad_subscriptions_name_their_field(login, world, receiver):
    commander = login("commander")
    t = world.nodes["T"].code
    assert _subscribe(commander, t, receiver.url, ["everything"]).status_code == 422
    assert _subscribe(commander, t, receiver.url, []).status_code == 422
    assert _subscribe(commander, t, receiver.url, ["report.late"], name="").status_code == 422
    assert not Channel.objects.filter(kind="webhook").exists()


def _hook(world: Any, key: str, url: str, events: list[str]) -> Channel:
    channel, _ = webhooks.webhook_create(
        actor=world.users["county"],
        node=world.nodes[key],
        name=f"hook {key}",
        url=url,
        events=events,
        client_id=uuid.uuid4(),
    )
    return channel


def test_events_reach_subscriptions_at_or_above_their_node_only(world, receiver):
    village_a = _hook(world, "A", receiver.url, ["report.late", "bulletin.made"])
    town_t = _hook(world, "T", receiver.url, ["report.late", "bulletin.made"])
    town_u = _hook(world, "U", receiver.url, ["report.late", "bulletin.made"])
    day = timezone.localdate()
    # Every village misses today's deadline: A and B of town T, P of town U.
    late = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=23)
    assert flag_missing(late) == 3
    bulletin_generate(node=world.nodes["T"], day=day)

    def got(channel: Channel) -> list[tuple[str, str]]:
        return sorted(
            (d.event, json.loads(d.body)["node"]["code"])
            for d in Delivery.objects.filter(channel=channel)
        )

    a, b, t, p = (world.nodes[k].code for k in ("A", "B", "T", "P"))
    # The village hears its own lateness, never B's, P's or the town's bulletin.
    assert got(village_a) == [("report.late", a)]
    assert got(town_t) == [("bulletin.made", t), ("report.late", a), ("report.late", b)]
    assert got(town_u) == [("report.late", p)]
    # Flagging again, or remaking nothing, queues nothing twice.
    flag_missing(late + timedelta(minutes=5))
    assert Delivery.objects.filter(event="report.late").count() == 4


def test_a_verified_row_is_emitted_without_personal_data(world, receiver):
    ensure_pushed(world)
    hook = _hook(world, "T", receiver.url, ["pushed_row.verified"])
    row = next(iter(world.pushed_rows.values()))
    row_result(actor=world.users["commander"], row=row, outcome="found_controlled", where="在家")
    delivery = Delivery.objects.get(channel=hook)
    payload = json.loads(delivery.body)
    assert payload["event"] == "pushed_row.verified"
    assert payload["data"]["list_id"] == row.pushed_id and payload["data"]["row_number"]
    assert row.name not in delivery.body


def test_deliveries_are_signed_and_verifiable(world, receiver):
    hook = _hook(world, "T", receiver.url, ["bulletin.made"])
    bulletin = bulletin_generate(node=world.nodes["T"], day=date(2026, 3, 2))
    assert send_due()["sent"] == 1
    body, headers = receiver.received[0]
    assert _verify(hook.secret, body, headers)
    assert headers["X-Fangkong-Event"] == "bulletin.made"
    payload = json.loads(body)
    assert payload["data"]["bulletin_id"] == bulletin.pk and payload["node"]["name"] == "王店镇"
    # A body changed on the way, or signed with another secret, fails the check.
    assert not _verify(hook.secret, body.replace(b"2026", b"2027"), headers)
    assert not _verify("another-secret", body, headers)
    delivery = Delivery.objects.get(channel=hook)
    assert delivery.status == "sent" and delivery.response_code == 204


def test_failures_are_retried_with_back_off_then_given_up(world, receiver):
    _hook(world, "T", receiver.url, ["bulletin.made"])
    receiver.statuses.extend([500] * MAX_ATTEMPTS)
    bulletin_generate(node=world.nodes["T"], day=date(2026, 3, 2))
    now = timezone.now()
    assert send_due(now) == {"sent": 0, "retry": 1, "failed": 0, "held": 0}
    delivery = Delivery.objects.get()
    assert delivery.attempts == 1 and delivery.next_try_at == now + timedelta(seconds=30)
    assert send_due(now + timedelta(seconds=10))["retry"] == 0  # not due yet
    for _ in range(MAX_ATTEMPTS - 1):
        now = Delivery.objects.get().next_try_at
        send_due(now)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS
    assert delivery.last_error == "HTTP 500" and len(receiver.received) == MAX_ATTEMPTS
    # Each attempt is signed afresh: every one verifies.
    assert all(_verify(Channel.objects.get().secret, b, h) for b, h in receiver.received)


def test_a_paused_subscription_gets_nothing_new(login, world, receiver):
    hook = _hook(world, "T", receiver.url, ["bulletin.made"])
    paused = login("commander").patch(
        f"/api/v1/notify/channels/{hook.pk}",
        data={"enabled": False},
        content_type="application/json",
    )
    assert paused.status_code == 200
    bulletin_generate(node=world.nodes["T"], day=date(2026, 3, 2))
    assert not Delivery.objects.exists()


def test_the_channel_page_does_not_offer_webhooks(world):
    form = ChannelForm(user=world.users["county"])
    kinds = [c[0] for c in form.fields["kind"].choices]  # type: ignore[attr-defined]
    assert "webhook" not in kinds and "dingtalk" in kinds
