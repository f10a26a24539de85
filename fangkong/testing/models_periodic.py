"""Periodic testing of key occupations and the registry groups sampled at home.

How often an occupation is tested is data (`KeyOccupation.every_days`, seeded by a data
migration and changed by a town's rules, never a constant); who works where in which
occupation is an `OccupationAssignment`. Whether someone is overdue is computed from
their latest sample (`testing.periodic`), not stored.

Which registry tags mean "sampled at home" (bedridden, disabled) is data as well
(`DoorstepTag`); people under home isolation or monitoring are sampled at home too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class KeyOccupation(models.Model):
    """An occupation tested on a schedule: cold chain daily, express delivery every 2
    days, ... (the interval is the rule)."""

    key = models.SlugField(_("key"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    every_days = models.PositiveSmallIntegerField(_("tested every (days)"))
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "key"]
        verbose_name = _("key occupation")
        constraints = [
            models.CheckConstraint(
                condition=Q(every_days__gte=1, every_days__lte=30),
                name="testing_occupation_every_days",
            )
        ]

    def __str__(self) -> str:
        return self.name


class OccupationAssignment(models.Model):
    """A resident working in a key occupation for an employer (one at a time)."""

    person = models.OneToOneField(
        "people.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    # The person's node, for lists by grid without a join through the registry.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    occupation = models.ForeignKey(
        KeyOccupation, on_delete=models.PROTECT, related_name="+", verbose_name=_("occupation")
    )
    employer = models.CharField(_("employer"), max_length=100)
    since = models.DateField(_("since"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["employer"], name="testing_assignment_employer")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.occupation_id}"


class DoorstepTag(models.Model):
    """A registry tag whose people are sampled at home (上门采样) in every round."""

    tag = models.CharField(_("tag"), max_length=20, unique=True)

    def __str__(self) -> str:
        return self.tag
