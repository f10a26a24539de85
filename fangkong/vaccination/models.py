"""Vaccination (疫苗接种): the doses residents received, as the vaccination system exports
them or as staff record them, and the contraindications that take a resident off the
mobilisation lists. A person holds each dose number once: a re-import finds it there."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet

MAX_DOSE = 4


class Source(models.TextChoices):
    IMPORT = "import", _("Vaccination system's export")
    STAFF = "staff", _("Entered by staff")


class Dose(models.Model):
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="vaccination_doses"
    )
    # The person's node when recorded, for counts by village without the registry join.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField(_("dose"))
    given_on = models.DateField(_("date"))
    product = models.CharField(_("product"), max_length=60)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["person_id", "number"]
        verbose_name = _("dose")
        constraints = [
            models.UniqueConstraint(fields=["person", "number"], name="vaccination_dose_once"),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=MAX_DOSE), name="vaccination_dose_number"
            ),
        ]
        indexes = [models.Index(fields=["given_on"], name="vaccination_dose_day")]

    def __str__(self) -> str:
        return f"{self.person_id}#{self.number}"


class Contraindication(models.Model):
    """A recorded reason not to vaccinate (a doctor's word), one per person."""

    person = models.OneToOneField(
        "people.Person", on_delete=models.CASCADE, related_name="vaccination_contraindication"
    )
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)
    noted_on = models.DateField(_("noted on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.person_id}"
