"""Login by user name or phone, lockout, audit of logins, cookies, CSRF and headers."""

from __future__ import annotations

import pytest
from django.test import Client

from fangkong.accounts.models import LoginThrottle
from fangkong.audit.models import AuditAction, AuditEvent
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
    api = client.post(f"/api/v1/org/staff/{target}/unmask", data={"purpose": "测试目的"},
                      content_type="application/json")  # fmt: skip
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
    bad = client.post("/accounts/password/", {"old_password": "wrong", "new_password1": "x",
                                               "new_password2": "y"})  # fmt: skip
    assert bad.status_code == 400
    ok = client.post("/accounts/password/", {"old_password": PASSWORD,
                                              "new_password1": "Grid-worker-2022!",
                                              "new_password2": "Grid-worker-2022!"})  # fmt: skip
    assert ok.status_code == 200 and client.get("/").status_code == 200  # session kept
    assert post_login(Client(), "gw_hongxing", "Grid-worker-2022!").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, detail__field="password").exists()
