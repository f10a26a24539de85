"""The home page's daily-report duties: a village cadre's report of the day and its
deadline; for whoever oversees villages (a commander, the county), the villages past
the deadline without their report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from fangkong.core.duties import Duty
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, scope_paths, subtree_q
from fangkong.reports.models import DailyReport, ReportStatus
from fangkong.reports.services import Deadlines

# A commander's line names this many late villages; the overview lists them all.
NAMED = 5


def home_duties(user: Any, now: datetime) -> list[Duty]:
    submit = scope_paths(user, Perm.REPORTS_SUBMIT)
    view = scope_paths(user, Perm.REPORTS_VIEW)
    if not submit and not view:
        return []
    roots = {
        n.path: n
        for n in Jurisdiction.objects.filter(path__in=sorted({*submit, *view})).only(
            "id", "code", "name", "path", "level"
        )
    }
    # A cadre answers for a village's own report; above the village one oversees them.
    own = [roots[p] for p in submit if p in roots and roots[p].level == Level.VILLAGE]
    above = [roots[p] for p in view if p in roots and roots[p].level < Level.VILLAGE]
    villages = list(own)
    for node in above:
        villages += list(
            Jurisdiction.objects.filter(subtree_q("path", node.path), level=Level.VILLAGE)
            .only("id", "code", "name", "path", "level")
            .order_by("path")
        )
    if not villages:
        return []
    today = timezone.localdate(now)
    reports = {
        r.village_id: r
        for r in DailyReport.objects.filter(village__in=[v.pk for v in villages], day=today).only(
            "village_id", "status", "late", "submitted_at"
        )
    }
    deadlines = Deadlines(sorted({p for v in villages for p in ancestor_paths(v.path)}))
    duties = [_own_report(v, reports.get(v.pk), deadlines.due(v.path, today), now) for v in own]
    for node in above:
        under = [v for v in villages if v.path.startswith(node.path) and v.path != node.path]
        late = [
            v for v in under if _not_in(reports.get(v.pk)) and now >= deadlines.due(v.path, today)
        ]
        sent = sum(1 for v in under if not _not_in(reports.get(v.pk)))
        duties.append(_late_villages(node, late, sent, len(under)))
    return duties


def _not_in(report: DailyReport | None) -> bool:
    return report is None or report.status != ReportStatus.SUBMITTED


def _own_report(
    village: Jurisdiction, report: DailyReport | None, due: datetime, now: datetime
) -> Duty:
    url = reverse("reports:village", args=[village.code])
    key = f"report-{village.code}"
    hhmm = timezone.localtime(due).strftime("%H:%M")
    if report is not None and report.status == ReportStatus.SUBMITTED:
        at = (
            timezone.localtime(report.submitted_at).strftime("%H:%M") if report.submitted_at else ""
        )
        text = _("Today's report for %(village)s is in (%(at)s).") % {
            "village": village.name,
            "at": at,
        }
        return Duty(key, text, url, "warning" if report.late else "success")
    if now >= due:
        text = _("Today's report for %(village)s is late: it was due at %(time)s. Send it now.")
        return Duty(key, text % {"village": village.name, "time": hhmm}, url, "danger")
    text = _("Today's report for %(village)s is due by %(time)s.")
    return Duty(key, text % {"village": village.name, "time": hhmm}, url, "warning")


def _late_villages(node: Jurisdiction, late: list[Jurisdiction], sent: int, total: int) -> Duty:
    url = reverse("reports:overview") + f"?node={node.code}"
    key = f"late-villages-{node.code}"
    if not late:
        # Nobody late yet: how many reports are in, until all are.
        text = ngettext(
            "%(node)s: %(sent)d of %(total)d village has sent today's report; none is late.",
            "%(node)s: %(sent)d of %(total)d villages have sent today's report; none is late.",
            total,
        ) % {"node": node.name, "sent": sent, "total": total}
        return Duty(key, text, url, "success" if sent == total else "info", 0)
    # The separator is the language's own: 、 in Chinese.
    sep = pgettext("list separator", ", ")
    names = sep.join(v.name for v in late[:NAMED]) + ("…" if len(late) > NAMED else "")
    text = ngettext(
        "%(node)s: %(n)d of %(total)d villages is late with today's report: %(names)s",
        "%(node)s: %(n)d of %(total)d villages are late with today's report: %(names)s",
        len(late),
    ) % {"node": node.name, "n": len(late), "total": total, "names": names}
    return Duty(key, text, url, "danger", len(late))
