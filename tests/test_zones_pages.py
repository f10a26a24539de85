"""Zone pages and API by persona: the command post's zones with the map and counts, a
zone's lift proposal condition by condition, places derived from the registry; who may
see, delineate and lift what."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.zones.models import Place, Zone, ZoneStatus
from tests.zones_support import build_compound

pytestmark = pytest.mark.django_db


def _derive(login, world):
    build_compound(world)
    client = login("commander")
    response = client.post(
        "/zones/places/new/", {"village": world.nodes["A"].code, "action": "derive"}
    )
    assert response.status_code == 302
    return client


def test_the_commander_derives_places_and_delineates_zones_around_a_building(world, login):
    client = _derive(login, world)
    assert Place.objects.filter(jurisdiction=world.nodes["A"]).count() == 5
    building = Place.objects.get(name="1栋")
    page = client.get(f"/zones/places/{building.pk}/").content.decode()
    assert "2" in page and "幸福小区" in page
    # Without a reason nothing is made; with one, the 8th edition's three zones.
    assert client.post(f"/zones/places/{building.pk}/delineate/", {}).status_code == 200
    assert not Zone.objects.exists()
    from fangkong.policy.models import Edition

    nat8 = Edition.objects.get(key="nat-8")
    response = client.post(
        f"/zones/places/{building.pk}/delineate/", {"edition": nat8.pk, "reason": "病例甲"}
    )
    assert response.status_code == 302
    assert sorted(Zone.objects.values_list("name", flat=True)) == [
        "1栋 封控区",
        "四喜社区 防范区",
        "幸福小区 管控区",
    ]
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/zones/").content.decode()
    assert len(queries) < 40
    assert 'id="fk-zone-map"' in page and 'data-rank="3"' in page
    assert "封控区" in page and "管控区" in page and "防范区" in page
    sealed = Zone.objects.get(kind__code="sealed")
    lift = client.get(f"/zones/z/{sealed.pk}/lift/").content.decode()
    assert lift.count('data-met="0"') == 2  # 14 quiet days, the negative round
    response = client.post(f"/zones/z/{sealed.pk}/lift/", {"version": sealed.version})
    assert response.status_code == 200
    sealed.refresh_from_db()
    assert sealed.status == ZoneStatus.ACTIVE


def test_who_sees_and_who_lifts(world, login):
    _derive(login, world)
    from fangkong.policy.models import Edition

    building = Place.objects.get(name="1栋")
    login("commander").post(
        f"/zones/places/{building.pk}/delineate/",
        {"edition": Edition.objects.get(key="nat-8").pk, "reason": "病例甲"},
    )
    sealed = Zone.objects.get(kind__code="sealed")
    # The village's cadre and the grid worker of A1 see it; B1's grid worker does not.
    assert "1栋 封控区" in login("cadre_a").get("/zones/").content.decode()
    assert login("gw_a1").get(f"/zones/z/{sealed.pk}/").status_code == 200
    assert login("gw_b1").get(f"/zones/z/{sealed.pk}/").status_code == 404
    assert "1栋 封控区" not in login("gw_b1").get("/zones/").content.decode()
    # Only the command post lifts; the other town's commander does not even see it.
    assert login("cadre_a").post(f"/zones/z/{sealed.pk}/lift/", {"version": 0}).status_code == 403
    assert login("commander_u").get(f"/zones/z/{sealed.pk}/lift/").status_code == 404


def test_the_api_creates_a_zone_and_shows_its_lift_conditions(world, login):
    _derive(login, world)
    client = login("commander")
    compound = Place.objects.get(name="幸福小区")
    response = client.post(
        "/api/v1/zones/zones",
        data=json.dumps(
            {
                "edition": "nat-9",
                "kind": "medium",
                "name": "幸福小区中风险区",
                "reason": "密接活动场所",
                "places": [compound.pk],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    zone_id = response.json()["id"]
    conditions = client.get(f"/api/v1/zones/zones/{zone_id}/lift").json()
    assert [(c["key"], c["met"]) for c in conditions] == [("quiet", False), ("round", False)]
    refused = client.post(
        f"/api/v1/zones/zones/{zone_id}/lift",
        data=json.dumps({"version": 0}),
        content_type="application/json",
    )
    assert refused.status_code == 422
    # Unknown kind: refused by field, nothing made.
    bad = client.post(
        "/api/v1/zones/zones",
        data=json.dumps(
            {"edition": "nat-9", "kind": "sealed", "name": "x", "reason": "y", "places": []}
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422 and "kind" in bad.json()["errors"]
    assert Zone.objects.count() == 1
    # The other town's commander cannot put a zone on this town's compound.
    other = login("commander_u").post(
        "/api/v1/zones/zones",
        data=json.dumps(
            {
                "edition": "nat-9",
                "kind": "high",
                "name": "越界",
                "reason": "越界",
                "places": [compound.pk],
            }
        ),
        content_type="application/json",
    )
    assert other.status_code == 422 and "places" in other.json()["errors"]
