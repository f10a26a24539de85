"""Control rules as data: the risk-area catalogue, rule editions with their measures,
and the health-code colour rules.

Nothing here is code to change when the rules change: the 8th and 9th editions and the
"20 measures" ship as data (migration 0002, with their sources), and an administrator
adds a local edition or a risk area on a page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.org.models import Jurisdiction


class RiskLevel(models.TextChoices):
    HIGH = "high", _("High risk")
    MEDIUM = "medium", _("Medium risk")
    LOW = "low", _("Low risk")
    # The 三区 used before the 9th edition, kept for the data of that time.
    SEALED = "sealed", _("Sealed area (封控区)")
    CONTROLLED = "controlled", _("Controlled area (管控区)")
    PREVENTION = "prevention", _("Prevention area (防范区)")


class Category(models.TextChoices):
    """Who a measure is for."""

    CLOSE_CONTACT = "close_contact", _("Close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary close contact")
    ARRIVAL_HIGH = "arrival_high", _("Arrival from a high-risk area")
    ARRIVAL_MEDIUM = "arrival_medium", _("Arrival from a medium-risk area")
    ARRIVAL_LOW = "arrival_low", _("Arrival from a low-risk area")
    COMPANION = "companion", _("Spatiotemporal companion (时空伴随者)")
    KEY_OCCUPATION = "key_occupation", _("Key occupation")
    RETURNEE = "returnee", _("Returnee (no risk area)")


class Place(models.TextChoices):
    CENTRAL = "central", _("Centralised isolation")
    HOME_ISOLATION = "home_isolation", _("Home isolation")
    HOME_MONITORING = "home_monitoring", _("Home health monitoring")
    TESTS_ONLY = "tests_only", _("Tests and self-monitoring")
    NONE = "none", pgettext_lazy("measure", "None")


# How strict a place is: the strictest of several measures wins.
PLACE_RANK = {
    Place.CENTRAL: 4,
    Place.HOME_ISOLATION: 3,
    Place.HOME_MONITORING: 2,
    Place.TESTS_ONLY: 1,
    Place.NONE: 0,
}


class DayOne(models.TextChoices):
    NEXT_DAY = "next_day", _("The day after the exposure or departure")
    SAME_DAY = "same_day", _("The day of the exposure or departure")


class RiskArea(models.Model):
    """A risk area in force from `effective_from` until it is lifted on `effective_to`.

    `code` is a division code prefix (2, 4, 6, 9 or 12 digits): an area at district
    level covers every street in it. `place` names a compound or building inside that
    division when the area is smaller than the division.
    """

    code = models.CharField(_("division code"), max_length=12, db_index=True)
    place = models.CharField(_("compound or building"), max_length=100, blank=True)
    name = models.CharField(_("area"), max_length=200)
    level = models.CharField(_("level"), max_length=12, choices=RiskLevel.choices)
    effective_from = models.DateField(_("risky from"))
    effective_to = models.DateField(_("lifted on"), null=True, blank=True)
    source = models.CharField(_("source document"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-effective_from", "code", "place"]
        verbose_name = _("risk area")
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gt=models.F("effective_from")),
                name="risk_area_lifted_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.level} {self.effective_from}"


class RiskAreaChange(models.Model):
    """The catalogue's full history: every create, edit and lift with before and after."""

    area = models.ForeignKey(RiskArea, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=12)  # created | updated | lifted | imported
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["area_id", "id"]

    def __str__(self) -> str:
        return f"{self.area_id} {self.action}"

    @property
    def diff(self) -> list[tuple[str, object, object]]:
        """(field, old, new) of what this change changed."""
        if not self.before:
            return []
        return [
            (k, self.before.get(k), v) for k, v in self.after.items() if self.before.get(k) != v
        ]


