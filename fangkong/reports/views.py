"""Daily-report pages: the overview of a town's villages, a village's report, the
bulletin archive with its downloads, the command dashboard and the report settings."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.replica import reads_replica
from fangkong.org.access import requires
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, holds_at_a_root
from fangkong.org.selectors import jurisdiction_for_user, node_or_top_for_user
from fangkong.reports import selectors, services, teams
from fangkong.reports.bulletin import bulletin_generate
from fangkong.reports.documents import table, teams_table, times_table
from fangkong.reports.forms import BulletinForm, SettingsForm
from fangkong.reports.models import DayReport, FieldKind, ReportConfig, ReportField
from fangkong.zones.selectors import ZoneMap, zone_map

DOC_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _node(request: HttpRequest, perm: Perm = Perm.REPORTS_VIEW) -> Jurisdiction:
    """The node asked for (?node=CODE) within the viewer's scope, or the top of it."""
    return node_or_top_for_user(request.user, request.GET.get("node", "").strip(), perm)


# No outbreak work before this: days earlier are read as today, like any bad date.
EARLIEST_DAY = date(2019, 12, 1)


def _day(request: HttpRequest) -> date:
    """?day=YYYY-MM-DD between EARLIEST_DAY and today (a report is never for tomorrow);
    anything else, well-formed or not, means today."""
    today = timezone.localdate()
    try:
        day = parse_date(request.GET.get("day", "").strip())
    except ValueError:  # well-formed but impossible: 2024-02-30
        day = None
    return min(day, today) if day and day >= EARLIEST_DAY else today


