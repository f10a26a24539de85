"""Outside channels against a fake server on 127.0.0.1 that checks each request the way
the real services do (DingTalk's signature, the robots' JSON, the gateway's key):
success, failures, retries with back-off, giving up, per-channel limits, templates."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import deque
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone, translation

from fangkong.notify.models import Channel, Delivery, MessageTemplate
from fangkong.notify.services import TemplateError, deliver, render, routes, send_due

pytestmark = pytest.mark.django_db
SECRET = "SEC0123456789abcdef"
GATEWAY_KEY = "gw-key-42"


class FakeServer:
    """Records requests; answers with the queued (status, JSON) replies, then 200/ok."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: deque[tuple[int, dict[str, Any]]] = deque()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                outer.requests.append(
                    {"path": url.path, "query": query, "body": body, "headers": dict(self.headers)}
                )
                status, reply = outer.check(url.path, query, dict(self.headers))
                if outer.replies and status == 200:
                    status, reply = outer.replies.popleft()
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """What the real services refuse."""
        if path == "/dingtalk":
            ts = query.get("timestamp", "")
            expected = base64.b64encode(
                hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
            ).decode()
            if query.get("sign", "") != expected:
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if path == "/sms" and headers.get("Authorization") != f"Bearer {GATEWAY_KEY}":
            return 401, {"error": "bad key"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def fake(settings):
    server = FakeServer()
    # The fake stands in for the robots' servers on this machine: named as a gateway the
    # installation runs, as a real one on the intranet would be.
    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = ["127.0.0.1"]
    yield server
    server.close()


def robot(fake, kind, **kw) -> Channel:
    return Channel.objects.create(key=kind, name=kind, kind=kind, url=f"{fake.url}/{kind}", **kw)


def test_dingtalk_is_signed_and_retried_when_busy(fake):
    channel = robot(fake, "dingtalk", secret=SECRET)
    fake.replies.append((200, {"errcode": 130101, "errmsg": "send too fast"}))
    now = timezone.now()
    deliver(
        channels=[channel],
        title="逾期工单提醒",
        body="红星网格 3 条工单已逾期",
        event="escalation",
        key="esc:1",
        now=now,
    )
    assert send_due(now) == {"sent": 0, "retry": 1, "failed": 0, "held": 0}
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.next_try_at) == ("pending", 1, now + timedelta(seconds=30))
    assert "130101" in d.last_error
    assert send_due(now + timedelta(seconds=10))["sent"] == 0  # not due yet
    assert send_due(now + timedelta(seconds=31))["sent"] == 1
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("sent", 2)
    request = fake.requests[-1]
    assert request["body"] == {
        "msgtype": "text",
        "text": {"content": "逾期工单提醒\n红星网格 3 条工单已逾期"},
    }
    assert set(request["query"]) == {"timestamp", "sign"}


def test_a_wrong_dingtalk_secret_fails_at_once(fake):
    channel = robot(fake, "dingtalk", secret="wrong")
    deliver(channels=[channel], title="t", body="b", event="escalation", key="k")
    assert send_due()["failed"] == 1
    assert "310000" in Delivery.objects.get().last_error


def test_wecom_server_errors_back_off_then_give_up(fake):
    channel = robot(fake, "wecom")
    for _i in range(6):
        fake.replies.append((500, {"errcode": -1}))
    now = timezone.now()
    deliver(
        channels=[channel],
        title="日报未报",
        body="建设村未按时报送",
        event="late_report",
        key="late:1",
        now=now,
    )
    delays = []
    for _attempt in range(6):
        d = Delivery.objects.get()
        now = d.next_try_at
        send_due(now)
        d.refresh_from_db()
        delays.append((d.next_try_at - now).total_seconds())
    assert d.status == "failed" and d.attempts == 6 and d.response_code == 500
    assert delays[:5] == [30, 60, 120, 240, 480]
    assert len(fake.requests) == 6


