"""Cases and their contacts (issue 20): a case is a registry person with the dates the
look-back counts from; a contact is who a case exposed (household, declared, co-location
in place scans, a pushed 时空伴随 list), with the reason in words, and what became of it
(the control order, or the work order to find them)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.fields import EncryptedTextField
from fangkong.core.masking import mask_name, mask_phone
from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class CaseKind(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed case")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic infection")


class CaseSource(models.TextChoices):
    POSITIVE_TEST = "positive_test", _("Positive test")
    REPORT = "report", _("Report from above")
    MANUAL = "manual", _("Entered by hand")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Case(models.Model):
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("person")
    )
    # The person's node when the case was opened: the case is scoped by it.
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices)
    onset_on = models.DateField(_("onset date"), null=True, blank=True)
    sampled_on = models.DateField(_("first positive sample date"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=CaseSource.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    # The end of the look-back window: contacts count until the case was isolated.
    isolated_at = models.DateTimeField(_("isolated at"))
    contacts_found_at = models.DateTimeField(_("contacts found at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    person_id: int
    jurisdiction_id: int
    created_by_id: int | None

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("case")
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status="open"),
                name="tracing_case_one_open",
            ),
            models.CheckConstraint(
                condition=models.Q(onset_on__isnull=False) | models.Q(sampled_on__isnull=False),
                name="tracing_case_has_a_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{CaseKind(self.kind).label} {mask_name(self.person.name)}"

    @property
    def shown_name(self) -> str:
        return mask_name(self.person.name)

    @property
    def counted_from(self) -> date:
        """The day the look-back counts back from: onset, else the first positive sample
        (a case has one of them: a constraint)."""
        day = self.onset_on or self.sampled_on
        return day if day is not None else self.isolated_at.date()


class ContactHow(models.TextChoices):
    HOUSEHOLD = "household", _("Household")
    DECLARED = "declared", _("Declared")
    COLOCATION = "colocation", _("Co-location in place scans")
    PUSHED = "pushed", _("Pushed spatiotemporal list")


class ContactStatus(models.TextChoices):
    FOUND = "found", _("Found")
    CONTROLLED = "controlled", _("Under control")
    TO_FIND = "to_find", _("To be found")
    NOT_PLACED = "not_placed", _("Not placed")


class Contact(models.Model):
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("case")
    )
    degree = models.PositiveSmallIntegerField(_("degree"), default=1)
    # Who exposed a secondary contact: the close contact it met.
    via = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    person = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("person"),
    )
    # The keyed hash of the phone (the scans' person_key), when a phone is known.
    person_key = models.CharField(max_length=64, blank=True)
    name = EncryptedTextField(_("name"), blank=True)
    phone = EncryptedTextField(_("phone"), blank=True)
    # The contact's node (their grid when registered, else the case's node): work orders
    # to find them go to it.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    how = models.CharField(_("how"), max_length=20, choices=ContactHow.choices)
    reason = models.TextField(_("reason"))
    place = models.ForeignKey(
        "places.Place", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    t_in = models.DateTimeField(null=True, blank=True)
    t_out = models.DateTimeField(null=True, blank=True)
    overlap_minutes = models.IntegerField(null=True, blank=True)
    last_exposure_on = models.DateField(_("last exposure"))
    order = models.ForeignKey(
        "control.ControlOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("control order"),
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reached_at = models.DateTimeField(_("reached at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ContactStatus.choices, default=ContactStatus.FOUND
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    # The row of a pushed 时空伴随 list the contact came from (one contact per row).
    pushed_row = models.ForeignKey(
        "screening.PushedRow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    found_at = models.DateTimeField(auto_now_add=True)

    case_id: int
    via_id: int | None
    person_id: int | None
    jurisdiction_id: int
    place_id: int | None
    order_id: int | None
    work_order_id: int | None
    pushed_row_id: int | None

    scope_path = "case__jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["case", "degree", "id"]
        verbose_name = _("contact")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "person"],
                condition=models.Q(person__isnull=False),
                name="tracing_contact_person",
            ),
            models.UniqueConstraint(
                fields=["case", "person_key"],
                condition=~models.Q(person_key=""),
                name="tracing_contact_key",
            ),
            models.UniqueConstraint(
                fields=["case", "pushed_row"],
                condition=models.Q(pushed_row__isnull=False),
                name="tracing_contact_pushed_row",
            ),
        ]

    def __str__(self) -> str:
        return self.shown_name

    @property
    def shown_name(self) -> str:
        if self.person_id is not None and self.person is not None:
            return mask_name(self.person.name)
        return mask_name(self.name) or "-"

    @property
    def shown_phone(self) -> str:
        if self.person_id is not None and self.person is not None:
            return mask_phone(self.person.phone)
        return mask_phone(self.phone)


class Stay(models.Model):
    """A place and time the case declared in the interview: a registered place (then the
    co-location job counts it as the case's own visit there) or an address in words."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="stays", verbose_name=_("case")
    )
    place = models.ForeignKey(
        "places.Place",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("place"),
    )
    address = models.CharField(_("address"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    case_id: int
    place_id: int | None

    scope_path = "case__jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("declared place and time")
        constraints = [
            # The same place (or address) and times again is the same entry.
            models.UniqueConstraint(
                fields=["case", "place", "address", "started_at", "ended_at"],
                name="tracing_stay_once",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__gte=models.F("started_at")),
                name="tracing_stay_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.where} {self.started_at:%m-%d %H:%M}"

    @property
    def where(self) -> str:
        return self.place.name if self.place_id is not None and self.place else self.address
