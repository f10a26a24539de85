"""The daily bulletin (疫防日通报) of a town, or of a county one level up.

`bulletin_summary` gathers the numbers once into a plain dict (what the documents, the
page and the archive all show); `bulletin_generate` renders it as .docx and .xlsx and
archives it per node and day; `generate_due` is the scheduled job.

A village that confirmed its report is counted with the numbers it confirmed; one that
did not is counted with fangkong's own numbers for the day, and named as late or
missing, so the town's totals never silently drop a village.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.notify import webhooks
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.scoping import nearest_in, subtree_q
from fangkong.reports.metrics import AT_TOWN, compute
from fangkong.reports.models import (
    Bulletin,
    DailyReport,
    FieldKind,
    ReportField,
    ReportStatus,
    VillageDay,
)
from fangkong.reports.services import Deadlines, computed_values, fields, submitted_status
from fangkong.reports.teams import team_rows

Summary = dict[str, Any]
logger = logging.getLogger(__name__)


def _numeric(all_fields: Sequence[ReportField]) -> list[ReportField]:
    return [f for f in all_fields if f.kind in (FieldKind.COMPUTED, FieldKind.NUMBER)]


def village_values(
    villages: Sequence[Jurisdiction], day: date
) -> tuple[dict[int, dict[str, Any]], dict[int, DailyReport]]:
    """Each village's numbers for the day (confirmed when submitted, else computed now)
    and its report row, if any."""
    reports = {r.village_id: r for r in DailyReport.objects.filter(village__in=villages, day=day)}
    submitted = {pk for pk, r in reports.items() if r.status == ReportStatus.SUBMITTED}
    rest = [v for v in villages if v.pk not in submitted]
    live: dict[int, dict[str, Any]] = {}
    if rest and day < timezone.localdate():
        # A past day as counted that evening: pending and overdue are snapshots, and
        # recounting them now would give today's state under yesterday's date.
        keyed = [f for f in fields() if f.kind == FieldKind.COMPUTED and f.metric]
        for pk, counted in VillageDay.objects.filter(village__in=rest, day=day).values_list(
            "village_id", "values"
        ):
            live[pk] = {f.key: counted.get(f.metric, 0) for f in keyed}
    live |= computed_values([v for v in rest if v.pk not in live], day)
    values = {
        pk: dict(reports[pk].values) if pk in submitted else live.get(pk, {})
        for pk in (v.pk for v in villages)
    }
    return values, reports


def bulletin_summary(node: Jurisdiction, day: date, now: datetime | None = None) -> Summary:
    """The numbers of the bulletin of `node` (a town: a row per village; a county: a row
    per town) for `day`."""
    now = now or timezone.now()
    all_fields = fields()
    numeric = _numeric(all_fields)
    texts = [f for f in all_fields if f.kind == FieldKind.TEXT]
    villages = list(
        Jurisdiction.objects.filter(subtree_q("path", node.path), level=Level.VILLAGE)
        .select_related("parent")
        .order_by("path")
    )
    children = {c.path: c for c in Jurisdiction.objects.filter(parent=node).order_by("code")}
    if node.level == Level.VILLAGE:
        children = {node.path: node}
    values, reports = village_values(villages, day)
    deadlines = Deadlines()
    per_row: dict[str, dict[str, Any]] = {
        path: {
            "name": c.name,
            "code": c.code,
            "values": dict.fromkeys((f.key for f in numeric), 0),
            "villages": 0,
            "on_time": 0,
            "late": 0,
            "missing": 0,
            "pending": 0,
            "status": "",
            "submitted_at": "",
        }
        for path, c in children.items()
    }
    totals = dict.fromkeys((f.key for f in numeric), 0)
    named: dict[str, list[Any]] = defaultdict(list)
    notes: list[list[str]] = []
    row_paths = {p: p for p in per_row}
    for v in villages:
        row_path = nearest_in(v.path, row_paths)
        if row_path is None:
            continue
        row = per_row[row_path]
        # In a county's bulletin a village is named with its town.
        label = (
            v.name if node.level >= Level.TOWN else f"{v.parent.name if v.parent else ''}{v.name}"
        )
        report = reports.get(v.pk)
        status, at = submitted_status(report, now, deadlines.due(v.path, day))
        if report is not None and report.status == ReportStatus.SUBMITTED:
            if report.late:
                named["late"].append([label, at])
            for f in texts:
                if str(report.values.get(f.key, "")).strip():
                    notes.append([label, f.label, str(report.values[f.key]).strip()])
        else:
            named[status].append(label)
        row["villages"] += 1
        row[status] += 1
        if children.get(row_path) is not None and children[row_path].pk == v.pk:
            row["status"], row["submitted_at"] = status, at
        for f in numeric:
            n = int(values[v.pk].get(f.key, 0) or 0)
            row["values"][f.key] += n
            totals[f.key] += n
    own = _outside_villages(node, villages, children, numeric, day)
    for path, (name, code, counted) in own.items():
        if path not in per_row:  # a town's bulletin: a row of the town itself, last
            per_row[path] = {
                "name": name,
                "code": code,
                "values": dict.fromkeys((f.key for f in numeric), 0),
                **dict.fromkeys(("villages", "on_time", "late", "missing", "pending"), 0),
                "status": "",
                "submitted_at": "",
            }
        for key, n in counted.items():
            per_row[path]["values"][key] += n
            totals[key] += n
    counts = {
        k: sum(r[k] for r in per_row.values())
        for k in ("villages", "on_time", "late", "missing", "pending")
    }
    return {
        "node": node.name,
        "code": node.code,
        "level": int(node.level),
        "day": day.isoformat(),
        "generated_at": timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
        "fields": [[f.key, f.label] for f in numeric],
        "rows": list(per_row.values()),
        "totals": totals,
        "counts": counts,
        "late": named["late"],
        "missing": named["missing"],
        "pending": named["pending"],
        "notes": notes,
        "response_times": response_times(node, day, now),
        "teams": team_rows(node, day, now),
    }


def _outside_villages(
    node: Jurisdiction,
    villages: Sequence[Jurisdiction],
    children: dict[str, Jurisdiction],
    numeric: Sequence[ReportField],
    day: date,
) -> dict[str, tuple[str, str, dict[str, int]]]:
    """{row path: (name, code, {field key: n})}: what a town counts at its own node,
    outside every village (posts on the town's roads, `metrics.AT_TOWN`): in a town's
    bulletin a row of the town itself, in a county's added to the town's row. Only
    fields that have any."""
    keyed = [f for f in numeric if f.kind == FieldKind.COMPUTED and f.metric in AT_TOWN]
    towns = [node] if node.level == Level.TOWN else []
    towns += [c for c in children.values() if c.level == Level.TOWN]
    if not keyed or not towns:
        return {}
    counted = compute({f.metric for f in keyed}, [*villages, *towns], day)
    out: dict[str, tuple[str, str, dict[str, int]]] = {}
    for town in towns:
        values = {f.key: counted[town.pk][f.metric] for f in keyed}
        if any(values.values()):
            with override(settings.LANGUAGE_CODE):  # the town's paper, as the documents
                name = _("%(town)s (the town itself)") % {"town": town.name} if town is node else ""
            out[town.path] = (name, town.code, values)
    return out


def response_times(node: Jurisdiction, day: date, now: datetime) -> list[dict[str, Any]]:
    """Households' requests asked that day under `node`, by village and kind: how many,
    answered, the median and 90th percentile minutes to an answer, and the late ones
    named (masked)."""
    from fangkong.assist.selectors import response_times_at

    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return [
        {
            "village": t.village,
            "kind": t.kind,
            "green": t.green,
            "asked": t.asked,
            "answered": t.answered,
            "median": None if t.median is None else round(t.median, 1),
            "p90": None if t.p90 is None else round(t.p90, 1),
            "late": [[x.name, x.minutes_late, x.answered] for x in t.late],
        }
        for t in response_times_at(node.path, start, start + timedelta(days=1), now)
    ]


def _yesterday(node: Jurisdiction, day: date, now: datetime) -> dict[str, int] | None:
    """Yesterday's totals as the archived bulletin sent them, else as counted now."""
    earlier = Bulletin.objects.filter(node=node, day=day - timedelta(days=1)).first()
    if earlier is not None:
        return dict(earlier.summary.get("totals", {}))
    return dict(bulletin_summary(node, day - timedelta(days=1), now)["totals"])


@transaction.atomic
def bulletin_generate(
    *,
    node: Jurisdiction,
    day: date,
    actor: User | None = None,
    highlights: str | None = None,
    now: datetime | None = None,
) -> Bulletin:
    """Make (or remake) the bulletin of `node` for `day` and archive both documents. A
    remake keeps the highlights unless new ones are given."""
    from fangkong.reports.documents import render_docx, render_xlsx

    now = now or timezone.now()
    # Two makes at once (a double click, the job beside a cadre) queue on the node's row:
    # locking the bulletin would lock nothing before the first one exists.
    Jurisdiction.objects.select_for_update().filter(pk=node.pk).first()
    existing = Bulletin.objects.select_for_update().filter(node=node, day=day).first()
    summary = bulletin_summary(node, day, now)
    yesterday = _yesterday(node, day, now)
    summary["yesterday"] = yesterday
    summary["change"] = (
        {k: n - int(yesterday.get(k, 0)) for k, n in summary["totals"].items()}
        if yesterday is not None
        else None
    )
    text = highlights if highlights is not None else (existing.highlights if existing else "")
    summary["highlights"] = [line.strip() for line in text.splitlines() if line.strip()]
    docx, xlsx = render_docx(summary), render_xlsx(summary)
    if existing is None:
        made = Bulletin.objects.create(
            node=node,
            day=day,
            highlights=text,
            summary=summary,
            docx=docx,
            xlsx=xlsx,
            generated_at=now,
            generated_by=actor,
        )
    else:
        made = existing
        made.highlights, made.summary, made.docx, made.xlsx = text, summary, docx, xlsx
        made.generated_at, made.generated_by = now, actor
        made.version += 1
        made.save()
    webhooks.emit(
        webhooks.BULLETIN_MADE,
        node=node,
        key=f"{made.pk}:v{made.version}",
        data={
            "bulletin_id": made.pk,
            "day": day.isoformat(),
            "version": made.version,
            "totals": summary.get("totals", {}),
        },
        now=now,
    )
    return made


def generate_due(now: datetime | None = None) -> list[Bulletin]:
    """The scheduled job: each town past its deadline today gets its bulletin (after the
    missing villages are flagged), unless one was made after the deadline already; a
    bulletin made earlier in the day (a draft, villages still pending) is made again.
    Then each county whose towns all have theirs. Each is announced to the robots taking
    `bulletin` as it is made; one town's failure does not hold up the others."""
    from fangkong.reports.services import flag_missing
    from fangkong.reports.teams import flag_missing_teams

    now = now or timezone.now()
    day = timezone.localdate(now)
    flag_missing(now)
    flag_missing_teams(now)
    made_at = dict(Bulletin.objects.filter(day=day).values_list("node_id", "generated_at"))
    deadlines = Deadlines()
    made: list[Bulletin] = []
    towns = list(Jurisdiction.objects.filter(level=Level.TOWN).order_by("path"))
    final: dict[int, datetime] = {}  # towns whose bulletin is made after their deadline
    for town in towns:
        due = deadlines.due(town.path, day)
        if now < due:
            continue
        if made_at.get(town.pk) is not None and made_at[town.pk] >= due:
            final[town.pk] = made_at[town.pk]
            continue
        bulletin = _make_and_announce(town, day, now)
        if bulletin is not None:
            made.append(bulletin)
            final[town.pk] = now
    for county in Jurisdiction.objects.filter(level=Level.COUNTY).order_by("path"):
        mine = [t for t in towns if t.parent_id == county.pk]
        if not mine or any(t.pk not in final for t in mine):
            continue
        latest = max(final[t.pk] for t in mine)
        if made_at.get(county.pk) is not None and made_at[county.pk] >= latest:
            continue
        bulletin = _make_and_announce(county, day, now)
        if bulletin is not None:
            made.append(bulletin)
    return made


def _make_and_announce(node: Jurisdiction, day: date, now: datetime) -> Bulletin | None:
    from fangkong.notify.services import deliver, routes

    try:
        with transaction.atomic():
            b = bulletin_generate(node=node, day=day, now=now)
            deliver(
                channels=routes("bulletin", node.path),
                title=headline(b.summary),
                body=digest(b.summary),
                event="bulletin",
                key=f"bulletin:{b.pk}:{b.version}",
            )
    except Exception:
        logger.exception("bulletin of %s for %s failed", node.code, day)
        return None
    return b


def headline(summary: Summary) -> str:
    with override("zh-hans"):
        return _("%(node)s daily bulletin, %(day)s") % {
            "node": summary["node"],
            "day": summary["day"],
        }


def digest(summary: Summary) -> str:
    """The bulletin in a few lines, for a group robot or an SMS."""
    with override("zh-hans"):
        c = summary["counts"]
        lines = [
            _("%(n)d villages: %(on_time)d on time, %(late)d late, %(missing)d missing.")
            % {
                "n": c["villages"],
                "on_time": c["on_time"],
                "late": c["late"],
                "missing": c["missing"],
            }
        ]
        lines += [f"{label}: {summary['totals'].get(key, 0)}" for key, label in summary["fields"]]
        if summary["late"]:
            lines.append(
                _("Late: %(names)s") % {"names": "、".join(n for n, _t in summary["late"])}
            )
        if summary["missing"]:
            lines.append(_("Missing: %(names)s") % {"names": "、".join(summary["missing"])})
        unsent = [t["name"] for t in summary.get("teams", []) if t["status"] == "missing"]
        if unsent:
            lines.append(_("Special teams missing: %(names)s") % {"names": "、".join(unsent)})
        return "\n".join(lines)
