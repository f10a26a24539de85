"""Special teams' daily reports (企业专班, 物流专班, 国际快件专班): a team of the org tree is
made a reporting unit with a set of fields (`TeamFieldSet`, shipped as data) and its own
deadline; it submits like a village (late after the deadline, missing when it passes
without a report) and has its rows in its town's bulletin.

Computed fields are counted at the team's node (its whole subtree), through the same
metrics as a village's report; typed fields are cleaned as a village's are."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.access import require_perm_at
from fangkong.org.models import Jurisdiction, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import subtree_q
from fangkong.reports.metrics import compute
from fangkong.reports.models import (
    FieldKind,
    ReportField,
    ReportingTeam,
    ReportStatus,
    TeamFieldSet,
    TeamReport,
)
from fangkong.reports.services import (
    Deadlines,
    clean_entered,
    confirm,
    due_at,
    missing_marked,
    submitted_status,
    tell_late,
)


def field_sets() -> list[TeamFieldSet]:
    return list(TeamFieldSet.objects.all())


def field_set_by_code(code: str) -> TeamFieldSet | None:
    return TeamFieldSet.objects.filter(code=code).first()


def team_fields(field_set_id: int) -> list[ReportField]:
    return list(ReportField.objects.filter(field_set_id=field_set_id, active=True))


def reporting(team: Team) -> ReportingTeam | None:
    """The team's reporting settings; None when it does not report (or no longer)."""
    return ReportingTeam.objects.filter(team=team, active=True).select_related("field_set").first()


def reporting_under(node: Jurisdiction) -> list[ReportingTeam]:
    """The teams reporting at `node` or below it, in the tree's order."""
    return list(
        ReportingTeam.objects.filter(subtree_q("team__jurisdiction__path", node.path), active=True)
        .select_related("team__jurisdiction", "field_set")
        .order_by("team__jurisdiction__path", "field_set__position", "team__name")
    )


def team_deadline(unit: ReportingTeam, day: date, deadlines: Deadlines | None = None) -> datetime:
    """The team's own deadline, else its node's (as a village's: the nearest set above)."""
    at: time = unit.deadline or (deadlines or Deadlines()).time_for(unit.team.jurisdiction.path)
    return due_at(day, at)


def team_computed(unit: ReportingTeam, day: date) -> dict[str, int]:
    """The set's computed fields for the team's node on `day`, by field key."""
    active = [
        f for f in team_fields(unit.field_set_id) if f.kind == FieldKind.COMPUTED and f.metric
    ]
    node = unit.team.jurisdiction
    counted = compute({f.metric for f in active}, [node], day)[node.pk]
    return {f.key: counted[f.metric] for f in active}


@transaction.atomic
def reporting_team_set(
    *,
    actor: User,
    team: Team,
    field_set: TeamFieldSet | None,
    deadline: time | None = None,
) -> ReportingTeam | None:
    """Make `team` report daily with `field_set`'s fields (its own `deadline`, None: its
    node's), or stop it reporting (`field_set` None; its past reports are kept). Rules of
    the team's node: rules.manage there."""
    require_perm_at(actor, Perm.RULES_MANAGE, team.jurisdiction.path)
    current = ReportingTeam.objects.select_for_update().filter(team=team).first()
    before = (
        {"set": current.field_set.code, "deadline": str(current.deadline), "on": current.active}
        if current
        else None
    )
    if field_set is None:
        if current is not None:
            current.active = False
            current.save(update_fields=["active"])
    else:
        current, _created = ReportingTeam.objects.update_or_create(
            team=team, defaults={"field_set": field_set, "deadline": deadline, "active": True}
        )
    after = (
        {"set": current.field_set.code, "deadline": str(current.deadline), "on": current.active}
        if current
        else None
    )
    if after != before:
        audit_record(
            action=AuditAction.UPDATE if before else AuditAction.CREATE,
            actor=actor,
            obj=current,
            object_repr=f"team report {team.name}",
            jurisdiction_path=team.jurisdiction.path,
            detail={"before": before, "after": after},
        )
    return current if current is not None and current.active else None


