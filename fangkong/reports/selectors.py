"""Reads of daily reports, bulletins and the command dashboard, always for a node the
viewer may see (the views fetch it with `jurisdiction_for_user` or
`node_or_top_for_user`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db.models import IntegerField, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.org.access import object_for_user
from fangkong.org.models import Jurisdiction, Level, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import ScopedQuerySet, nearest_in, subtree_q
from fangkong.reports.metrics import METRICS
from fangkong.reports.models import (
    Bulletin,
    DailyReport,
    ReportConfig,
    ReportStatus,
    VillageDay,
)
from fangkong.reports.stats import OVERDUE_BY_AGE, OVERDUE_BY_KIND, TREND_DAYS

# The numbers the dashboard shows as its key figures and trend lines.
KEY_METRICS = (
    "returnees_new",
    "central",
    "home_isolation",
    "home_monitoring",
    "pushed_pending",
    "orders_done",
    "orders_overdue",
    # Control (管控): new today, under control, released today, on a vehicle now.
    "control_new",
    "control_active",
    "control_released",
    "control_in_transit",
    # Checkpoints (卡口): vehicles and people checked today, turned back, tested there.
    "checkpoint_vehicles",
    "checkpoint_people",
    "checkpoint_turned_back",
    "checkpoint_tested",
)
# The trend's panels, each on its own axes: people are counted in ones and tens a day,
# work orders in hundreds, which on one axis pressed the returnees flat on the floor.
TREND_PANELS = (("returnees_new", "central", "home_isolation"), ("orders_done", "orders_overdue"))
TREND_METRICS = tuple(k for panel in TREND_PANELS for k in panel)


def bulletins_visible(user: Any) -> ScopedQuerySet[Bulletin]:
    # The documents stay in the database until downloaded: a list never reads them.
    return (
        Bulletin.objects.visible_to(user, Perm.REPORTS_VIEW)
        .select_related("node")
        .defer("docx", "xlsx")
    )


def report_team_for_user(user: Any, team_id: int, *, write: Perm | None = None) -> Team:
    """A team (a special team reporting daily, or one that could), seen with
    reports.view at its node or above; `write`: checked at the team's node."""
    return object_for_user(Team.objects.all(), user, Perm.REPORTS_VIEW, write=write, pk=team_id)


def bulletin_for_user(user: Any, bulletin_id: int) -> Bulletin:
    return object_for_user(bulletins_visible(user), user, Perm.REPORTS_VIEW, pk=bulletin_id)


def bulletin_document(bulletin: Bulletin, doc: str) -> bytes:
    """One archived document of a bulletin already loaded through its accessor (lists
    defer both)."""
    return bytes(Bulletin.objects.values_list(doc, flat=True).get(pk=bulletin.pk))


def villages_under(node: Jurisdiction) -> list[Jurisdiction]:
    if node.level == Level.VILLAGE:
        return [node]
    # Only what the pages show: a node's boundary (GeoJSON) is no business of a list.
    return list(
        Jurisdiction.objects.filter(subtree_q("path", node.path), level=Level.VILLAGE)
        .select_related("parent")
        .order_by("path")
        .only("id", "code", "name", "path", "level", "parent_id", "parent__name", "parent__code")
    )


@dataclass
class VillageRow:
    village: Jurisdiction
    values: dict[str, int]
    status: str  # on_time | late | missing | pending | due (not in, deadline passed)
    submitted_at: datetime | None
    light: str  # green | amber | red
    reasons: list[str] = field(default_factory=list)  # why: the red ones first
    status_label: str = ""
    stale: int = 0  # overdue orders old enough to count for the red light


@dataclass
class GroupRow:
    """A town on a county's screen: its villages' lights and key numbers added up."""

    name: str
    code: str
    villages: int = 0
    red: int = 0
    amber: int = 0
    green: int = 0
    missing: int = 0
    returnees: int = 0
    overdue: int = 0


# A county's screen lists the villages that need attention, at most this many.
ATTENTION_ROWS = 60


