"""Screening in the demo town: rules in force today (a local copy of the 9th edition), a
few risk areas, returnees of the last three days, a list pushed by the county and a
door-knocking sweep under way, so every screening page has something to show."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from fangkong.core.identity import check_character
from fangkong.core.tabular import Table
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Role
from fangkong.org.scoping import subtree_q
from fangkong.people.models import Person
from fangkong.policy.models import Edition, RiskArea
from fangkong.policy.services import AreaData, area_save, edition_copy
from fangkong.screening import pushed as pushed_svc
from fangkong.screening.models import (
    Mode,
    PersonMeasure,
    PushedList,
    ReturneeReport,
    Source,
    Sweep,
    SweepVisit,
)
from fangkong.screening.services import ReportInput, report_submit
from fangkong.screening.sweeps import default_questions, sweep_create

# (division code, level, days since it became risky, days until lifted or None)
AREAS = [
    ("310115005", "high", 5, None),  # 上海市浦东新区陆家嘴街道
    ("310115007", "medium", 6, None),  # 上海市浦东新区周家渡街道
    ("440305", "medium", 20, 6),  # 广东省深圳市南山区 (lifted)
    ("430104", "low", 3, None),  # 湖南省长沙市岳麓区
]
ORIGINS = [
    "310115005",
    "310115007",
    "310115008",
    "440305001",
    "430104001",
    "430102001",
    "110101001",
    "440106001",
]
_DEMO_CODE = "湘A"


@transaction.atomic
def build_demo_screening(path: str, *, seed: int = 2022, returnees: int = 30) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    town = (
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.TOWN)
        .order_by("path")
        .first()
    )
    if town is None:
        return {}
    today = timezone.localdate()
    membership = Membership.objects.filter(jurisdiction=town, role=Role.TOWN_COMMANDER).first()
    commander = membership.user if membership is not None else None
    nat9 = Edition.objects.get(key="nat-9")
    if commander is not None and not Edition.objects.filter(scope=town).exists():
        local = edition_copy(
            actor=commander,
            source=nat9,
            name=f"{town.name}演练规则（依第九版）",
            scope=town,
            effective_from=today - timedelta(days=60),
        )
        Edition.objects.filter(pk=local.pk).update(effective_to=None)
    for code, level, since, lifted in AREAS:
        start = today - timedelta(days=since)
        if not RiskArea.objects.filter(code=code, effective_from=start).exists():
            area_save(
                actor=commander,
                data=AreaData(
                    code=code,
                    level=level,
                    effective_from=start,
                    effective_to=start + timedelta(days=lifted) if lifted else None,
                    source="演示数据：县指挥部转发",
                ),
            )
    villages = list(Jurisdiction.objects.filter(subtree_q("path", town.path), level=Level.VILLAGE))
    grids = {v.pk: list(Jurisdiction.objects.filter(parent=v, level=Level.GRID)) for v in villages}
    for i in range(returnees):
        village = rng.choice(villages)
        node = (
            rng.choice(grids[village.pk]) if grids[village.pk] and rng.random() < 0.7 else village
        )
        arrived = today - timedelta(days=rng.randint(0, 2))
        body = (
            f"4301{rng.randint(0, 99):02d}{rng.randint(1965, 2003)}{rng.randint(1, 12):02d}"
            f"{rng.randint(1, 28):02d}{996 + i % 4:03d}"
        )
        report_submit(
            ReportInput(
                name=rng.choice("王李张刘陈杨黄赵吴周")
                + rng.choice(["归", "航", "远", "途", "安"])
                + str(i),
                id_number=body + check_character(body),
                phone=f"199{rng.randint(0, 99_999_999):08d}",
                origin_code=rng.choice(ORIGINS),
                left_on=arrived - timedelta(days=rng.randint(0, 2)),
                arrived_on=arrived,
                mode=rng.choice([Mode.CAR, Mode.TRAIN, Mode.BUS]),
                vehicle=f"{_DEMO_CODE}{rng.randint(10000, 99999)}" if rng.random() < 0.3 else "",
                jurisdiction=node,
                address=f"{village.name}{rng.randint(1, 12)}组{rng.randint(1, 90)}号",
            ),
            source=rng.choice([Source.SELF, Source.SELF, Source.STAFF]),
        )
    lists = 0
    if commander is not None and not PushedList.objects.filter(jurisdiction=town).exists():
        people = list(
            Person.objects.filter(subtree_q("jurisdiction__path", town.path))
            .exclude(id_number_hash=None)
            .order_by("id")[:2000]
        )
        chosen = rng.sample(people, min(36, len(people)))
        rows = [
            (n + 2, [str(n + 1), p.name, p.id_number if n % 5 else "", p.phone or "", "时空伴随"])
            for n, p in enumerate(chosen)
        ]
        rows += [
            (len(rows) + 2 + k, [str(len(rows) + 1 + k), name, "", f"177{k:08d}", "时空伴随"])
            for k, name in enumerate(["孙思远", "钱雨桐", "吴子轩", "郑欣怡"])
        ]
        pushed_svc.pushed_import(
            actor=commander,
            node=town,
            table=Table(headers=["序号", "姓名", "身份证号码", "联系电话", "推送原因"], rows=rows),
            filename="县推送时空伴随名单.xlsx",
            sha256=f"demo-{seed}-{today}".ljust(64, "0")[:64],
            name="时空伴随人员核查名单（第12批）",
            source="县疫情防控指挥部",
            category="companion",
            deadline=timezone.now() + timedelta(hours=20),
        )
        lists = 1
    sweeps = 0
    if commander is not None and villages and not Sweep.objects.filter(jurisdiction=town).exists():
        sweep_create(
            actor=commander,
            organiser=town,
            name=f"{villages[0].name}敲门行动",
            scope=[villages[0]],
            starts_on=today,
            ends_on=today + timedelta(days=2),
            questions=default_questions(14),
        )
        sweeps = 1
    return {
        "returnees": returnees,
        "lists": lists,
        "sweeps": sweeps,
        "visits": SweepVisit.objects.count(),
    }


def delete_screening_under(path: str) -> None:
    """What build_demo_screening made under `path` (the rules stay unless local)."""
    PersonMeasure.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    ReturneeReport.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    PushedList.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    Sweep.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    Edition.objects.filter(subtree_q("scope__path", path)).delete()
