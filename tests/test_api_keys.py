"""API keys of machine clients: scope, permissions, expiry, rate limit, audit, storage."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test import Client
from django.utils import timezone

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.org.models import ApiClient, IdempotencyRecord
from fangkong.org.roles import Perm
from tests.api_keys import KEY_PERSONAS, KeyClient, issue_key, issue_persona_key

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _key_client(world, persona: str) -> KeyClient:
    return KeyClient(issue_persona_key(world, persona).key)


def test_a_village_key_reads_its_village_only(world):
    client = _key_client(world, "key_a")
    ok = client.get(f"{API}/org/jurisdictions/{world.nodes['A1'].code}")
    assert ok.status_code == 200, ok.content
    assert ok.json()["name"] == "红星网格"
    for other in ("B", "B1", "T", "P"):
        assert client.get(f"{API}/org/jurisdictions/{world.nodes[other].code}").status_code == 404
    assert client.get(f"{API}/org/staff/{world.staff['A2'].pk}").status_code == 200
    assert client.get(f"{API}/org/staff/{world.staff['B1'].pk}").status_code == 404
    assert client.get(f"{API}/org/staff/{world.staff['P1'].pk}").status_code == 404
    # A list holds nothing of the other village or the other town.
    body = json.dumps(client.get(f"{API}/org/teams").json(), ensure_ascii=False)
    assert "四喜红色服务队" in body
    assert "建设志愿梯队" not in body and "桃园先锋队" not in body


def test_a_town_key_reads_its_town_not_the_other(world):
    client = _key_client(world, "key_t")
    assert client.get(f"{API}/org/staff/{world.staff['B1'].pk}").status_code == 200
    assert client.get(f"{API}/org/staff/{world.staff['P1'].pk}").status_code == 404
    assert client.get(f"{API}/org/jurisdictions/{world.nodes['U'].code}").status_code == 404


def test_a_key_writes_with_its_permissions_at_its_node_only(world):
    writer = _key_client(world, "key_a")
    sent = writer.post(
        f"{API}/reports/daily/{world.nodes['A'].code}", {}, content_type="application/json"
    )
    assert sent.status_code == 200, sent.content
    other = writer.post(
        f"{API}/reports/daily/{world.nodes['B'].code}", {}, content_type="application/json"
    )
    assert other.status_code == 404
    # The town's key reads reports but holds no reports.submit: refused before the body.
    reader = _key_client(world, "key_t")
    assert reader.get(f"{API}/reports/daily/{world.nodes['A'].code}").status_code == 200
    refused = reader.post(
        f"{API}/reports/daily/{world.nodes['A'].code}", {}, content_type="application/json"
    )
    assert refused.status_code == 403


def test_expired_revoked_and_wrong_keys_are_refused(world):
    issued = issue_key(world, node="A", perms=[Perm.ORG_VIEW])
    url = f"{API}/org/jurisdictions/{world.nodes['A'].code}"
    assert KeyClient(issued.key).get(url).status_code == 200
    prefix, secret = issued.key.split("_", 2)[1:]
    for wrong in (
        f"fk_{prefix}_{secret[:-1]}x",
        f"fk_{prefix}_",
        f"fk_00000000_{secret}",
        "fk_garbage",
        secret,
    ):
        assert KeyClient(wrong).get(url).status_code == 401, wrong
    ApiClient.objects.filter(pk=issued.client.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert KeyClient(issued.key).get(url).status_code == 401
    ApiClient.objects.filter(pk=issued.client.pk).update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    assert KeyClient(issued.key).get(url).status_code == 401


def test_a_key_opens_no_page(world):
    issued = issue_key(world, node="A", perms=[Perm.ORG_VIEW, Perm.PEOPLE_VIEW])
    page = KeyClient(issued.key).get("/org/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]


def test_the_issuer_cannot_grant_more_than_they_hold(world, login):
    commander = login("commander")
    refused = commander.post(
        f"{API}/org/clients",
        {"name": "审计接口", "node_code": world.nodes["A"].code, "perms": ["audit.view"]},
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422, refused.content
    assert "audit.view" in refused.json()["errors"]["perms"][0]
    # A village cadre holds no clients.manage at all; the other town is out of reach.
    cadre = login("cadre_a")
    body = {"name": "x", "node_code": world.nodes["A"].code, "perms": ["org.view"]}
    assert (
        cadre.post(f"{API}/org/clients", body, content_type="application/json").status_code == 403
    )
    body["node_code"] = world.nodes["P"].code
    outside = commander.post(f"{API}/org/clients", body, content_type="application/json")
    assert outside.status_code == 422 and "node_code" in outside.json()["errors"]
    assert not ApiClient.objects.exists()
    # Keys never issue keys, even with a key that could manage them otherwise.
    issued = issue_key(world, node="A", perms=[Perm.ORG_VIEW])
    with pytest.raises(ValidationError, match="API"):
        issue_key(world, node="A", perms=[Perm.CLIENTS_MANAGE])
    del issued


def test_issue_list_and_revoke_through_the_api(world, login):
    commander = login("commander")
    made = commander.post(
        f"{API}/org/clients",
        {"name": "疾控对接", "node_code": world.nodes["A"].code, "perms": ["org.view"]},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    key = made.json()["key"]
    client_id = made.json()["client"]["id"]
    assert key.startswith("fk_")
    url = f"{API}/org/jurisdictions/{world.nodes['A'].code}"
    assert KeyClient(key).get(url).status_code == 200
    listed = commander.get(f"{API}/org/clients").json()["items"]
    assert [c["id"] for c in listed] == [client_id]
    assert "key" not in listed[0] and key not in json.dumps(listed)
    # The other town's commander neither sees nor revokes it.
    other = login("commander_u")
    assert other.get(f"{API}/org/clients").json()["items"] == []
    assert other.post(f"{API}/org/clients/{client_id}/revoke").status_code == 404
    revoked = commander.post(f"{API}/org/clients/{client_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert KeyClient(key).get(url).status_code == 401


def test_a_key_past_its_rate_gets_429(world, settings, frozen_clock):
    settings.FANGKONG_API_KEY_RATE = 3
    client = KeyClient(issue_key(world, node="A", perms=[Perm.ORG_VIEW]).key)
    url = f"{API}/org/jurisdictions/{world.nodes['A'].code}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(url)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= settings.FANGKONG_API_KEY_WINDOW_SECONDS
    assert set(limited.json()) == {"detail", "errors"}
    # Another key has its own window.
    assert (
        KeyClient(issue_key(world, node="A", perms=[Perm.ORG_VIEW]).key).get(url).status_code == 200
    )


def test_every_call_of_a_key_is_audited(world):
    client = _key_client(world, "key_t")
    api_client = client.api_client
    before = AuditEvent.objects.filter(action=AuditAction.API_CALL).count()
    client.get(f"{API}/org/jurisdictions/{world.nodes['A'].code}")
    client.get(f"{API}/org/jurisdictions/{world.nodes['P'].code}")
    client.post(f"{API}/reports/daily/{world.nodes['A'].code}", {}, content_type="application/json")
    events = list(AuditEvent.objects.filter(action=AuditAction.API_CALL).order_by("id")[before:])
    assert [(e.detail["method"], e.detail["status"]) for e in events] == [
        ("GET", 200),
        ("GET", 404),
        ("POST", 403),
    ]
    assert all(e.actor_id == api_client.principal_id for e in events)
    assert all(api_client.prefix in e.actor_name for e in events)
    assert events[0].jurisdiction_path == world.nodes["T"].path


def _text_columns() -> list[tuple[type[models.Model], str]]:
    out: list[tuple[type[models.Model], str]] = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField | models.JSONField):
                out.append((model, str(field.column)))
    return out


def test_the_secret_is_never_stored_in_clear(world, login):
    made = login("commander").post(
        f"{API}/org/clients",
        {"name": "外部系统", "node_code": world.nodes["T"].code, "perms": ["org.view"]},
        content_type="application/json",
        headers={"Idempotency-Key": "issue-1"},
    )
    key = made.json()["key"]
    secret = key.split("_", 2)[2]
    client = KeyClient(key)
    client.get(f"{API}/org/jurisdictions/{world.nodes['T'].code}")
    found = []
    with connection.cursor() as cursor:
        for model, column in _text_columns():
            table = connection.ops.quote_name(model._meta.db_table)
            col = connection.ops.quote_name(column)
            cursor.execute(
                f"SELECT COUNT(*) FROM {table} WHERE CAST({col} AS TEXT) LIKE %s",  # noqa: S608
                [f"%{secret[:20]}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{model._meta.db_table}.{column}")
    assert not found, found
    # The answers kept for Idempotency-Key replays are bytes (encrypted): searched here.
    records = IdempotencyRecord.objects.all()
    assert records and not [r for r in records if secret[:20].encode() in bytes(r.body)]
    # The stored answer for a replay has the key blanked; the replay says so.
    again = login("commander").post(
        f"{API}/org/clients",
        {"name": "外部系统", "node_code": world.nodes["T"].code, "perms": ["org.view"]},
        content_type="application/json",
        headers={"Idempotency-Key": "issue-1"},
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["key"] == "" and ApiClient.objects.count() == 1


def test_key_personas_hold_what_the_matrix_says(world):
    for persona, (node, _by, perms) in KEY_PERSONAS.items():
        client = issue_persona_key(world, persona).client
        assert client.jurisdiction == world.nodes[node]
        assert set(client.perms) == {p.value for p in perms}


def test_a_session_still_needs_csrf_for_writes(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["cadre_a"])
    refused = browser.post(
        f"{API}/reports/daily/{world.nodes['A'].code}", {}, content_type="application/json"
    )
    assert refused.status_code == 403
