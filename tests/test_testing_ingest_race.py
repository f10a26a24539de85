"""A batch that loses the race for a new tube barcode (another phone's batch opened it
first, between this batch's read and its write) is checked again and answered in words,
on both databases: the COPY's unique violation reaches the retry as Django's
IntegrityError, not as the driver's own exception (a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from fangkong.testing import sampling
from fangkong.testing.models import Sample, Tube
from fangkong.testing.sampling import RECORDED, REFUSED, samples_sync
from tests.test_testing_services import a_round, people, rec

pytestmark = pytest.mark.django_db


def test_a_lost_race_for_a_new_barcode_is_checked_again_not_a_crash(world, monkeypatch):
    first, second = a_round(world), a_round(world, scope=("A", "B"))
    (ours,) = people(world, "A1", 1, "赛跑")
    (theirs,) = people(world, "A2", 1, "对手")
    assert samples_sync(round_=second, records=[rec("RACE01", theirs)], actor=None).recorded
    # This batch's read of the tubes happened before the other batch committed "RACE01".
    real = sampling._rows
    hidden = {"done": False}

    def stale(sql: str, params: Any) -> list[tuple[Any, ...]]:
        rows = real(sql, params)
        if "FROM testing_tube WHERE" in sql and not hidden["done"]:
            hidden["done"] = True
            return []
        return rows

    monkeypatch.setattr(sampling, "_rows", stale)
    with translation.override("en"):
        done = samples_sync(round_=first, records=[rec("RACE01", ours)], actor=None)
    (answer,) = done.answers
    assert hidden["done"] and answer.status == REFUSED
    assert answer.error == "This tube belongs to another round."
    assert Tube.objects.filter(barcode="RACE01").count() == 1
    assert Sample.objects.filter(person=ours).count() == 0
    # And the next batch, read afresh, goes through.
    again = samples_sync(round_=first, records=[rec("RACE02", ours)], actor=None)
    assert again.answers[0].status == RECORDED
