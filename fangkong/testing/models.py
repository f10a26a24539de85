"""Mass testing (全员核酸): rounds over parts of the tree, sampling points, tubes holding
pooled samples, the boxes that carry tubes to the lab, and the lab's results by barcode.

The invariants of domain-rules §2 hold in the database as well as in the services: a
pool size is 1, 5, 10 or 20; a barcode is one tube ever (never reused); a tube holds a
person once and never more people than its pool size; a person gives one routine sample
per round (so never sits in two open tubes of it); a sample arrives once however often a
phone retries (its client id); a tube has one result.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet

POOL_SIZES = (1, 5, 10, 20)


class RoundStatus(models.TextChoices):
    OPEN = "open", _("Under way")
    CLOSED = "closed", _("Finished")


class Round(models.Model):
    """One round of mass testing organised at a node (a town) over scope nodes (the
    town, or some of its villages)."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("organised by")
    )
    name = models.CharField(_("name"), max_length=100)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    pool_size = models.PositiveSmallIntegerField(_("pool size"))
    # Infants under this age are not expected to be tested (0: everyone).
    min_age_years = models.PositiveSmallIntegerField(_("tested from age"), default=0)
    # A positive pool's members are sampled at home within this many hours.
    recall_hours = models.PositiveSmallIntegerField(_("recall within (hours)"), default=2)
    # Days of temporary home isolation for a positive pool's members, until their single
    # results are back.
    hold_days = models.PositiveSmallIntegerField(_("temporary control (days)"), default=2)
    status = models.CharField(
        _("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.OPEN
    )
    scope = models.ManyToManyField(Jurisdiction, related_name="+", verbose_name=_("scope"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("testing round")
        constraints = [
            models.CheckConstraint(
                condition=Q(pool_size__in=POOL_SIZES), name="testing_round_pool_size"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="testing_round_dates"
            ),
            models.CheckConstraint(
                condition=Q(recall_hours__gte=1, recall_hours__lte=48),
                name="testing_round_recall_hours",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ExclusionReason(models.TextChoices):
    AWAY = "away", _("Away (with a date)")
    INFANT = "infant", _("Infant under the round's age")
    ISOLATED = "isolated", _("Under centralised isolation")
    OTHER = "other", _("Other, declared")


class Exclusion(models.Model):
    """A resident declared as not to be tested in a round (away until a date, ...)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="exclusions")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=10, choices=ExclusionReason.choices)
    until = models.DateField(_("until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "person"], name="testing_exclusion_once")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.person_id} {self.reason}"


class SamplingPoint(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="points")
    # Where the point stands (a village or grid): its tubes are seen from there.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))
    # People per hour the point's tables can sample (R2.8: a table per 600-800 people).
    capacity = models.PositiveIntegerField(_("capacity (people per hour)"))
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["round_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["round", "name"], name="testing_point_name"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="testing_point_capacity"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="testing_point_hours"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TubeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Box(models.Model):
    """A box of tubes: scanned out at the point and in at the lab."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="boxes")
    code = models.CharField(_("box code"), max_length=40, unique=True)
    point = models.ForeignKey(
        SamplingPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="boxes"
    )
    out_at = models.DateTimeField(null=True, blank=True)
    out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    in_at = models.DateTimeField(null=True, blank=True)
    in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.code


class Tube(models.Model):
    barcode = models.CharField(_("barcode"), max_length=40, unique=True)
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="tubes")
    point = models.ForeignKey(
        SamplingPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="tubes"
    )
    # The node the tube is seen from: the point's, or the person's for a recall.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    pool_size = models.PositiveSmallIntegerField(_("pool size"))
    size = models.PositiveSmallIntegerField(_("samples"), default=0)
    status = models.CharField(
        _("status"), max_length=8, choices=TubeStatus.choices, default=TubeStatus.OPEN
    )
    # A single tube taken at home after a positive pool.
    recall = models.BooleanField(default=False)
    box = models.ForeignKey(Box, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The result's outcome, copied here so coverage counts results without the join.
    outcome = models.CharField(max_length=10, blank=True)
    sampler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(pool_size__in=POOL_SIZES), name="testing_tube_pool_size"
            ),
            models.CheckConstraint(
                condition=Q(size__lte=F("pool_size")), name="testing_tube_not_overfull"
            ),
        ]

    def __str__(self) -> str:
        return self.barcode


class Sample(models.Model):
    """One person's swab in a tube; append-only, idempotent by the phone's client id."""

    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="samples")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # The person's node, for coverage by grid without a join through the registry.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    pool_size = models.PositiveSmallIntegerField()
    recall = models.BooleanField(default=False)
    client_id = models.UUIDField(unique=True)
    taken_at = models.DateTimeField()
    sampler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField()

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tube", "person"], name="testing_sample_person_once"),
            models.UniqueConstraint(fields=["tube", "position"], name="testing_sample_position"),
            models.CheckConstraint(
                condition=Q(position__gte=1, position__lte=F("pool_size")),
                name="testing_sample_within_pool",
            ),
            # One routine sample per person per round: never in two open tubes of it.
            models.UniqueConstraint(
                fields=["round", "person"],
                condition=Q(recall=False),
                name="testing_sample_once_per_round",
            ),
        ]
        indexes = [models.Index(fields=["round", "jurisdiction"], name="testing_sample_round_node")]

    def __str__(self) -> str:
        return f"{self.tube_id}#{self.position}"


class Outcome(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid, resample")


class ResultBatch(models.Model):
    """One lab file or API call: who sent what, for the audit trail and its report."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="batches")
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=8)  # "file" | "api"
    rows = models.PositiveIntegerField(default=0)
    recorded = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.source} {self.filename}".strip()


class Result(models.Model):
    tube = models.OneToOneField(Tube, on_delete=models.PROTECT, related_name="result")
    barcode = models.CharField(max_length=40)
    outcome = models.CharField(_("result"), max_length=10, choices=Outcome.choices)
    ct_orf = models.DecimalField("Ct ORF1ab", max_digits=4, decimal_places=1, null=True, blank=True)
    ct_n = models.DecimalField("Ct N", max_digits=4, decimal_places=1, null=True, blank=True)
    tested_at = models.DateTimeField(_("tested at"))
    batch = models.ForeignKey(ResultBatch, on_delete=models.PROTECT, related_name="results")

    def __str__(self) -> str:
        return f"{self.barcode} {self.outcome}"


class RecallStatus(models.TextChoices):
    WAITING = "waiting", _("Pool positive: waiting for the single test")
    SAMPLED = "sampled", _("Single test taken")
    NEGATIVE = "negative", _("Single test negative")
    POSITIVE = "positive", _("Single test positive")
    CASE = "case", _("Became a case")


class Recall(models.Model):
    """A member of a positive pool ("pool positive"), recalled for a single test at home,
    and what came of it."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="recalls")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    pool = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="recalls")
    single = models.ForeignKey(
        Tube, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=RecallStatus.choices, default=RecallStatus.WAITING
    )
    # Ids in the control and work-order apps (read through their selectors).
    control_order_id = models.PositiveBigIntegerField(null=True, blank=True)
    control_test_id = models.PositiveBigIntegerField(null=True, blank=True)
    work_order_id = models.PositiveBigIntegerField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pool", "person"], name="testing_recall_once")
        ]

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.person_id} {self.status}"


class RoundCount(models.Model):
    """A round's counts at one node (where residents live), kept by the writes (samples,
    results, exclusions) and recounted exactly by a periodic job: the coverage page
    reads these few rows instead of a million residents."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="counts")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="+")
    expected = models.IntegerField(default=0)
    tested = models.IntegerField(default=0)
    samples = models.IntegerField(default=0)
    results = models.IntegerField(default=0)
    positive = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "jurisdiction"], name="testing_count_node")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}@{self.jurisdiction_id}"


# Periodic testing and door-to-door sampling keep their models in a module of their own.
from fangkong.testing.models_periodic import (  # noqa: E402, F401
    DoorstepTag,
    KeyOccupation,
    OccupationAssignment,
)
