"""Writes of daily reports: a village's report refreshed and submitted (late when past
the deadline), and villages flagged missing when the deadline passes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Role
from fangkong.reports.metrics import compute
from fangkong.reports.models import DailyReport, FieldKind, ReportConfig, ReportField, ReportStatus

DEFAULT_DEADLINE = time(17, 0)


def deadline_for(node: Jurisdiction) -> time:
    """The deadline set nearest above (or at) the node; 17:00 when none is."""
    parts = node.path.strip("/").split("/")
    above = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    configs = ReportConfig.objects.filter(jurisdiction__path__in=above).select_related(
        "jurisdiction"
    )
    best = max(configs, key=lambda c: len(c.jurisdiction.path), default=None)
    return best.deadline if best else DEFAULT_DEADLINE


def deadline_at(node: Jurisdiction, day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, deadline_for(node)))


def fields() -> list[ReportField]:
    return list(ReportField.objects.filter(active=True))


def computed_values(villages: Sequence[Jurisdiction], day: date) -> dict[int, dict[str, int]]:
    """The computed fields of every village's report, keyed by field key."""
    active = [f for f in fields() if f.kind == FieldKind.COMPUTED and f.metric]
    by_metric = compute({f.metric for f in active}, villages, day)
    return {pk: {f.key: values[f.metric] for f in active} for pk, values in by_metric.items()}


def report_for(village: Jurisdiction, day: date) -> DailyReport:
    report, _created = DailyReport.objects.get_or_create(village=village, day=day)
    return report


def clean_entered(raw: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields():
        if f.kind == FieldKind.COMPUTED:
            continue
        text = str(raw.get(f.key, "")).strip()
        if f.kind == FieldKind.NUMBER:
            if text and not text.isdigit():
                errors[f.key] = _("%(field)s must be a whole number.") % {"field": f.label}
                continue
            values[f.key] = int(text or 0)  # a zero report is a report
        else:
            if len(text) > 1000:
                errors[f.key] = _("At most 1,000 characters.")
                continue
            values[f.key] = text
    return values, errors


@transaction.atomic
def report_submit(
    *, actor: User, village: Jurisdiction, day: date, entered: Mapping[str, str],
    now: datetime | None = None,
) -> DailyReport:  # fmt: skip
    """Confirm the day's computed numbers and the typed fields. After the deadline the
    report still counts, marked late; a correction later keeps the first time."""
    now = now or timezone.now()
    values, errors = clean_entered(entered)
    if errors:
        raise ValidationError(errors)
    report = DailyReport.objects.select_for_update().filter(pk=report_for(village, day).pk).get()
    values = computed_values([village], day)[village.pk] | values
    first = report.submitted_at is None
    report.values = values
    report.status = ReportStatus.SUBMITTED
    if first:
        report.submitted_at, report.submitted_by = now, actor
        report.late = now > deadline_at(village, day)
    report.version += 1
    report.save()
    return report


def flag_missing(now: datetime | None = None) -> int:
    """Villages past today's deadline without a report: marked missing, their cadres and
    the command post's channels told once. Run every few minutes by the scheduler."""
    from fangkong.notify.services import deliver, notice_send, routes

    now = now or timezone.now()
    day = timezone.localdate(now)
    flagged = 0
    for village in Jurisdiction.objects.filter(level=Level.VILLAGE).order_by("path"):
        if now < deadline_at(village, day):
            continue
        report = report_for(village, day)
        if report.status != ReportStatus.DRAFT:
            continue
        DailyReport.objects.filter(pk=report.pk, status=ReportStatus.DRAFT).update(
            status=ReportStatus.MISSING)  # fmt: skip
        flagged += 1
        cadres = Membership.objects.filter(jurisdiction=village, role=Role.VILLAGE_CADRE)
        with override("zh-hans"):
            title = _("%(village)s has not sent today's daily report") % {"village": village.name}
            body = _("The deadline was %(deadline)s. Send it now; it will be marked late.") % {
                "deadline": deadline_for(village).strftime("%H:%M")}  # fmt: skip
            notice_send(user_ids=cadres.values_list("user_id", flat=True), title=title,
                        body=body, url="/reports/daily/", key=f"late-report:{day}")  # fmt: skip
            deliver(channels=routes("late_report", village.path), title=title, body=body,
                    event="late_report", key=f"late-report:{village.pk}:{day}")  # fmt: skip
    return flagged
