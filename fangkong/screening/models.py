"""Screening: returnee reports (报备), the measures decided for people, and the public
form's rate limits. Pushed lists and door-knocking sweeps come in later steps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.fields import EncryptedTextField
from fangkong.core.masking import MaskedIdentity, mask_name, mask_phone
from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet
from fangkong.policy.models import Category, Place


class Mode(models.TextChoices):
    CAR = "car", _("Car")
    TRAIN = "train", _("Train")
    FLIGHT = "flight", _("Flight")
    BOAT = "boat", _("Boat")
    BUS = "bus", _("Coach or bus")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    SELF = "self", _("Self-report")
    STAFF = "staff", _("Registered by staff")
    SWEEP = "sweep", _("Found in a door-knocking sweep")
    PUSHED = "pushed", _("Pushed list")


class ReportStatus(models.TextChoices):
    NEW = "new", _("Awaiting verification")
    VERIFIED = "verified", _("Verified")
    NOT_IN_TOWN = "not_in_town", _("Not in town")
    WRONG = "wrong", _("Wrong information")
    DUPLICATE = "duplicate", _("Possible duplicate")


class Vaccination(models.IntegerChoices):
    NONE = 0, _("Not vaccinated")
    ONE = 1, _("1 dose")
    TWO = 2, _("2 doses")
    THREE = 3, _("3 doses (booster)")
    FOUR = 4, _("4 doses")


class ReturneeReport(MaskedIdentity, models.Model):
    """Someone who arrived from elsewhere: reported by themselves on the public form, by a
    grid worker on their behalf, or found in a sweep.

    The ID number and phone are encrypted with keyed hashes beside them, as on persons.
    `code` is the confirmation code the resident keeps; with their phone it shows them
    this report and nothing else.
    """

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("destination")
    )
    name = models.CharField(_("name"), max_length=30)
    id_number = EncryptedTextField(_("ID number"))
    id_number_hash = models.CharField(max_length=64, db_index=True)
    phone = EncryptedTextField(_("phone"))
    phone_hash = models.CharField(max_length=64, db_index=True)
    origin_code = models.CharField(_("came from (code)"), max_length=12)
    origin_place = models.CharField(_("compound or building"), max_length=100, blank=True)
    origin_label = models.CharField(_("came from"), max_length=200)
    left_on = models.DateField(_("left there on"))
    arrived_on = models.DateField(_("arrived on"), db_index=True)
    mode = models.CharField(_("travel mode"), max_length=8, choices=Mode.choices)
    vehicle = models.CharField(_("plate, train or flight number"), max_length=20, blank=True)
    address = models.CharField(_("address here"), max_length=120)
    symptoms = models.BooleanField(_("fever or other symptoms"), default=False)
    symptoms_note = models.CharField(_("which symptoms"), max_length=100, blank=True)
    vaccination = models.PositiveSmallIntegerField(
        _("vaccination"), choices=Vaccination.choices, default=Vaccination.NONE
    )
    code = models.CharField(max_length=12, unique=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.SELF)
    status = models.CharField(
        _("status"), max_length=12, choices=ReportStatus.choices, default=ReportStatus.NEW
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    person = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resident"),
    )
    # The engine's proposal, kept as it was made (edition, category, periods, reason).
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    proposed_place = models.CharField(_("proposed measure"), max_length=16, choices=Place.choices)
    decision = models.JSONField(default=dict)
    order = models.ForeignKey(
        "workorders.WorkOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("returnee report")

    def __str__(self) -> str:
        return mask_name(self.name)

    # What a work order about this report shows and calls (see workorders.selectors).
    def order_card(self) -> tuple[str, list[str], str, bool, str]:
        lines = [
            f"{self.origin_label} → {self.arrived_on:%Y-%m-%d} · {self.get_mode_display()} "
            f"{self.vehicle}".strip(),
            f"{self.address}",
            str(self.decision.get("reason", "")),
        ]
        return self.name, lines, self.phone_masked, bool(self.phone), f"/screening/r/{self.pk}/"

    def order_phone(self) -> str:
        return str(self.phone)


class MeasureStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    VERIFIED = "verified", _("Verified")


class PersonMeasure(models.Model):
    """A control measure decided for someone, with the rule that called for it. Full
    control orders with daily follow-ups come later; the decision is recorded now."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="measures"
    )
    report = models.ForeignKey(
        ReturneeReport, null=True, blank=True, on_delete=models.CASCADE, related_name="measures"
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    place = models.CharField(_("measure"), max_length=16, choices=Place.choices)
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    edition = models.CharField(_("edition"), max_length=40, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    status = models.CharField(max_length=10, choices=MeasureStatus.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.category} {self.place}"


class VerifyDeadline(models.Model):
    """How soon the responsible grid worker must verify a report in person, by the
    proposed category (rules as data: 2 hours for high-risk origins by default).

    Rows without a scope are the installation's table, kept by the top of the tree; a
    town's own rows override it inside the town (the nearest scope wins)."""

    scope = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    hours = models.DecimalField(max_digits=5, decimal_places=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category"],
                condition=models.Q(scope__isnull=True),
                name="verify_deadline_default",
            ),
            models.UniqueConstraint(fields=["scope", "category"], name="verify_deadline_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.hours} h"


class PublicHit(models.Model):
    """Fixed-window counters for the public pages (per hashed client address and per
    target), in the database so every web process shares them."""

    key = models.CharField(max_length=100)
    slot = models.CharField(max_length=20)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "slot"], name="public_hit_key")]

    def __str__(self) -> str:
        return f"{self.key}@{self.slot}: {self.count}"


