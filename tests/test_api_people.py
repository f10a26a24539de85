"""People API: persons and households in scope, masked by default; search by ID number,
phone and name in either script; one cleaning function (422 naming fields, nothing
changed); creates that a retry never repeats; unmasking audited with a purpose."""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.people.models import Household, Person, PersonChange
from tests.world import REGISTRY, World, ensure_registry

pytestmark = pytest.mark.django_db

API = "/api/v1/people"


def _post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=body, content_type="application/json")


def _patch(client: Any, url: str, body: Any) -> Any:
    return client.patch(url, data=body, content_type="application/json")


@pytest.fixture
def registry(world: World) -> World:
    ensure_registry(world)
    return world


def _search(client: Any, q: str) -> Any:
    return _post(client, f"{API}/search", {"q": q})


def test_search_finds_by_id_phone_and_name_in_either_script_masked(login, registry):
    cadre = login("cadre_a")
    _address, name, id_number, phone = REGISTRY["A1M1"]
    for q in (id_number, id_number.lower(), phone, phone[:3] + " " + phone[3:]):
        found = _search(cadre, q)
        assert found.status_code == 200, found.content
        items = found.json()["items"]
        assert [p["name"] for p in items] == [name], q
    person = _search(cadre, id_number).json()["items"][0]
    assert person["id_number_masked"] == id_number[:3] + "*" * 11 + id_number[-4:]
    assert person["phone_masked"] == phone[:3] + "****" + phone[-4:]
    body = _search(cadre, id_number).content.decode()
    assert id_number not in body and phone not in body
    # 沈 is the same in both scripts; 韓 is the traditional form of 韩.
    assert [p["name"] for p in _search(cadre, "韓東居").json()["items"]] == ["韩东居"]
    assert [p["name"] for p in _search(cadre, "韩东居").json()["items"]] == ["韩东居"]


def test_search_and_lists_never_reach_outside_the_callers_area(login, registry):
    gw = login("gw_a1")
    for key in ("A2", "B1", "P1M1"):
        _address, name, id_number, phone = REGISTRY[key]
        for q in (id_number, phone, name):
            assert _search(gw, q).json()["items"] == [], (key, q)
        assert gw.get(f"{API}/{registry.persons[key].pk}").status_code == 404
        assert gw.get(f"{API}/households/{registry.households[key].pk}").status_code == 404
    listed = gw.get(API).json()["items"]
    assert [p["name"] for p in listed] == [REGISTRY["A1M1"][1]]
    other_town = login("commander_u")
    assert _search(other_town, REGISTRY["A1M1"][2]).json()["items"] == []
    assert other_town.get(f"{API}/{registry.persons['A1M1'].pk}").status_code == 404
    names = {p["name"] for p in login("commander").get(API).json()["items"]}
    assert names == {REGISTRY[k][1] for k in ("A1M1", "A2", "B1")}


def test_an_id_number_in_the_address_is_refused(login, registry):
    response = login("cadre_a").get(API, {"q": REGISTRY["A1M1"][2]})
    assert response.status_code == 422 and "q" in response.json()["errors"]


