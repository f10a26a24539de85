"""The county's assist rules edited as data: a kind's response target, a green-channel
group, a new store item — from the county's page and through the API; all or nothing
with the bad row named; a town's commander reads them and cannot change them; saving
the same again records nothing."""

from __future__ import annotations

import json

import pytest

from fangkong.assist.models import GreenTag, RequestKind
from fangkong.assist.models_supplies import Item
from fangkong.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _form(kinds, green, items) -> dict[str, str]:
    data: dict[str, str] = {}
    for prefix, rows, initial in (
        ("kinds", kinds, len(kinds)),
        ("green", green, len(green)),
        ("items", items, len(items)),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str(initial)
        for n, row in enumerate(rows):
            for key, value in row.items():
                if value is not False:
                    data[f"{prefix}-{n}-{key}"] = "on" if value is True else str(value)
    return data


def _current():
    kinds = [
        {"id": k.pk, "name": k.name, "green": k.green, "target_minutes": k.target_minutes}
        for k in RequestKind.objects.all()
    ]
    green = [{"tag": g.tag, "target_minutes": g.target_minutes} for g in GreenTag.objects.all()]
    items = [
        {
            "code": i.code,
            "name": i.name,
            "unit": i.unit,
            "per_package": i.per_package,
            "per_meal": i.per_meal,
        }
        for i in Item.objects.all()
    ]
    return kinds, green, items


def _settings_audits() -> int:
    return AuditEvent.objects.filter(object_repr="assist settings").count()


def test_county_edits_the_assist_rules_on_its_page(world, login):
    county, commander = login("county"), login("commander")
    read_only = commander.get("/assist/settings/").content.decode()
    assert "fk-assist-settings" in read_only and "fk-settings-save" not in read_only
    assert "fk-settings-save" in county.get("/assist/settings/").content.decode()
    kinds, green, items = _current()
    kinds[1]["target_minutes"] = 45
    green = [g for g in green if g["tag"] != "pregnant"] + [
        {"tag": "pregnant", "target_minutes": 20}
    ]
    items.append({"code": "milk", "name": "牛奶", "unit": "箱", "per_package": 1, "per_meal": 0})
    # The town's commander holds the rules of their town, not these.
    assert commander.post("/assist/settings/", _form(kinds, green, items)).status_code == 403
    assert not Item.objects.filter(code="milk").exists()
    saved = county.post("/assist/settings/", _form(kinds, green, items))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert RequestKind.objects.get(pk=kinds[1]["id"]).target_minutes == 45
    assert GreenTag.objects.get(tag="pregnant").target_minutes == 20
    milk = Item.objects.get(code="milk")
    assert (milk.name, milk.per_package) == ("牛奶", 1)
    assert _settings_audits() == 1
    # The same again changes nothing and records nothing.
    kinds, green, items = _current()
    assert county.post("/assist/settings/", _form(kinds, green, items)).status_code == 302
    assert _settings_audits() == 1
    # A bad row: refused whole, the row named, nothing changed.
    kinds[0]["name"] = "改过的名字"
    green.append({"tag": "alone", "target_minutes": 0})
    refused = county.post("/assist/settings/", _form(kinds, green, items))
    assert refused.status_code == 400
    assert RequestKind.objects.get(pk=kinds[0]["id"]).name != "改过的名字"
    assert _settings_audits() == 1


def test_assist_settings_api(world, login):
    county, commander = login("county"), login("commander")
    body = commander.get("/api/v1/assist/settings").json()
    assert {k["id"] for k in body["kinds"]} == set(RequestKind.objects.values_list("pk", flat=True))
    body["items"].append(
        {"code": "Bad Code", "name": "口罩", "unit": "包", "per_package": 1, "per_meal": 0}
    )
    put = county.put(
        "/api/v1/assist/settings", data=json.dumps(body), content_type="application/json"
    )
    assert put.status_code == 422
    errors = json.dumps(put.json(), ensure_ascii=False)
    assert "Bad Code" in errors and str(len(body["items"])) in errors
    assert not Item.objects.filter(code="Bad Code").exists()
    body["items"][-1]["code"] = "kn95"
    body["kinds"][0]["target_minutes"] = 90
    denied = commander.put(
        "/api/v1/assist/settings", data=json.dumps(body), content_type="application/json"
    )
    assert denied.status_code == 403
    ok = county.put(
        "/api/v1/assist/settings", data=json.dumps(body), content_type="application/json"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["kinds"][0]["target_minutes"] == 90
    assert Item.objects.filter(code="kn95").exists()
