"""Login by user name or phone, lockout, audit of logins, cookies, CSRF and headers."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from fangkong.accounts.models import LoginThrottle, User
from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.org.services import staff_create
from tests.world import PASSWORD


def post_login(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_login_by_username_and_by_phone(world):
    client = Client()
    response = post_login(client, "gw_hongxing")
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert "赵网格" in home.content.decode() and "红星网格" in home.content.decode()
    phone_client = Client()
    # The phone as people type it: spaces and a +86 prefix are accepted.
    assert post_login(phone_client, "+86 138 0000 0003").status_code == 302
    assert phone_client.get("/").status_code == 200
    events = AuditEvent.objects.filter(action=AuditAction.LOGIN)
    assert events.count() == 2 and {e.actor for e in events} == {world.users["gw_a1"]}


@pytest.mark.django_db
def test_wrong_password_is_audited_without_the_clear_phone(world):
    response = post_login(Client(), "13800000003", "nope")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.actor is None and event.actor_name == "138****0003"


@pytest.mark.django_db
def test_lockout_after_repeated_failures(world, settings):
    settings.LOGIN_MAX_FAILURES = 3
    client = Client()
    for _ in range(2):
        assert post_login(client, "gw_hongxing", "wrong").status_code == 200
    locked = post_login(client, "gw_hongxing", "wrong")
    assert locked.status_code == 429
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT).count() == 1
    # Even the right password is refused while locked, and no session is created.
    still = post_login(client, "gw_hongxing")
    assert still.status_code == 429
    assert client.get("/").status_code == 302
    # Another account is not affected.
    assert post_login(Client(), "sx_cadre").status_code == 302
    # When the lock expires, the right password works and the counter resets.
    LoginThrottle.objects.update(locked_until=None, first_failure_at=None)
    assert post_login(client, "gw_hongxing").status_code == 302
    assert not LoginThrottle.objects.exists()


@pytest.mark.django_db
def test_open_redirect_is_refused(world):
    response = Client().post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "gw_hongxing", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_csrf_is_enforced(world):
    client = Client(enforce_csrf_checks=True)
    assert post_login(client, "gw_hongxing").status_code == 403
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    ok = client.post(
        "/accounts/login/",
        {"username": "gw_hongxing", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert ok.status_code == 302
    # Session-authenticated API writes need the token too.
    target = world.staff["A1"].pk
    api = client.post(
        f"/api/v1/org/staff/{target}/unmask",
        data={"purpose": "测试目的"},
        content_type="application/json",
    )
    assert api.status_code == 403


@pytest.mark.django_db
def test_security_headers_and_cookies(world, login):
    response = login("gw_a1").get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    client = Client()
    post_login(client, "gw_hongxing")
    session_cookie = client.cookies["sessionid"]
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_logout_is_post_only_and_audited(world, login):
    client = login("gw_a1")
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT).count() == 1


@pytest.mark.django_db
def test_password_change(world, login):
    client = login("gw_a1")
    bad = client.post(
        "/accounts/password/", {"old_password": "wrong", "new_password1": "x", "new_password2": "y"}
    )
    assert bad.status_code == 400
    ok = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Grid-worker-2022!",
            "new_password2": "Grid-worker-2022!",
        },
    )
    assert ok.status_code == 200 and client.get("/").status_code == 200  # session kept
    assert post_login(Client(), "gw_hongxing", "Grid-worker-2022!").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, detail__field="password").exists()


# Lockout per account and per client address ------------------------------------------

LOCKED = 'id="fk-locked"'
ADDRESS_LOCKED = 'id="fk-address-locked"'


def phone_formats(digits: str) -> list[str]:
    """Forty ways people type one mobile number (some with full-width digits)."""
    a, b, c = digits[:3], digits[3:7], digits[7:]
    prefixes = ["", "+86", "+86 ", "0086", "0086-", "86", "86 ", "+86-"]
    bodies = [digits, f"{a} {b} {c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"({a}) {b} {c}"]
    typed = [p + body for p in prefixes for body in bodies]
    wide = str.maketrans("0123456789+", "０１２３４５６７８９＋")
    return [t.translate(wide) if i % 3 == 2 else t for i, t in enumerate(typed)]


@pytest.mark.django_db
def test_a_locked_account_stays_locked_in_every_phone_format(world, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        post_login(Client(), "gw_hongxing", "wrong")
    for typed in [
        "138 0000 0003",
        "+86 13800000003",
        "0086-138-0000-0003",
        "１３８ ００００ ０００３",
    ]:
        client = Client()
        response = post_login(client, typed)
        assert response.status_code == 429, typed
        assert LOCKED in response.content.decode()
        assert client.get("/").status_code == 302  # no session
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT).count() == 1
    # When the lock ends, the phone in another format logs in and clears the account.
    LoginThrottle.objects.update(locked_until=None, first_failure_at=None)
    assert post_login(Client(), "+86 138-0000-0003").status_code == 302
    assert not LoginThrottle.objects.exists()


@pytest.mark.django_db
def test_forty_wrong_passwords_in_forty_formats_lock_the_account(world, settings):
    formats = phone_formats("13800000003")
    assert len(set(formats)) == 40
    statuses = [
        # A new address each time: the account's own counter must do the locking.
        post_login(Client(), typed, "wrong", REMOTE_ADDR=f"10.0.1.{i}").status_code
        for i, typed in enumerate(formats)
    ]
    assert statuses == [200] * 4 + [429] * 36
    assert post_login(Client(), "gw_hongxing", REMOTE_ADDR="10.0.2.1").status_code == 429
    lockout = AuditEvent.objects.get(action=AuditAction.LOCKOUT)
    assert lockout.actor_name == "138****0003"
    # One counter for the account, and only hashes are kept.
    (row,) = LoginThrottle.objects.all()
    assert row.failures == 5 and "13800000003" not in row.key and "gw_hongxing" not in row.key


@pytest.mark.django_db
def test_unknown_identifiers_are_throttled_like_accounts(world, settings):
    settings.LOGIN_MAX_FAILURES = 3
    unknown = [
        post_login(Client(), typed, "wrong", REMOTE_ADDR=f"10.0.3.{i}")
        for i, typed in enumerate(phone_formats("13999999999")[:4])
    ]
    known = [
        post_login(Client(), typed, "wrong", REMOTE_ADDR=f"10.0.4.{i}")
        for i, typed in enumerate(phone_formats("13800000004")[:4])
    ]
    # Same answers whether the number belongs to someone: nothing to probe.
    assert (
        [r.status_code for r in unknown] == [r.status_code for r in known] == [200] * 2 + [429] * 2
    )
    assert LOCKED in unknown[-1].content.decode() and LOCKED in known[-1].content.decode()


@pytest.mark.django_db
def test_one_address_is_limited_across_many_accounts(world, settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    names = ["gw_hongxing", "sx_cadre", "gw_guangming", "13800000005", "nobody", "no_one"]
    statuses = [post_login(Client(), name, "wrong").status_code for name in names]
    assert statuses == [200] * 5 + [429]
    # Now every account is refused from this address, even with the right password ...
    refused = post_login(Client(), "wd_commander")
    assert refused.status_code == 429 and ADDRESS_LOCKED in refused.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT).count() == 1
    # ... while the same accounts still log in from elsewhere.
    assert post_login(Client(), "wd_commander", REMOTE_ADDR="10.0.5.1").status_code == 302
    assert post_login(Client(), "gw_hongxing", REMOTE_ADDR="10.0.5.2").status_code == 302


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_address_is_counted(world, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    for name in ["gw_hongxing", "sx_cadre", "nobody"]:
        post_login(Client(), name, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert (
        post_login(Client(), "wd_commander", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    )
    # The proxy's own address (REMOTE_ADDR, shared by everyone) is not what is locked.
    assert (
        post_login(Client(), "wd_commander", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302
    )


# One-time passwords and password rules --------------------------------------------------


def register_volunteer(login: Callable[[str], Client]) -> str:
    """The village cadre registers a volunteer; returns the one-time password shown."""
    response = login("cadre_a").post(
        "/org/staff/new/",
        {"node": "330411102201-G01", "username": "new_vol", "name": "杨新志愿"}
        | {"kind": "volunteer", "phone": "13700000001", "role": "volunteer"},
    )
    assert response.status_code == 200
    return response.content.decode().split('id="fk-initial-password">')[1].split("<")[0]


@pytest.mark.django_db
def test_a_one_time_password_must_be_changed_at_first_login(world, login):
    password = register_volunteer(login)
    client = Client()
    client.cookies["django_language"] = "en"
    response = post_login(client, "new_vol", password)
    assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    # Every page leads to the change of password; the API refuses with a reason.
    for page in ["/", "/people/", "/org/staff/", "/tasks/"]:
        response = client.get(page)
        assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    htmx = client.get("/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/accounts/password/"
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and "change your password" in api.json()["detail"]
    assert client.get("/accounts/password/").status_code == 200
    assert client.post("/accounts/language/", {"language": "en"}).status_code == 302
    # A weak password is refused with the validators' own words.
    weak = client.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": "12345678", "new_password2": "12345678"},
    )
    text = html.unescape(weak.content.decode())
    assert weak.status_code == 400
    assert "This password is too common." in text and "entirely numeric" in text
    assert client.get("/").status_code == 302
    ok = client.post(
        "/accounts/password/",
        {
            "old_password": password,
            "new_password1": "Hong-xing-77",
            "new_password2": "Hong-xing-77",
        },
    )
    assert ok.status_code == 200
    assert client.get("/").status_code == 200 and client.get("/api/v1/me").status_code == 200
    assert not User.objects.get(username="new_vol").must_change_password
    # Logging out is always possible.
    assert client.post("/accounts/logout/").status_code == 302


@pytest.mark.django_db
def test_a_flagged_session_can_log_out(world, login):
    password = register_volunteer(login)
    client = Client()
    post_login(client, "new_vol", password)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302 and client.get("/")["Location"].startswith(
        "/accounts/login/"
    )


@pytest.mark.django_db
def test_password_rules_apply_when_staff_are_given_a_password(world):
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        staff_create(
            username="weak_pw",
            name="弱密码",
            kind="volunteer",
            jurisdiction=world.nodes["A1"],
            password="weak_pw1",
        )
    messages = " ".join(caught.value.message_dict["password"])
    assert "too similar to the username" in messages
    assert not User.objects.filter(username="weak_pw").exists()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        staff_create(
            username="short_pw",
            name="短密码",
            kind="volunteer",
            jurisdiction=world.nodes["A1"],
            password="Ab3$",
        )
    assert "at least 8 characters" in " ".join(caught.value.message_dict["password"])


@pytest.mark.django_db
def test_an_id_number_typed_as_the_login_name_is_audited_masked(world):
    post_login(Client(), " 110105194912310020 ", "wrong")
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.actor_name == "110***********0020"


@pytest.mark.django_db
def test_counters_are_forgotten_once_their_window_and_lock_end(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.accounts.models import AddressThrottle
    from fangkong.accounts.services import prune_throttles

    settings.LOGIN_MAX_FAILURES = 2
    post_login(Client(), "gw_hongxing", "wrong")
    post_login(Client(), "gw_hongxing", "wrong")  # locked
    post_login(Client(), "nobody", "wrong")
    assert prune_throttles() == 0
    later = timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS + 1)
    assert prune_throttles(later) == 3  # two counters of names, one of the address
    assert not LoginThrottle.objects.exists() and not AddressThrottle.objects.exists()
