"""Control (管控): control orders for people, their tests and daily health checks, the
isolation sites with their rooms, and the closed-loop transfers between places.

A control order is one period under one measure (7 days centralised, then 3 days of
home health monitoring are two orders, the second `planned` until the first is
released). One order per person is `active` at a time, enforced by the database.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction, StaffProfile
from fangkong.org.scoping import ScopedQuerySet


class OrderType(models.TextChoices):
    CENTRAL = "central", _("Centralised isolation (集中隔离)")
    HOME_ISOLATION = "home_isolation", _("Home isolation (居家隔离)")
    HOME_MONITORING = "home_monitoring", _("Home health monitoring (居家健康监测)")
    # A controlled zone's measure (人不出区): no one leaves the area.
    AREA_STAY = "area_stay", _("Stay in the area (人不出区)")
    DAILY_MONITORING = "daily_monitoring", _("Daily health monitoring")
    TESTS_3D2 = "tests_3d2", _("2 tests in 3 days (三天两检)")


# How strict an order is: a stricter order supersedes a milder one, never the reverse.
TYPE_RANK = {
    OrderType.CENTRAL: 6,
    OrderType.HOME_ISOLATION: 5,
    OrderType.HOME_MONITORING: 4,
    OrderType.AREA_STAY: 3,
    OrderType.TESTS_3D2: 2,
    OrderType.DAILY_MONITORING: 1,
}
# Types whose people stay at an isolation site rather than at home.
AT_SITE = frozenset({OrderType.CENTRAL})


class OrderSource(models.TextChoices):
    REPORT = "report", _("Returnee report")
    PUSHED = "pushed", _("Pushed list")
    CONTACT = "contact", _("A case's contact")
    POSITIVE = "positive", _("Positive test")
    MANUAL = "manual", _("By hand")
    RECHECK = "recheck", _("Re-check after the rules changed")
    ZONE = "zone", _("Living in a zone")


class OrderStatus(models.TextChoices):
    PLANNED = "planned", _("Planned (follows the current order)")
    ACTIVE = "active", _("Active")
    SUPERSEDED = "superseded", _("Superseded")
    RELEASED = "released", _("Released")
    TRANSFERRED = "transferred", _("Transferred")


class SiteKind(models.TextChoices):
    HOTEL = "hotel", _("Hotel")
    DORMITORY = "dormitory", _("Dormitory")
    HOSPITAL = "hospital", _("Designated hospital")


class IsolationSite(models.Model):
    """A hotel, dormitory or designated hospital run by a town (its node)."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("run by")
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=SiteKind.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    # The people working at the site (its manager, doctors, security): staff of the
    # site's area, named on the site's page and in its daily count.
    staff = models.ManyToManyField(
        StaffProfile, blank=True, related_name="isolation_sites", verbose_name=_("staff")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "name"]
        verbose_name = _("isolation site")

    def __str__(self) -> str:
        return self.name


class RoomState(models.TextChoices):
    FREE = "free", _("Free")
    OCCUPIED = "occupied", _("Occupied")
    CLEANING = "cleaning", _("To be cleaned")


class IsolationRoom(models.Model):
    site = models.ForeignKey(IsolationSite, on_delete=models.CASCADE, related_name="rooms")
    number = models.CharField(_("room"), max_length=20)
    capacity = models.PositiveSmallIntegerField(_("beds"), default=1)
    state = models.CharField(
        _("state"), max_length=10, choices=RoomState.choices, default=RoomState.FREE
    )
    # The household the room holds: one person or one family per room (families together).
    household = models.ForeignKey(
        "people.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=0)

    scope_path = "site__jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["site_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="control_room_number"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="control_room_capacity"),
        ]

    def __str__(self) -> str:
        return f"{self.site.name} {self.number}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.site.jurisdiction


