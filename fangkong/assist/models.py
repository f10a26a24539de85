"""Requests from households (居民求助): residents of sealed zones and people under home
isolation ask for supplies, medicine, medical care or other help — by their personal
link, by phone to the village (entered by staff) or through the grid worker at the door.
Each becomes a work order to the village's service team with the response target of
its kind (`RequestKind`, data); the green channel's kinds tell the town's medical group
at once and record the hand-over to 120 or a hospital."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class RequestKind(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=40)
    # The green channel (acute illness, dialysis, pregnancy, chemotherapy, emergencies).
    green = models.BooleanField(_("green channel"), default=False)
    target_minutes = models.PositiveIntegerField(_("response target (minutes)"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-green", "position"]
        verbose_name = _("kind of request")

    def __str__(self) -> str:
        return self.name


class GreenTag(models.Model):
    """A registry tag (people.Tag) whose people's requests all go by the green channel
    (dialysis patients, pregnant women, elders living alone ...), and the response
    target they get at most."""

    tag = models.CharField(_("registry tag"), max_length=20, unique=True)
    target_minutes = models.PositiveIntegerField(_("response target (minutes)"), default=30)

    class Meta:
        verbose_name = _("green-channel group")

    def __str__(self) -> str:
        return self.tag


class Channel(models.TextChoices):
    LINK = "link", _("Personal link")
    PHONE = "phone", _("By phone to the village")
    DOOR = "door", _("Grid worker at the door")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SERVED = "served", _("Served")
    HANDED_OVER = "handed_over", _("Handed over")


class Handover(models.TextChoices):
    AMBULANCE = "120", _("120 ambulance")
    HOSPITAL = "hospital", _("Hospital")


class HelpRequest(models.Model):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # The person's node when asked: where the request is seen and served from.
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    kind = models.ForeignKey(RequestKind, on_delete=models.PROTECT, verbose_name=_("kind"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    detail = models.CharField(_("what is needed"), max_length=500, blank=True)
    # By the green channel: a green kind, or a person of a green-channel group.
    green = models.BooleanField(_("green channel"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(_("respond by"))
    served_at = models.DateTimeField(_("served at"), null=True, blank=True)
    handover = models.CharField(
        _("handed over to"), max_length=10, choices=Handover.choices, blank=True
    )
    handover_at = models.DateTimeField(null=True, blank=True)
    handover_note = models.CharField(max_length=200, blank=True)
    # A phone retrying a submit makes one request.
    client_id = models.UUIDField(unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["status", "due_at", "id"]
        verbose_name = _("household request")
        indexes = [models.Index(fields=["jurisdiction", "created_at"], name="assist_node_time")]

    def __str__(self) -> str:
        return f"{self.kind_id} {self.person_id}"

    @property
    def answered_at(self) -> datetime | None:
        """When it was answered: served at the door, or handed over."""
        return self.served_at or self.handover_at


# Supplies keep their models in their own module.
from fangkong.assist.models_care import CareCheck, CareEntry, CareOutcome, Meal  # noqa: E402, F401
from fangkong.assist.models_supplies import (  # noqa: E402, F401
    Item,
    Move,
    MoveKind,
    Package,
    Receipt,
    Stock,
    Store,
)
