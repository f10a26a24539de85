"""Daily reports (疫防日报) by village and the town's bulletin (日通报).

Most numbers are computed from what fangkong already holds (metrics.py); the fields a
village types in (propaganda actions, problems, needs) are rows of `ReportField`, so a
town adds one without code. A report is due by the deadline (17:00 by default); a late
or missing village is flagged when the deadline passes.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction, Team
from fangkong.org.scoping import ScopedQuerySet
from fangkong.reports.metrics import OVERDUE_AGE_CAP


class FieldKind(models.TextChoices):
    COMPUTED = "computed", _("Computed by fangkong")
    NUMBER = "number", _("Number typed by the village")
    TEXT = "text", _("Text typed by the village")


class ReportField(models.Model):
    key = models.SlugField(_("key"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=FieldKind.choices)
    metric = models.CharField(_("computed from"), max_length=40, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("in use"), default=True)
    # Empty: a field of the villages' report; else of a special team's (TeamFieldSet).
    field_set = models.ForeignKey(
        "TeamFieldSet", null=True, blank=True, on_delete=models.CASCADE, related_name="fields"
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class ReportConfig(models.Model):
    """The town's deadline and the rule of the dashboard's traffic lights (one row per
    node that sets them; the nearest above wins; without one, the defaults here).

    Red is for what the command post must act on today: a report still missing after
    the deadline, or at least `red_overdue` work orders still open `red_overdue_days`
    days or more after the day they were due. Fewer or fresher overdue orders are amber:
    the escalation ladder is already telling the grid leader and the village."""

    jurisdiction = models.OneToOneField(Jurisdiction, on_delete=models.CASCADE, related_name="+")
    deadline = models.TimeField(_("deadline"), default=time(17, 0))
    red_overdue = models.PositiveIntegerField(_("red at overdue orders"), default=5)
    red_overdue_days = models.PositiveSmallIntegerField(
        _("red at orders overdue for days"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(OVERDUE_AGE_CAP)],
    )

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} {self.deadline}"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Not submitted")
    SUBMITTED = "submitted", _("Submitted")
    MISSING = "missing", _("Missing at the deadline")


class DayReport(models.Model):
    """One day's report of a reporting unit (a village, a special team): submitted (late
    after its deadline) or flagged missing when the deadline passes without it."""

    day = models.DateField(_("day"))
    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT
    )
    # {field key: value}: computed numbers as confirmed by the unit, and what it typed.
    values = models.JSONField(default=dict)
    late = models.BooleanField(_("late"), default=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class DailyReport(DayReport):
    village = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")

    scope_path = "village__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["day", "village_id"]
        constraints = [models.UniqueConstraint(fields=["village", "day"], name="daily_report_once")]

    def __str__(self) -> str:
        return f"{self.village_id} {self.day} {self.status}"


class VillageDay(models.Model):
    """A village's computed numbers for one day, refreshed by a job every minute: what the
    dashboard reads, so a county's screen is a few indexed reads, never a recount. A past
    day keeps its last refresh, so snapshot numbers (pending, overdue) stay as they were
    that evening."""

    village = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    values = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField()

    scope_path = "village__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["village", "day"], name="village_day_once")]
        indexes = [models.Index(fields=["day", "village"], name="village_day_by_day")]

    def __str__(self) -> str:
        return f"{self.village_id} {self.day}"


class Bulletin(models.Model):
    """A town's (or a county's) daily bulletin, archived per day as the documents sent."""

    node = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    highlights = models.TextField(_("highlights"), blank=True)
    # The numbers the documents were made from (totals, rows, late and missing), so the
    # page shows exactly what was sent.
    summary = models.JSONField(default=dict)
    docx = models.BinaryField()
    xlsx = models.BinaryField()
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1)

    scope_path = "node__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "node__path"]
        constraints = [models.UniqueConstraint(fields=["node", "day"], name="bulletin_once")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.day} v{self.version}"


class TeamFieldSet(models.Model):
    """The fields of one kind of special team's daily report (企业专班, 物流专班, 国际快件专班):
    its `ReportField` rows point here, so a town adds a field or a kind of team as data."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class ReportingTeam(models.Model):
    """A special team that reports daily: which fields, and its own deadline (none: the
    deadline of its node, as a village's)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+")
    field_set = models.ForeignKey(
        TeamFieldSet, on_delete=models.PROTECT, related_name="teams", verbose_name=_("report")
    )
    deadline = models.TimeField(_("deadline"), null=True, blank=True)
    active = models.BooleanField(_("reports daily"), default=True)

    scope_path = "team__jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.team_id} {self.field_set_id}"


class TeamReport(DayReport):
    """A special team's report of one day: as a village's `DailyReport`."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")

    scope_path = "team__jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["day", "team_id"]
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="team_report_once")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.day} {self.status}"