@dataclass
class Dashboard:
    node: Jurisdiction
    day: date
    now: datetime
    refreshed_at: datetime | None
    keys: list[tuple[str, str]]
    totals: dict[str, int]
    yesterday: dict[str, int]
    trend_days: list[str]
    trends: dict[str, list[int]]
    rows: list[VillageRow]
    counts: dict[str, int]
    overdue_kinds: list[tuple[str, int]] = field(default_factory=list)  # (label, n), most first

    def chart(self) -> dict[str, Any]:
        """What the trend chart draws (json_script'ed into the page): a panel of series
        per scale, each panel on its own axes."""
        labels = {key: str(METRICS[key][0]) for key in TREND_METRICS}
        return {
            "days": self.trend_days,
            "series": [
                {"key": k, "name": labels[k], "panel": n, "data": self.trends[k]}
                for n, panel in enumerate(TREND_PANELS)
                for k in panel
            ],
        }

    @cached_property
    def groups(self) -> list[GroupRow]:
        """A row per town when the screen is a county's (villages grouped by parent)."""
        if self.node.level >= Level.TOWN:
            return []
        out: dict[str, GroupRow] = {}
        for r in sorted(self.rows, key=lambda r: r.village.path):
            parent = r.village.parent
            g = out.setdefault(
                r.village.path.rstrip("/").rsplit("/", 1)[0],
                GroupRow(parent.name if parent else "", parent.code if parent else ""),
            )
            g.villages += 1
            setattr(g, r.light, getattr(g, r.light) + 1)
            g.missing += r.status in ("missing", "due")
            g.returnees += r.values.get("returnees_new", 0)
            g.overdue += r.values.get("orders_overdue", 0)
        return list(out.values())

    @cached_property
    def shown_rows(self) -> list[VillageRow]:
        """A town's screen shows every village; a county's, those not green (red first)."""
        if self.node.level >= Level.TOWN:
            return self.rows
        return [r for r in self.rows if r.light != "green"][:ATTENTION_ROWS]

    @property
    def hidden(self) -> int:
        return len(self.rows) - len(self.shown_rows)

    @property
    def tiles(self) -> list[tuple[str, str, int, int]]:
        return [(k, label, self.totals[k], self.yesterday[k]) for k, label in self.keys]

    @property
    def late_rows(self) -> list[VillageRow]:
        return [r for r in self.rows if r.status in ("late", "missing", "due")]


def _light(
    values: dict[str, int], ages: dict[str, int], status: str, rules: ReportConfig
) -> tuple[str, list[str], int]:
    """The traffic light of a village, by its area's rule (`ReportConfig`): red for what
    the command post must act on today (the report still missing after the deadline;
    `red_overdue` or more orders open `red_overdue_days` days past their due day),
    amber for what to watch (a report not in yet or late, fresher or fewer overdue
    orders, pushed-list people pending), green when nothing is open. Returns the light,
    the reasons (red ones first) and the number of overdue orders old enough for red."""
    stale = sum(int(n) for age, n in ages.items() if int(age) >= rules.red_overdue_days)
    red, amber = [], []
    if status in ("missing", "due"):
        red.append("report_missing")
    if stale >= rules.red_overdue:
        red.append("overdue_stale")
    elif values.get("orders_overdue", 0):
        amber.append("overdue")
    if status == "late":
        amber.append("report_late")
    if status == "pending":
        amber.append("report_pending")
    if values.get("pushed_pending", 0):
        amber.append("pushed_pending")
    return ("red" if red else "amber" if amber else "green"), red + amber, stale


def _trend(node: Jurisdiction, days: list[date]) -> dict[str, list[int]]:
    """The window's daily sums, added up by the database (14 rows, not 14 per village)."""
    sums = {f"n_{k}": Sum(Cast(KT(f"values__{k}"), IntegerField())) for k in TREND_METRICS}
    trends = {k: [0] * len(days) for k in TREND_METRICS}
    # Any: the stubs type .values() rows by the grouped field only, not the sums.
    rows: Any = (
        VillageDay.objects.filter(
            subtree_q("village__path", node.path), day__gte=days[0], day__lte=days[-1]
        )
        .values("day")
        .annotate(**sums)
        .order_by()
    )
    for row in rows:
        for k in TREND_METRICS:
            trends[k][(row["day"] - days[0]).days] = int(row[f"n_{k}"] or 0)
    return trends


def _status(report: DailyReport | None, now: datetime, due: datetime) -> str:
    if report is not None and report.status == ReportStatus.SUBMITTED:
        return "late" if report.late else "on_time"
    if report is not None and report.status == ReportStatus.MISSING:
        return "missing"
    return "due" if now >= due else "pending"


