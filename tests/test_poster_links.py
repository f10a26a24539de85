"""The returnees' QR poster is reached from where people look for it: the village's page
in the tree, the village's daily report, and the screening menu (which opens the
posters of the top of the viewer's area). Nobody has to type /screening/poster/<code>/."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def _links(html: str) -> set[str]:
    return set(re.findall(r'href="(/screening/poster/[^"]*)"', html))


def _qr_targets(html: str) -> set[str]:
    return set(re.findall(r'class="fk-url">[^<]*?(/r/[^<]+)</p>', html))


def test_a_village_page_and_its_daily_report_link_its_poster(world, login):
    cadre = login("cadre_a")
    a = world.nodes["A"].code
    for page in (f"/org/j/{a}/", f"/reports/village/{a}/"):
        response = cadre.get(page)
        assert response.status_code == 200, page
        assert _links(response.content.decode()) == {f"/screening/poster/{a}/"}, page
    poster = cadre.get(f"/screening/poster/{a}/").content.decode()
    assert poster.count("<svg") == 1 and _qr_targets(poster) == {f"/r/{a}/"}
    # A town's page links the town's posters, one page per village.
    commander = login("commander")
    t = world.nodes["T"].code
    assert _links(commander.get(f"/org/j/{t}/").content.decode()) == {f"/screening/poster/{t}/"}


def test_the_screening_menu_opens_the_posters_of_the_viewer_s_area(world, login):
    a, b, p = (world.nodes[k].code for k in ("A", "B", "P"))
    for persona, want in (
        ("commander", {f"/r/{a}/", f"/r/{b}/"}),
        ("cadre_a", {f"/r/{a}/"}),
        ("gw_a1", {f"/r/{a}/?grid=330411102201-G01"}),
        ("county", {f"/r/{a}/", f"/r/{b}/", f"/r/{p}/"}),
        ("commander_u", {f"/r/{p}/"}),
    ):
        client = login(persona)
        menu = client.get("/screening/returnees/")
        assert menu.status_code == 200, persona
        assert "/screening/poster/" in _links(menu.content.decode()), persona
        posters = client.get("/screening/poster/").content.decode()
        assert _qr_targets(posters) == want, persona
    # No area to print for: no poster.
    assert login("anonymous").get("/screening/poster/").status_code == 302