@require_GET
@requires(Perm.REPORTS_VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    node, day = _node(request), _day(request)
    rows = selectors.overview(node, day)
    fields = services.fields()
    numeric = [f for f in fields if f.kind != FieldKind.TEXT]
    return render(
        request,
        "reports/overview.html",
        {
            "node": node,
            "day": day,
            "prev": day - timedelta(days=1),
            "next": day + timedelta(days=1) if day < timezone.localdate() else None,
            "rows": [
                (v, r, [(r.values.get(f.key, "") if r else "") for f in numeric]) for v, r in rows
            ],
            "numeric": numeric,
            "deadline": services.deadline_for(node),
            "submitted": sum(1 for _v, r in rows if r and r.status == "submitted"),
            "bulletins": selectors.bulletins_visible(request.user).filter(node=node)[:7],
            "teams": teams.team_rows(node, day, timezone.now()),
            "can_generate": node.level < Level.VILLAGE
            and has_perm(request.user, Perm.REPORTS_SUBMIT, node.path),
            "form": BulletinForm(initial={"day": day}),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.REPORTS_VIEW, writes=("POST",))
def village_report(request: HttpRequest, village: str) -> HttpResponse:
    node = jurisdiction_for_user(
        request.user,
        village,
        Perm.REPORTS_VIEW,
        level=Level.VILLAGE,
        write=Perm.REPORTS_SUBMIT if request.method == "POST" else None,
    )
    day = _day(request)
    can_submit = has_perm(request.user, Perm.REPORTS_SUBMIT, node.path)
    errors: dict[str, Any] = {}
    entered: dict[str, str] = {}
    if request.method == "POST":
        entered = {k: str(v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        try:
            sent = services.report_submit(
                actor=request_user(request), village=node, day=day, entered=entered
            )
        except ValidationError as e:
            errors = e.message_dict
        else:
            return _sent(request, sent, day)
    report = selectors.overview(node, day)[0][1]
    computed = services.computed_values([node], day)[node.pk]
    values = dict(report.values) if report and report.status == "submitted" else {}
    rows: list[tuple[ReportField, Any, Any]] = []
    for f in services.fields():
        if f.kind == FieldKind.COMPUTED:
            rows.append((f, computed.get(f.key, 0), values.get(f.key)))
        else:
            rows.append((f, entered.get(f.key, values.get(f.key, "")), None))
    return render(
        request,
        "reports/village.html",
        {
            "node": node,
            "day": day,
            "report": report,
            "rows": rows,
            "errors": errors,
            "deadline": services.deadline_at(node, day),
            "can_submit": can_submit,
            "can_poster": has_perm(request.user, Perm.PEOPLE_VIEW, node.path),
            "is_today": day == timezone.localdate(),
        },
    )


def _sent(request: HttpRequest, sent: DayReport, day: date) -> HttpResponse:
    """Back to the report's day, told whether it came in time."""
    if sent.late:
        messages.warning(request, _("Report sent after the deadline: it counts, marked late."))
    else:
        messages.success(request, _("Report sent."))
    return redirect(f"{request.path}?day={day.isoformat()}")


@require_http_methods(["GET", "POST"])
@requires(Perm.REPORTS_VIEW, writes=("POST",))
def team_report(request: HttpRequest, team_id: int) -> HttpResponse:
    """A special team's daily report: its computed numbers, its typed fields, sent by
    whoever may submit reports at the team's node."""
    team = selectors.report_team_for_user(
        request.user, team_id, write=Perm.REPORTS_SUBMIT if request.method == "POST" else None
    )
    day = _day(request)
    unit = teams.reporting(team)
    errors: dict[str, Any] = {}
    entered: dict[str, str] = {}
    if request.method == "POST":
        entered = {k: str(v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        try:
            sent = teams.team_report_submit(
                actor=request_user(request), team=team, day=day, entered=entered
            )
        except ValidationError as e:
            errors = e.message_dict
            for text in errors.pop("team", []):
                messages.error(request, text)
        else:
            return _sent(request, sent, day)
    report, rows = teams.team_detail(unit, day) if unit else (None, [])
    if entered:
        rows = [(f, entered.get(f.key, v) if f.kind != "computed" else v, s) for f, v, s in rows]
    return render(
        request,
        "reports/team.html",
        {
            "team": team,
            "unit": unit,
            "day": day,
            "report": report,
            "rows": rows,
            "errors": errors,
            "deadline": teams.team_deadline(unit, day) if unit else None,
            "can_submit": unit is not None
            and has_perm(request.user, Perm.REPORTS_SUBMIT, team.jurisdiction.path),
            "can_set": has_perm(request.user, Perm.RULES_MANAGE, team.jurisdiction.path),
            "field_sets": teams.field_sets(),
        },
    )


@require_POST
@requires(Perm.RULES_MANAGE, writes=("POST",))
def team_reporting(request: HttpRequest, team_id: int) -> HttpResponse:
    """Make the team report daily with a kind of report and its own deadline (empty: its
    node's), or stop it (no kind chosen)."""
    team = selectors.report_team_for_user(request.user, team_id, write=Perm.RULES_MANAGE)
    code = request.POST.get("field_set", "").strip()
    field_set = teams.field_set_by_code(code) if code else None
    raw = request.POST.get("deadline", "").strip()
    try:
        deadline = time.fromisoformat(raw) if raw else None
    except ValueError:
        deadline = None
        messages.error(request, _("Deadline: a time such as 17:00."))
    if code and field_set is None:
        messages.error(request, _("No such kind of report."))
    elif deadline is not None or not raw:
        teams.reporting_team_set(
            actor=request_user(request), team=team, field_set=field_set, deadline=deadline
        )
        messages.success(request, _("Saved."))
    return redirect("reports:team", team_id=team.pk)


@require_GET
@requires(Perm.REPORTS_VIEW)
@reads_replica
def bulletin_list(request: HttpRequest) -> HttpResponse:
    bulletins = selectors.bulletins_visible(request.user)[:60]
    return render(request, "reports/bulletins.html", {"bulletins": bulletins})


@require_POST
@requires(Perm.REPORTS_SUBMIT, writes=("POST",))
def bulletin_make(request: HttpRequest) -> HttpResponse:
    node = _node(request, Perm.REPORTS_SUBMIT)
    form = BulletinForm(request.POST)
    if node.level >= Level.VILLAGE:
        messages.error(request, _("A bulletin is made for a town or a county."))
        return redirect(f"{_overview_url(node)}")
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            text = " ".join(str(e) for e in errors)
            messages.error(request, f"{label}: {text}" if label else text)
        return redirect(f"{_overview_url(node)}")
    # Left empty on the overview, the highlights already written stay; the bulletin
    # page shows them in the box, so emptying it there means removing them.
    text = form.cleaned_data["highlights"]
    keep = not text and not request.POST.get("replace_highlights")
    bulletin = bulletin_generate(
        node=node,
        day=form.cleaned_data["day"],
        actor=request_user(request),
        highlights=None if keep else text,
    )
    messages.success(request, _("Bulletin made (version %(v)d).") % {"v": bulletin.version})
    return redirect("reports:bulletin", bulletin_id=bulletin.pk)


def _overview_url(node: Jurisdiction) -> str:
    from django.urls import reverse

    return f"{reverse('reports:overview')}?node={node.code}"


@require_GET
@requires(Perm.REPORTS_VIEW)
def bulletin_detail(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = selectors.bulletin_for_user(request.user, bulletin_id)
    header, rows, total, change = table(bulletin.summary)
    times_header, times_rows = times_table(bulletin.summary)
    teams_header, teams_rows = teams_table(bulletin.summary)
    return render(
        request,
        "reports/bulletin.html",
        {
            "bulletin": bulletin,
            "times_header": times_header,
            "times_rows": times_rows,
            "has_times": "response_times" in bulletin.summary,
            "teams_header": teams_header,
            "teams_rows": teams_rows,
            "s": bulletin.summary,
            "header": header,
            "rows": rows,
            "total": total,
            "change": change,
            "can_generate": has_perm(request.user, Perm.REPORTS_SUBMIT, bulletin.node.path),
            "form": BulletinForm(initial={"day": bulletin.day, "highlights": bulletin.highlights}),
        },
    )


@require_GET
@requires(Perm.REPORTS_VIEW)
def bulletin_download(request: HttpRequest, bulletin_id: int, doc: str) -> HttpResponseBase:
    if doc not in DOC_TYPES:
        raise Http404
    bulletin = selectors.bulletin_for_user(request.user, bulletin_id)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=bulletin,
        object_repr=_("bulletin %(node)s %(day)s")
        % {"node": bulletin.node.name, "day": bulletin.day},
        jurisdiction_path=bulletin.node.path,
        detail={"format": doc, "version": bulletin.version},
    )
    data = bytes(getattr(bulletin, doc))
    response = HttpResponse(data, content_type=DOC_TYPES[doc])
    name = f"bulletin-{bulletin.node.code}-{bulletin.day.isoformat()}.{doc}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _every(request: HttpRequest) -> int:
    """Seconds between refreshes (?every=, 5 to 600; 60 by default)."""
    try:
        return min(max(int(request.GET.get("every", "60")), 5), 600)
    except ValueError:
        return 60


@require_GET
@requires(Perm.REPORTS_VIEW)
@reads_replica
def dashboard(request: HttpRequest) -> HttpResponse:
    node = _node(request)
    return render(
        request,
        "reports/dashboard.html",
        {
            "d": selectors.dashboard(node),
            "zmap": _zone_map(request, node),
            "every": _every(request),
            "query": f"node={node.code}&every={_every(request)}",
        },
    )


@require_GET
@requires(Perm.REPORTS_VIEW)
@reads_replica
def dashboard_panel(request: HttpRequest) -> HttpResponse:
    """The part of the dashboard htmx swaps in on each refresh."""
    node = _node(request)
    return render(
        request,
        "reports/_dashboard_panel.html",
        {"d": selectors.dashboard(node), "zmap": _zone_map(request, node)},
    )


def _zone_map(request: HttpRequest, node: Jurisdiction) -> ZoneMap | None:
    """The zones' map with counts by zone, for those who see zones at the node."""
    if not has_perm(request.user, Perm.ZONES_VIEW, node.path):
        return None
    return zone_map(node)


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",))
def report_settings(request: HttpRequest) -> HttpResponse:
    """The deadline and traffic-light threshold of the user's area, and the fields a
    village types in (added here, without code)."""
    node = _node(request, Perm.RULES_MANAGE)
    # Fields belong to no node: one town's commander must not change every town's form.
    fields_editable = holds_at_a_root(request.user, Perm.RULES_MANAGE)
    config = ReportConfig.objects.filter(jurisdiction=node).first()
    rules = config or ReportConfig()  # an area that set nothing yet: the defaults
    form = SettingsForm(
        request.POST or None,
        fields_editable=fields_editable,
        initial={
            "deadline": config.deadline if config else services.deadline_for(node),
            "red_overdue": rules.red_overdue,
            "red_overdue_days": rules.red_overdue_days,
            "active": [f.pk for f in services.fields()],
        },
    )
    if request.method == "POST" and form.is_valid():
        before = {
            "deadline": str(config.deadline) if config else None,
            "red_overdue": config.red_overdue if config else None,
            "red_overdue_days": config.red_overdue_days if config else None,
        }
        changed = services.settings_save(node=node, **form.cleaned_data)
        days = form.cleaned_data["red_overdue_days"]  # None: kept as it was
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            object_repr=_("report settings"),
            jurisdiction_path=node.path,
            detail={
                "before": before,
                "after": {
                    "deadline": str(form.cleaned_data["deadline"]),
                    "red_overdue": form.cleaned_data["red_overdue"],
                    "red_overdue_days": rules.red_overdue_days if days is None else days,
                },
                "fields": changed,
            },
        )
        messages.success(request, _("Report settings saved."))
        return redirect("reports:settings")
    return render(
        request,
        "reports/settings.html",
        {"form": form, "node": node, "fields_editable": fields_editable},
    )