def test_lists_are_cursor_pages(login, registry):
    commander = login("commander")
    first = commander.get(API, {"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = commander.get(API, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_a_person_is_created_once_whatever_the_retries(login, registry):
    cadre = login("cadre_a")
    household = registry.households["A2"]
    body = {
        "household_id": household.pk,
        "name": "韩小东",
        "id_number": "110101201001010015",
        "phone": "13712345678",
        "relationship": "子",
        "tags": ["alone"],
    }
    first = _post(cadre, API, body)
    assert first.status_code == 200, first.content
    assert first.json()["created"] is True
    person = first.json()["person"]
    assert person["relationship"] == "child" and person["sex"] == "M"
    assert person["birth_date"] == "2010-01-01" and person["tags"] == ["alone"]
    assert "13712345678" not in first.content.decode()
    again = _post(cadre, API, body)
    assert again.json()["created"] is False and again.json()["person"]["id"] == person["id"]
    assert Person.objects.filter(household=household).count() == 2
    assert (
        AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(person["id"])).count()
        == 1
    )
    # Without an ID number, the same name without one is the same person.
    child = {"household_id": household.pk, "name": "韩小妹", "no_id_reason": "未办证"}
    assert _post(cadre, API, child).json()["created"] is True
    assert _post(cadre, API, child).json()["created"] is False
    # The same ID number in another household is an error, not a second person.
    elsewhere = _post(cadre, API, body | {"household_id": registry.households["A1M1"].pk})
    assert elsewhere.status_code == 422 and "id_number" in elsewhere.json()["errors"]


def test_bad_fields_are_named_and_nothing_changes(login, registry):
    cadre = login("cadre_a")
    person = registry.persons["A2"]
    before = Person.objects.count(), PersonChange.objects.count()
    bad = _post(
        cadre,
        API,
        {
            "household_id": registry.households["A2"].pk,
            "name": "",
            "id_number": "110101199003070012",
            "phone": "12345",
            "birth_date": "2022-02-30",
        },
    )
    assert bad.status_code == 422
    assert {"name", "id_number", "phone", "birth_date"} <= set(bad.json()["errors"])
    url = f"{API}/{person.pk}"
    bad = _patch(cadre, url, {"sex": "F", "phone": "999"})
    assert bad.status_code == 422, bad.content
    assert set(bad.json()["errors"]) == {"sex", "phone"}
    assert (Person.objects.count(), PersonChange.objects.count()) == before
    person.refresh_from_db()
    assert person.sex == "M" and person.phone == REGISTRY["A2"][3]


def test_patch_changes_what_is_sent_and_a_resend_changes_nothing(login, registry):
    cadre = login("cadre_a")
    person = registry.persons["A2"]
    url = f"{API}/{person.pk}"
    sent = _patch(cadre, url, {"occupation": "教师", "status": "外出", "away_where": "杭州"})
    assert sent.status_code == 200, sent.content
    assert set(sent.json()["changed"]) == {"occupation", "status", "away_where"}
    assert sent.json()["person"]["status"] == "away"
    again = _patch(cadre, url, {"occupation": "教师", "status": "外出", "away_where": "杭州"})
    assert again.json()["changed"] == []
    person.refresh_from_db()
    # What was not sent is kept: the ID number and phone stay as they were.
    assert person.id_number == REGISTRY["A2"][2] and person.phone == REGISTRY["A2"][3]
    assert person.changes.count() == 2  # registered, then this one change


def test_writes_are_checked_at_the_objects_node(login, registry):
    gw = login("gw_a1")
    assert _patch(gw, f"{API}/{registry.persons['A2'].pk}", {"occupation": "x"}).status_code == 404
    body = {"household_id": registry.households["B1"].pk, "name": "杨小光", "no_id_reason": "无"}
    # A household named in the body and not in the area is bad input on that field.
    refused = _post(gw, API, body)
    assert refused.status_code == 422 and "household_id" in refused.json()["errors"]
    assert _post(login("volunteer"), API, body).status_code == 403
    assert _patch(login("auditor"), f"{API}/{registry.persons['A2'].pk}", {}).status_code == 403
    assert Person.objects.count() == 4


def test_unmasking_needs_a_purpose_and_is_audited(login, registry):
    cadre = login("cadre_a")
    person = registry.persons["A2"]
    url = f"{API}/{person.pk}/unmask"
    for purpose in ("", "....", "\u200b\u200b\u200b\u200b"):
        refused = _post(cadre, url, {"purpose": purpose})
        assert refused.status_code == 422 and "purpose" in refused.json()["errors"], purpose
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_PII).exists()
    shown = _post(cadre, url, {"purpose": "电话核实返乡情况", "fields": ["phone"]})
    assert shown.status_code == 200, shown.content
    assert shown.json() == {"id_number": None, "phone": REGISTRY["A2"][3], "phone2": None}
    event = AuditEvent.objects.get(action=AuditAction.VIEW_PII)
    assert event.purpose == "电话核实返乡情况" and event.detail["fields"] == ["phone"]
    assert event.detail["via"] == "api" and event.object_id == str(person.pk)
    # Outside the area: the same 404 as a missing person; without the permission: 403.
    assert _post(login("gw_b1"), url, {"purpose": "电话核实"}).status_code == 404
    assert _post(login("volunteer"), url, {"purpose": "电话核实"}).status_code == 403


def test_households_are_listed_read_and_created_once(login, registry):
    gw = login("gw_a1")
    listed = gw.get(f"{API}/households").json()["items"]
    assert [h["address"] for h in listed] == [REGISTRY["A1M1"][0]]
    one = gw.get(f"{API}/households/{registry.households['A1M1'].pk}").json()
    assert [p["name"] for p in one["persons"]] == [REGISTRY["A1M1"][1]]
    assert one["persons"][0]["phone_masked"].startswith("136****")
    node = registry.nodes["A1M1"].code
    body = {"node": node, "street": "红星路", "house_number": "12", "room": "301"}
    first = _post(gw, f"{API}/households", body)
    assert first.status_code == 200, first.content
    assert first.json()["created"] is True and "红星路12" in first.json()["household"]["address"]
    again = _post(gw, f"{API}/households", body)
    assert again.json() == first.json() | {"created": False}
    assert Household.objects.filter(jurisdiction=registry.nodes["A1M1"]).count() == 2
    # A grid with micro-grids holds no households; the other village's grid is not theirs.
    bad = _post(gw, f"{API}/households", body | {"node": registry.nodes["A1"].code})
    assert bad.status_code == 422 and "node" in bad.json()["errors"]
    elsewhere = _post(gw, f"{API}/households", body | {"node": registry.nodes["B1"].code})
    assert elsewhere.status_code == 422 and "node" in elsewhere.json()["errors"]
    phone = _post(gw, f"{API}/households", body | {"landlord_phone": "12"})
    assert phone.status_code == 422 and "landlord_phone" in phone.json()["errors"]
