"""Zones (三区 / risk areas) below the micro-grid: the places people live in — compounds
(小区), buildings (楼栋) and units (单元) with their households — and the zones made of
them, whose kinds and rules are data per rule edition (`ZoneKind`: 封控/管控/防范 under
the 8th edition, high/medium/low risk under the 9th, high/low under the "20 measures").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class PlaceKind(models.TextChoices):
    COMPOUND = "compound", _("Compound (小区)")
    BUILDING = "building", _("Building (楼栋)")
    UNIT = "unit", _("Unit (单元)")


# Which kind sits under which: a building in a compound, a unit in a building.
CHILD_KIND = {PlaceKind.COMPOUND: PlaceKind.BUILDING, PlaceKind.BUILDING: PlaceKind.UNIT}


class Place(models.Model):
    """A compound, building or unit of a village; `path` holds the ids from its compound
    down ("/12/34/"), so everything under a place is one prefix match."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PlaceKind.choices)
    name = models.CharField(_("name"), max_length=60)
    path = models.CharField(max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "path"]
        verbose_name = _("place")
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "name"],
                condition=Q(parent__isnull=True),
                name="zones_compound_name",
            ),
            models.UniqueConstraint(fields=["parent", "name"], name="zones_place_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Residence(models.Model):
    """The place a household lives in (its building, or its unit): one per household."""

    household = models.OneToOneField("people.Household", on_delete=models.CASCADE, related_name="+")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="residences")

    class Meta:
        verbose_name = _("residence")

    def __str__(self) -> str:
        return f"{self.household_id}@{self.place_id}"


class Extent(models.TextChoices):
    UNIT = "unit", _("The unit")
    BUILDING = "building", _("The building")
    COMPOUND = "compound", _("The compound")
    VILLAGE = "village", _("The village")


class ZoneKind(models.Model):
    """A kind of zone under one edition and its rules: how strict (rank), the control
    order its residents get, how far it reaches around a case, and when it lifts."""

    edition = models.ForeignKey(
        "policy.Edition", on_delete=models.CASCADE, related_name="+", verbose_name=_("edition")
    )
    code = models.SlugField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=40)
    rank = models.PositiveSmallIntegerField(_("strictness"))
    # A control order type (control.OrderType), or blank: public measures only.
    order_type = models.CharField(_("residents' control order"), max_length=20, blank=True)
    measure = models.CharField(_("measure in words"), max_length=100, blank=True)
    extent = models.CharField(_("extent around a case"), max_length=10, choices=Extent.choices)
    quiet_days = models.PositiveSmallIntegerField(_("days with no new positive to lift"))
    # Everyone tested negative in one round ending within this many days before lifting
    # (0: no round needed).
    round_within_days = models.PositiveSmallIntegerField(_("negative round within (days)"))
    # A 防范区 / low-risk area lifts only once no stricter zone of the county remains.
    after_stricter = models.BooleanField(_("lifts after every stricter zone"), default=False)
    # The kind a zone of this kind becomes on a new positive inside it (管控 → 封控).
    on_positive = models.SlugField(_("becomes on a positive"), max_length=20, blank=True)
    # The kind a lifted zone steps down to (high → medium → low), and its quiet days then.
    then_code = models.SlugField(_("steps down to"), max_length=20, blank=True)
    then_quiet_days = models.PositiveSmallIntegerField(_("days before the next step"), default=0)

    class Meta:
        ordering = ["edition__effective_from", "-rank"]
        verbose_name = _("zone kind")
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="zones_kind_code"),
        ]

    def __str__(self) -> str:
        return self.name


class ZoneStatus(models.TextChoices):
    ACTIVE = "active", _("In force")
    LIFTED = "lifted", _("Lifted")


class Zone(models.Model):
    """A set of places (or whole villages and grids) under one kind from a day, for a
    reason (the case or cluster). Seen at its node (the lowest one covering it), above
    it and below it: a grid worker sees the zone of their village."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    kind = models.ForeignKey(
        ZoneKind, on_delete=models.PROTECT, related_name="zones", verbose_name=_("kind")
    )
    name = models.CharField(_("name"), max_length=100)
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=8, choices=ZoneStatus.choices, default=ZoneStatus.ACTIVE
    )
    starts_on = models.DateField(_("from"))
    # When the current kind began (a step down starts a new period).
    period_from = models.DateField()
    last_positive_on = models.DateField(_("last positive"), null=True, blank=True)
    quiet_days = models.PositiveSmallIntegerField()
    round_within_days = models.PositiveSmallIntegerField()
    places = models.ManyToManyField(Place, blank=True, related_name="zones")
    nodes = models.ManyToManyField(Jurisdiction, blank=True, related_name="+")
    lifted_on = models.DateField(_("lifted on"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-kind__rank", "-starts_on", "id"]
        verbose_name = _("zone")
        indexes = [models.Index(fields=["status", "jurisdiction"], name="zones_status_node")]

    def __str__(self) -> str:
        return self.name


class ZoneEvent(models.Model):
    """A zone's history, never changed once written."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["zone_id", "id"]

    def __str__(self) -> str:
        return f"{self.zone_id} {self.action}"


class ZoneMeasure(models.Model):
    """The control order a resident got for living in a zone (its id in control, read
    through control's selectors), so lifting releases exactly those."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="measures")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    order_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Why no order was made (a stricter order runs already), in words.
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "person"], name="zones_measure_once"),
        ]

    def __str__(self) -> str:
        return f"{self.zone_id}/{self.person_id}"
