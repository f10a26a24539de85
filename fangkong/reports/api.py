"""Reports API: villages' daily reports (read in scope, submitted by those who may at the
village, as on the village's page), and the bulletin archive with its Word and Excel
documents (each download audited, as on the pages)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.api_kit import Cursor, Limit, LocalTime, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter
from fangkong.org.models import Jurisdiction, Level, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import subtree_q
from fangkong.org.selectors import jurisdiction_for_user, node_or_top_for_user
from fangkong.reports import selectors, services, teams
from fangkong.reports.metrics import OVERDUE_AGE_CAP
from fangkong.reports.models import Bulletin, DailyReport, FieldKind, ReportConfig
from fangkong.reports.views import DOC_TYPES, EARLIEST_DAY

router = ScopedRouter(tags=["reports"])

NodeCode = Annotated[str, Field(max_length=40, description="A node's code; empty: your area")]
FieldValue = Annotated[str, Field(max_length=1000)] | Annotated[int, Field(ge=0, le=999_999_999)]


def _day(day: date | None) -> date:
    """A report's day: today when not given; never tomorrow, never before the outbreak."""
    today = timezone.localdate()
    if day is None:
        return today
    if day > today or day < EARLIEST_DAY:
        raise ValidationError(
            {"day": [_("A day between %(first)s and today.") % {"first": EARLIEST_DAY.isoformat()}]}
        )
    return day


class DailyReportOut(Schema):
    village_code: str
    village_name: str
    day: date
    status: str = Field(description="not_started, draft, submitted or missing")
    late: bool
    submitted_at: datetime | None
    version: Count
    values: dict[str, Any]


def _report_out(village: Jurisdiction, day: date, r: DailyReport | None) -> DailyReportOut:
    return DailyReportOut(
        village_code=village.code,
        village_name=village.name,
        day=day,
        status=r.status if r else "not_started",
        late=r.late if r else False,
        submitted_at=r.submitted_at if r else None,
        version=r.version if r else 0,
        values=dict(r.values) if r else {},
    )


@router.read("/daily", perm=Perm.REPORTS_VIEW, response=Page[DailyReportOut])
def list_daily(
    request: HttpRequest,
    node: NodeCode = "",
    day: date | None = None,
    cursor: Cursor = "",
    limit: Limit = 50,
) -> Page[DailyReportOut]:
    """Every village under `node` (default: the top of your area) with its report of
    `day` (default: today), submitted or not."""
    at = node_or_top_for_user(request.user, node.strip(), Perm.REPORTS_VIEW)
    on = _day(day)
    villages = Jurisdiction.objects.filter(subtree_q("path", at.path), level=Level.VILLAGE)
    page, after = cursor_page(villages, cursor=cursor, limit=limit)
    reports = {r.village_id: r for r in DailyReport.objects.filter(village__in=page, day=on)}
    return Page[DailyReportOut](
        items=[_report_out(v, on, reports.get(v.pk)) for v in page], next_cursor=after
    )


class FieldOut(Schema):
    key: str
    label: str
    kind: str
    computed: Count | None = Field(description="What fangkong counts now (computed fields)")
    value: Any = Field(description="The value submitted, if any")


class DailyDetailOut(DailyReportOut):
    deadline: datetime
    fields: list[FieldOut]


def _detail(village: Jurisdiction, day: date) -> DailyDetailOut:
    report = DailyReport.objects.filter(village=village, day=day).first()
    computed = services.computed_values([village], day)[village.pk]
    values = dict(report.values) if report else {}
    return DailyDetailOut(
        **_report_out(village, day, report).dict(),
        deadline=services.deadline_at(village, day),
        fields=[
            FieldOut(
                key=f.key,
                label=f.label,
                kind=f.kind,
                computed=computed.get(f.key, 0) if f.kind == FieldKind.COMPUTED else None,
                value=values.get(f.key),
            )
            for f in services.fields()
        ],
    )


def _village(request: HttpRequest, code: str, *, write: bool = False) -> Jurisdiction:
    return jurisdiction_for_user(
        request.user,
        code,
        Perm.REPORTS_VIEW,
        level=Level.VILLAGE,
        write=Perm.REPORTS_SUBMIT if write else None,
    )


@router.read("/daily/{village}", perm=Perm.REPORTS_VIEW, response=DailyDetailOut)
def get_daily(request: HttpRequest, village: str, day: date | None = None) -> DailyDetailOut:
    """A village's report of `day` with the numbers fangkong computes for it now."""
    return _detail(_village(request, village), _day(day))


class SubmitIn(Schema):
    day: date | None = Field(None, description="Default: today")
    values: dict[Annotated[str, Field(max_length=40)], FieldValue] = Field(
        default_factory=dict, max_length=100, description="The typed fields, by key"
    )


