"""Results where people see them: on the person's registry page (for those who follow
testing there), in the daily bulletin (sampled, results back, pool positive, single
positive), and through the resident's own link and control's daily-check link, which
show the person's own results and nobody else's."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.utils import timezone

from fangkong.control.checks import self_check_token
from fangkong.control.models import ControlOrder
from fangkong.reports import stats
from fangkong.reports.bulletin import bulletin_summary
from fangkong.testing.codes import person_id_of_token, results_token
from fangkong.testing.results import ResultRow, results_record
from fangkong.testing.selectors import counts_by_node
from tests.test_testing_services import _sampled_round

pytestmark = pytest.mark.django_db

KEYS = ("testing_sampled", "testing_results", "testing_pool_positive", "testing_positive")


@pytest.fixture
def english(login):
    def make(persona: str):
        client = login(persona)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make


def positive_pool(world):
    """四喜社区: pool P01 (10 of 红星) positive, P02 (6 of 东风) negative, the first
    member's single tube positive."""
    round_, grid1, grid2 = _sampled_round(world)
    results_record(
        round_=round_,
        rows=[ResultRow(2, "P01", "阳性", "28.5", "30.1"), ResultRow(3, "P02", "阴性")],
        actor=world.users["lab"],
        source="api",
    )
    return round_, grid1, grid2


def test_the_person_page_shows_their_results_to_those_who_follow_testing(world, english):
    _round, grid1, grid2 = positive_pool(world)
    page = english("gw_a1").get(f"/people/p/{grid1[0].pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    panel = re.search(r'id="fk-panel-testing">(.*?)</ul>', body, re.S)
    assert panel is not None
    assert "Pool positive: a single test follows" in panel.group(1)
    assert "第一轮全员核酸 · 10 in 1" in panel.group(1)
    negative = english("commander").get(f"/people/p/{grid2[0].pk}/").content.decode()
    found = re.search(r'id="fk-panel-testing">(.*?)</ul>', negative, re.S)
    assert found is not None and "Negative" in found.group(1)
    # Someone with the registry but not testing (a micro-grid leader's role) sees no panel.
    from fangkong.org.roles import Role
    from fangkong.org.services import membership_grant
    from fangkong.people.panels import panels_for

    reader = world.staff["A1"].user
    membership_grant(user=reader, jurisdiction=world.nodes["A1"], role=Role.MICROGRID_LEADER)
    assert [p.key for p in panels_for(reader, grid1[0])] == []
    # The grid worker follows testing there: the results, and the key-occupation panel.
    assert [p.key for p in panels_for(world.users["gw_a1"], grid1[0])] == [
        "testing",
        "occupation",
    ]


def test_the_bulletin_counts_the_day_s_testing(world):
    positive_pool(world)
    today = timezone.localdate()
    village = world.nodes["A"].path
    assert dict(counts_by_node("testing_sampled", [village], today)) == {
        world.nodes["A1"].path: 10,
        world.nodes["A2"].path: 6,
    }
    assert sum(n for _p, n in counts_by_node("testing_results", [village], today)) == 16
    assert sum(n for _p, n in counts_by_node("testing_pool_positive", [village], today)) == 10
    assert counts_by_node("testing_positive", [village], today) == []
    assert counts_by_node("testing_sampled", [world.nodes["U"].path], today) == []
    with pytest.raises(ValueError):
        counts_by_node("testing_everything", [village], today)
    stats.refresh(days=[today])
    summary = bulletin_summary(world.nodes["T"], today)
    assert {k: summary["totals"][k] for k in KEYS} == {
        "testing_sampled": 16,
        "testing_results": 16,
        "testing_pool_positive": 10,
        "testing_positive": 0,
    }
    assert dict(summary["fields"])["testing_pool_positive"] == "混管阳性人数"
    # The other town's bulletin holds none of it.
    other = bulletin_summary(world.nodes["U"], today)
    assert all(other["totals"][k] == 0 for k in KEYS)


def test_the_resident_s_own_link_shows_their_results_and_nobody_else_s(world, english):
    _round, grid1, grid2 = positive_pool(world)
    me, neighbour = grid1[0], grid2[0]
    staff = english("gw_a1").get(f"/testing/code/{me.pk}/")
    link = re.search(r'id="fk-my-link"[^>]*>([^<]+)<', staff.content.decode())
    assert link is not None
    token = link.group(1).rstrip("/").rsplit("/", 1)[-1]
    assert person_id_of_token(token) == me.pk
    resident = english("anonymous")
    page = resident.get(f"/testing/me/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Pool positive: a single test follows" in body
    assert me.name not in body  # the masked name only
    assert "Negative" not in body  # the neighbour's pool
    other = resident.get(f"/testing/me/{results_token(neighbour.pk)}/").content.decode()
    assert "Negative" in other and "Pool positive" not in other
    assert resident.get("/testing/me/not-a-token/").status_code == 404
    # The code a sampler scans does not open the results.
    from fangkong.testing.codes import resident_code

    assert resident.get(f"/testing/me/{resident_code(me.pk)}/").status_code == 404
    # The pool-positive member is under temporary control: their daily-check link shows
    # their own results too.
    order = ControlOrder.objects.filter(person=me).first()
    assert order is not None
    check = resident.get(f"/control/self/{self_check_token(order)}/").content.decode()
    assert "Pool positive: a single test follows" in check
