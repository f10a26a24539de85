"""Rules API: the risk-area catalogue changed only from the top of the tree, local
editions by their town, national ones by nobody; the engine's decision; bad input
answered with field errors and nothing changed; a resent write never made twice."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fangkong.audit.models import AuditEvent
from fangkong.policy.models import Edition, Measure, RiskArea, RiskAreaChange

pytestmark = pytest.mark.django_db

API = "/api/v1/policy"
AREA = {"code": "310115005", "level": "high", "effective_from": "2022-07-01", "source": "通报"}


def _json(client: Any, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, data=body, content_type="application/json")


@pytest.fixture
def county(login):
    client = login("county")
    client.cookies["django_language"] = "en"
    return client


def test_an_area_is_added_once_changed_and_lifted_from_the_top(county):
    first = _json(county, "post", f"{API}/areas", AREA)
    assert first.status_code == 200, first.content
    assert first.json()["created"] is True
    area = first.json()["area"]
    assert area["name"] == "上海市浦东新区陆家嘴街道" and area["version"] == 0
    # The same announcement sent again (a lost answer, a retry) is the same area.
    again = _json(county, "post", f"{API}/areas", AREA)
    assert again.json() == {"created": False, "area": area}
    assert RiskArea.objects.count() == 1 and RiskAreaChange.objects.count() == 1

    url = f"{API}/areas/{area['id']}"
    changed = _json(county, "patch", url, {"level": "medium", "version": 0})
    assert changed.status_code == 200 and changed.json()["area"]["level"] == "medium"
    # Resending the same change after it was made changes nothing more.
    assert _json(county, "patch", url, {"level": "medium", "version": 0}).status_code == 200
    assert RiskAreaChange.objects.count() == 2
    # A change from a stale read is refused by name.
    stale = _json(county, "patch", url, {"level": "low", "version": 0})
    assert stale.status_code == 422 and list(stale.json()["errors"]) == ["version"]

    lifted = _json(county, "patch", url, {"effective_to": "2022-07-10"})
    assert lifted.json()["area"]["effective_to"] == "2022-07-10"
    assert RiskAreaChange.objects.order_by("-id").first().action == "lifted"  # type: ignore[union-attr]
    detail = county.get(url).json()
    assert [h["action"] for h in detail["history"]] == ["created", "updated", "lifted"]


def test_a_town_reads_the_catalogue_and_may_not_change_it(county, login):
    area = _json(county, "post", f"{API}/areas", AREA).json()["area"]
    commander = login("commander")
    page = commander.get(f"{API}/areas", {"limit": 1})
    assert page.status_code == 200 and [a["id"] for a in page.json()["items"]] == [area["id"]]
    assert _json(commander, "post", f"{API}/areas", AREA | {"level": "low"}).status_code == 403
    assert (
        _json(commander, "patch", f"{API}/areas/{area['id']}", {"level": "low"}).status_code == 403
    )
    # Without rules.manage at all, the refusal comes before the body is read.
    assert _json(login("gw_a1"), "post", f"{API}/areas", {}).status_code == 403
    assert RiskArea.objects.get().level == "high" and RiskAreaChange.objects.count() == 1
    assert county.get(f"{API}/areas/999999").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (AREA | {"code": "12345"}, "code"),
        (AREA | {"code": "999999"}, "code"),
        (AREA | {"effective_to": "2022-06-01"}, "effective_to"),
    ],
)
def test_a_bad_area_names_its_field_and_changes_nothing(county, body, field):
    response = _json(county, "post", f"{API}/areas", body)
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()
    assert not RiskArea.objects.exists() and not AuditEvent.objects.filter(action="create").exists()


def test_schema_bounds_are_field_errors(county):
    response = _json(county, "post", f"{API}/areas", AREA | {"level": "extreme"})
    assert response.status_code == 422
    assert county.get(f"{API}/areas", {"limit": 500}).status_code == 422
    assert county.get(f"{API}/areas", {"cursor": "nonsense"}).status_code == 422
    assert not RiskArea.objects.exists()


def test_area_pages_follow_the_cursor_newest_first(county):
    ids = [
        _json(county, "post", f"{API}/areas", AREA | {"effective_from": f"2022-07-0{d}"}).json()[
            "area"
        ]["id"]
        for d in range(1, 6)
    ]
    seen, cursor = [], ""
    while True:
        page = county.get(f"{API}/areas", {"limit": 2, "cursor": cursor}).json()
        seen += [a["id"] for a in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == sorted(ids, reverse=True)
    on = county.get(f"{API}/areas", {"on": "2022-07-02"}).json()["items"]
    assert len(on) == 2  # started on the 1st and the 2nd; none lifted


def test_a_town_copies_an_edition_once_and_changes_only_its_own(login, world):
    commander = login("commander")
    nat9 = Edition.objects.get(key="nat-9")
    body = {"source_id": nat9.pk, "name": "王店镇细则", "effective_from": "2022-07-01"}
    first = _json(commander, "post", f"{API}/editions", body)
    assert first.status_code == 200 and first.json()["created"] is True
    local = first.json()["edition"]
    assert local["scope_code"] == world.nodes["T"].code and local["based_on"] == "nat-9"
    again = _json(commander, "post", f"{API}/editions", body)
    assert again.json()["created"] is False and again.json()["edition"]["id"] == local["id"]
    assert Edition.objects.filter(name="王店镇细则").count() == 1

    url = f"{API}/editions/{local['id']}"
    changed = _json(
        commander,
        "patch",
        url,
        {
            "contact_lookback_days": 4,
            "measures": {"arrival_medium": {"place": "central", "tests": [1, 3, 5]}},
        },
    )
    assert changed.status_code == 200, changed.content
    medium = Measure.objects.get(edition_id=local["id"], category="arrival_medium")
    assert (medium.place, medium.tests) == ("central", [1, 3, 5])
    assert AuditEvent.objects.filter(action="update", object_repr="王店镇细则").exists()

    # National editions are never changed; the other town's edition is not even seen.
    assert _json(commander, "patch", f"{API}/editions/{nat9.pk}", {}).status_code == 403
    other = login("commander_u")
    assert other.get(url).status_code == 404
    assert _json(other, "patch", url, {"contact_lookback_days": 1}).status_code == 404
    assert Edition.objects.get(pk=local["id"]).contact_lookback_days == 4
    # A village cadre does not manage rules: refused before anything is read.
    assert _json(login("cadre_a"), "patch", url, {}).status_code == 403


def test_a_bad_edition_change_names_the_field_and_saves_nothing(login):
    commander = login("commander")
    nat9 = Edition.objects.get(key="nat-9")
    local = _json(
        commander,
        "post",
        f"{API}/editions",
        {"source_id": nat9.pk, "name": "王店镇细则", "effective_from": "2022-07-01"},
    ).json()["edition"]
    url = f"{API}/editions/{local['id']}"
    response = _json(
        commander,
        "patch",
        url,
        {"contact_lookback_days": 3, "effective_to": "2022-06-01"},
    )
    assert response.status_code == 422 and "effective_to" in response.json()["errors"]
    bounded = _json(commander, "patch", url, {"measures": {"close_contact": {"days": 999}}})
    assert bounded.status_code == 422
    assert (
        Edition.objects.get(pk=local["id"]).contact_lookback_days == local["contact_lookback_days"]
    )


def test_the_decision_mirrors_the_check_page(county):
    RiskArea.objects.create(
        code="310115005",
        name="上海市浦东新区陆家嘴街道",
        level="high",
        effective_from=date(2022, 7, 1),
    )
    body = {"on": "2022-07-03", "code": "310115005", "left_on": "2022-07-02"}
    decision = _json(county, "post", f"{API}/decision", body)
    assert decision.status_code == 200, decision.content
    d = decision.json()
    assert d["place"] == "central" and d["periods"][0]["start"] == "2022-07-03"
    assert d["periods"][0]["end"] == "2022-07-09" and "Centralised isolation" in d["reason"]
    missing = _json(county, "post", f"{API}/decision", {"on": "2022-07-03", "code": "310115005"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == {"left_on": ["When did they leave?"]}
    bad = _json(county, "post", f"{API}/decision", body | {"code": "1234567"})
    assert bad.status_code == 422 and "code" in bad.json()["errors"]
