"""A deterministic synthetic town modelled on the source articles (浦市镇, 泸溪县).

Same seed, same town: codes, names, staff and teams are reproducible, so demo logins
and screenshots stay stable. Phones are in the 170 virtual-operator range and clearly
synthetic. Bulk inserts keep the build well under a minute on SQLite.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction

from fangkong.accounts.models import User
from fangkong.core.crypto import blind_index
from fangkong.org.models import (
    Jurisdiction,
    Level,
    Membership,
    Responsibility,
    StaffKind,
    StaffProfile,
    Team,
    TeamKind,
    TeamMember,
    TeamTemplate,
)
from fangkong.org.roles import Role
from fangkong.org.services import child_path, default_party_org_name, team_composition_errors

DEMO_PASSWORD = "fangkong-demo-2022"
COUNTY_CODE, COUNTY_NAME = "433122000000", "泸溪县"
TOWN_CODE, TOWN_NAME = "433122102000", "浦市镇"

VILLAGE_NAMES = [
    "浦市社区",
    "河街社区",
    "江东社区",
    "太平社区",
    "万寿社区",
    "吉家坪村",
    "马王溪村",
    "铁山村",
    "长坪村",
    "新堡村",
    "麻溪口村",
    "岩门村",
    "下湾村",
    "金坪村",
    "红岩村",
    "沙湾村",
    "桐木溪村",
    "梁家潭村",
    "高山坪村",
    "白竹村",
    "塘坊村",
    "黄家桥村",
    "上堡村",
    "洗溪口村",
    "石榴坪村",
    "大田村",
    "兴隆场村",
    "柳林村",
]
WORK_GROUPS = [
    ("卡点服务组", "24小时值守进出卡点，查验车辆、船只和人员，登记并劝返。"),
    ("重点场所巡查组", "每日巡查商超、车站、银行、药店，检查场所码张贴与扫码入场。"),
    ("信息收集报送组", "汇总各村社数据，下午五点前形成疫防日通报。"),
    ("红黄码管控组", "核查红黄码人员，落实管控措施，安排转运。"),
    ("后勤保障组", "保障防疫物资、隔离人员生活物资和值守人员餐食。"),
    ("考核督查组", "督查各组、各卡点、各村社值班值守与任务落实，通报问题。"),
]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文军辉鹏飞斌宇浩然子涵欣怡梓轩雨桐俊杰思远晓东海燕春梅德成永福"

ONE_ONE_TWO_CODE = "grid-unit-1-1-2"  # shipped by migration org.0002


@dataclass
class DemoLogin:
    role: str
    username: str
    node: str


@dataclass
class DemoResult:
    nodes: int = 0
    staff: int = 0
    teams: int = 0
    seconds: float = 0.0
    logins: list[DemoLogin] = field(default_factory=list)
    household_quotas: dict[int, int] = field(default_factory=dict)  # micro-grid id -> households
    village_names: dict[int, str] = field(default_factory=dict)


class _Builder:
    def __init__(self, seed: int, progress: Callable[[str], None]) -> None:
        self.rng = random.Random(seed)
        self.progress = progress
        self.password = make_password(DEMO_PASSWORD)
        self.phone_seq = 0
        self.users: list[User] = []
        self.profiles: list[StaffProfile] = []
        self.memberships: list[Membership] = []

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2)))
        )

    def person(
        self,
        username: str,
        kind: StaffKind,
        node: Jurisdiction,
        role: Role | None = None,
        *,
        party: bool | None = None,
        responsibility: str = "",
        post: str = "",
        unit: str = "",
    ) -> User:
        self.phone_seq += 1
        phone = f"170{self.phone_seq:08d}"
        user = User(username=username, password=self.password)
        self.users.append(user)
        self.profiles.append(
            StaffProfile(
                user=user,
                name=self.name(),
                phone=phone,
                phone_hash=blind_index(phone),
                unit=unit or node.name,
                kind=kind,
                jurisdiction=node,
                is_party_member=self.rng.random() < 0.45 if party is None else party,
            )
        )
        if role is not None:
            self.memberships.append(
                Membership(
                    user=user,
                    jurisdiction=node,
                    role=role,
                    responsibility=responsibility,
                    post=post,
                )
            )
        return user

    def flush_people(self) -> None:
        User.objects.bulk_create(self.users, batch_size=1000)
        for p in self.profiles:
            p.user_id = p.user.pk
        StaffProfile.objects.bulk_create(self.profiles, batch_size=1000)
        for m in self.memberships:
            m.user_id = m.user.pk
        Membership.objects.bulk_create(self.memberships, batch_size=1000)


def _node(code: str, name: str, level: int, parent: Jurisdiction | None) -> Jurisdiction:
    return Jurisdiction(
        code=code,
        name=name,
        level=level,
        parent=parent,
        path=child_path(parent, code),
        party_org_name=default_party_org_name(name, level),
    )


@transaction.atomic
def build_demo_town(
    *, seed: int = 2022, total_households: int = 20_000, progress: Callable[[str], None] = print
) -> DemoResult:
    started = time.perf_counter()
    if Jurisdiction.objects.filter(code=TOWN_CODE).exists():
        raise RuntimeError("the demo town exists already; use --reset to rebuild it")
    b = _Builder(seed, progress)
    rng = b.rng
    county = _node(COUNTY_CODE, COUNTY_NAME, Level.COUNTY, None)
    county.save()
    town = _node(TOWN_CODE, TOWN_NAME, Level.TOWN, county)
    town.save()
    villages = [
        _node(f"{TOWN_CODE[:9]}{201 + i:03d}", name, Level.VILLAGE, town)
        for i, name in enumerate(VILLAGE_NAMES)
    ]
    Jurisdiction.objects.bulk_create(villages)
    progress(f"  {len(villages)} villages/communities")
    grids: list[Jurisdiction] = []
    for v in villages:
        for n in range(1, rng.randint(4, 8) + 1):
            grids.append(_node(f"{v.code}-G{n:02d}", f"{v.name}第{n}网格", Level.GRID, v))
    Jurisdiction.objects.bulk_create(grids)
    progress(f"  {len(grids)} grids")
    micros: list[Jurisdiction] = []
    sizes: list[int] = []
    weights = [rng.randint(70, 130) for _ in grids]
    for g, weight in zip(grids, weights, strict=True):
        # The town's households shared among grids, each split into micro-grids of
        # 30-100 households (a remainder under 30 joins the last micro-grid).
        households = max(1, round(total_households * weight / sum(weights)))
        parts: list[int] = []
        while households > 0:
            size = min(households, rng.randint(30, 100))
            if size < 30 and parts:
                parts[-1] += size
            else:
                parts.append(size)
            households -= size
        for n, size in enumerate(parts, start=1):
            micros.append(_node(f"{g.code}-M{n:02d}", f"{g.name}{n}号微网格", Level.MICROGRID, g))
            sizes.append(size)
    Jurisdiction.objects.bulk_create(micros, batch_size=2000)
    progress(f"  {len(micros)} micro-grids")

    # Staff for every role. The first of each kind gets a short, printable login.
    logins: list[DemoLogin] = []

    def login(role: Role, user: User, node: Jurisdiction) -> None:
        logins.append(DemoLogin(str(role.label), user.username, node.name))

    login(
        Role.TOWN_COMMANDER,
        b.person(
            "commander",
            StaffKind.TOWN_CADRE,
            town,
            Role.TOWN_COMMANDER,
            party=True,
            unit="浦市镇人民政府",
        ),
        town,
    )
    login(
        Role.SYSTEM_ADMIN,
        b.person("admin", StaffKind.OTHER, county, Role.SYSTEM_ADMIN, unit="泸溪县数据局"),
        county,
    )
    login(
        Role.COUNTY_OFFICER,
        b.person(
            "county", StaffKind.OTHER, county, Role.COUNTY_OFFICER, party=True, unit="泸溪县指挥部"
        ),
        county,
    )
    login(
        Role.AUDITOR,
        b.person("auditor", StaffKind.OTHER, town, Role.AUDITOR, party=True, unit="浦市镇纪委"),
        town,
    )
    login(
        Role.SUPERVISOR,
        b.person(
            "supervisor", StaffKind.TOWN_CADRE, town, Role.SUPERVISOR, party=True, unit="考核督查组"
        ),
        town,
    )
    town_staff = [
        b.person(f"town{i:02d}", StaffKind.TOWN_CADRE, town, Role.TOWN_STAFF, unit="浦市镇人民政府")
        for i in range(1, 25)
    ]
    login(Role.TOWN_STAFF, town_staff[0], town)
    # 包村: each village has a responsible town cadre.
    for i, v in enumerate(villages):
        b.memberships.append(
            Membership(
                user=town_staff[i % len(town_staff)],
                jurisdiction=v,
                role=Role.TOWN_STAFF,
                responsibility=Responsibility.VILLAGE,
            )
        )
    for vi, v in enumerate(villages, start=1):
        for c in range(1, 4):
            b.person(
                f"cadre{vi:02d}{c}",
                StaffKind.VILLAGE_CADRE,
                v,
                Role.VILLAGE_CADRE,
                party=True if c == 1 else None,
                unit=v.name + "村（居）委会",
            )
    login(Role.VILLAGE_CADRE, _first(b, "cadre011"), villages[0])
    grid_staff: dict[int, dict[str, User]] = {}
    for v_index, v in enumerate(villages, start=1):
        v_grids = [g for g in grids if g.parent is v]
        for g_index, g in enumerate(v_grids, start=1):
            key = f"{v_index:02d}{g_index:02d}"
            leader = b.person(
                f"gl{key}",
                StaffKind.GRID_LEADER,
                g,
                Role.GRID_LEADER,
                party=True,
                responsibility=Responsibility.GRID,
            )
            worker = b.person(
                f"gw{key}",
                StaffKind.GRID_WORKER,
                g,
                Role.GRID_WORKER,
                responsibility=Responsibility.GRID,
            )
            backbone = b.person(
                f"pm{key}", StaffKind.OTHER, g, None, party=True, unit=v.name + "党员"
            )
            vols = [
                b.person(f"vol{key}{n}", StaffKind.VOLUNTEER, g, Role.VOLUNTEER, party=False)
                for n in (1, 2)
            ]
            grid_staff[id(g)] = {
                "leader": leader,
                "worker": worker,
                "backbone": backbone,
                "vol1": vols[0],
                "vol2": vols[1],
            }
    login(Role.GRID_LEADER, _first(b, "gl0101"), grids[0])
    login(Role.GRID_WORKER, _first(b, "gw0101"), grids[0])
    login(Role.VOLUNTEER, _first(b, "vol01011"), grids[0])
    for m_index, micro in enumerate(micros, start=1):
        b.person(
            f"mg{m_index:04d}",
            StaffKind.MICROGRID_LEADER,
            micro,
            Role.MICROGRID_LEADER,
            responsibility=Responsibility.AREA,
        )
    login(Role.MICROGRID_LEADER, _first(b, "mg0001"), micros[0])
    posts = ["S229浦市收费站卡点", "浦市码头卡点", "G352马王溪卡点"]
    for i, post in enumerate(posts, start=1):
        for shift in range(1, 4):
            b.person(
                f"cp{i}{shift}",
                StaffKind.MILITIA if shift == 1 else StaffKind.POLICE,
                town,
                Role.CHECKPOINT_CREW,
                responsibility=Responsibility.POST,
                post=post,
            )
    login(Role.CHECKPOINT_CREW, _first(b, "cp11"), town)
    for i in range(1, 9):
        b.person(f"sampler{i}", StaffKind.MEDICAL, town, Role.SAMPLER, unit="浦市镇卫生院")
    login(Role.SAMPLER, _first(b, "sampler1"), town)
    b.person("lab1", StaffKind.MEDICAL, county, Role.LAB, unit="泸溪县人民医院检验科")
    login(Role.LAB, _first(b, "lab1"), county)
    for i in range(1, 3):
        b.person(f"doctor{i}", StaffKind.MEDICAL, town, Role.MEDICAL_GROUP, unit="浦市镇卫生院")
    login(Role.MEDICAL_GROUP, _first(b, "doctor1"), town)
    b.flush_people()
    progress(f"  {len(b.profiles)} staff with {len(b.memberships)} memberships")

    # Teams: the six work groups, a command office, shock teams, three volunteer echelons,
    # a red service team per community, and one 1+1+2 unit per grid.
    template = TeamTemplate.objects.get(code=ONE_ONE_TWO_CODE)
    teams: list[Team] = []
    members: list[TeamMember] = []
    office = Team(
        name="浦市镇疫情防控指挥部办公室",
        kind=TeamKind.COMMAND_OFFICE,
        jurisdiction=town,
        duty="统筹调度各工作组",
        leader=_first(b, "commander"),
    )
    teams.append(office)
    for i, (name, duty) in enumerate(WORK_GROUPS):
        lead = town_staff[i * 4]
        team = Team(name=name, kind=TeamKind.WORK_GROUP, jurisdiction=town, duty=duty, leader=lead)
        teams.append(team)
        members.extend(
            TeamMember(team=team, user=u, slot="") for u in town_staff[i * 4 : i * 4 + 4]
        )
    for n in (1, 2, 3):
        teams.append(
            Team(
                name=f"浦市镇志愿者第{n}梯队",
                kind=TeamKind.ECHELON,
                jurisdiction=town,
                echelon=n,
                duty="按梯队轮换支援采样、卡点和物资配送",
            )
        )
    teams.append(
        Team(
            name="浦市镇党员突击队",
            kind=TeamKind.SHOCK_TEAM,
            jurisdiction=town,
            duty="急难险重任务",
        )
    )
    for v in villages[:5]:
        teams.append(
            Team(
                name=f"{v.name}红色服务团队",
                kind=TeamKind.SERVICE_TEAM,
                jurisdiction=v,
                duty="为居家隔离户代购药品和生活物资",
            )
        )
    for grid in grids:
        s = grid_staff[id(grid)]
        unit = Team(
            name=f"{grid.name}1+1+2单元",
            kind=TeamKind.GRID_UNIT,
            jurisdiction=grid,
            leader=s["leader"],
            template=template,
            duty="包网格排查、服务、宣传",
        )
        teams.append(unit)
        members.extend(
            [
                TeamMember(team=unit, user=s["leader"], slot="cadre"),
                TeamMember(team=unit, user=s["backbone"], slot="backbone"),
                TeamMember(team=unit, user=s["vol1"], slot="volunteer"),
                TeamMember(team=unit, user=s["vol2"], slot="volunteer"),
            ]
        )
    Team.objects.bulk_create(teams)
    for tm in members:
        tm.team_id = tm.team.pk
    TeamMember.objects.bulk_create(members, batch_size=2000)
    # Every generated 1+1+2 unit must satisfy its template; a failure here is a bug.
    sample = Team.objects.filter(template=template).first()
    if sample is not None and team_composition_errors(sample):
        raise RuntimeError(f"demo 1+1+2 unit invalid: {team_composition_errors(sample)}")
    progress(f"  {len(teams)} teams with {len(members)} members")
    result = DemoResult(
        household_quotas={m.pk: size for m, size in zip(micros, sizes, strict=True)},
        village_names={m.pk: m.parent.parent.name for m in micros if m.parent and m.parent.parent},
        nodes=2 + len(villages) + len(grids) + len(micros),
        staff=len(b.profiles),
        teams=len(teams),
        logins=logins,
    )
    result.seconds = time.perf_counter() - started
    return result


def _first(b: _Builder, username: str) -> User:
    return next(u for u in b.users if u.username == username)


@transaction.atomic
def delete_demo_town() -> None:
    """Remove the demo town and every account created for it (only demo data)."""
    nodes = Jurisdiction.objects.within(f"/{COUNTY_CODE}/")
    user_ids = list(User.objects.filter(staff__jurisdiction__in=nodes).values_list("pk", flat=True))
    Team.objects.filter(jurisdiction__in=nodes).delete()
    Membership.objects.filter(jurisdiction__in=nodes).delete()
    StaffProfile.objects.filter(jurisdiction__in=nodes).delete()
    User.objects.filter(pk__in=user_ids).delete()
    for level in sorted(Level.values, reverse=True):
        nodes.filter(level=level).delete()
