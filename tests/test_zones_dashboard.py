"""The command dashboard shows the zones' map with counts by zone: after a positive in
幸福小区 1栋, 王店镇's dashboard colours 四喜社区 sealed (rank 3) and lists 1栋's 封控区
(4 residents) and the compound's 管控区 (6 residents), strictest first, refreshed with
the panel; another town's commander sees none of them; the response-time page
is a link away."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from fangkong.policy.models import Edition
from fangkong.zones.models import Place
from fangkong.zones.places import places_derive
from fangkong.zones.selectors import zone_map
from fangkong.zones.services import zones_delineate
from tests.world import ensure_registry
from tests.zones_support import build_compound

pytestmark = pytest.mark.django_db


def test_the_dashboard_maps_the_zones_with_counts(world):
    commander = world.users["commander"]
    ensure_registry(world)
    build_compound(world)
    places_derive(actor=commander, village=world.nodes["A"])
    zones_delineate(
        actor=commander,
        place=Place.objects.get(name="1栋"),
        reason="病例",
        edition=Edition.objects.get(key="nat-8"),
    )
    town = world.nodes["T"]
    made = zone_map(town)
    ranks = {s.node.code: s.rank for s in made.shapes}
    assert ranks[world.nodes["A"].code] == 3 and ranks[world.nodes["B"].code] == 0
    counts = [(z.kind.rank, n) for z, n in made.zones]
    assert counts[:2] == [(3, 4), (2, 6)]
    client = Client()
    client.force_login(commander)
    for url in (
        f"/reports/dashboard/?node={town.code}",
        f"/reports/dashboard/panel/?node={town.code}",
    ):
        page = client.get(url).content.decode()
        assert 'id="fk-dash-zones"' in page and 'id="fk-zone-map"' in page, url
        section = page[page.index('id="fk-dash-zones"') :]
        assert f'data-code="{world.nodes["A"].code}"' in section
        rows = re.findall(
            r'<tr data-rank="(\d)"><td>[^<]*</td><td>[^<]*</td><td[^>]*>(\d+)</td>', section
        )
        assert rows[:2] == [("3", "4"), ("2", "6")]
        assert "/assist/times/" in section
    # The other town's commander sees their own town's map, none of 王店's zones.
    other = Client()
    other.force_login(world.users["commander_u"])
    page = other.get("/reports/dashboard/").content.decode()
    assert "四喜社区" not in page