@router.write("/daily/{village}", perm=Perm.REPORTS_SUBMIT, response=DailyDetailOut)
def submit_daily(request: HttpRequest, village: str, body: SubmitIn) -> DailyDetailOut:
    """Confirm the day's computed numbers and send the typed fields (reports.submit at
    the village). After the deadline it still counts, marked late. Sending again
    corrects the report; it never makes a second one."""
    node = _village(request, village, write=True)
    day = _day(body.day)
    services.report_submit(
        actor=request_user(request),
        village=node,
        day=day,
        entered={k: str(v) for k, v in body.values.items()},
    )
    return _detail(node, day)


# Special teams --------------------------------------------------------------------


class TeamFieldSetOut(Schema):
    code: str
    name: str
    fields: list[FieldOut]


@router.read("/team-field-sets", perm=Perm.REPORTS_VIEW, response=list[TeamFieldSetOut])
def list_team_field_sets(request: HttpRequest) -> list[TeamFieldSetOut]:
    """The kinds of special teams' reports (企业专班, 物流专班, 国际快件专班...) and their
    fields: what a team made to report is asked."""
    return [
        TeamFieldSetOut(
            code=s.code,
            name=s.name,
            fields=[
                FieldOut(key=f.key, label=f.label, kind=f.kind, computed=None, value=None)
                for f in teams.team_fields(s.pk)
            ],
        )
        for s in teams.field_sets()
    ]


class TeamReportOut(Schema):
    team_id: Id
    team_name: str
    field_set: str | None = Field(description="The report's kind; null: the team does not report")
    day: date
    status: str = Field(description="not_reporting, not_started, draft, submitted or missing")
    late: bool
    submitted_at: datetime | None
    deadline: datetime | None
    version: Count
    fields: list[FieldOut]


def _team_out(team: Team, day: date) -> TeamReportOut:
    unit = teams.reporting(team)
    if unit is None:
        return TeamReportOut(
            team_id=team.pk,
            team_name=team.name,
            field_set=None,
            day=day,
            status="not_reporting",
            late=False,
            submitted_at=None,
            deadline=None,
            version=0,
            fields=[],
        )
    report, rows = teams.team_detail(unit, day)
    return TeamReportOut(
        team_id=team.pk,
        team_name=team.name,
        field_set=unit.field_set.code,
        day=day,
        status=report.status if report else "not_started",
        late=report.late if report else False,
        submitted_at=report.submitted_at if report else None,
        deadline=teams.team_deadline(unit, day),
        version=report.version if report else 0,
        fields=[
            FieldOut(
                key=f.key,
                label=f.label,
                kind=f.kind,
                computed=now if f.kind == FieldKind.COMPUTED else None,
                value=sent,
            )
            for f, now, sent in rows
        ],
    )


@router.read("/teams/{team_id}", perm=Perm.REPORTS_VIEW, response=TeamReportOut)
def get_team_report(request: HttpRequest, team_id: Id, day: date | None = None) -> TeamReportOut:
    """A special team's report of `day` (default: today) with what fangkong counts for it
    now; `not_reporting` for a team not made to report."""
    return _team_out(selectors.report_team_for_user(request.user, team_id), _day(day))


@router.write("/teams/{team_id}", perm=Perm.REPORTS_SUBMIT, response=TeamReportOut)
def submit_team_report(request: HttpRequest, team_id: Id, body: SubmitIn) -> TeamReportOut:
    """Confirm the team's computed numbers and send its typed fields (reports.submit at
    the team's node), as a village's report: late after the deadline; sending again
    corrects it, never a second one."""
    team = selectors.report_team_for_user(request.user, team_id, write=Perm.REPORTS_SUBMIT)
    day = _day(body.day)
    teams.team_report_submit(
        actor=request_user(request),
        team=team,
        day=day,
        entered={k: str(v) for k, v in body.values.items()},
    )
    return _team_out(team, day)


class TeamReportingIn(Schema):
    field_set: Annotated[str, Field(max_length=40)] | None = Field(
        description="The code of the report's kind; null: the team stops reporting"
    )
    deadline: LocalTime | None = Field(None, description="Null: the deadline of its node")


@router.write(
    "/teams/{team_id}/reporting", perm=Perm.RULES_MANAGE, method="PUT", response=TeamReportOut
)
def put_team_reporting(request: HttpRequest, team_id: Id, body: TeamReportingIn) -> TeamReportOut:
    """Make a team report daily with a kind of report (rules.manage at the team's node),
    or stop it. Sending the same again changes nothing."""
    team = selectors.report_team_for_user(request.user, team_id, write=Perm.RULES_MANAGE)
    field_set = None
    if body.field_set is not None:
        field_set = teams.field_set_by_code(body.field_set)
        if field_set is None:
            raise ValidationError({"field_set": [_("No such kind of report.")]})
    teams.reporting_team_set(
        actor=request_user(request),
        team=team,
        field_set=field_set,
        deadline=time.fromisoformat(body.deadline) if body.deadline else None,
    )
    return _team_out(team, timezone.localdate())


# Deadline ---------------------------------------------------------------------------


class SettingsOut(Schema):
    node_code: str
    deadline: LocalTime
    set_here: bool = Field(description="false: inherited from the nearest node above")
    red_overdue: Count
    red_overdue_days: Count