class ControlOrder(models.Model):
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="control_orders"
    )
    # The person's node when the order was made: where it is seen and worked from.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(_("type"), max_length=20, choices=OrderType.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.ACTIVE
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("planned end"))
    room = models.ForeignKey(
        IsolationRoom,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("room"),
    )
    household = models.ForeignKey(
        "people.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("household"),
    )
    source = models.CharField(_("source"), max_length=10, choices=OrderSource.choices)
    measure = models.ForeignKey(
        "screening.PersonMeasure",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="control_orders",
    )
    edition = models.CharField(_("edition"), max_length=40, blank=True)
    category = models.CharField(_("category"), max_length=20, blank=True)
    # A contact's last exposure to the case: what a change of the rules re-decides their
    # order from (a contact has no arrival to re-read).
    exposed_on = models.DateField(_("last exposure"), null=True, blank=True)
    # Days of the period (1 = starts_on) on which a sample is taken.
    test_days = models.JSONField(_("test days"), default=list, blank=True)
    checks_per_day = models.PositiveSmallIntegerField(_("health checks a day"), default=2)
    reason = models.TextField(_("reason"), blank=True)
    # The order this one follows in a chain (7 days centralised → 3 days at home) or
    # supersedes; the history of a person reads along these links.
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="followers"
    )
    # 四包一: the cadre, grid worker, doctor and police officer answering for the person.
    cadre = models.ForeignKey(
        StaffProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    grid_worker = models.ForeignKey(
        StaffProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    doctor = models.ForeignKey(
        StaffProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    police = models.ForeignKey(
        StaffProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_proposed_on = models.DateField(null=True, blank=True)
    released_on = models.DateField(_("released on"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The release notice's public check code (the QR code): random, unguessable.
    notice_code = models.CharField(max_length=24, null=True, blank=True, unique=True)
    version = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["starts_on", "id"]
        verbose_name = _("control order")
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status="active"),
                name="control_one_active_order_per_person",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="control_order_dates"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "ends_on"], name="control_status_end"),
            models.Index(fields=["jurisdiction", "status"], name="control_node_status"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.type} {self.starts_on}–{self.ends_on}"

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    def day_number(self, day: date) -> int:
        """Day N of the period (1 on starts_on)."""
        return (day - self.starts_on).days + 1


class ControlEvent(models.Model):
    """An order's history, never changed once written."""

    order = models.ForeignKey(ControlOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action}"


class SampleResult(models.TextChoices):
    PENDING = "pending", _("Pending")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")


class ControlTest(models.Model):
    """One required test of an order, on its day, and the sampling order that takes it."""

    order = models.ForeignKey(ControlOrder, on_delete=models.CASCADE, related_name="tests")
    day = models.PositiveSmallIntegerField(_("day"))
    on = models.DateField(_("date"))
    result = models.CharField(
        _("result"), max_length=10, choices=SampleResult.choices, default=SampleResult.PENDING
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["order", "day"], name="control_test_day"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} D{self.day} {self.result}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        # A sampling work order is about this test and lives where the order does.
        return self.order.jurisdiction


class HealthCheck(models.Model):
    """A daily health check, by staff or by the person through their link; append-only,
    idempotent by the client's id (a phone retrying a submit makes one check)."""

    order = models.ForeignKey(ControlOrder, on_delete=models.CASCADE, related_name="checks")
    taken_at = models.DateTimeField(_("taken at"))
    day = models.DateField(db_index=True)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    alarm = models.BooleanField(default=False)
    by_self = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_id = models.UUIDField(unique=True)

    class Meta:
        ordering = ["order_id", "taken_at"]
        indexes = [models.Index(fields=["order", "day"], name="control_check_day")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.taken_at} {self.temperature}"


class TransferStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")


class Transfer(models.Model):
    """A closed-loop transfer (转运) from a pick-up point to a site or hospital: left
    when the escort confirms departure, arrived when the receiving end confirms."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    pickup = models.CharField(_("pick-up"), max_length=200)
    destination = models.ForeignKey(
        IsolationSite, on_delete=models.PROTECT, related_name="transfers"
    )
    vehicle = models.CharField(_("vehicle"), max_length=20)
    driver = models.CharField(_("driver"), max_length=50)
    escort = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=12, choices=TransferStatus.choices, default=TransferStatus.PLANNED
    )
    departed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.vehicle} → {self.destination_id}"


class Passenger(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="passengers")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        ControlOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    room = models.ForeignKey(
        IsolationRoom, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "person"], name="control_passenger_once")
        ]

    def __str__(self) -> str:
        return f"{self.transfer_id} {self.person_id}"


# The re-check when the rules change keeps its models in their own module.
from fangkong.control.models_recheck import (  # noqa: E402, F401
    ProposalKind,
    ProposalStatus,
    RecheckProposal,
    RecheckRun,
    RunStatus,
)