class PushedCategory(models.TextChoices):
    RED_CODE = "red_code", _("Red code")
    YELLOW_CODE = "yellow_code", _("Yellow code")
    COMPANION = "companion", _("Spatiotemporal companion (时空伴随)")
    RISK_ARRIVAL = "risk_arrival", _("Arrival from a risk area")
    PLACE_CODE = "place_code", _("Place-code feedback")
    OTHER = "other", _("Other")


class PushedList(models.Model):
    """A list pushed down from above (上级推送): kept as received, so the feedback goes
    back in the sender's own layout with the results beside each row."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("received by")
    )
    name = models.CharField(_("name"), max_length=120)
    source = models.CharField(_("pushed by"), max_length=120)
    category = models.CharField(_("category"), max_length=14, choices=PushedCategory.choices)
    deadline = models.DateTimeField(_("deadline"))
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    headers = models.JSONField(default=list)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How the columns were read (field -> column index), as the uploader mapped them.
    columns = models.JSONField(default=dict, blank=True)
    # The background import that fills the rows (none for lists imported in one step).
    import_job = models.ForeignKey(
        "people.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "sha256"], name="pushed_list_once")
        ]

    def __str__(self) -> str:
        return self.name


class RowMatch(models.TextChoices):
    MATCHED = "matched", _("Matched")
    AMBIGUOUS = "ambiguous", _("Needs confirmation")
    UNMATCHED = "unmatched", _("Not found in the registry")
    LOCATED = "located", _("Located by hand")


class PushedRow(models.Model):
    """One row of a pushed list, its match to a resident and its verification."""

    pushed = models.ForeignKey(PushedList, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    # The row's cells as received (JSON), encrypted: they hold ID numbers and phones.
    cells = EncryptedTextField()
    name = models.CharField(_("name"), max_length=50, blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True)
    match = models.CharField(_("match"), max_length=10, choices=RowMatch.choices)
    score = models.FloatField(default=0)
    reasons = models.CharField(max_length=200, blank=True)
    # The matcher's rules behind the match (or the best candidate), language-independent:
    # the row's page words them in the reader's language.
    rules = models.JSONField(default=list, blank=True)
    candidates = models.JSONField(default=list, blank=True)  # [person id, score, reasons]
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The resident's grid once matched; until then the village the address names, or
    # the list's own node: whoever must locate the row sees it.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        "workorders.WorkOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(_("result"), max_length=24, blank=True)
    where = models.CharField(_("where now"), max_length=100, blank=True)
    measure = models.CharField(_("measure"), max_length=16, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["pushed_id", "row_number"]
        indexes = [models.Index(fields=["pushed", "jurisdiction"], name="pushed_row_node")]

    def __str__(self) -> str:
        return f"{self.pushed_id}#{self.row_number} {mask_name(self.name)}"

    @property
    def why(self) -> str:
        """Why the row was matched (or its best candidate found), in the reader's language."""
        from fangkong.people.matching import describe

        return describe(self.rules) if self.rules else self.reasons

    def order_card(self) -> tuple[str, list[str], str, bool, str]:
        from fangkong.people.models import Person

        person = Person.objects.filter(pk=self.person_id or 0).select_related("household").first()
        lines = [f"{self.pushed.name} · {self.pushed.get_category_display()}"]
        if person is not None and person.household_id:
            lines.append(person.household.address)  # type: ignore[union-attr]
        phone = person.phone if person else ""
        return (self.name, lines, mask_phone(phone), bool(phone), f"/screening/rows/{self.pk}/")

    def order_phone(self) -> str:
        from fangkong.people.models import Person

        person = Person.objects.filter(pk=self.person_id or 0).first()
        return str(person.phone) if person else ""


class Sweep(models.Model):
    """A door-knocking sweep (敲门行动): every household of the scope visited by its grid
    worker between two dates, with the sweep's own questions."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("organised by")
    )
    name = models.CharField(_("name"), max_length=120)
    scope = models.ManyToManyField(Jurisdiction, related_name="+", verbose_name=_("scope"))
    # [{"key", "label", "kind": bool|int|text|choice, "choices": [[v, label]], "per":
    # person|household}]: the visit form is built from this.
    questions = models.JSONField(default=list)
    arrival_days = models.PositiveSmallIntegerField(_("arrivals of the last (days)"), default=14)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]

    def __str__(self) -> str:
        return self.name


class VisitOutcome(models.TextChoices):
    NOT_REACHED = "", _("Not reached yet")
    VISITED = "visited", _("Visited")
    NOBODY_HOME = "nobody_home", _("Nobody home")
    REFUSED = "refused", _("Refused to open")


class SweepVisit(models.Model):
    """Where one household stands in a sweep: made for every household when the sweep
    starts, so coverage and the households not yet reached are plain counts."""

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="visits")
    household = models.ForeignKey("people.Household", on_delete=models.CASCADE, related_name="+")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        "workorders.WorkOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=VisitOutcome.choices, blank=True, default=""
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    registered = models.PositiveSmallIntegerField(default=0)  # members when the sweep began
    persons_seen = models.PositiveSmallIntegerField(default=0)
    answers = models.JSONField(
        default=dict, blank=True
    )  # {"household": {...}, "<person id>": {...}}
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    visited_at = models.DateTimeField(null=True, blank=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["sweep_id", "jurisdiction_id", "household_id"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "household"], name="sweep_household_once")
        ]
        indexes = [
            models.Index(fields=["sweep", "jurisdiction", "outcome"], name="sweep_visit_cov")
        ]

    def __str__(self) -> str:
        return f"{self.sweep_id}/{self.household_id}: {self.outcome or '-'}"
