"""The vulnerable-people register (重点人群关爱): elders living alone, disabled people,
dialysis and chemotherapy patients, pregnant women, infants and people with chronic
illness — found by the registry's tags and birth dates, and entered here with a named
contact person (包联干部, a staff member holding assist.enter at the person's node) and
their needs. While they are in a zone or under control at home their contact checks on
them every day (`CareCheck`, a work order on the contact's phone) and their requests go
by the green channel. Elders on the meal list get a meal a day (`Meal`), one per elder
per day whatever a retrying phone sends, drawn from a store's stock."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.fields import EncryptedTextField
from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class CareEntry(models.Model):
    person = models.OneToOneField("people.Person", on_delete=models.PROTECT, related_name="+")
    # The person's node (kept with the person's): where the entry is seen and changed.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact person"),
    )
    # Health and living needs: personal data, encrypted at rest.
    needs = EncryptedTextField(_("needs"), blank=True)
    # On the village's meal list (elders served a meal a day).
    meals = models.BooleanField(_("on the meal list"), default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("vulnerable-people register entry")

    def __str__(self) -> str:
        return f"care {self.person_id}"


class CareOutcome(models.TextChoices):
    WELL = "well", _("Well")
    NEEDS_HELP = "needs_help", _("Needs help")
    NOT_REACHED = "not_reached", _("Not reached")


class CareCheck(models.Model):
    """The contact's check of one day: one per person per day."""

    entry = models.ForeignKey(CareEntry, on_delete=models.CASCADE, related_name="checks")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    work_order = models.ForeignKey(
        "workorders.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=CareOutcome.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "day"], name="assist_care_check_daily")
        ]

    def __str__(self) -> str:
        return f"check {self.entry_id} {self.day}"


class Meal(models.Model):
    """A meal handed to an elder of the meal list: one per elder per day."""

    entry = models.ForeignKey(CareEntry, on_delete=models.PROTECT, related_name="+")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(
        "assist.Store", on_delete=models.PROTECT, related_name="meals", verbose_name=_("store")
    )
    day = models.DateField()
    client_id = models.UUIDField(unique=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    given_at = models.DateTimeField()

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "id"]
        constraints = [models.UniqueConstraint(fields=["entry", "day"], name="assist_meal_daily")]

    def __str__(self) -> str:
        return f"meal {self.entry_id} {self.day}"
