"""The co-location rules come from the tables: the edition's look-back and its rule
(shipped for the national editions), a local copy inheriting the rule it was copied from."""

from __future__ import annotations

from datetime import date

import pytest

from fangkong.policy.models import Edition
from fangkong.tracing.models import ColocationRule
from fangkong.tracing.rules import settings_for

pytestmark = pytest.mark.django_db


def test_the_national_editions_ship_their_rules():
    ninth = settings_for(date(2022, 7, 1))
    assert (ninth.lookback_days, ninth.second_degree, ninth.assumed_stay_minutes) == (2, True, 30)
    # The "20 measures" stop identifying secondary close contacts (R1.2.5).
    assert settings_for(date(2022, 12, 1)).second_degree is False


def test_a_local_copy_with_a_longer_lookback_keeps_the_rule_it_came_from():
    ninth = Edition.objects.get(key="nat-9")
    ColocationRule.objects.filter(edition=ninth).update(tolerance_minutes=10)
    local = Edition.objects.get(pk=ninth.pk)
    local.pk = None
    local.key = "local-4"
    local.based_on = ninth
    local.contact_lookback_days = 4
    local.effective_from = date(2022, 7, 1)
    local.save()
    found = settings_for(date(2022, 7, 2))
    assert (found.lookback_days, found.tolerance_minutes, found.second_degree) == (4, 10, True)