@transaction.atomic
def team_report_submit(
    *,
    actor: User,
    team: Team,
    day: date,
    entered: Mapping[str, str],
    now: datetime | None = None,
) -> TeamReport:
    """Confirm the day's computed numbers and the typed fields of the team's report, as a
    village does: after the deadline it still counts, marked late; a correction keeps
    the first time."""
    now = now or timezone.now()
    unit = reporting(team)
    if unit is None:
        raise ValidationError({"team": [_("%(team)s does not report daily.") % {"team": team}]})
    values, errors = clean_entered(entered, team_fields(unit.field_set_id))
    if errors:
        raise ValidationError(errors)
    TeamReport.objects.get_or_create(team=team, day=day)
    report = TeamReport.objects.select_for_update().get(team=team, day=day)
    confirm(
        report,
        values=team_computed(unit, day) | values,
        actor=actor,
        now=now,
        due=lambda: team_deadline(unit, day),
        named=f"team report {team.name} {day.isoformat()}",
        path=team.jurisdiction.path,
    )
    return report


def flag_missing_teams(now: datetime | None = None) -> int:
    """Teams past today's deadline without a report: marked missing, their leader and
    members told once, the command post's robots too. Run with the villages' check."""
    from fangkong.notify.models import Channel
    from fangkong.org.models import TeamMember

    now = now or timezone.now()
    day = timezone.localdate(now)
    table = Deadlines()
    units = list(
        ReportingTeam.objects.filter(active=True).select_related("team__jurisdiction", "team")
    )
    due = {u.team_id: u for u in units if now >= team_deadline(u, day, table)}
    flagged = missing_marked(TeamReport, "team", day, list(due))
    if flagged is None:
        return 0
    missing = set(flagged)
    members: dict[int, set[int]] = {pk: set() for pk in missing}
    for team_id, user_id in TeamMember.objects.filter(team_id__in=missing).values_list(
        "team_id", "user_id"
    ):
        members[team_id].add(user_id)
    channels = list(Channel.objects.filter(enabled=True).select_related("jurisdiction"))
    with override("zh-hans"):
        for pk in sorted(missing):
            unit = due[pk]
            team = unit.team
            if team.leader_id:
                members[pk].add(team.leader_id)
            deadline = timezone.localtime(team_deadline(unit, day, table)).strftime("%H:%M")
            title = _("%(team)s has not sent today's daily report") % {"team": team.name}
            body = _("The deadline was %(deadline)s. Send it now; it will be marked late.") % {
                "deadline": deadline
            }
            tell_late(
                user_ids=members[pk],
                title=title,
                body=body,
                url=reverse("reports:team", args=[pk]),
                path=team.jurisdiction.path,
                channels=channels,
                key=f"late-team-report:{pk}:{day}",
            )
    return len(missing)


def team_rows(node: Jurisdiction, day: date, now: datetime) -> list[dict[str, Any]]:
    """The bulletin's rows of the teams reporting at `node` or below: each with its
    status, time and its fields' values (confirmed when submitted, else counted now
    with the typed fields empty), so a late or missing team is named, never dropped."""
    units = reporting_under(node)
    if not units:
        return []
    reports = {
        r.team_id: r
        for r in TeamReport.objects.filter(team_id__in=[u.team_id for u in units], day=day)
    }
    table = Deadlines()
    rows = []
    for unit in units:
        report = reports.get(unit.team_id)
        status, at = submitted_status(report, now, team_deadline(unit, day, table))
        if report is not None and report.status == ReportStatus.SUBMITTED:
            values = dict(report.values)
        else:
            values = team_computed(unit, day)
        rows.append(
            {
                "name": unit.team.name,
                "set": unit.field_set.name,
                "team_id": unit.team_id,
                "status": status,
                "submitted_at": at,
                "values": [
                    [f.label, values.get(f.key, "" if f.kind == FieldKind.TEXT else 0)]
                    for f in team_fields(unit.field_set_id)
                ],
            }
        )
    return rows


def team_detail(
    unit: ReportingTeam, day: date
) -> tuple[TeamReport | None, list[tuple[ReportField, Any, Any]]]:
    """The team's report of `day` and, per field, (field, what fangkong counts now or
    what was typed, the value confirmed): what the page and the API show."""
    report = TeamReport.objects.filter(team_id=unit.team_id, day=day).first()
    values = dict(report.values) if report and report.status == ReportStatus.SUBMITTED else {}
    computed = team_computed(unit, day)
    rows: list[tuple[ReportField, Any, Any]] = []
    for f in team_fields(unit.field_set_id):
        if f.kind == FieldKind.COMPUTED:
            rows.append((f, computed.get(f.key, 0), values.get(f.key)))
        else:
            rows.append((f, values.get(f.key, ""), values.get(f.key)))
    return report, rows
