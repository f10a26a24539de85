"""Checkpoints (卡口 / 检查点) and their duty rosters: posts on roads, expressway exits,
river landings and village gates; the log of every vehicle, boat and person on foot
checked there (one row per client id, so a phone's offline queue records it once); the
shifts of each post with their crews, check-ins and the hand-over the incoming shift
acknowledges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class PostKind(models.TextChoices):
    ROAD = "road", _("Road")
    EXPRESSWAY = "expressway", _("Expressway exit")
    LANDING = "landing", _("River or boat landing")
    VILLAGE_GATE = "gate", _("Village gate")


class Post(models.Model):
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=PostKind.choices)
    # Where it stands (WGS-84), shown on the map and given to the crew.
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True)
    # Open round the clock, or from `opens_at` to `closes_at` (local time).
    all_day = models.BooleanField(_("open 24 hours"), default=True)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    # The emergency response levels (1 highest .. 4) at which the post is manned: data,
    # set per post (塘栖 opened seven more posts at level 2).
    open_levels = models.JSONField(_("opens at response levels"), default=list)
    active = models.BooleanField(_("manned now"), default=True)
    # Hears of a shift nobody checked in to.
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("post leader"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "name"]
        verbose_name = _("checkpoint")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "name"], name="post_name_unique"),
            models.CheckConstraint(
                condition=Q(all_day=True)
                | (Q(opens_at__isnull=False) & Q(closes_at__isnull=False)),
                name="post_hours_set",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Mode(models.TextChoices):
    CAR = "car", _("Vehicle")
    BOAT = "boat", _("Boat")
    FOOT = "foot", _("On foot")


class Colour(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")
    NONE = "none", _("No code shown")


class Outcome(models.TextChoices):
    PASS = "pass", _("Passed")
    TURNED_BACK = "turned_back", _("Turned back")
    TESTED = "tested", _("Tested on the spot")
    TRANSFER = "transfer", _("Handed to transfer")
    REGISTERED = "registered", _("Registered")


class Entry(models.Model):
    """One vehicle, boat or group on foot checked at a post."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="entries")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    client_id = models.UUIDField(unique=True)
    at = models.DateTimeField(_("checked at"))
    mode = models.CharField(_("mode"), max_length=4, choices=Mode.choices)
    # A licence plate (domain-rules §4.3) or a boat's registration; blank on foot.
    plate = models.CharField(_("plate or registration"), max_length=20, blank=True)
    occupants = models.PositiveSmallIntegerField(_("people"), default=1)
    origin = models.CharField(_("coming from"), max_length=60, blank=True)
    destination = models.CharField(_("heading for"), max_length=60, blank=True)
    colour = models.CharField(_("health code"), max_length=6, choices=Colour.choices)
    trip_card = models.BooleanField(_("trip card seen"), default=False)
    temperature = models.DecimalField(
        _("temperature"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    # An arrival from a risk area: the returnee report (and its verification order)
    # screening filed, and whether the rules call for a transfer.
    report = models.ForeignKey(
        "screening.ReturneeReport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    waiting_transfer = models.BooleanField(_("waiting for transfer"), default=False)
    transfer_done_at = models.DateTimeField(null=True, blank=True)
    # The control transfer the arrival was handed to (`services.entry_to_transfer`).
    transfer = models.ForeignKey(
        "control.Transfer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("checkpoint log entry")
        verbose_name_plural = _("checkpoint log")
        indexes = [models.Index(fields=["post", "at"], name="checkpoint_entry_post_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(occupants__gte=0) & Q(occupants__lte=60), name="entry_occupants"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} {self.at:%H:%M} {self.plate or self.mode}"


class Shift(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shifts")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    # The hand-over the outgoing crew leaves for this shift's crew, and its acknowledgement.
    handover_note = models.TextField(_("hand-over note"), blank=True)
    # What was still open at the hand-over (turn-backs, people waiting for transfer).
    handover_open = models.JSONField(default=list)
    handover_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handover_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The post's leader was told nobody checked in (once).
    late_alerted_at = models.DateTimeField(null=True, blank=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["post", "starts_at"]
        verbose_name = _("shift")
        constraints = [
            models.UniqueConstraint(fields=["post", "starts_at"], name="shift_post_start_unique"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} {self.starts_at:%m-%d %H:%M}"


class CrewMember(models.Model):
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="crew")
    staff = models.ForeignKey("org.StaffProfile", on_delete=models.PROTECT, related_name="+")
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)

    class Meta:
        ordering = ["shift", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shift", "staff"], name="crew_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} on {self.shift_id}"
