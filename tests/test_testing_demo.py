"""The demo town's mass testing: a finished round (every result back, one positive pool
recalled and its single results in, a few residents never tested) and one under way
(some tubes sampled today, one open, no results), with coverage that adds up; the pages
show them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from fangkong.org.demo import DEMO_PASSWORD
from fangkong.org.models import Jurisdiction, Membership
from fangkong.testing.counts import counts_differences, exact_counts
from fangkong.testing.coverage import coverage, not_tested
from fangkong.testing.coverage_olap import CoverageEngine, round_extract
from fangkong.testing.kinds import RECALL_KIND
from fangkong.testing.models import (
    Box,
    Outcome,
    RecallStatus,
    Result,
    Round,
    RoundStatus,
    Sample,
    Tube,
    TubeStatus,
)
from fangkong.workorders.models import WorkOrder


@pytest.fixture(params=["now", "just after midnight"])
def demo_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """The demo is built whenever someone runs it: ten past midnight must give the same
    story as the afternoon (a round under way sampled today, results after samples)."""
    if request.param == "now":
        yield
        return
    at = timezone.make_aware(datetime.combine(timezone.localdate(), time(0, 10)))
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


@pytest.mark.django_db
def test_the_demo_town_holds_a_finished_round_and_one_under_way(demo_clock: None) -> None:
    call_command("demo_town", "--residents", "3000")
    today = timezone.localdate()
    done = Round.objects.get(status=RoundStatus.CLOSED)
    running = Round.objects.get(status=RoundStatus.OPEN)
    assert done.ends_on < today <= running.ends_on and running.starts_on == today
    assert done.pool_size == running.pool_size == 10

    # Finished: every routine tube closed with a result; one pool positive; its members
    # recalled, sampled at home by their grid worker, single results negative.
    tubes = Tube.objects.filter(round=done, recall=False)
    assert tubes.count() > 10
    assert not tubes.exclude(status=TubeStatus.CLOSED).exists()
    assert not tubes.filter(result__isnull=True).exists()
    positive = tubes.get(outcome=Outcome.POSITIVE)
    recalls = list(positive.recalls.all())
    assert len(recalls) == positive.size == 10
    assert {r.status for r in recalls} == {RecallStatus.NEGATIVE}
    assert all(r.single is not None and r.single.outcome == Outcome.NEGATIVE for r in recalls)
    assert WorkOrder.objects.filter(kind=RECALL_KIND, status="done").count() == 10
    assert not Tube.objects.filter(round=done, box__isnull=True, recall=False).exists()
    assert not Box.objects.filter(round=done, in_at__isnull=True).exists()
    cov = coverage(done, today=today)
    assert cov.total.expected > 0
    assert 0 < cov.total.not_tested < cov.total.expected * 0.1
    assert done.exclusions.count() == 1
    assert cov.total.results == cov.total.samples  # every result back
    assert cov.total.positive == 10
    missing = not_tested(done, today=today)
    assert missing.count() == cov.total.not_tested

    # Under way: some sampled today, the last tube still open, nothing from the lab.
    samples = Sample.objects.filter(round=running)
    assert samples.exists()
    assert {timezone.localtime(t).date() for t in samples.values_list("taken_at", flat=True)} == {
        today
    }
    assert Tube.objects.filter(round=running, status=TubeStatus.OPEN).count() == 1
    assert not Result.objects.filter(tube__round=running).exists()
    live = coverage(running, today=today)
    assert 0 < live.total.tested < live.total.expected
    assert live.total.tested == samples.count()
    assert live.total.results == 0 and len(live.villages) == 2
    assert running.points.count() == 2
    assert counts_differences(done, today) == {}
    assert counts_differences(running, today) == {}
    # The analytical engine over an extract of each round counts what the definition
    # counts, and lists the same not-tested residents.
    for round_ in (done, running):
        engine = CoverageEngine(round_extract(round_, today))
        assert engine.counts() == exact_counts(round_, today)
    grid = next(r.node for r in cov.grids if r.not_tested)
    nodes = list(
        Jurisdiction.objects.filter(path__startswith=grid.path).values_list("pk", flat=True)
    )
    olap = CoverageEngine(round_extract(done, today)).not_tested(nodes)
    assert olap == list(not_tested(done, today=today, node=grid).values_list("pk", flat=True))
    assert 0 < len(olap) < len(set(missing.values_list("pk", flat=True)))

    # The pages show them: the commander's coverage, the lab's and sampler's lists.
    client = Client()
    assert client.login(username="commander", password=DEMO_PASSWORD)
    page = client.get(f"/testing/r/{done.pk}/").content.decode()
    assert positive.barcode in page
    assert running.name in client.get("/testing/").content.decode()
    gw = Membership.objects.get(user__username="gw0101").user
    person_page = Client()
    person_page.force_login(gw)
    shown = person_page.get(f"/people/p/{recalls[0].person_id}/").content.decode()
    assert 'id="fk-panel-testing"' in shown and done.name in shown
