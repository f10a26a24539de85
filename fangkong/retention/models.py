"""How long each kind of record is kept, when the epidemic's purpose ended, and what each
purge did.

The data was collected for epidemic control only (PIPL Art. 13 (四)); Art. 19 and 47
ask for it to be kept no longer than that purpose needs and deleted on the processor's
own initiative. The periods are rules as data, shipped by a migration and changed by a
manager of the whole tree; `services.purge_run` applies them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordKind(models.TextChoices):
    RETURNEE_REPORTS = "returnee_reports", _("Returnee reports and their measures")
    PUSHED_ROWS = "pushed_rows", _("Rows of lists pushed from above")
    SWEEP_ANSWERS = "sweep_answers", _("Answers recorded in door-knocking sweeps")
    ORDER_DETAILS = "order_details", _("Results, notes and photos of closed work orders")
    MESSAGES = "messages", _("Inbox notices and sent messages")
    IMPORT_JOBS = "import_jobs", _("Import jobs and their error reports")
    PLACE_SCANS = "place_scans", _("Place-code scans and their visitors")
    RESIDENTS_LEFT = "residents_left", _("Residents who moved out or died")
    RESIDENTS = "residents", _("All residents and landlords, once the epidemic has ended")


class RetentionRule(models.Model):
    """Keep records of `kind` for `days` after the date they count from (see
    `kinds.KINDS`); once the epidemic's purpose has ended, for at most `days` after that
    end, whatever they count from."""

    kind = models.CharField(_("records"), max_length=20, choices=RecordKind.choices, unique=True)
    days = models.PositiveIntegerField(_("days kept"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("retention period")

    def __str__(self) -> str:
        return f"{self.kind}: {self.days} d"


class Purpose(models.Model):
    """The purpose the personal data serves — this epidemic's control — and the day it
    ended (one row). Until a manager of the whole tree records the end, the registry is
    kept; after it, every kind goes once its period has run from that day."""

    ended_on = models.DateField(_("the epidemic's control ended on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"ended {self.ended_on}" if self.ended_on else "ongoing"


class PurgeStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PurgeRun(models.Model):
    """The purge report: when, by whom, and how many records of each kind were (or, in
    a dry run, would be) anonymised or deleted. Counts only, nothing personal."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    actor_name = models.CharField(_("by"), max_length=150)
    status = models.CharField(
        _("status"), max_length=8, choices=PurgeStatus.choices, default=PurgeStatus.RUNNING
    )
    # {kind: records}; for a dry run, what would go.
    counts = models.JSONField(default=dict)
    # Follow-on work in numbers: texts scrubbed, audit records redacted, photos deleted.
    detail = models.JSONField(default=dict)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"purge {self.started_at:%Y-%m-%d %H:%M}{' (dry run)' if self.dry_run else ''}"

    @property
    def total(self) -> int:
        return sum(int(n) for n in self.counts.values())
