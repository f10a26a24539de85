"""The co-location settings in force for a day and a node, from the tables."""

from __future__ import annotations

from datetime import date

from fangkong.policy.engine import edition_for
from fangkong.policy.models import Edition
from fangkong.tracing.colocation import Settings
from fangkong.tracing.models import ColocationRule


def _rule(edition: Edition) -> ColocationRule | None:
    """The edition's rule, else that of the edition it was copied from."""
    seen: set[int] = set()
    current: Edition | None = edition
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        rule = ColocationRule.objects.filter(edition=current).first()
        if rule is not None:
            return rule
        current = current.based_on
    return None


def settings_for(day: date, path: str = "") -> Settings:
    edition = edition_for(day, path)
    if edition is None:
        return Settings()
    rule = _rule(edition)
    if rule is None:
        return Settings(lookback_days=edition.contact_lookback_days)
    return Settings(
        lookback_days=edition.contact_lookback_days,
        tolerance_minutes=rule.tolerance_minutes,
        assumed_stay_minutes=rule.assumed_stay_minutes,
        slot_minutes=rule.slot_minutes,
        second_degree=rule.second_degree,
        contacts_controlled_within_hours=rule.contacts_controlled_within_hours,
    )
