"""Work orders (工单): every task of a grid worker, volunteer or crew.

A work order is one piece of work for a named person at a fixed time and place (定人、
定时、定点). Domain modules register their kinds (`kinds.py`); the status machine,
dispatch, escalation and the 日清日结 counts are shared here.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.org.models import Jurisdiction, Team
from fangkong.org.roles import Role
from fangkong.org.scoping import ScopedQuerySet


class Status(models.TextChoices):
    NEW = "new", _("New (unassigned)")
    ASSIGNED = "assigned", _("Assigned")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    VERIFIED = "verified", _("Verified")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS)
DONE_STATUSES = (Status.DONE, Status.VERIFIED)


class Priority(models.IntegerChoices):
    URGENT = 1, _("Urgent")
    HIGH = 2, _("High")
    NORMAL = 3, _("Normal")
    LOW = 4, _("Low")


class WorkOrder(models.Model):
    kind = models.CharField(_("type"), max_length=40)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        on_delete=models.PROTECT,
        related_name="work_orders",
        verbose_name=_("grid"),
    )
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    # What the subject is called on lists (a person's name, an address, a place): never
    # an ID number or phone.
    subject_label = models.CharField(_("subject"), max_length=200, blank=True)
    title = models.CharField(_("instruction"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="work_orders",
        verbose_name=_("team"),
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Which list, report or rule made the order ("manual", "people:elderly_alone", ...).
    source = models.CharField(_("source"), max_length=80, blank=True)
    # One bulk dispatch; repeating it with the same batch creates nothing.
    batch = models.UUIDField(null=True, blank=True, db_index=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW
    )
    # Bumped by every change; a write names the version it saw, so two people changing
    # the same order at once cannot both silently win.
    version = models.PositiveIntegerField(default=0)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    result = models.JSONField(default=dict, blank=True)
    # The client-generated id of the result submission: a retried or double-tapped
    # submit finds the result it already made.
    result_client_id = models.UUIDField(null=True, blank=True, unique=True)
    result_lat = models.FloatField(null=True, blank=True)
    result_lng = models.FloatField(null=True, blank=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    # Not a column: True on an open order `orders_create` returned in place of a
    # duplicate it did not create.
    merged: bool = False

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="wo_assignee_status_due"),
            models.Index(fields=["status", "due_at"], name="wo_status_due"),
            models.Index(fields=["jurisdiction", "status", "due_at"], name="wo_node_status_due"),
            models.Index(fields=["subject_type", "subject_id"], name="wo_subject"),
            # The board's "due earlier today, still open": an index-only range scan.
            models.Index(
                fields=["due_at", "jurisdiction", "kind"],
                name="wo_open_due",
                condition=models.Q(status__in=[s.value for s in OPEN_STATUSES]),
            ),
            # 我的任务, the page every field worker loads most: a grid worker's open
            # orders in the page's order, so a page is 20 index entries and its counts an
            # index-only scan. Without it PostgreSQL walked wo_open_due (every open order
            # of the county by due time) filtering on the assignee: ~200 ms and 23,000
            # buffers a page at 200,000 open orders.
            models.Index(
                fields=["assignee", "due_at", "priority", "id"],
                name="wo_assignee_open_due",
                condition=models.Q(status__in=[s.value for s in OPEN_STATUSES]),
            ),
            # Its "done today" count and tab, latest first.
            models.Index(
                fields=["assignee", "done_at", "id"],
                name="wo_assignee_done",
                condition=models.Q(status__in=[s.value for s in DONE_STATUSES]),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.subject_label}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def kind_label(self) -> str:
        from fangkong.workorders.kinds import KINDS

        kind = KINDS.get(self.kind)
        return str(kind.label) if kind else self.kind

    def result_items(self) -> list[tuple[str, str]]:
        """The result as (label, shown value) pairs in the kind's field order."""
        from fangkong.workorders.kinds import KINDS

        kind = KINDS.get(self.kind)
        if kind is None:
            return [(k, str(v)) for k, v in self.result.items()]
        out = []
        for f in kind.fields:
            if f.key not in self.result:
                continue
            value = self.result[f.key]
            shown = dict(f.choices).get(value, value) if f.kind == "choice" else value
            if f.kind == "bool":
                shown = "✓" if value else "✗"
            out.append((str(f.label), str(shown)))
        return out


class Action(models.TextChoices):
    CREATED = "created", _("created")
    ASSIGNED = "assigned", _("assigned")
    REASSIGNED = "reassigned", _("reassigned")
    ACCEPTED = "accepted", _("accepted")
    STARTED = "started", _("started")
    DONE = "done", _("done")
    VERIFIED = "verified", _("verified")
    RETURNED = "returned", _("returned for rework")
    CANCELLED = "cancelled", _("cancelled")
    COMMENTED = "commented", _("commented")
    ESCALATED = "escalated", _("escalated")
    PHOTO = "photo", _("added a photo")


class WorkOrderEvent(models.Model):
    """The order's full history, comments included; never changed after it is written."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action}"


class WorkOrderPhoto(models.Model):
    """A photo of the work, re-encoded on arrival (see `photos.py`).

    Held in the database like imports' uploads, so several web processes need no shared
    disk; at about 200 KB a photo a town's year of work stays a few gigabytes.
    """

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos")
    client_id = models.UUIDField(unique=True)
    data = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"photo {self.pk} of order {self.order_id}"


class WorkOrderTally(models.Model):
    """Pre-aggregated counts per leaf node, kind and day, kept by the services.

    `open` counts open orders due on `day`; `done` counts orders completed on `day`.
    Boards and bulletins read these instead of scanning the orders.
    """

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    day = models.DateField()
    open = models.IntegerField(default=0)
    done = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "kind", "day"], name="wo_tally_key")
        ]
        indexes = [
            models.Index(fields=["day", "jurisdiction"], name="wo_tally_day"),
            # Past days with orders still open: with the index above, the board reads a
            # bitmap of the two instead of every day of history.
            models.Index(
                fields=["jurisdiction", "kind"],
                name="wo_tally_open",
                condition=models.Q(open__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} {self.kind} {self.day}"


class EscalationRule(models.Model):
    """Rules as data: who hears of an overdue order, and after how long."""

    level = models.PositiveSmallIntegerField(_("level"), unique=True)
    hours_overdue = models.DecimalField(_("hours overdue"), max_digits=5, decimal_places=2)
    notify_role = models.CharField(_("notify"), max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["level"]
        verbose_name = _("escalation rule")

    def __str__(self) -> str:
        return f"{self.level}: {self.notify_role} after {self.hours_overdue} h"


class DispatchCursor(models.Model):
    """Where a team's round-robin stands."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.team_id}@{self.position}"
