"""The demo town's places: a dozen places of the first village (a market, a supermarket,
a pharmacy, a clinic, restaurants, a hotel, a bus stop, a temple, an enterprise and a
logistics firm) with a day of scans, the town's patrol member (`patrol1`) and a route
over the key places, a patrol round this morning (one shop failed on scanning: its
rectification order is open; yesterday's finding at the restaurant was re-inspected and
warned), the logistics firm's commitment letter, disinfection log and cold-chain check,
the temple closed with its person contacted, and a wedding decided by the response
level in force.
Deterministic from the seed."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.core.crypto import blind_index
from fangkong.org.models import Jurisdiction, Level, StaffKind
from fangkong.org.roles import Role
from fangkong.org.scoping import subtree_q
from fangkong.org.services import membership_grant, staff_create
from fangkong.places import services
from fangkong.places.models import (
    Disinfection,
    Finding,
    Gathering,
    GoodsCheck,
    Inspection,
    PatrolRoute,
    Penalty,
    Place,
    PlaceCategory,
    Scan,
    Visitor,
)
from fangkong.workorders.models import WorkOrder
from fangkong.workorders.services import order_complete

PLACES = [
    # name, category, owner
    ("惠民农贸市场", "market", "浦市供销社"),
    ("好又多超市", "supermarket", "刘建国"),
    ("仁心大药房", "pharmacy", "陈芳"),
    ("社区卫生服务站", "clinic", "浦市卫生院"),
    ("老街面馆", "restaurant", "王小军"),
    ("河畔酒家", "restaurant", "周丽"),
    ("浦市宾馆", "hotel", "浦市宾馆有限公司"),
    ("便民小卖部", "shop", "张桂兰"),
    ("镇政府公交站", "bus_stop", ""),
    ("关帝庙", "folk_belief", ""),
    ("浦市纺织厂", "enterprise", "浦市纺织有限公司"),
    ("顺达冷链物流", "logistics", "顺达物流有限公司"),
]
DEMO_PHONES = 150
DEMO_SCANS = 600


def build_demo_places(path: str, seed: int, password: str) -> dict[str, int]:
    commander = User.objects.filter(username="commander").first()
    town = (
        Jurisdiction.objects.filter(subtree_q("path", path), level=Level.TOWN)
        .order_by("path")
        .first()
    )
    if (
        commander is None
        or town is None
        or Place.objects.filter(subtree_q("jurisdiction__path", path)).exists()
    ):
        return {}
    village = (
        Jurisdiction.objects.filter(subtree_q("path", town.path), level=Level.VILLAGE)
        .order_by("path")
        .first()
    )
    if village is None:
        return {}
    grids = list(
        Jurisdiction.objects.filter(parent=village, level=Level.GRID).order_by("path")
    ) or [village]
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    categories = {c.code: c for c in PlaceCategory.objects.all()}
    places = {
        name: services.place_create(
            actor=commander,
            jurisdiction=grids[i % len(grids)],
            category=categories[code],
            name=name,
            owner=owner,
            manager_name=f"{owner[:1] or '李'}经理",
            manager_phone=f"1357{rng.randrange(10**7):07d}",
            workforce=120 if code in ("enterprise", "logistics") else None,
        )
        for i, (name, code, owner) in enumerate(PLACES)
    }
    # A day of scans: visitors' phones over the opening hours, busiest at the market.
    today = timezone.localdate()
    opening = timezone.make_aware(datetime.combine(today, time(7, 0)))
    now = timezone.now()
    span = max(60, int((min(now, opening + timedelta(hours=14)) - opening).total_seconds()))
    phones = [f"1380571{n:04d}" for n in range(DEMO_PHONES)]
    for phone in phones:
        services.visitor_remember(name=f"访客{phone[-4:]}", phone=phone)
    weights = [6, 4, 3, 2, 2, 2, 1, 2, 1, 0, 1, 1]
    names = list(places)
    rows = []
    for _ in range(DEMO_SCANS):
        place = places[rng.choices(names, weights)[0]]
        at = opening + timedelta(seconds=rng.randrange(span))
        rows.append((place.pk, blind_index(rng.choice(phones)), place.jurisdiction.path, at))
    services.scans_bulk(rows)
    # The patrol group and its route over the key places.
    patrol = User.objects.filter(username="patrol1").first()
    if patrol is None:
        patrol = staff_create(
            username="patrol1",
            name="巡查组 钱队长",
            kind=StaffKind.OTHER,
            jurisdiction=town,
            password_hash=make_password(password),
        ).user
    membership_grant(user=patrol, jurisdiction=town, role=Role.PATROL)
    key = [p for p in places.values() if p.category.key_place]
    services.route_create(
        actor=commander, jurisdiction=village, name="重点场所日巡", places=key, every_days=1
    )

    # Client ids from a stream of their own: another app's demo drawing from the same seed
    # would otherwise hand out the same ids (a work order's result id is unique).
    ids = random.Random(f"places-demo-{seed}")  # noqa: S311 - demo data, not secrets

    def inspect(place: Place, fail: tuple[str, ...], note: str, at: datetime) -> list[Finding]:
        answers = {
            i.code: ("fail" if i.code in fail else "ok") for i in services.checklist_for(place)
        }
        return services.inspection_record(
            actor=patrol,
            place=place,
            code=place.code,
            answers=answers,
            notes=dict.fromkeys(fail, note),
            client_id=uuid.UUID(int=ids.getrandbits(128), version=4),
            now=at,
        ).findings

    yesterday = now - timedelta(days=1)
    (old,) = inspect(places["老街面馆"], ("temperature",), "门口未测温", yesterday)
    order_complete(
        order_id=old.order_id or 0,
        actor=patrol,
        result={"rectified": True, "penalty": "warning", "note": "已配备测温枪，警告一次"},
        client_id=uuid.UUID(int=ids.getrandbits(128), version=4),
    )
    inspect(places["惠民农贸市场"], (), "", now - timedelta(hours=2))
    inspect(places["好又多超市"], (), "", now - timedelta(hours=1, minutes=30))
    inspect(
        places["便民小卖部"], ("scanning_enforced",), "顾客未扫码直接进店", now - timedelta(hours=1)
    )
    # The logistics firm's letter and logs; the temple closed; a wedding at the level in force.
    firm = places["顺达冷链物流"]
    services.commitment_sign(
        actor=commander,
        place_id=firm.pk,
        signer="顺达物流 赵总",
        signed_on=today - timedelta(days=10),
        text="本企业承诺：落实员工健康监测、冷链货物逐批检测和外包装消毒，发现异常立即报告。",
    )
    for d in range(7):
        services.disinfection_record(
            actor=commander,
            place=firm,
            day=today - timedelta(days=d),
            areas="冷库、装卸区、车辆",
            done_by="孙师傅",
        )
    services.goods_check_record(
        actor=commander,
        place=firm,
        day=today,
        kind="cold_chain",
        batches=18,
        sampled=6,
        all_negative=True,
        disinfected=True,
    )
    temple = places["关帝庙"]
    services.place_close(
        actor=commander, place_id=temple.pk, reason="二级响应期间暂停开放、停止聚集"
    )
    services.place_contacted(actor=commander, place_id=temple.pk)
    services.gathering_register(
        actor=commander,
        jurisdiction=village,
        kind="wedding",
        on=today + timedelta(days=5),
        organiser="陈家",
        expected=80,
    )
    return {
        "places": len(places),
        "scans": len(rows),
        "inspections": Inspection.objects.filter(place__in=places.values()).count(),
        "findings": Finding.objects.filter(place__in=places.values()).count(),
    }


def delete_places_under(path: str) -> None:
    """Everything places hold under `path` (the demo's --reset)."""
    places = Place.objects.filter(subtree_q("jurisdiction__path", path))
    findings = Finding.objects.filter(place__in=places)
    WorkOrder.objects.filter(kind="places_rectify", pk__in=findings.values("order_id")).delete()
    Penalty.objects.filter(place__in=places).delete()
    findings.delete()
    Inspection.objects.filter(place__in=places).delete()
    Gathering.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    Disinfection.objects.filter(place__in=places).delete()
    GoodsCheck.objects.filter(place__in=places).delete()
    PatrolRoute.objects.filter(subtree_q("jurisdiction__path", path)).delete()
    keys = list(
        Scan.objects.filter(place__in=places).values_list("person_key", flat=True).distinct()
    )
    Scan.objects.filter(place__in=places).delete()
    Visitor.objects.filter(key__in=keys).exclude(key__in=Scan.objects.values("person_key")).delete()
    places.delete()