def dashboard(node: Jurisdiction, now: datetime | None = None) -> Dashboard:
    """The command post's screen for `node`, from the pre-aggregated `VillageDay` rows:
    five reads whatever the size of the county, each returning at most a row per
    village (the trend is summed by the database)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    villages = villages_under(node)
    stats: dict[tuple[int, date], dict[str, Any]] = {}
    refreshed: datetime | None = None
    for village_id, day, values, at in VillageDay.objects.filter(
        subtree_q("village__path", node.path), day__in=[today, days[-2]]
    ).values_list("village_id", "day", "values", "refreshed_at"):
        stats[(village_id, day)] = values
        if day == today and (refreshed is None or at < refreshed):
            refreshed = at  # the oldest of today's rows: how fresh the screen is
    reports = {
        r.village_id: r
        for r in DailyReport.objects.filter(
            subtree_q("village__path", node.path),
            day=today,
        ).only("village_id", "status", "late", "submitted_at")
    }
    configs = {c.jurisdiction.path: c for c in ReportConfig.objects.select_related("jurisdiction")}
    defaults = ReportConfig()  # an area that set nothing: the model's defaults
    rows: list[VillageRow] = []
    totals = dict.fromkeys(KEY_METRICS, 0)
    yesterday = dict.fromkeys(KEY_METRICS, 0)
    counts = {
        "villages": len(villages),
        "on_time": 0,
        "late": 0,
        "missing": 0,
        "pending": 0,
        "red": 0,
        "amber": 0,
        "green": 0,
    }
    kinds: dict[str, int] = {}
    for v in villages:
        counted = stats.get((v.pk, today), {})
        for kind, n in (counted.get(OVERDUE_BY_KIND) or {}).items():
            kinds[kind] = kinds.get(kind, 0) + int(n)
        values = {
            k: int(n) for k, n in counted.items() if k not in (OVERDUE_BY_KIND, OVERDUE_BY_AGE)
        }
        before = stats.get((v.pk, days[-2]), {})
        for k in KEY_METRICS:
            totals[k] += values.get(k, 0)
            yesterday[k] += int(before.get(k, 0))
        rules = nearest_in(v.path, configs) or defaults
        due = timezone.make_aware(datetime.combine(today, rules.deadline))
        report = reports.get(v.pk)
        status = _status(report, now, due)
        light, reasons, stale = _light(values, counted.get(OVERDUE_BY_AGE) or {}, status, rules)
        counts["missing" if status == "due" else status] += 1
        counts[light] += 1
        sent = report.submitted_at if report else None
        rows.append(VillageRow(v, values, status, sent, light, reasons, stale=stale))
    # Labelled once per status, not once per row: a county's screen has hundreds.
    labels = {
        "on_time": _("on time"),
        "late": _("late"),
        "missing": _("missing"),
        "due": _("missing"),
        "pending": _("not yet due"),
    }
    for r in rows:
        hhmm = timezone.localtime(r.submitted_at).strftime(" %H:%M") if r.submitted_at else ""
        r.status_label = labels[r.status] + (hhmm if r.status in ("on_time", "late") else "")
    # A town's own row (posts on its roads, under no village) adds to the totals only.
    mine = {v.pk for v in villages}
    for (pk, day), counted in stats.items():
        if pk in mine:
            continue
        into = totals if day == today else yesterday
        for k in KEY_METRICS:
            into[k] += int(counted.get(k, 0))
    order = {"red": 0, "amber": 1, "green": 2}
    rows.sort(key=lambda r: (order[r.light], r.village.path))
    return Dashboard(
        node=node,
        day=today,
        now=now,
        refreshed_at=refreshed,
        keys=[(k, str(METRICS[k][0])) for k in KEY_METRICS],
        totals=totals,
        yesterday=yesterday,
        trend_days=[d.strftime("%m-%d") for d in days],
        trends=_trend(node, days),
        rows=rows,
        counts=counts,
        overdue_kinds=_kind_labels(kinds),
    )


def _kind_labels(kinds: dict[str, int]) -> list[tuple[str, int]]:
    from fangkong.workorders.kinds import KINDS

    ranked = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(str(KINDS[k].label) if k in KINDS else k, n) for k, n in ranked if n]


def overview(node: Jurisdiction, day: date) -> list[tuple[Jurisdiction, DailyReport | None]]:
    """Every village under `node` with its report of the day (None: not started)."""
    villages = villages_under(node)
    reports = {r.village_id: r for r in DailyReport.objects.filter(village__in=villages, day=day)}
    return [(v, reports.get(v.pk)) for v in villages]
