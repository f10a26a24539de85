"""Two weeks of daily reports for the demo town, so the dashboard's trends, the overview
and the bulletin archive have something to show on the first start.

The returnee reports the screening demo filed are spread over the fortnight (they are
synthetic); every number the dashboard and the bulletins then show is counted from
them by the same code as in production. Most villages report on time, a few late, one
or two not at all, deterministically from the seed.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.notify.models import Channel, ChannelKind
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Role
from fangkong.org.scoping import subtree_q
from fangkong.reports import stats
from fangkong.reports.bulletin import bulletin_generate
from fangkong.reports.models import Bulletin, DailyReport, ReportStatus, VillageDay
from fangkong.reports.services import computed_values, report_submit

DAYS = stats.TREND_DAYS


@transaction.atomic
def build_demo_reports(path: str, *, seed: int = 2022) -> dict[str, int]:
    from fangkong.screening.models import ReturneeReport

    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = timezone.now()
    today = timezone.localdate(now)
    for pk in (
        ReturneeReport.objects.filter(subtree_q("jurisdiction__path", path))
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        back = rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
        ReturneeReport.objects.filter(pk=pk).update(created_at=now - timedelta(days=back))
    villages = list(
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.VILLAGE).order_by("path")
    )
    rows = []
    for back in range(DAYS - 1, 0, -1):
        day = today - timedelta(days=back)
        computed = computed_values(villages, day)
        for v in villages:
            luck = rng.random()
            if luck < 0.04:
                rows.append(DailyReport(village=v, day=day, status=ReportStatus.MISSING))
                continue
            minute = (
                rng.randrange(14 * 60, 17 * 60)
                if luck > 0.15
                else rng.randrange(17 * 60 + 1, 19 * 60)
            )
            at = timezone.make_aware(datetime.combine(day, time(minute // 60, minute % 60)))
            rows.append(
                DailyReport(
                    village=v,
                    day=day,
                    status=ReportStatus.SUBMITTED,
                    late=minute > 17 * 60,
                    submitted_at=at,
                    version=1,
                    values=computed[v.pk]
                    | {"propaganda": rng.randrange(0, 4), "problems": "", "needs": ""},
                )
            )
    DailyReport.objects.bulk_create(rows, ignore_conflicts=True)
    # Today: about two villages in three have sent theirs since 08:00 (or are about to).
    cadres = dict(
        Membership.objects.filter(jurisdiction__in=villages, role=Role.VILLAGE_CADRE).values_list(
            "jurisdiction_id", "user"
        )
    )
    users = User.objects.in_bulk(list(cadres.values()))
    morning = timezone.make_aware(datetime.combine(today, time(8)))
    last = min(now, timezone.make_aware(datetime.combine(today, time(17, 30))))
    for v in villages:
        if last > morning and v.pk in cadres and rng.random() < 0.65:
            at = morning + (last - morning) * rng.random()
            report_submit(
                actor=users[cadres[v.pk]],
                village=v,
                day=today,
                now=at,
                entered={"propaganda": str(rng.randrange(0, 4))},
            )
    stats.backfill(now)
    stats.refresh(now=now)
    made = 0
    for node in Jurisdiction.objects.filter(
        subtree_q("path", path), level__lte=Level.TOWN
    ).order_by("-level"):
        # Towns first, then the county, so the county's bulletin follows its towns'.
        for back in (2, 1):
            bulletin_generate(node=node, day=today - timedelta(days=back), now=now)
            made += 1
    Channel.objects.get_or_create(
        key="demo-command-group",
        defaults={
            "name": "指挥部工作群（演示：写入文件）",
            "kind": ChannelKind.FILE,
            "events": ["escalation", "pushed_list", "late_report", "broadcast", "bulletin"],
        },
    )
    return {"reports": len(rows), "bulletins": made}


def delete_reports_under(path: str) -> None:
    Bulletin.objects.filter(subtree_q("node__path", path)).delete()
    DailyReport.objects.filter(subtree_q("village__path", path)).delete()
    VillageDay.objects.filter(subtree_q("village__path", path)).delete()
