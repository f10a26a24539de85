"""Notification pages: channels (the secret write-only), templates, broadcasts to the
staff under a node (inbox, SMS, group robots; sent once per form), the delivery log
with its retry, and who may open what."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from fangkong.audit.models import AuditEvent
from fangkong.notify.models import Channel, Delivery, MessageTemplate, Notice
from fangkong.org.models import Membership, StaffProfile
from fangkong.org.roles import Role
from fangkong.org.services import membership_grant, staff_create
from tests.world import EXTRA_STAFF, PERSONAS, World

pytestmark = pytest.mark.django_db
SECRET = "SECdeadbeef0123456789abcdef"
TOKEN = "robot-token-8f3a"


def _english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def admin(login: Any) -> Client:
    return _english(login("commander"))


@pytest.fixture
def cadre(login: Any) -> Client:
    return _english(login("cadre_a"))


def _channel_post(world: World, **changes: Any) -> dict[str, Any]:
    data = {
        "key": "town-robot",
        "name": "指挥部钉钉群",
        "kind": "dingtalk",
        "url": f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}",
        "jurisdiction": world.nodes["T"].pk,
        "events": ["broadcast", "escalation"],
        "sign_name": "",
        "per_minute": 20,
        "enabled": "on",
        "secret": SECRET,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _audit_text(**lookup: Any) -> str:
    events = AuditEvent.objects.filter(**lookup)
    return json.dumps([[e.object_repr, e.detail] for e in events], ensure_ascii=False)


def _staff_under(world: World, key: str) -> set[int]:
    path = world.nodes[key].path
    listed = set(StaffProfile.objects.within(path).values_list("user_id", flat=True))
    holding = set(Membership.objects.within(path).values_list("user_id", flat=True))
    return listed | holding


# Channels ---------------------------------------------------------------------------------


def test_a_channel_keeps_its_secret_when_left_blank_and_never_shows_it(admin, world):
    response = admin.post("/notify/channels/new/", _channel_post(world))
    assert response.status_code == 302, response.content.decode()
    channel = Channel.objects.get(key="town-robot")
    assert channel.secret == SECRET
    assert channel.events == ["broadcast", "escalation"]
    assert channel.jurisdiction == world.nodes["T"]
    url = f"/notify/channels/{channel.pk}/"
    assert response["Location"] == url

    page = admin.get(url).content.decode()
    assert SECRET not in page
    assert "A secret is stored. Leave this blank to keep it unchanged." in page
    listing = admin.get("/notify/channels/").content.decode()
    assert "指挥部钉钉群" in listing and world.nodes["T"].name in listing
    assert SECRET not in listing and TOKEN not in listing

    response = admin.post(url, _channel_post(world, name="指挥部值班群", secret="", per_minute=5))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.per_minute, channel.secret) == ("指挥部值班群", 5, SECRET)

    response = admin.post(
        url, _channel_post(world, name="指挥部值班群", per_minute=5, secret="SECnew-secret-42")
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.secret == "SECnew-secret-42"

    trail = _audit_text(object_type="notify.channel")
    assert AuditEvent.objects.filter(object_type="notify.channel").count() == 3
    assert SECRET not in trail and "SECnew-secret-42" not in trail and TOKEN not in trail
    first, second = AuditEvent.objects.filter(
        object_type="notify.channel", action="update"
    ).order_by("id")
    assert first.detail["changed"] == ["name", "per_minute"]
    assert first.detail["before"] == {"name": "指挥部钉钉群", "per_minute": 20}
    assert first.detail["secret"] == "kept"
    assert (second.detail["changed"], second.detail["secret"]) == ([], "set")


def test_bad_channel_input_is_refused_with_the_reason_and_changes_nothing(admin, world):
    bad = [
        (
            _channel_post(world, url="ftp://example.com/robot"),
            "Enter an address starting with http:// or https://.",
        ),
        (
            _channel_post(world, kind="wecom", url=""),
            "A group robot or an SMS gateway needs its address.",
        ),
        (
            _channel_post(world, kind="sms", url="gateway.example.com"),
            "Enter an address starting with http:// or https://.",
        ),
        (
            _channel_post(world, secret="plain-secret-99"),
            "A DingTalk signing secret starts with SEC.",
        ),
        (_channel_post(world, events=["broadcast", "everything"]), "Select a valid choice."),
        (
            _channel_post(world, kind="file", url="http://127.0.0.1/../../etc/passwd"),
            "The console and file channels have no address.",
        ),
        (_channel_post(world, jurisdiction=999999), "Select a valid choice."),
        (_channel_post(world, per_minute=0), "Ensure this value is greater than or equal to 1."),
    ]
    for data, reason in bad:
        response = admin.post("/notify/channels/new/", data)
        assert response.status_code == 400, data
        page = response.content.decode()
        assert reason in page, (data, reason)
        assert "plain-secret-99" not in page and SECRET not in page
    assert not Channel.objects.exists()
    assert not AuditEvent.objects.filter(object_type="notify.channel").exists()

    assert admin.post("/notify/channels/new/", _channel_post(world)).status_code == 302
    channel = Channel.objects.get()
    url = f"/notify/channels/{channel.pk}/"
    response = admin.post(url, _channel_post(world, name="改了名", secret="not-a-dingtalk-one"))
    assert response.status_code == 400
    assert "A DingTalk signing secret starts with SEC." in response.content.decode()
    response = admin.post(url, _channel_post(world, name="改了名", url="ftp://x", secret=""))
    assert response.status_code == 400
    # A page that failed keeps showing the stored name, and nothing was written.
    assert "指挥部钉钉群" in response.content.decode()
    channel.refresh_from_db()
    assert (channel.name, channel.secret) == ("指挥部钉钉群", SECRET)
    assert AuditEvent.objects.filter(object_type="notify.channel").count() == 1


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9919/robot", "a loopback address"),
        ("http://127.8.9.10/robot", "a loopback address"),
        ("http://[::1]:8080/robot", "a loopback address"),
        ("http://localhost:9919/robot", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/robot", "a loopback address"),
        ("https://10.2.3.4/send", "a private network address"),
        ("https://172.16.0.9/send", "a private network address"),
        ("https://172.31.255.1/send", "a private network address"),
        ("https://192.168.1.20/send", "a private network address"),
        ("https://[fc00::12]/send", "a private network address"),
        ("https://[fd12:3456::1]/send", "a private network address"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata service"),
        ("http://169.254.10.1/", "a link-local address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://0.0.0.0:9919/", "an unspecified address"),
        ("http://[::]/", "an unspecified address"),
        ("https://100.64.3.2/send", "a carrier-grade NAT address"),
        ("http://224.0.0.251/", "a multicast address"),
        ("http://240.0.0.1/", "a reserved address"),
    ],
)
def test_a_webhook_that_is_not_a_public_address_is_refused_on_save(admin, world, url, why):
    response = admin.post("/notify/channels/new/", _channel_post(world, url=url))
    assert response.status_code == 400, url
    page = response.content.decode()
    assert why in page and "FANGKONG_NOTIFY_INTERNAL_HOSTS" in page, url
    assert TOKEN not in page
    assert not Channel.objects.exists()
    assert not AuditEvent.objects.filter(object_type="notify.channel").exists()


def test_an_internal_gateway_named_in_the_settings_may_be_saved(admin, world, settings):
    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = ["10.2.3.4", "192.168.8.0/24", "localhost"]
    for n, url in enumerate(
        ["https://10.2.3.4/sms", "http://192.168.8.30/sms", "http://localhost:9919/sms"]
    ):
        data = _channel_post(world, key=f"gw{n}", kind="sms", url=url, secret="gw-key")
        assert admin.post("/notify/channels/new/", data).status_code == 302, url
    data = _channel_post(world, key="gw9", kind="sms", url="http://192.168.9.1/", secret="k")
    response = admin.post("/notify/channels/new/", data)
    assert response.status_code == 400
    assert "a private network address" in response.content.decode()
    # Editing a stored channel to an internal address is refused the same way.
    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = []
    channel = Channel.objects.get(key="gw0")
    response = admin.post(
        f"/notify/channels/{channel.pk}/",
        _channel_post(world, key="gw0", kind="sms", url="http://127.0.0.1:9919/", secret=""),
    )
    assert response.status_code == 400
    channel.refresh_from_db()
    assert channel.url == "https://10.2.3.4/sms"


def test_the_webhook_token_is_write_only_like_the_secret(admin, world):
    assert admin.post("/notify/channels/new/", _channel_post(world)).status_code == 302
    channel = Channel.objects.get()
    url = f"/notify/channels/{channel.pk}/"
    page = admin.get(url).content.decode()
    assert TOKEN not in page and "access_token=****" in page
    # Left blank, the stored address (with its token) stays.
    assert (
        admin.post(url, _channel_post(world, name="改了名", url="", secret="")).status_code == 302
    )
    channel.refresh_from_db()
    assert channel.name == "改了名" and channel.url.endswith(f"access_token={TOKEN}")
    assert TOKEN not in _audit_text(object_type="notify.channel")


def test_the_secret_can_be_removed_on_purpose(admin, world):
    admin.post("/notify/channels/new/", _channel_post(world))
    channel = Channel.objects.get()
    response = admin.post(
        f"/notify/channels/{channel.pk}/", _channel_post(world, secret="", clear_secret="on")
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.secret == ""
    event = AuditEvent.objects.filter(object_type="notify.channel", action="update").get()
    assert event.detail["secret"] == "removed"


def test_a_test_message_is_queued_on_the_channel_and_audited(admin, world, login):
    robot = Channel.objects.create(
        key="robot",
        name="测试群",
        kind="wecom",
        url="http://127.0.0.1:9/wecom",
        jurisdiction=world.nodes["T"],
    )
    response = admin.post(f"/notify/channels/{robot.pk}/test/", follow=True)
    assert "1 test message queued" in response.content.decode()
    delivery = Delivery.objects.get(channel=robot)
    assert (delivery.event, delivery.status, delivery.recipient_label) == ("test", "pending", "")
    # Another press is another test.
    admin.post(f"/notify/channels/{robot.pk}/test/")
    assert Delivery.objects.filter(channel=robot).count() == 2

    # The SMS gateway serves the whole installation: the county tests it, to its own phone.
    sms = Channel.objects.create(
        key="sms", name="短信网关", kind="sms", url="http://127.0.0.1:9/sms", secret="gw-key"
    )
    assert admin.post(f"/notify/channels/{sms.pk}/test/").status_code == 404
    response = _english(login("county")).post(f"/notify/channels/{sms.pk}/test/", follow=True)
    delivery = Delivery.objects.get(channel=sms)
    phone = PERSONAS["county"][5]
    assert delivery.recipient == phone
    assert delivery.recipient_label == "138****0009"
    assert phone not in response.content.decode()
    assert AuditEvent.objects.filter(object_type="notify.channel", action="create").count() == 3

    # A GET does nothing; a disabled channel is not tested.
    assert admin.get(f"/notify/channels/{robot.pk}/test/").status_code == 405
    Channel.objects.filter(pk=robot.pk).update(enabled=False)
    response = admin.post(f"/notify/channels/{robot.pk}/test/", follow=True)
    assert "The channel is disabled" in response.content.decode()
    assert Delivery.objects.filter(channel=robot).count() == 2


def test_the_channel_list_shows_counts_of_the_last_day(admin, world):
    robot = Channel.objects.create(
        key="robot",
        name="镇值班群",
        kind="dingtalk",
        url="http://127.0.0.1:9/x",
        jurisdiction=world.nodes["T"],
        events=["broadcast"],
    )
    now = timezone.now()
    for i, status in enumerate(["sent", "sent", "failed", "pending"]):
        Delivery.objects.create(
            channel=robot, title="t", body="b", key=f"k{i}", status=status, next_try_at=now
        )
    old = Delivery.objects.create(
        channel=robot, title="t", body="b", key="old", status="failed", next_try_at=now
    )
    Delivery.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=2))
    page = admin.get("/notify/channels/").content.decode()
    row = page[page.index("镇值班群") :]
    row = row[: row.index("</tr>")]
    assert '<td class="text-end">20</td>' in row  # per minute
    assert '<td class="text-end">2</td>' in row  # sent in the last 24 h
    assert f'status=failed&amp;channel={robot.pk}">1</a>' in row  # failed, the old one not
    assert "Broadcasts" in row and "DingTalk group robot" in row


def test_channels_are_seen_by_managers_at_or_above_their_node(world, login, settings):
    # A manager of village A only: the town's channels and the whole system's are not
    # theirs, and their own node is the only one they may give a channel.
    settings.FANGKONG_NOTIFY_INTERNAL_HOSTS = ["127.0.0.1"]  # this test's stand-in gateway
    profile = staff_create(
        username="a_admin",
        name="甲管理",
        kind="other",
        jurisdiction=world.nodes["A"],
        phone="13700000001",
    )
    membership_grant(user=profile.user, jurisdiction=world.nodes["A"], role=Role.SYSTEM_ADMIN)
    client = _english(Client())
    client.force_login(profile.user)
    mine = Channel.objects.create(
        key="a-robot",
        name="社区群机器人",
        kind="wecom",
        url="http://127.0.0.1:9/a",
        jurisdiction=world.nodes["A1"],
    )
    town = Channel.objects.create(
        key="t-robot",
        name="镇级群机器人",
        kind="wecom",
        url="http://127.0.0.1:9/t",
        jurisdiction=world.nodes["T"],
    )
    everywhere = Channel.objects.create(key="log", name="全系统日志", kind="console")
    page = client.get("/notify/channels/").content.decode()
    assert "社区群机器人" in page
    assert "镇级群机器人" not in page and "全系统日志" not in page
    assert client.get(f"/notify/channels/{mine.pk}/").status_code == 200
    assert client.get(f"/notify/channels/{town.pk}/").status_code == 404
    assert client.get(f"/notify/channels/{everywhere.pk}/").status_code == 404
    assert client.post(f"/notify/channels/{town.pk}/test/").status_code == 404
    assert not Delivery.objects.exists()

    data = {
        "key": "b-robot",
        "name": "别村群",
        "kind": "wecom",
        "url": "http://127.0.0.1:9/b",
        "per_minute": 20,
        "enabled": "on",
    }
    response = client.post("/notify/channels/new/", {**data, "jurisdiction": world.nodes["B"].pk})
    assert response.status_code == 400
    response = client.post("/notify/channels/new/", data)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Channel.objects.filter(key="b-robot").exists()
    response = client.post("/notify/channels/new/", {**data, "jurisdiction": world.nodes["A"].pk})
    assert response.status_code == 302
    assert Channel.objects.get(key="b-robot").jurisdiction == world.nodes["A"]


def test_a_village_cadre_opens_no_channel_template_or_log_page(cadre, world):
    channel = Channel.objects.create(
        key="robot",
        name="群",
        kind="wecom",
        url="http://127.0.0.1:9/",
        jurisdiction=world.nodes["A"],
    )
    for url in (
        "/notify/channels/",
        "/notify/channels/new/",
        f"/notify/channels/{channel.pk}/",
        "/notify/templates/",
        "/notify/templates/new/",
        "/notify/deliveries/",
    ):
        assert cadre.get(url).status_code == 403, url
    assert cadre.post(f"/notify/channels/{channel.pk}/test/").status_code == 403
    assert cadre.post("/notify/channels/new/", _channel_post(world)).status_code == 403
    assert Channel.objects.count() == 1 and not Delivery.objects.exists()
    page = cadre.get("/notify/broadcast/").content.decode()
    assert "Broadcast" in page and 'href="/notify/channels/"' not in page


# Templates --------------------------------------------------------------------------------


def test_the_default_templates_are_shipped():
    letter = MessageTemplate.objects.get(key="letter_to_villagers")
    assert letter.name == "致全体村（居）民的一封信"
    for word in ("返乡", "核酸", "聚集", "$hotline", "$date", "$town"):
        assert word in letter.body
    assert MessageTemplate.objects.filter(key="late_report").exists()
    plain = MessageTemplate.objects.get(key="broadcast_plain")
    assert (plain.title, plain.body) == ("$title", "$body")


def test_templates_are_added_and_edited_with_well_formed_variables(login):
    # Templates serve every town: the county's command post keeps them.
    admin = _english(login("county"))
    page = admin.get("/notify/templates/").content.decode()
    assert "致全体村（居）民的一封信" in page and "$hotline" in page

    data = {
        "key": "mask_notice",
        "name": "佩戴口罩提醒",
        "title": "$village 提醒",
        "body": "请在${place}佩戴口罩，咨询 $hotline。费用 $$0。",
    }
    response = admin.post("/notify/templates/new/", data)
    assert response.status_code == 302
    template = MessageTemplate.objects.get(key="mask_notice")
    page = admin.get(f"/notify/templates/{template.pk}/").content.decode()
    assert "$village" in page and "$place" in page and "$hotline" in page

    reason = "A $ must start a variable name"
    for title, body in (
        ("$village 提醒", "请到 ${place 集合"),
        ("$村名 提醒", "正文"),
        ("提醒", "费用 $5"),
    ):
        response = admin.post(
            f"/notify/templates/{template.pk}/", {**data, "title": title, "body": body}
        )
        assert response.status_code == 400, (title, body)
        assert reason in response.content.decode()
    template.refresh_from_db()
    assert template.title == "$village 提醒"

    response = admin.post(
        f"/notify/templates/{template.pk}/", {**data, "title": "${village}：口罩"}
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.title == "${village}：口罩"
    events = AuditEvent.objects.filter(object_type="notify.messagetemplate")
    assert [e.action for e in events.order_by("id")] == ["create", "update"]
    assert events.filter(action="update").get().detail["changed"] == ["title"]
    assert (
        admin.post("/notify/templates/new/", {**data, "key": "other", "body": "${"}).status_code
        == 400
    )
    assert not MessageTemplate.objects.filter(key="other").exists()


# Broadcasts -------------------------------------------------------------------------------


@pytest.fixture
def routes_of(world):
    """A gateway and robots at the town, others elsewhere that must not be used."""
    return {
        "sms": Channel.objects.create(
            key="sms-town",
            name="镇短信网关",
            kind="sms",
            url="http://127.0.0.1:9/sms",
            secret="k",
            jurisdiction=world.nodes["T"],
        ),
        "sms_b": Channel.objects.create(
            key="sms-b",
            name="别村短信网关",
            kind="sms",
            url="http://127.0.0.1:9/sms-b",
            jurisdiction=world.nodes["B"],
        ),
        "robot": Channel.objects.create(
            key="robot-town",
            name="镇指挥群",
            kind="dingtalk",
            url="http://127.0.0.1:9/ding",
            jurisdiction=world.nodes["T"],
            events=["broadcast"],
        ),
        "robot_b": Channel.objects.create(
            key="robot-b",
            name="别村群",
            kind="wecom",
            url="http://127.0.0.1:9/b",
            jurisdiction=world.nodes["B"],
            events=["broadcast"],
        ),
        "robot_a": Channel.objects.create(
            key="robot-a-bc",
            name="社区工作群",
            kind="wecom",
            url="http://127.0.0.1:9/abc",
            jurisdiction=world.nodes["A"],
            events=["broadcast"],
        ),
        "robot_a_other": Channel.objects.create(
            key="robot-a",
            name="社区逾期群",
            kind="wecom",
            url="http://127.0.0.1:9/a",
            jurisdiction=world.nodes["A"],
            events=["escalation"],
        ),
    }


def _letter_post(
    world: World, key: str = "8c0f7a52-1111-4c3e-9a51-0e1c2d3b4a59", **changes: Any
) -> dict[str, Any]:
    data = {
        "key": key,
        "template": MessageTemplate.objects.get(key="letter_to_villagers").pk,
        "var_town": "本镇",
        "var_date": "2022年12月1日",
        "var_hotline": "0573-87654321",
        "node": world.nodes["A"].pk,
        "sms": "on",
        "robots": "on",
        "action": "send",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_village_broadcast_reaches_only_the_village_staff(cadre, world, routes_of):
    response = cadre.post("/notify/broadcast/", _letter_post(world), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sent: 8 to inboxes, 8 by SMS, 1 to group robots." in page

    expected = _staff_under(world, "A")
    assert len(expected) == 8
    notices = Notice.objects.filter(key__startswith="broadcast:")
    assert set(notices.values_list("user_id", flat=True)) == expected
    notice = notices.first()
    assert notice is not None
    assert notice.title == "致全体村（居）民的一封信"
    assert "0573-87654321" in notice.body and "本镇疫情防控指挥部" in notice.body
    for outsider in ("commander", "gw_b1", "auditor"):
        assert not Notice.objects.filter(user=world.users[outsider]).exists()
    for key in ("T", "B", "B1"):
        assert not Notice.objects.filter(user=world.staff[key].user).exists()

    sms = list(Delivery.objects.filter(channel=routes_of["sms"]))
    phones = {PERSONAS[p][5] for p in ("cadre_a", "gw_a1", "volunteer", "sampler")}
    phones |= {EXTRA_STAFF[k][1] for k in ("A", "A1", "A2", "A1M1")}
    assert {d.recipient for d in sms} == phones
    assert {d.recipient_label for d in sms} == {p[:3] + "****" + p[-4:] for p in phones}
    assert all(d.event == "broadcast" and d.status == "pending" for d in sms)
    for phone in phones:
        assert phone not in page
    # The village's own group; never the town's group above it, nor another village's.
    robots = Delivery.objects.filter(channel__kind__in=["dingtalk", "wecom"])
    assert list(robots.values_list("channel__key", flat=True)) == ["robot-a-bc"]
    assert not Delivery.objects.filter(channel=routes_of["sms_b"]).exists()

    event = AuditEvent.objects.get(object_repr__startswith="broadcast:")
    assert event.actor == world.users["cadre_a"]
    assert event.jurisdiction_path == world.nodes["A"].path
    assert (event.detail["inbox"], event.detail["sms"], event.detail["robots"]) == (8, 8, 1)


def test_a_double_submit_sends_once(cadre, world, routes_of):
    data = _letter_post(world)
    cadre.post("/notify/broadcast/", data)
    counts = (Notice.objects.count(), Delivery.objects.count())
    response = cadre.post("/notify/broadcast/", data, follow=True)
    assert "This broadcast was sent already; nothing was sent again." in response.content.decode()
    assert (Notice.objects.count(), Delivery.objects.count()) == counts
    assert AuditEvent.objects.filter(object_repr__startswith="broadcast:").count() == 1
    # A new form (a new key) is a new broadcast.
    cadre.post(
        "/notify/broadcast/", _letter_post(world, key="0d9b2c1e-2222-4f6a-8b7c-5d4e3f2a1b0c")
    )
    assert Notice.objects.count() == 2 * counts[0]


def test_a_missing_variable_is_named_and_nothing_is_sent(cadre, world, routes_of):
    response = cadre.post("/notify/broadcast/", _letter_post(world, var_hotline=None))
    assert response.status_code == 400
    assert "The template needs $hotline." in response.content.decode()
    response = cadre.post("/notify/broadcast/", _letter_post(world, var_town="  "))
    assert response.status_code == 400
    assert "The template needs $town." in response.content.decode()
    # Without a template, both the title and the message are needed.
    response = cadre.post("/notify/broadcast/", _letter_post(world, template="", title="通知"))
    assert response.status_code == 400
    assert "Write a message, or pick a template." in response.content.decode()
    assert not Notice.objects.exists() and not Delivery.objects.exists()
    assert not AuditEvent.objects.filter(object_repr__startswith="broadcast:").exists()


def test_a_broadcast_stays_inside_the_senders_area(cadre, world, routes_of):
    response = cadre.post("/notify/broadcast/", _letter_post(world, node=world.nodes["B"].pk))
    assert response.status_code == 400
    response = cadre.post("/notify/broadcast/", _letter_post(world, team=world.teams["B"].pk))
    assert response.status_code == 400
    assert not Notice.objects.exists() and not Delivery.objects.exists()
    page = cadre.get("/notify/broadcast/").content.decode()
    assert world.nodes["A"].name in page and world.teams["A1"].name in page
    for outside in (
        world.nodes["B"].name,
        world.nodes["T"].name,
        world.teams["B"].name,
        world.teams["T"].name,
        EXTRA_STAFF["T"][0],
        PERSONAS["commander"][1],
    ):
        assert outside not in page


def test_a_broadcast_to_roles_or_a_team(cadre, world, routes_of):
    plain = MessageTemplate.objects.get(key="broadcast_plain").pk
    base = {
        "template": plain,
        "var_title": "今晚开会",
        "var_body": "19:00 村委会议室",
        "node": world.nodes["A"].pk,
        "action": "send",
    }
    response = cadre.post(
        "/notify/broadcast/",
        {
            **base,
            "key": "11111111-1111-4111-8111-111111111111",
            "roles": ["grid_worker"],
        },
        follow=True,
    )
    assert "Sent: 1 to inboxes, 0 by SMS, 0 to group robots." in response.content.decode()
    notice = Notice.objects.get()
    assert (notice.user, notice.title, notice.body) == (
        world.users["gw_a1"],
        "今晚开会",
        "19:00 村委会议室",
    )

    cadre.post(
        "/notify/broadcast/",
        {**base, "key": "22222222-2222-4222-8222-222222222222", "team": world.teams["A1"].pk},
    )
    team_notices = Notice.objects.filter(key="broadcast:22222222-2222-4222-8222-222222222222")
    assert list(team_notices.values_list("user_id", flat=True)) == [world.staff["A1"].user_id]

    response = cadre.post(
        "/notify/broadcast/",
        {
            **base,
            "key": "33333333-3333-4333-8333-333333333333",
            "roles": ["grid_worker"],
            "team": world.teams["A1"].pk,
        },
    )
    assert response.status_code == 400
    assert "Pick roles or a team, not both." in response.content.decode()
    assert Notice.objects.count() == 2


def test_the_broadcast_page_fills_in_the_templates_variables_and_previews(cadre, world, routes_of):
    letter = MessageTemplate.objects.get(key="letter_to_villagers")
    page = cadre.get(f"/notify/broadcast/?template={letter.pk}").content.decode()
    for name in ("var_town", "var_date", "var_hotline"):
        assert f'name="{name}"' in page
    assert 'name="title"' not in page
    page = cadre.get("/notify/broadcast/").content.decode()
    assert 'name="title"' in page and 'name="var_town"' not in page

    # Without JavaScript: "use this template" shows its inputs and keeps the choices.
    response = cadre.post(
        "/notify/broadcast/",
        {
            "key": "44444444-4444-4444-8444-444444444444",
            "template": letter.pk,
            "node": world.nodes["A"].pk,
            "sms": "on",
            "action": "load",
        },
    )
    assert response.status_code == 200
    assert 'name="var_hotline"' in response.content.decode()

    response = cadre.post("/notify/broadcast/", _letter_post(world, action="preview"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Preview" in page and "0573-87654321" in page
    assert "Reaches 8 staff members in the inbox" in page and "8 phones by SMS" in page
    assert "1 group robot" in page
    assert not Notice.objects.exists() and not Delivery.objects.exists()


def test_sms_without_a_gateway_says_so(cadre, world):
    response = cadre.post("/notify/broadcast/", _letter_post(world), follow=True)
    page = response.content.decode()
    assert "Sent: 8 to inboxes, 0 by SMS, 0 to group robots." in page
    assert "No SMS gateway is set up for this node" in page
    assert Notice.objects.count() == 8 and not Delivery.objects.exists()


# Delivery log -----------------------------------------------------------------------------


def test_the_delivery_log_shows_visible_channels_masked_and_retries_a_failure(world, admin):
    profile = staff_create(
        username="a_admin",
        name="甲管理",
        kind="other",
        jurisdiction=world.nodes["A"],
        phone="13700000001",
    )
    membership_grant(user=profile.user, jurisdiction=world.nodes["A"], role=Role.SYSTEM_ADMIN)
    village_admin = _english(Client())
    village_admin.force_login(profile.user)

    now = timezone.now()
    village_sms = Channel.objects.create(
        key="sms-a",
        name="社区短信",
        kind="sms",
        url="http://127.0.0.1:9/sms",
        jurisdiction=world.nodes["A"],
    )
    town_robot = Channel.objects.create(
        key="robot-t",
        name="镇值班群",
        kind="wecom",
        url="http://127.0.0.1:9/t",
        jurisdiction=world.nodes["T"],
    )
    failed = Delivery.objects.create(
        channel=village_sms,
        recipient="13912345678",
        recipient_label="139****5678",
        title="核酸检测通知",
        body="b",
        event="broadcast",
        key="k1",
        status="failed",
        attempts=6,
        last_error="HTTP 503",
        response_code=503,
        next_try_at=now - timedelta(hours=1),
    )
    Delivery.objects.create(
        channel=town_robot,
        title="镇级逾期汇总",
        body="b",
        event="escalation",
        key="k2",
        status="sent",
        attempts=1,
        next_try_at=now,
        sent_at=now,
    )

    page = village_admin.get("/notify/deliveries/").content.decode()
    assert "核酸检测通知" in page and "139****5678" in page and "HTTP 503" in page
    assert "13912345678" not in page
    assert "镇级逾期汇总" not in page and "镇值班群" not in page
    page = admin.get("/notify/deliveries/").content.decode()
    assert "核酸检测通知" in page and "镇级逾期汇总" in page
    page = admin.get("/notify/deliveries/?status=sent").content.decode()
    assert "镇级逾期汇总" in page and "核酸检测通知" not in page
    page = admin.get(
        f"/notify/deliveries/?channel={village_sms.pk}&event=broadcast"
    ).content.decode()
    assert "核酸检测通知" in page and "镇级逾期汇总" not in page

    town_row = Delivery.objects.get(key="k2")
    Delivery.objects.filter(pk=town_row.pk).update(status="failed")
    assert village_admin.post(f"/notify/deliveries/{town_row.pk}/retry/").status_code == 404
    assert Delivery.objects.get(pk=town_row.pk).status == "failed"

    response = village_admin.post(
        f"/notify/deliveries/{failed.pk}/retry/", {"query": "status=failed"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/notify/deliveries/?status=failed"
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 6)
    assert failed.next_try_at >= now
    event = AuditEvent.objects.get(object_type="notify.delivery")
    assert event.actor == profile.user and event.detail["last_error"] == "HTTP 503"
    assert "13912345678" not in json.dumps(event.detail) + event.object_repr

    # Only a failed one goes back to the queue.
    response = village_admin.post(f"/notify/deliveries/{failed.pk}/retry/", follow=True)
    assert "Only a failed delivery is retried." in response.content.decode()
    assert AuditEvent.objects.filter(object_type="notify.delivery").count() == 1
    assert village_admin.get(f"/notify/deliveries/{failed.pk}/retry/").status_code == 405


def test_the_navigation_offers_the_notification_pages(admin, cadre, login):
    page = admin.get("/").content.decode()
    for url in (
        "/notify/broadcast/",
        "/notify/channels/",
        "/notify/templates/",
        "/notify/deliveries/",
    ):
        assert f'href="{url}"' in page
    page = cadre.get("/").content.decode()
    assert 'href="/notify/broadcast/"' in page and 'href="/notify/channels/"' not in page
    page = _english(login("gw_a1")).get("/").content.decode()
    assert "/notify/" not in page