def test_sms_goes_to_each_phone_with_the_gateway_key(fake):
    channel = robot(fake, "sms", secret=GATEWAY_KEY, sign_name="浦市镇")
    deliver(
        channels=[channel],
        title="通知",
        body="请于今晚8点前完成核酸检测",
        event="broadcast",
        key="b:1",
        phones={"13800000001": "138****0001", "13800000002": "138****0002"},
    )
    assert send_due()["sent"] == 2
    bodies = sorted(r["body"]["phone"] for r in fake.requests)
    assert bodies == ["13800000001", "13800000002"]
    assert fake.requests[0]["body"]["sign"] == "浦市镇"
    # The log keeps the masked number; the phone itself is encrypted at rest.
    assert sorted(Delivery.objects.values_list("recipient_label", flat=True)) == [
        "138****0001",
        "138****0002",
    ]
    # A refused key is not retried.
    bad = Channel.objects.create(
        key="sms2", name="sms2", kind="sms", url=f"{fake.url}/sms", secret="nope"
    )
    deliver(
        channels=[bad],
        title="t",
        body="b",
        event="broadcast",
        key="b:2",
        phones={"13800000003": "138****0003"},
    )
    assert send_due()["failed"] == 1
    assert Delivery.objects.get(channel=bad).response_code == 401


def test_nobody_answering_is_retried(fake):
    channel = Channel.objects.create(
        key="gone", name="gone", kind="wecom", url="http://127.0.0.1:9/nowhere"
    )
    deliver(channels=[channel], title="t", body="b", event="escalation", key="k")
    assert send_due()["retry"] == 1
    assert "no answer" in Delivery.objects.get().last_error


def test_the_per_minute_limit_holds_the_rest_for_the_next_minute(fake):
    channel = robot(fake, "wecom", per_minute=2)
    now = timezone.now()
    for i in range(5):
        deliver(channels=[channel], title=f"m{i}", body="", event="broadcast", key=f"m{i}", now=now)
    assert send_due(now) == {"sent": 2, "retry": 0, "failed": 0, "held": 3}
    assert send_due(now + timedelta(seconds=61))["sent"] == 2
    assert send_due(now + timedelta(seconds=122))["sent"] == 1
    assert [r["body"]["text"]["content"] for r in fake.requests] == ["m0", "m1", "m2", "m3", "m4"]


