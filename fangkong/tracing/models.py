"""The co-location rules of an edition (rules as data): the edition's own look-back
(policy.Edition.contact_lookback_days) plus what co-location needs beyond it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.tracing.models_cases import (
    Case,
    CaseKind,
    CaseSource,
    CaseStatus,
    Contact,
    ContactHow,
    ContactStatus,
    Stay,
)


class ColocationRule(models.Model):
    edition = models.OneToOneField(
        "policy.Edition",
        on_delete=models.CASCADE,
        related_name="colocation_rule",
        verbose_name=_("edition"),
    )
    tolerance_minutes = models.PositiveSmallIntegerField(
        _("co-location tolerance (minutes)"),
        default=0,
        help_text=_("Visits this far apart at the same place still count as together."),
    )
    assumed_stay_minutes = models.PositiveSmallIntegerField(
        _("assumed stay after a scan (minutes)"), default=30
    )
    slot_minutes = models.PositiveSmallIntegerField(_("time slot of the job (minutes)"), default=60)
    second_degree = models.BooleanField(_("find secondary close contacts"), default=True)
    contacts_controlled_within_hours = models.PositiveSmallIntegerField(
        _("contacts under control within (hours)"),
        default=24,
        help_text=_(
            "A close contact's own contacts count until this long after the case's isolation."
        ),
    )

    class Meta:
        verbose_name = _("co-location rule")
        verbose_name_plural = _("co-location rules")

    def __str__(self) -> str:
        return str(self.edition)


__all__ = [
    "Case",
    "CaseKind",
    "CaseSource",
    "CaseStatus",
    "ColocationRule",
    "Contact",
    "ContactHow",
    "ContactStatus",
    "Stay",
]