def _settings(node: Jurisdiction) -> SettingsOut:
    config = ReportConfig.objects.filter(jurisdiction=node).first()
    rules = config or ReportConfig()
    return SettingsOut(
        node_code=node.code,
        deadline=(config.deadline if config else services.deadline_for(node)).strftime("%H:%M"),
        set_here=config is not None,
        red_overdue=rules.red_overdue,
        red_overdue_days=rules.red_overdue_days,
    )


@router.read("/settings", perm=Perm.RULES_MANAGE, response=SettingsOut)
def get_settings(request: HttpRequest, node: NodeCode = "") -> SettingsOut:
    """The daily-report deadline and red-light rule of `node` (default: your area)."""
    return _settings(node_or_top_for_user(request.user, node.strip(), Perm.RULES_MANAGE))


class SettingsIn(Schema):
    node: NodeCode = ""
    deadline: LocalTime
    red_overdue: Annotated[int, Field(ge=1, le=1000)]
    red_overdue_days: Annotated[int, Field(ge=1, le=OVERDUE_AGE_CAP)] | None = None


@router.write("/settings", perm=Perm.RULES_MANAGE, method="PUT", response=SettingsOut)
def put_settings(request: HttpRequest, body: SettingsIn) -> SettingsOut:
    """Set the deadline of a node where you hold rules.manage (as the settings page);
    villages below it without their own follow it. Sending the same again changes
    nothing."""
    node = node_or_top_for_user(request.user, body.node.strip(), Perm.RULES_MANAGE)
    services.deadline_save(
        actor=request_user(request),
        node=node,
        deadline=time.fromisoformat(body.deadline),
        red_overdue=body.red_overdue,
        red_overdue_days=body.red_overdue_days,
    )
    return _settings(node)


# Bulletins ---------------------------------------------------------------------------


class BulletinOut(Schema):
    id: Id
    node_code: str
    node_name: str
    day: date
    version: Count
    generated_at: datetime
    highlights: str
    totals: dict[str, Any]
    counts: dict[str, Any]
    late: list[str]
    missing: list[str]
    # Households' requests of the day by village and kind: median and 90th percentile
    # minutes to an answer, the late ones named (masked). Empty in older bulletins.
    response_times: list[dict[str, Any]]

    @staticmethod
    def of(b: Bulletin) -> BulletinOut:
        s = b.summary or {}
        return BulletinOut(
            id=b.pk,
            node_code=b.node.code,
            node_name=b.node.name,
            day=b.day,
            version=b.version,
            generated_at=b.generated_at,
            highlights=b.highlights,
            totals=s.get("totals", {}),
            counts=s.get("counts", {}),
            late=[str(x[0] if isinstance(x, list) else x) for x in s.get("late", [])],
            missing=[str(x) for x in s.get("missing", [])],
            response_times=list(s.get("response_times") or []),
        )


@router.read("/bulletins", perm=Perm.REPORTS_VIEW, response=Page[BulletinOut])
def list_bulletins(
    request: HttpRequest, node: NodeCode = "", cursor: Cursor = "", limit: Limit = 50
) -> Page[BulletinOut]:
    """Archived bulletins in your area (under `node` when given), newest first."""
    bulletins = selectors.bulletins_visible(request.user)
    if node.strip():
        at = jurisdiction_for_user(request.user, node.strip(), Perm.REPORTS_VIEW)
        bulletins = bulletins.within(at.path)
    rows, after = cursor_page(bulletins, cursor=cursor, limit=limit)
    return Page[BulletinOut](items=[BulletinOut.of(b) for b in rows], next_cursor=after)


@router.read("/bulletins/{bulletin_id}", perm=Perm.REPORTS_VIEW, response=BulletinOut)
def get_bulletin(request: HttpRequest, bulletin_id: Id) -> BulletinOut:
    return BulletinOut.of(selectors.bulletin_for_user(request.user, bulletin_id))


@router.read(
    "/bulletins/{bulletin_id}/{doc}",
    perm=Perm.REPORTS_VIEW,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The archived document, as sent",
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}}
                    for t in DOC_TYPES.values()
                },
            }
        }
    },
)
def download_bulletin(
    request: HttpRequest, bulletin_id: Id, doc: Literal["docx", "xlsx"]
) -> HttpResponse:
    """The archived Word or Excel document; every download is written to the audit log."""
    bulletin = selectors.bulletin_for_user(request.user, bulletin_id)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=bulletin,
        object_repr=_("bulletin %(node)s %(day)s")
        % {"node": bulletin.node.name, "day": bulletin.day},
        jurisdiction_path=bulletin.node.path,
        detail={"format": doc, "version": bulletin.version, "via": "api"},
    )
    data = selectors.bulletin_document(bulletin, doc)
    response = HttpResponse(data, content_type=DOC_TYPES[doc])
    name = f"bulletin-{bulletin.node.code}-{bulletin.day.isoformat()}.{doc}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