def test_a_repeated_key_is_one_message(fake, tmp_path, settings):
    settings.FANGKONG_NOTIFY_FILE = tmp_path / "notify.log"
    channel = Channel.objects.create(key="log", name="log", kind="file")
    for _i in range(2):
        deliver(channels=[channel], title="同一条", body="b", event="escalation", key="same")
    assert Delivery.objects.count() == 1
    send_due()
    lines = (tmp_path / "notify.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["title"] == "同一条"


def test_templates_fill_their_variables_and_name_a_missing_one():
    template = MessageTemplate.objects.create(
        key="letter",
        name="致全体村民的一封信",
        title="致${village}全体村民的一封信",
        body="${village}的乡亲们：请于${deadline}前完成全员核酸检测。",
    )
    title, body = render(template, {"village": "建设村", "deadline": "今晚8点"})
    assert title == "致建设村全体村民的一封信" and "今晚8点前" in body
    with pytest.raises(TemplateError, match="deadline"):
        render(template, {"village": "建设村"})


def test_group_robots_take_the_events_of_their_node(world, fake):
    village_robot = robot(
        fake,
        "dingtalk",
        secret=SECRET,
        jurisdiction=world.nodes["A"],
        events=["escalation", "late_report"],
    )
    town_log = Channel.objects.create(
        key="townlog", name="town", kind="console", events=["escalation"]
    )
    assert set(routes("escalation", world.nodes["A1"].path)) == {village_robot, town_log}
    assert routes("escalation", world.nodes["B1"].path) == [town_log]
    assert routes("late_report", world.nodes["B1"].path) == []


def test_escalations_and_new_lists_reach_the_group_robots(world, fake):
    from fangkong.workorders.escalation import escalate_overdue
    from fangkong.workorders.models import WorkOrder
    from tests.world import ensure_orders, ensure_pushed

    village_robot = robot(
        fake, "dingtalk", secret=SECRET, jurisdiction=world.nodes["A"], events=["escalation"]
    )
    town_robot = robot(fake, "wecom", jurisdiction=world.nodes["T"], events=["pushed_list"])
    ensure_orders(world)
    WorkOrder.objects.update(due_at=timezone.now() - timedelta(hours=1))
    escalate_overdue()
    # A's robot hears of A's two late orders (A1M1, A2), not of B1's.
    (summary,) = Delivery.objects.filter(channel=village_robot)
    # In the shipped "escalation" template's words, which a town may change.
    assert summary.title == "2件工单逾期未办（第1级提醒）"
    assert summary.body.startswith("以下工单已超过办理时限")
    assert "沈楼居" in summary.body and "杨光居" not in summary.body
    ensure_pushed(world)
    (arrival,) = Delivery.objects.filter(channel=town_robot, event="pushed_list")
    assert arrival.title == "收到县指挥部推送名单：县推送红码名单"
    assert arrival.body.startswith("共3人")
    assert send_due()["sent"] == 2


@pytest.mark.django_db
def test_a_burst_of_messages_wakes_the_worker_once(django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    log = Channel.objects.create(key="burst-log", name="log", kind="console", events=["x"])
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            deliver(channels=[log], title=f"t{n}", body="b", event="x", key=f"burst:{n}")
    with django_capture_on_commit_callbacks(execute=True):
        deliver(channels=[log], title="again", body="b", event="x", key="burst:5")
    assert Delivery.objects.filter(channel=log).count() == 6
    assert (
        DBTaskResult.objects.filter(
            task_path="fangkong.notify.tasks.send_due_task", status="READY"
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_automatic_messages_follow_their_templates_or_fall_back():
    from fangkong.notify.services import render_or, template_for_event

    builtin = ("built-in title", "built-in body")
    late = template_for_event("late_report")
    assert late is not None
    title, _body = render_or(
        late, {"village": "丙村", "deadline": "17:00", "town": "王店镇"}, builtin
    )
    assert title == "丙村今日疫防日报尚未报送"
    # A town's wording that asks for something the message does not carry: it still goes.
    late.title = "$village $weather"
    assert render_or(late, {"village": "丙村"}, builtin) == builtin
    assert render_or(None, {}, builtin) == builtin


# Where a channel may post ------------------------------------------------------------


def _send_one(channel: Channel) -> tuple[dict[str, int], Delivery]:
    now = timezone.now()
    deliver(channels=[channel], title="测试", body="内容", event="escalation", key="k", now=now)
    # The log keeps the reason in the language the worker runs in; read it in English.
    with translation.override("en"):
        counts = send_due(now)
    return counts, Delivery.objects.get()


def test_a_stored_internal_address_is_never_contacted_nor_retried(fake, settings):
    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = []
    # Saved before addresses were checked (or by some other path): the send refuses it.
    channel = robot(fake, "wecom")
    counts, d = _send_one(channel)
    assert counts == {"sent": 0, "retry": 0, "failed": 1, "held": 0}
    assert fake.requests == []
    assert (d.status, d.attempts) == ("failed", 1)
    assert "127.0.0.1 is a loopback address" in d.last_error
    assert "key=" not in d.last_error
    assert send_due(timezone.now() + timedelta(hours=2))["sent"] == 0
    assert fake.requests == []


def test_a_name_is_checked_on_what_it_resolves_to_when_sending(fake, settings, monkeypatch):
    from fangkong.notify import addresses

    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = []
    port = fake.server.server_address[1]
    # It was public when saved; now the name points at this machine (DNS rebinding).
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [ip_address("127.0.0.1")])
    channel = Channel.objects.create(
        key="w", name="w", kind="wecom", url=f"http://robot.example.com:{port}/wecom"
    )
    counts, d = _send_one(channel)
    assert counts["failed"] == 1 and fake.requests == []
    assert "robot.example.com resolves to 127.0.0.1, a loopback address" in d.last_error


def test_a_named_gateway_is_reached_at_the_checked_address(fake, settings, monkeypatch):
    from fangkong.notify import addresses

    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = ["sms-gw.intranet"]
    port = fake.server.server_address[1]
    looked_up: list[str] = []

    def resolve(host, port):
        looked_up.append(host)
        return [ip_address("127.0.0.1")]

    monkeypatch.setattr(addresses, "resolve", resolve)
    channel = Channel.objects.create(
        key="sms",
        name="sms",
        kind="sms",
        url=f"http://sms-gw.intranet:{port}/sms",
        secret=GATEWAY_KEY,
    )
    now = timezone.now()
    deliver(
        channels=[channel],
        title="t",
        body="b",
        event="broadcast",
        key="s",
        phones={"13800000001": "138****0001"},
        now=now,
    )
    assert send_due(now)["sent"] == 1
    # One lookup, checked, and the connection made to its answer; the name is still
    # the Host the gateway sees.
    assert looked_up == ["sms-gw.intranet"]
    assert fake.requests[0]["headers"]["Host"] == f"sms-gw.intranet:{port}"


def test_a_redirect_is_not_followed_nor_retried(fake):
    fake.replies.append((302, {"errcode": 0}))
    counts, d = _send_one(robot(fake, "wecom"))
    assert counts["failed"] == 1 and len(fake.requests) == 1
    assert "redirects are not followed" in d.last_error
