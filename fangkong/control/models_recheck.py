"""The re-check when the rules change: each run, and the changes it proposes for one
person, waiting in the town commander's review list (docs/architecture.md, Control).

A proposal is only a proposal: nothing changes until a holder of `control.release`
accepts it, and accepting goes through the control services (history kept, audited).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.org.models import Jurisdiction
from fangkong.org.scoping import ScopedQuerySet


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RecheckRun(models.Model):
    """One re-check: the changes of the rules that called for it (coalesced while it
    waits in the queue), the day it judged by, and what it found."""

    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # [{"kind": "area"|"edition"|"scan", "label": ..., "action": ..., "codes": [...], "edition": ...}]
    changes = models.JSONField(default=list)
    as_of = models.DateField(null=True, blank=True)
    checked = models.PositiveIntegerField(default=0)
    groups = models.PositiveIntegerField(default=0)
    proposed = models.PositiveIntegerField(default=0)
    outdated = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"recheck {self.pk} {self.status}"


class ProposalKind(models.TextChoices):
    NEW = "new", _("New control order")
    STRICTER = "stricter", _("Stricter order")
    EXTEND = "extend", _("Longer order")
    SHORTEN = "shorten", _("Shorter order")
    MILDER = "milder", _("Milder order")
    END = "end", _("End the order early")


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    ACCEPTED = "accepted", pgettext_lazy("proposal", "Accepted")
    REJECTED = "rejected", _("Rejected")
    OUTDATED = "outdated", _("Outdated by a later re-check")


class RecheckProposal(models.Model):
    """What a re-check proposes for one person: a new order, or a change to their
    active order (longer, shorter, stricter, milder, ended), with the reason in words.

    `fingerprint` is what was proposed (kind, order and its version, type, dates): the
    same proposal is never made twice for a person, whatever happened to the first
    (a rejected one stays rejected)."""

    # No index of their own on the node and the person: (node, status) and (person,
    # fingerprint) lead with them, and a run writes hundreds of thousands of rows.
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    report = models.ForeignKey(
        "screening.ReturneeReport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    order = models.ForeignKey(
        "control.ControlOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recheck_proposals",
    )
    # The order's version when proposed: accepting after someone changed it is refused.
    order_version = models.PositiveIntegerField(null=True, blank=True)
    run = models.ForeignKey(RecheckRun, on_delete=models.PROTECT, related_name="proposals")
    kind = models.CharField(_("change"), max_length=10, choices=ProposalKind.choices)
    type = models.CharField(_("type"), max_length=20, blank=True)
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    test_days = models.JSONField(default=list, blank=True)
    then_type = models.CharField(max_length=20, blank=True)
    then_days = models.PositiveSmallIntegerField(default=0)
    then_test_days = models.JSONField(default=list, blank=True)
    edition = models.CharField(_("edition"), max_length=40, blank=True)
    category = models.CharField(_("category"), max_length=20, blank=True)
    reason = models.TextField(_("reason"))
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ProposalStatus.choices,
        default=ProposalStatus.PENDING,
    )
    # Never looked up by who decided (accounts are deactivated, not deleted): no index.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_path = "jurisdiction__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("re-check proposal")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "fingerprint"], name="control_recheck_proposed_once"
            ),
            # One review list: at most one proposal per person waits at a time.
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status="pending"),
                name="control_recheck_one_pending",
            ),
        ]
        indexes = [
            models.Index(fields=["jurisdiction", "status"], name="control_recheck_node"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.status}"