class Edition(models.Model):
    """A rule edition (第八版, 第九版, 二十条, or a local variant) and when it applies.

    A local edition has a `scope`: it applies inside that subtree and wins there over a
    national edition in force on the same day.
    """

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    issued = models.DateField(_("issued"), null=True, blank=True)
    effective_from = models.DateField(_("in force from"))
    effective_to = models.DateField(_("in force until"), null=True, blank=True)
    scope = models.ForeignKey(
        Jurisdiction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("local to"),
    )
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("based on"),
    )
    source = models.CharField(_("source"), max_length=500, blank=True)
    contact_lookback_days = models.PositiveSmallIntegerField(
        _("close-contact look-back (days)"), default=2
    )
    arrival_window_days = models.PositiveSmallIntegerField(
        _("arrivals: left a risk area within (days)"), default=7
    )
    day_one = models.CharField(
        _("day 1 is"), max_length=10, choices=DayOne.choices, default=DayOne.NEXT_DAY
    )
    notes = models.TextField(_("notes"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["effective_from", "key"]
        verbose_name = _("rule edition")

    def __str__(self) -> str:
        return self.name


class Measure(models.Model):
    """What an edition requires for one category: a first period (where, how long,
    test days) and an optional second one (e.g. "7+3": 7 days centralised, then 3 days
    home health monitoring). Test days count from day 1 of each period."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="measures")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    identified = models.BooleanField(
        _("identified"),
        default=True,
        help_text=_("Off when the edition no longer manages this category."),
    )
    place = models.CharField(_("where"), max_length=16, choices=Place.choices)
    days = models.PositiveSmallIntegerField(_("days"), default=0)
    tests = models.JSONField(_("test days"), default=list, blank=True)
    then_place = models.CharField(
        _("then where"), max_length=16, choices=Place.choices, default=Place.NONE
    )
    then_days = models.PositiveSmallIntegerField(_("then days"), default=0)
    then_tests = models.JSONField(_("then test days"), default=list, blank=True)
    # "三天两检": n tests within d days, at least h hours apart (instead of fixed days).
    n_tests = models.PositiveSmallIntegerField(_("tests"), default=0)
    within_days = models.PositiveSmallIntegerField(_("within days"), default=0)
    min_interval_hours = models.PositiveSmallIntegerField(_("hours apart at least"), default=0)
    followups_per_day = models.PositiveSmallIntegerField(_("follow-ups a day"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["edition_id", "category"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "category"], name="measure_per_category")
        ]

    def __str__(self) -> str:
        return f"{self.edition_id} {self.category}"


class Colour(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")


class Trigger(models.TextChoices):
    """What a health-code colour rule reacts to."""

    CASE = "case", _("Confirmed, suspected or asymptomatic case")
    CLOSE_CONTACT = "close_contact", _("Close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary close contact")
    CENTRAL = "central", _("Under centralised isolation")
    HOME_ISOLATION = "home_isolation", _("Under home isolation")
    HOME_MONITORING = "home_monitoring", _("Under home health monitoring")
    TESTS_ONLY = "tests_only", _("Tests pending (e.g. 3 tests in 2 days)")
    IN_HIGH_AREA = "in_high_area", _("Lives in a high-risk area")
    IN_MEDIUM_AREA = "in_medium_area", _("Lives in a medium-risk area")
    COMPANION = "companion", _("Spatiotemporal companion")
    FEVER = "fever", _("Fever or respiratory symptoms")
    POOL_POSITIVE = "pool_positive", _("In a positive pooled tube, awaiting retest")


COLOUR_RANK = {Colour.RED: 2, Colour.YELLOW: 1, Colour.GREEN: 0}


class CodeRule(models.Model):
    """A health-code colour rule: what makes a person red or yellow, and what turns
    them back. Set by provinces, so kept as data (R3.1.3, R3.1.4)."""

    trigger = models.CharField(_("when"), max_length=20, choices=Trigger.choices, unique=True)
    colour = models.CharField(_("colour"), max_length=8, choices=Colour.choices)
    back_to_green = models.CharField(_("turns back when"), max_length=300)
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        ordering = ["trigger"]

    def __str__(self) -> str:
        return f"{self.trigger} → {self.colour}"
