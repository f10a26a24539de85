"""Places people visit (shops, markets, clinics, hotels, bus stops, religious venues,
enterprises and logistics firms), their place codes and the scans of those codes, the
patrols that inspect them with a checklist kept as data, findings with their
rectification orders and penalties; an enterprise's commitment letter, disinfection log
and goods checks; a venue's gatherings, decided by the response level (rules as data).

Scans are the input of tracing: `Scan` is narrow (place, the visitor's keyed hash, the
place's node path, the time) and indexed on (place, scanned_at); who a hash belongs to is
in `Visitor`, encrypted, one row per phone (ADR 0025).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.fields import EncryptedTextField
from fangkong.core.masking import mask_name, mask_phone
from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class Group(models.TextChoices):
    BUSINESS = "business", _("Business open to the public")
    ENTERPRISE = "enterprise", _("Enterprise or logistics firm")
    RELIGIOUS = "religious", _("Religious or folk-belief venue")


class PlaceCategory(models.Model):
    """A category of place (data): shops, markets, … Its group decides which pages and
    checklist items apply."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    group = models.CharField(_("group"), max_length=12, choices=Group.choices)
    key_place = models.BooleanField(_("key place for patrols"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("place category")

    def __str__(self) -> str:
        return self.name


class PlaceStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed by order")


class Place(models.Model):
    """A place with its public code (printed as a QR poster). The manager is a staff
    user or a named person; the owner is named."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    category = models.ForeignKey(
        PlaceCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    owner = models.CharField(_("owner"), max_length=100, blank=True)
    manager_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("manager (staff)"),
    )
    manager_name = models.CharField(_("manager"), max_length=60, blank=True)
    manager_phone = EncryptedTextField(_("manager's phone"), blank=True)
    # The public code in the QR: random, so nobody walks the places by number.
    code = models.CharField(max_length=16, unique=True)
    status = models.CharField(
        _("status"), max_length=8, choices=PlaceStatus.choices, default=PlaceStatus.OPEN
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closure_reason = models.CharField(_("closure order"), max_length=300, blank=True)
    # Enterprises: their workforce and the commitment letter (承诺书).
    workforce = models.PositiveIntegerField(_("workforce"), null=True, blank=True)
    commitment_signed_on = models.DateField(_("commitment letter signed on"), null=True, blank=True)
    commitment_signer = models.CharField(_("signed by"), max_length=60, blank=True)
    commitment_text = models.TextField(_("commitment letter"), blank=True)
    # Religious venues: the responsible person contacted about the closure order.
    contacted_at = models.DateTimeField(_("responsible person contacted"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "name"]
        verbose_name = _("place")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "name"], name="places_place_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def manager_phone_masked(self) -> str:
        return mask_phone(self.manager_phone)

    @property
    def manager_shown(self) -> str:
        if self.manager_user_id is not None:
            profile = getattr(self.manager_user, "staff", None)
            return profile.name if profile else str(self.manager_user)
        return self.manager_name


class Visitor(models.Model):
    """Who a scan's key belongs to: one row per phone, name and phone encrypted; `key`
    is the keyed hash of the normalised phone (the registry's blind index)."""

    key = models.CharField(max_length=64, unique=True)
    name = EncryptedTextField(_("name"))
    phone = EncryptedTextField(_("phone"))
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("visitor")

    def __str__(self) -> str:
        return f"{mask_name(self.name)} {mask_phone(self.phone)}"


class Scan(models.Model):
    """One scan of a place code: narrow and append-only, read in bulk by tracing."""

    id = models.BigAutoField(primary_key=True)
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    person_key = models.CharField(max_length=64)
    # The place's node path when scanned: scoping and tracing read no join.
    node_path = models.CharField(max_length=255)
    scanned_at = models.DateTimeField()

    class Meta:
        verbose_name = _("scan")
        indexes = [
            models.Index(fields=["place", "scanned_at"], name="places_scan_place_at"),
            models.Index(fields=["person_key", "scanned_at"], name="places_scan_key_at"),
            models.Index(fields=["scanned_at"], name="places_scan_at"),
        ]

    def __str__(self) -> str:
        return f"scan {self.pk}"


class ChecklistItem(models.Model):
    """One point an inspector checks (data): for every group, or one group only."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("label"), max_length=100)
    group = models.CharField(_("group"), max_length=12, choices=Group.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("checklist item")

    def __str__(self) -> str:
        return self.label


class PatrolRoute(models.Model):
    """A patrol group's route: places in order, walked every `every_days` days."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    name = models.CharField(_("name"), max_length=100)
    places = models.ManyToManyField(Place, related_name="routes", verbose_name=_("places"))
    every_days = models.PositiveSmallIntegerField(_("every (days)"), default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction__path", "name"]
        verbose_name = _("patrol route")

    def __str__(self) -> str:
        return self.name


class InspectionKind(models.TextChoices):
    PATROL = "patrol", _("Patrol")
    REINSPECTION = "reinspection", _("Re-inspection")


class Inspection(models.Model):
    """An inspection at a place, its presence proven by the place code; `answers` holds
    each checklist item's code → "ok" | "fail" | "na"."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="inspections")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    route = models.ForeignKey(
        PatrolRoute, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=InspectionKind.choices)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    answers = models.JSONField(default=dict)
    note = models.CharField(_("note"), max_length=500, blank=True)
    client_id = models.UUIDField(unique=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("inspection")

    def __str__(self) -> str:
        return f"inspection {self.pk}"

    @property
    def failed(self) -> list[str]:
        return [code for code, answer in self.answers.items() if answer == "fail"]


class FindingStatus(models.TextChoices):
    OPEN = "open", _("Awaiting re-inspection")
    RECTIFIED = "rectified", _("Rectified")
    NOT_RECTIFIED = "not_rectified", _("Not rectified")


class Finding(models.Model):
    """A failed checklist item: a rectification order with a deadline, then the
    re-inspection (the order's result)."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="findings")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="findings")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("what was found"), max_length=500, blank=True)
    deadline = models.DateTimeField(_("rectify by"))
    order_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=14, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    reinspection = models.ForeignKey(
        Inspection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("finding")

    def __str__(self) -> str:
        return f"{self.place} · {self.item}"


class PenaltyKind(models.TextChoices):
    WARNING = "warning", _("Warning")
    FINE = "fine", _("Fine")
    CLOSURE = "closure", _("Closure")


class Penalty(models.Model):
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="penalties")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    finding = models.ForeignKey(
        Finding, null=True, blank=True, on_delete=models.SET_NULL, related_name="penalties"
    )
    kind = models.CharField(_("penalty"), max_length=8, choices=PenaltyKind.choices)
    fine_yuan = models.PositiveIntegerField(_("fine (yuan)"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at"]
        verbose_name = _("penalty")

    def __str__(self) -> str:
        return f"{self.place}: {self.kind}"


class Disinfection(models.Model):
    """An enterprise's daily disinfection log: one entry per place and day."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="disinfections")
    day = models.DateField(_("day"))
    areas = models.CharField(_("areas disinfected"), max_length=200)
    done_by = models.CharField(_("done by"), max_length=60)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["place", "day"], name="places_disinfect_day")
        ]

    def __str__(self) -> str:
        return f"{self.place} {self.day}"


class GoodsKind(models.TextChoices):
    COLD_CHAIN = "cold_chain", _("Cold-chain goods")
    PARCEL = "parcel", _("Express parcels")
    INTERNATIONAL = "international", _("International parcels")


class GoodsCheck(models.Model):
    """A day's check of cold-chain goods or parcels: batches, samples, all negative."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="goods_checks")
    day = models.DateField(_("day"))
    kind = models.CharField(_("goods"), max_length=14, choices=GoodsKind.choices)
    batches = models.PositiveIntegerField(_("batches"))
    sampled = models.PositiveIntegerField(_("samples taken"))
    all_negative = models.BooleanField(_("all negative"))
    disinfected = models.BooleanField(_("outer packaging disinfected"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["place", "day", "kind"], name="places_goods_day"),
        ]

    def __str__(self) -> str:
        return f"{self.place} {self.day} {self.kind}"


class GatheringKind(models.TextChoices):
    WEDDING = "wedding", _("Wedding")
    FUNERAL = "funeral", _("Funeral")
    TEMPLE_FAIR = "temple_fair", _("Temple fair")
    OTHER = "other", _("Other gathering")


class Decision(models.TextChoices):
    ALLOWED = "allowed", _("Allowed")
    LIMITED = "limited", _("Limited")
    REFUSED = "refused", _("Refused")


class GatheringRule(models.Model):
    """What a response level (1 the highest, 4 the lowest, 0 none) decides for a kind of
    gathering (data): allowed, limited to `max_people`, or refused."""

    level = models.PositiveSmallIntegerField(_("response level"))
    kind = models.CharField(_("gathering"), max_length=12, choices=GatheringKind.choices)
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    max_people = models.PositiveIntegerField(_("at most (people)"), default=0)

    class Meta:
        ordering = ["level", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["level", "kind"], name="places_gathering_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.level}/{self.kind}: {self.decision}"


class Gathering(models.Model):
    """A wedding, funeral or temple fair registered at its node (at a venue or not),
    decided by the rule of the response level in force when registered."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="gatherings"
    )
    kind = models.CharField(_("gathering"), max_length=12, choices=GatheringKind.choices)
    on = models.DateField(_("on"))
    organiser = models.CharField(_("organiser"), max_length=60)
    expected = models.PositiveIntegerField(_("people expected"))
    level = models.PositiveSmallIntegerField(_("response level"))
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    max_people = models.PositiveIntegerField(default=0)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-on", "-id"]
        verbose_name = _("gathering")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on}"

    @property
    def organiser_masked(self) -> str:
        return mask_name(self.organiser)


class LevelInForce(models.Model):
    """The response level switched at a node and when (rank: 0 none, 1 the highest), as
    the `response` app announces it (a level listener registered there: places sits
    below it and cannot ask). A gathering is decided by the level in force at its node
    on its day: the latest switch up to that day at the node or its nearest ancestor."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("response level"))
    since = models.DateTimeField()

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction_id", "-since", "-id"]
        indexes = [models.Index(fields=["jurisdiction", "since"], name="level_in_force_at")]

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} {self.rank} {self.since}"
