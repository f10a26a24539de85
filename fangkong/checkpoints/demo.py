"""The demo town's checkpoints: the three posts its crews are named for (the toll
station on S229, the river landing, G352 at 马王溪), each with three 8-hour shifts
yesterday, today and tomorrow (the crews cp11 … cp33), check-ins and acknowledged
hand-overs for the shifts past, and a day and a half of logs. Deterministic by seed."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from fangkong.checkpoints.models import CrewMember, Entry, Post, PostKind, Shift
from fangkong.org.models import Membership, StaffProfile
from fangkong.org.roles import Role
from fangkong.org.scoping import subtree_q

POSTS = (
    (
        "S229浦市收费站卡点",
        PostKind.EXPRESSWAY,
        Decimal("28.130000"),
        Decimal("110.110000"),
        [1, 2, 3],
    ),
    ("浦市码头卡点", PostKind.LANDING, Decimal("28.120000"), Decimal("110.100000"), [1, 2]),
    ("G352马王溪卡点", PostKind.ROAD, Decimal("28.150000"), Decimal("110.130000"), [1, 2]),
)
LOCAL = "湘"
# Cars an hour at a rural post, by hour of the day.
_TRAFFIC = [1, 0, 0, 0, 1, 2, 5, 9, 10, 8, 7, 7, 6, 6, 7, 8, 9, 10, 8, 5, 4, 3, 2, 1]
_SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _plate(rng: random.Random) -> str:
    province = LOCAL if rng.random() < 0.8 else rng.choice("鄂渝黔粤桂赣")
    serial = "".join(rng.choice("0123456789") for _i in range(4))
    return f"{province}{rng.choice('UAHB')}{rng.choice(_SERIAL)}{serial}"


def build_demo_checkpoints(path: str, seed: int = 7) -> dict[str, int]:
    if Post.objects.filter(subtree_q("jurisdiction__path", path)).exists():
        return {}
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = timezone.now()
    today = timezone.localdate()
    made = {"posts": 0, "shifts": 0, "entries": 0}
    for i, (name, kind, lat, lng, levels) in enumerate(POSTS, start=1):
        crews = list(
            Membership.objects.filter(
                Q(jurisdiction__path__startswith=path),
                role=Role.CHECKPOINT_CREW,
                post=name,
            ).select_related("jurisdiction", "user")
        )
        if not crews:
            continue
        node = crews[0].jurisdiction
        staff = {
            s.user.username: s
            for s in StaffProfile.objects.filter(user__in=[m.user for m in crews]).select_related(
                "user"
            )
        }
        leader = staff.get(f"cp{i}1")
        post = Post.objects.create(
            jurisdiction=node,
            name=name,
            kind=kind,
            lat=lat,
            lng=lng,
            open_levels=levels,
            leader=leader.user if leader else None,
        )
        made["posts"] += 1
        for offset in (-1, 0, 1):
            day = today + timedelta(days=offset)
            for n, hour in enumerate((0, 8, 16), start=1):
                begins = timezone.make_aware(datetime.combine(day, time(hour)))
                shift = Shift.objects.create(
                    post=post,
                    jurisdiction=node,
                    starts_at=begins,
                    ends_at=begins + timedelta(hours=8),
                )
                made["shifts"] += 1
                member = staff.get(f"cp{i}{n}")
                if member is None:
                    continue
                done = begins + timedelta(minutes=rng.randint(-20, 10))
                CrewMember.objects.create(
                    shift=shift, staff=member, checked_in_at=done if done < now else None
                )
                if begins < now and not (offset == -1 and hour == 0):
                    shift.handover_note = rng.choice(
                        ["无异常。", "一辆劝返车辆可能绕行G352，请留意。", "测温枪电池已更换。"]
                    )
                    shift.handover_at = begins - timedelta(minutes=5)
                    shift.acknowledged_at = begins + timedelta(minutes=rng.randint(1, 9))
                    shift.acknowledged_by = member.user
                    shift.save()
        entries = []
        start = timezone.make_aware(datetime.combine(today - timedelta(days=1), time(0)))
        moment = start
        while moment < now:
            hour = timezone.localtime(moment).hour
            for _k in range(_TRAFFIC[hour] + rng.randint(0, 3)):
                at = moment + timedelta(minutes=rng.randint(0, 59))
                if at >= now:
                    continue
                roll = rng.random()
                outcome = "turned_back" if roll < 0.04 else "tested" if roll < 0.12 else "pass"
                foot = kind != PostKind.EXPRESSWAY and rng.random() < 0.1
                entries.append(
                    Entry(
                        post=post,
                        jurisdiction=node,
                        client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        at=at,
                        mode="foot" if foot else "boat" if kind == PostKind.LANDING else "car",
                        plate=""
                        if foot
                        else f"湘泸溪渔{rng.randint(100, 999)}"
                        if kind == PostKind.LANDING
                        else _plate(rng),
                        occupants=rng.choice([1, 1, 1, 2, 2, 3, 4]),
                        colour="green" if rng.random() < 0.98 else "yellow",
                        trip_card=True,
                        temperature=Decimal(str(round(rng.uniform(36.0, 37.1), 1))),
                        outcome=outcome,
                        recorded_by=staff[f"cp{i}1"].user if f"cp{i}1" in staff else None,
                    )
                )
            moment += timedelta(hours=1)
        Entry.objects.bulk_create(entries)
        made["entries"] += len(entries)
    return made


def delete_checkpoints_under(path: str) -> None:
    """Everything checkpoints hold under `path` (the demo's --reset)."""
    posts = Post.objects.filter(subtree_q("jurisdiction__path", path))
    Entry.objects.filter(post__in=posts).delete()
    CrewMember.objects.filter(shift__post__in=posts).delete()
    Shift.objects.filter(post__in=posts).delete()
    posts.delete()
