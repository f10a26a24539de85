"""The API-key page (/org/clients/): an administrator lists the keys of their area,
issues one (shown once, never with more than they hold, at a node of theirs) and
revokes one; through the same services as the API, so the same checks and audit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.org.clients import api_client_issue
from fangkong.org.models import ApiClient
from fangkong.org.roles import Perm
from tests.world import World

pytestmark = pytest.mark.django_db

PAGE = "/org/clients/"


def _issue(client: Client, **changes: Any) -> Any:
    data: dict[str, Any] = {
        "name": "区疾控对接",
        "node": "",
        "perms": ["org.view", "people.view"],
        "days": "30",
    } | changes
    return client.post(PAGE, data)


def _key_in(page: str) -> str:
    found = re.search(r'id="fk-api-key"[^>]*>(fk_[0-9a-f]+_[\w-]+)<', page)
    assert found, page
    return found.group(1)


def test_a_commander_issues_a_key_shown_once_that_works_at_its_node(login, world: World):
    commander = login("commander")
    village = world.nodes["A"]
    page = commander.get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "API 密钥" in text and "签发密钥" in text  # zh-Hans by default
    issued = _issue(commander, node=village.code)
    assert issued.status_code == 200, issued.content.decode()
    key = _key_in(issued.content.decode())
    client = ApiClient.objects.get()
    assert client.jurisdiction == village and client.perms == ["org.view", "people.view"]
    assert client.issued_by == world.users["commander"]
    assert key.split("_")[1] == client.prefix and key not in client.secret_hash
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(client.pk)).exists()
    # The key opens the API at its village, nothing above it.
    bearer = {"Authorization": f"Bearer {key}"}
    assert Client().get("/api/v1/org/teams", headers=bearer).status_code == 200
    town = world.nodes["T"].code
    assert Client().get(f"/api/v1/org/jurisdictions/{town}", headers=bearer).status_code == 404
    # Listed afterwards without its secret: shown that once only.
    listed = commander.get(PAGE).content.decode()
    assert "区疾控对接" in listed and client.prefix in listed and key not in listed


def test_more_than_the_issuer_holds_or_outside_their_area_is_refused_by_field(login, world: World):
    commander = login("commander")
    beyond = _issue(commander, node=world.nodes["A"].code, perms=["people.view", "audit.view"])
    assert beyond.status_code == 400
    assert "audit.view" in beyond.content.decode()  # named in the field's error
    other_town = _issue(commander, node=world.nodes["P"].code)
    assert other_town.status_code == 400
    assert "您的辖区内没有这个辖区代码" in other_town.content.decode()
    # A key never manages keys: not even offered, and refused if sent.
    sent = _issue(commander, node=world.nodes["A"].code, perms=["clients.manage"])
    assert sent.status_code == 400 and 'value="clients.manage"' not in sent.content.decode()
    bad_fields: list[dict[str, Any]] = [{"days": "0"}, {"days": "999"}, {"name": ""}, {"perms": []}]
    for bad in bad_fields:
        refused = _issue(commander, node=world.nodes["A"].code, **bad)
        assert refused.status_code == 400, bad
    assert ApiClient.objects.count() == 0
    # A village cadre does not manage keys at all; a key opens no page.
    assert login("cadre_a").get(PAGE).status_code == 403
    assert _issue(login("cadre_a"), node=world.nodes["A"].code).status_code == 403
    assert ApiClient.objects.count() == 0


def test_each_town_sees_and_revokes_only_its_own_keys(login, world: World):
    mine = api_client_issue(
        issuer=world.users["commander"],
        name="四喜对接",
        node=world.nodes["A"],
        perms=["org.view"],
        days=5,
    )
    theirs = api_client_issue(
        issuer=world.users["commander_u"],
        name="桃园对接",
        node=world.nodes["P"],
        perms=["org.view"],
        days=5,
    )
    commander, other = login("commander"), login("commander_u")
    page = commander.get(PAGE).content.decode()
    assert "四喜对接" in page and "桃园对接" not in page
    page = other.get(PAGE).content.decode()
    assert "桃园对接" in page and "四喜对接" not in page
    assert "四喜对接" in login("county").get(PAGE).content.decode()
    # Another town's key: as if it did not exist.
    assert other.post(f"{PAGE}{mine.client.pk}/revoke/").status_code == 404
    assert commander.get(f"{PAGE}{mine.client.pk}/revoke/").status_code == 405
    bearer = {"Authorization": f"Bearer {mine.key}"}
    assert Client().get("/api/v1/org/teams", headers=bearer).status_code == 200
    revoked = commander.post(f"{PAGE}{mine.client.pk}/revoke/")
    assert revoked.status_code == 302 and revoked["Location"] == PAGE
    mine.client.refresh_from_db()
    assert mine.client.revoked_at is not None
    assert mine.client.revoked_by == world.users["commander"]
    assert Client().get("/api/v1/org/teams", headers=bearer).status_code == 401
    theirs.client.refresh_from_db()
    assert theirs.client.revoked_at is None
    assert "已吊销" in commander.get(PAGE).content.decode()
    # A key cannot open the page, even one of a commander's permissions.
    assert Client().get(PAGE, headers=bearer).status_code in (302, 401, 403)


def test_the_page_is_listed_in_the_navigation_for_managers_only(login):
    assert 'href="/org/clients/"' in login("commander").get("/org/").content.decode()
    assert 'href="/org/clients/"' not in login("gw_a1").get("/org/").content.decode()


def test_perm_labels_cover_every_permission():
    from fangkong.org.roles import PERM_LABELS

    assert set(PERM_LABELS) == set(Perm)
