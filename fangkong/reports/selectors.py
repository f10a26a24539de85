"""Reads of daily reports, bulletins and the command dashboard, always for a node the
viewer may see (the views fetch it with `get_visible_or_404` or `top_node`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from fangkong.org.models import Jurisdiction, Level
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
from fangkong.reports.services import DEFAULT_DEADLINE
from fangkong.reports.stats import TREND_DAYS

# The numbers the dashboard shows as its key figures and trend lines.
KEY_METRICS = ("returnees_new", "central", "home_isolation", "home_monitoring", "pushed_pending",
               "orders_done", "orders_overdue")  # fmt: skip
TREND_METRICS = ("returnees_new", "central", "home_isolation", "orders_done", "orders_overdue")


def bulletins_visible(user: Any) -> ScopedQuerySet[Bulletin]:
    return Bulletin.objects.visible_to(user, Perm.REPORTS_VIEW).select_related("node")


def villages_under(node: Jurisdiction) -> list[Jurisdiction]:
    if node.level == Level.VILLAGE:
        return [node]
    return list(Jurisdiction.objects.filter(subtree_q("path", node.path), level=Level.VILLAGE)
                .select_related("parent").order_by("path"))  # fmt: skip


@dataclass
class VillageRow:
    village: Jurisdiction
    values: dict[str, int]
    status: str  # on_time | late | missing | pending | due (not in, deadline passed)
    submitted_at: datetime | None
    light: str  # green | amber | red
    reasons: list[str] = field(default_factory=list)


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

    def chart(self) -> dict[str, Any]:
        """What the trend chart draws (json_script'ed into the page)."""
        labels = {key: str(METRICS[key][0]) for key in TREND_METRICS}
        return {"days": self.trend_days, "series": [
            {"key": k, "name": labels[k], "data": self.trends[k]} for k in TREND_METRICS]}  # fmt: skip

    @property
    def tiles(self) -> list[tuple[str, str, int, int]]:
        return [(k, label, self.totals[k], self.yesterday[k]) for k, label in self.keys]

    @property
    def late_rows(self) -> list[VillageRow]:
        return [r for r in self.rows if r.status in ("late", "missing", "due")]


def _light(values: dict[str, int], status: str, red_overdue: int) -> tuple[str, list[str]]:
    """The traffic light of a village: red when its report is missing past the deadline
    or its overdue work piles up; amber for anything still open; green when all is in."""
    overdue = values.get("orders_overdue", 0)
    reasons = []
    if status in ("missing", "due"):
        reasons.append("report_missing")
    if overdue >= red_overdue:
        reasons.append("overdue_many")
    if reasons:
        return "red", reasons
    if status == "late":
        reasons.append("report_late")
    if status == "pending":
        reasons.append("report_pending")
    if overdue:
        reasons.append("overdue")
    if values.get("pushed_pending", 0):
        reasons.append("pushed_pending")
    return ("amber" if reasons else "green"), reasons


def dashboard(node: Jurisdiction, now: datetime | None = None) -> Dashboard:
    """The command post's screen for `node`, from the pre-aggregated `VillageDay` rows:
    four reads whatever the size of the county."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    villages = villages_under(node)
    ids = [v.pk for v in villages]
    stats: dict[tuple[int, date], dict[str, int]] = {}
    refreshed: datetime | None = None
    for village_id, day, values, at in VillageDay.objects.filter(
        subtree_q("village__path", node.path), day__gte=days[0], day__lte=today
    ).values_list("village_id", "day", "values", "refreshed_at"):
        stats[(village_id, day)] = values
        if day == today and (refreshed is None or at < refreshed):
            refreshed = at  # the oldest of today's rows: how fresh the screen is
    reports = {r.village_id: r for r in DailyReport.objects.filter(village_id__in=ids, day=today)}
    configs = {c.jurisdiction.path: c for c in ReportConfig.objects.select_related("jurisdiction")}
    trends = {k: [0] * len(days) for k in TREND_METRICS}
    for (_vid, day), values in stats.items():
        i = (day - days[0]).days
        for k in TREND_METRICS:
            trends[k][i] += int(values.get(k, 0))
    rows: list[VillageRow] = []
    totals = dict.fromkeys(KEY_METRICS, 0)
    yesterday = dict.fromkeys(KEY_METRICS, 0)
    counts = {"villages": len(villages), "on_time": 0, "late": 0, "missing": 0, "pending": 0,
              "red": 0, "amber": 0, "green": 0}  # fmt: skip
    for v in villages:
        values = {k: int(n) for k, n in stats.get((v.pk, today), {}).items()}
        for k in KEY_METRICS:
            totals[k] += values.get(k, 0)
            yesterday[k] += int(stats.get((v.pk, today - timedelta(days=1)), {}).get(k, 0))
        config = nearest_in(v.path, configs)
        deadline = config.deadline if config else DEFAULT_DEADLINE
        report = reports.get(v.pk)
        if report is not None and report.status == ReportStatus.SUBMITTED:
            status = "late" if report.late else "on_time"
        elif report is not None and report.status == ReportStatus.MISSING:
            status = "missing"
        else:
            due = timezone.make_aware(datetime.combine(today, deadline))
            status = "due" if now >= due else "pending"
        light, reasons = _light(values, status, config.red_overdue if config else 5)
        counts["missing" if status == "due" else status] += 1
        counts[light] += 1
        rows.append(VillageRow(v, values, status, report.submitted_at if report else None,
                               light, reasons))  # fmt: skip
    order = {"red": 0, "amber": 1, "green": 2}
    rows.sort(key=lambda r: (order[r.light], r.village.path))
    return Dashboard(
        node=node, day=today, now=now, refreshed_at=refreshed,
        keys=[(k, str(METRICS[k][0])) for k in KEY_METRICS], totals=totals, yesterday=yesterday,
        trend_days=[d.strftime("%m-%d") for d in days], trends=trends, rows=rows, counts=counts,
    )  # fmt: skip


def overview(node: Jurisdiction, day: date) -> list[tuple[Jurisdiction, DailyReport | None]]:
    """Every village under `node` with its report of the day (None: not started)."""
    villages = villages_under(node)
    reports = {r.village_id: r for r in DailyReport.objects.filter(village__in=villages, day=day)}
    return [(v, reports.get(v.pk)) for v in villages]
