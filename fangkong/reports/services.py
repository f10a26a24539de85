"""Writes of daily reports: a village's report refreshed and submitted (late when past
the deadline), and villages flagged missing when the deadline passes. A special team's
report (teams.py) is submitted, flagged and shown through the same steps here."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Role
from fangkong.org.scoping import ancestor_paths, nearest_in
from fangkong.reports.metrics import compute
from fangkong.reports.models import (
    DailyReport,
    DayReport,
    FieldKind,
    ReportConfig,
    ReportField,
    ReportStatus,
)

DEFAULT_DEADLINE = time(17, 0)

R = TypeVar("R", bound=DayReport)


def due_at(day: date, at: time) -> datetime:
    """The instant a deadline (a wall-clock time of the town) falls on `day`."""
    return timezone.make_aware(datetime.combine(day, at))


class Deadlines:
    """The deadlines set at nodes, read once: any node's deadline is the one set nearest
    above it (17:00 when none is). Jobs and pages covering many villages share one."""

    def __init__(self, paths: Sequence[str] | None = None) -> None:
        configs = ReportConfig.objects.select_related("jurisdiction")
        if paths is not None:
            configs = configs.filter(jurisdiction__path__in=paths)
        self.by_path = {c.jurisdiction.path: c.deadline for c in configs}

    def time_for(self, path: str) -> time:
        return nearest_in(path, self.by_path) or DEFAULT_DEADLINE

    def due(self, path: str, day: date) -> datetime:
        return due_at(day, self.time_for(path))


def deadline_for(node: Jurisdiction) -> time:
    """The deadline set nearest above (or at) the node; 17:00 when none is."""
    return Deadlines(ancestor_paths(node.path)).time_for(node.path)


def deadline_at(node: Jurisdiction, day: date) -> datetime:
    return Deadlines(ancestor_paths(node.path)).due(node.path, day)


def village_fields() -> QuerySet[ReportField]:
    """The villages' report's fields (a special team's are in its `TeamFieldSet`)."""
    return ReportField.objects.filter(field_set=None)


def fields() -> list[ReportField]:
    return list(village_fields().filter(active=True))


def computed_values(villages: Sequence[Jurisdiction], day: date) -> dict[int, dict[str, int]]:
    """The computed fields of every village's report, keyed by field key."""
    active = [f for f in fields() if f.kind == FieldKind.COMPUTED and f.metric]
    by_metric = compute({f.metric for f in active}, villages, day)
    return {pk: {f.key: values[f.metric] for f in active} for pk, values in by_metric.items()}


def report_for(village: Jurisdiction, day: date) -> DailyReport:
    report, _created = DailyReport.objects.get_or_create(village=village, day=day)
    return report


def clean_entered(
    raw: Mapping[str, str], of: Sequence[ReportField] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed fields of `of` (default: the villages' report), each error by key."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields() if of is None else of:
        if f.kind == FieldKind.COMPUTED:
            continue
        text = str(raw.get(f.key, "")).strip()
        if f.kind == FieldKind.NUMBER:
            if text and not re.fullmatch(r"[0-9]{1,9}", text):
                errors[f.key] = _("%(field)s must be a whole number (at most 9 digits).") % {
                    "field": f.label
                }
                continue
            values[f.key] = int(text or 0)  # a zero report is a report
        else:
            if len(text) > 1000:
                errors[f.key] = _("At most 1,000 characters.")
                continue
            values[f.key] = text
    return values, errors


def confirm(
    report: DayReport,
    *,
    values: dict[str, Any],
    actor: User,
    now: datetime,
    due: Callable[[], datetime],
    named: str,
    path: str,
) -> None:
    """Mark a locked `report` submitted with `values`, save it and audit it (as `named`,
    at `path`). Its first submission alone sets who, when and whether it was late
    (after `due`, read only then): a correction keeps them."""
    first = report.submitted_at is None
    report.values = values
    report.status = ReportStatus.SUBMITTED
    if first:
        report.submitted_at, report.submitted_by = now, actor
        report.late = now > due()
    report.version += 1
    report.save()
    audit_record(
        action=AuditAction.CREATE if first else AuditAction.UPDATE,
        actor=actor,
        obj=report,
        object_repr=named,
        jurisdiction_path=path,
        detail={"late": report.late, "version": report.version},
    )


def submitted_status(report: DayReport | None, now: datetime, due: datetime) -> tuple[str, str]:
    """A unit's standing in the bulletin: (on_time | late | missing | pending, the local
    HH:MM it was sent, empty when not). Only a submitted report counts; a draft or a
    flagged one after `due` is missing."""
    if report is not None and report.status == ReportStatus.SUBMITTED:
        at = (
            timezone.localtime(report.submitted_at).strftime("%H:%M") if report.submitted_at else ""
        )
        return ("late" if report.late else "on_time"), at
    return ("missing" if now >= due else "pending"), ""


def missing_marked(
    model: type[R], unit: str, day: date, due: Sequence[int]
) -> QuerySet[R, int] | None:
    """Flag the reports of `day` of the units `due` (past their deadline) missing where
    none was sent, and return the ids of the units flagged now or before (a lazy query);
    None when every due unit has sent its report. `unit` names the model's unit key."""
    manager = model._default_manager
    answered = set(
        manager.filter(day=day, **{f"{unit}_id__in": due})
        .exclude(status=ReportStatus.DRAFT)
        .values_list(f"{unit}_id", flat=True)
    )
    pending = [pk for pk in due if pk not in answered]
    if not pending:
        return None
    # Only drafts turn missing: a report submitted meanwhile stays submitted.
    manager.bulk_create(
        [model(**{f"{unit}_id": pk}, day=day, status=ReportStatus.MISSING) for pk in pending],
        ignore_conflicts=True,
    )
    manager.filter(day=day, status=ReportStatus.DRAFT, **{f"{unit}_id__in": pending}).update(
        status=ReportStatus.MISSING
    )
    return manager.filter(
        day=day, status=ReportStatus.MISSING, **{f"{unit}_id__in": pending}
    ).values_list(f"{unit}_id", flat=True)


@transaction.atomic
def report_submit(
    *,
    actor: User,
    village: Jurisdiction,
    day: date,
    entered: Mapping[str, str],
    now: datetime | None = None,
) -> DailyReport:
    """Confirm the day's computed numbers and the typed fields. After the deadline the
    report still counts, marked late; a correction later keeps the first time."""
    now = now or timezone.now()
    values, errors = clean_entered(entered)
    if errors:
        raise ValidationError(errors)
    report = DailyReport.objects.select_for_update().filter(pk=report_for(village, day).pk).get()
    confirm(
        report,
        values=computed_values([village], day)[village.pk] | values,
        actor=actor,
        now=now,
        due=lambda: deadline_at(village, day),
        named=f"daily report {village.code} {day.isoformat()}",
        path=village.path,
    )
    return report


def _late_message(template: Any, village: Jurisdiction, deadline: str) -> tuple[str, str]:
    """The installation's "late report" template (variables $village, $deadline, $town),
    else the built-in words."""
    from fangkong.notify.services import render_or

    title = _("%(village)s has not sent today's daily report") % {"village": village.name}
    body = _("The deadline was %(deadline)s. Send it now; it will be marked late.") % {
        "deadline": deadline
    }
    town = village.parent.name if village.parent else ""
    return render_or(
        template, {"village": village.name, "deadline": deadline, "town": town}, (title, body)
    )


def tell_late(
    *, user_ids: Iterable[int], title: str, body: str, url: str, path: str, channels: Any, key: str
) -> None:
    """A missing daily report told once (`key`): to those who send it, in their inbox,
    and to the channels routed for late reports at `path` (the command post's robots)."""
    from fangkong.notify.services import deliver, notice_send, routes

    notice_send(user_ids=user_ids, title=title, body=body, url=url, key=key)
    deliver(
        channels=routes("late_report", path, channels),
        title=title,
        body=body,
        event="late_report",
        key=key,
    )


def flag_missing(now: datetime | None = None) -> int:
    """Villages past today's deadline without a report: marked missing, their cadres and
    the command post's channels told once. Run every few minutes by the scheduler, so
    it reads the villages, deadlines, reports, cadres and channels once each."""
    from fangkong.notify import webhooks
    from fangkong.notify.models import Channel
    from fangkong.notify.services import template_for_event

    now = now or timezone.now()
    day = timezone.localdate(now)
    table = Deadlines()
    deadlines = {
        v.pk: table.time_for(v.path) for v in Jurisdiction.objects.filter(level=Level.VILLAGE)
    }
    due = [pk for pk, at_time in deadlines.items() if now >= due_at(day, at_time)]
    flagged = missing_marked(DailyReport, "village", day, due)
    if flagged is None:
        return 0
    missing = list(
        Jurisdiction.objects.filter(pk__in=flagged).select_related("parent").order_by("path")
    )
    cadres: dict[int, list[int]] = defaultdict(list)
    for node_id, user_id in Membership.objects.filter(
        jurisdiction__in=missing, role=Role.VILLAGE_CADRE
    ).values_list("jurisdiction_id", "user_id"):
        cadres[node_id].append(user_id)
    channels = list(Channel.objects.filter(enabled=True).select_related("jurisdiction"))
    template = template_for_event("late_report")
    hooks = webhooks.enabled_webhooks()
    with override("zh-hans"):
        for village in missing:
            deadline = deadlines[village.pk].strftime("%H:%M")
            title, body = _late_message(template, village, deadline)
            tell_late(
                user_ids=cadres[village.pk],
                title=title,
                body=body,
                url=reverse("reports:village", args=[village.code]),
                path=village.path,
                channels=channels,
                key=f"late-report:{village.pk}:{day}",
            )
            webhooks.emit(
                webhooks.REPORT_LATE,
                node=village,
                key=f"{village.pk}:{day}",
                data={"village": village.code, "day": day.isoformat(), "deadline": deadline},
                hooks=hooks,
            )
    return len(missing)


@transaction.atomic
def settings_save(
    *,
    node: Jurisdiction,
    deadline: time,
    red_overdue: int,
    red_overdue_days: int | None = None,
    active: Sequence[ReportField] | None = None,
    new_label: str = "",
    new_kind: str = "",
) -> dict[str, Any]:
    """The area's deadline and red-light rule (`red_overdue_days` None: as it was);
    which fields are in use; a new typed field. Returns what changed among the fields,
    for the audit record."""
    rule: dict[str, Any] = {"deadline": deadline, "red_overdue": red_overdue}
    if red_overdue_days is not None:
        rule["red_overdue_days"] = red_overdue_days
    ReportConfig.objects.update_or_create(jurisdiction=node, defaults=rule)
    if active is None:  # the fields are not this user's to change
        return {}
    keep = {f.pk for f in active}
    off = list(
        village_fields().filter(active=True).exclude(pk__in=keep).values_list("key", flat=True)
    )
    on = list(village_fields().filter(active=False, pk__in=keep).values_list("key", flat=True))
    ReportField.objects.filter(key__in=off).update(active=False)
    ReportField.objects.filter(key__in=on).update(active=True)
    changed: dict[str, Any] = {"off": off, "on": on}
    if new_label:
        last = village_fields().order_by("-position").first()
        n = ReportField.objects.filter(key__startswith="custom_").count() + 1
        while ReportField.objects.filter(key=f"custom_{n}").exists():
            n += 1
        field = ReportField.objects.create(
            key=f"custom_{n}",
            label=new_label,
            kind=new_kind or FieldKind.NUMBER,
            position=(last.position + 1) if last else 0,
        )
        changed["added"] = field.key
    return changed


@transaction.atomic
def deadline_save(
    *,
    actor: User,
    node: Jurisdiction,
    deadline: time,
    red_overdue: int,
    red_overdue_days: int | None = None,
) -> ReportConfig:
    """The deadline and red-light rule of `node` (rules.manage there), audited with what
    they were. The fields villages type in are not changed here (the settings page, from
    the top of the tree)."""
    from fangkong.org.access import require_perm_at
    from fangkong.org.roles import Perm

    require_perm_at(actor, Perm.RULES_MANAGE, node.path)
    config = ReportConfig.objects.filter(jurisdiction=node).first()
    before = {
        "deadline": str(config.deadline) if config else None,
        "red_overdue": config.red_overdue if config else None,
        "red_overdue_days": config.red_overdue_days if config else None,
    }
    settings_save(
        node=node, deadline=deadline, red_overdue=red_overdue, red_overdue_days=red_overdue_days
    )
    saved = ReportConfig.objects.get(jurisdiction=node)
    after = {
        "deadline": str(saved.deadline),
        "red_overdue": saved.red_overdue,
        "red_overdue_days": saved.red_overdue_days,
    }
    if after != before:
        audit_record(
            action=AuditAction.UPDATE,
            actor=actor,
            object_repr=_("report settings"),
            jurisdiction_path=node.path,
            detail={"before": before, "after": after, "fields": {}},
        )
    return saved
