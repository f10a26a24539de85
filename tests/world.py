"""A small named world for tests: a county of two towns, their villages, grids and
micro-grids, and personas in both towns and at the county.

秀洲区 (county C) ─ 王店镇 (town T) ─ 四喜社区 (village A) ─ 红星网格 (A1) ─ 一号楼微网格 (A1M1)
                                                      └ 东风网格 (A2)
                                └ 建设村 (village B) ──── 光明网格 (B1)
                 └ 洪合镇 (town U) ─ 桃园村 (village P) ──── 青松网格 (P1) ─ 三号楼微网格 (P1M1)

Most tests work in 王店镇; the second town is there so that what belongs to one town is
shown to be out of reach of the other's commander and grid workers, and the county so
that what serves every town (national rules, templates) has someone who may change it.

Every node, staff member and team has a name that is no substring of another, so a
test can search a page for names that must not be there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level, StaffKind, StaffProfile, Team, TeamKind
from fangkong.org.roles import Perm, Role, permissions_for
from fangkong.org.services import jurisdiction_create, membership_grant, staff_create, team_create

PASSWORD = "Test-pass-2022!"

NODES = [
    # key, code, name, level, parent key
    ("C", "330411000000", "秀洲区", Level.COUNTY, None),
    ("T", "330411102000", "王店镇", Level.TOWN, "C"),
    ("A", "330411102201", "四喜社区", Level.VILLAGE, "T"),
    ("B", "330411102202", "建设村", Level.VILLAGE, "T"),
    ("A1", "330411102201-G01", "红星网格", Level.GRID, "A"),
    ("A2", "330411102201-G02", "东风网格", Level.GRID, "A"),
    ("B1", "330411102202-G01", "光明网格", Level.GRID, "B"),
    ("A1M1", "330411102201-G01-M01", "一号楼微网格", Level.MICROGRID, "A1"),
    ("U", "330411103000", "洪合镇", Level.TOWN, "C"),
    ("P", "330411103201", "桃园村", Level.VILLAGE, "U"),
    ("P1", "330411103201-G01", "青松网格", Level.GRID, "P"),
    ("P1M1", "330411103201-G01-M01", "三号楼微网格", Level.MICROGRID, "P1"),
]
# persona: (username, name, kind, node key, role, phone)
PERSONAS = {
    "commander": (
        "wd_commander",
        "王指挥",
        StaffKind.TOWN_CADRE,
        "T",
        Role.TOWN_COMMANDER,
        "13800000001",
    ),
    "cadre_a": (
        "sx_cadre",
        "李社干",
        StaffKind.VILLAGE_CADRE,
        "A",
        Role.VILLAGE_CADRE,
        "13800000002",
    ),
    "gw_a1": (
        "gw_hongxing",
        "赵网格",
        StaffKind.GRID_WORKER,
        "A1",
        Role.GRID_WORKER,
        "13800000003",
    ),
    "gw_b1": (
        "gw_guangming",
        "钱网格",
        StaffKind.GRID_WORKER,
        "B1",
        Role.GRID_WORKER,
        "13800000004",
    ),
    "volunteer": (
        "vol_hongxing",
        "孙志愿",
        StaffKind.VOLUNTEER,
        "A1",
        Role.VOLUNTEER,
        "13800000005",
    ),
    "auditor": ("wd_auditor", "周审计", StaffKind.OTHER, "T", Role.AUDITOR, "13800000006"),
    # The other town's commander and grid worker, and an officer of the county above both.
    "commander_u": (
        "hh_commander",
        "洪指挥",
        StaffKind.TOWN_CADRE,
        "U",
        Role.TOWN_COMMANDER,
        "13800000007",
    ),
    "gw_p1": (
        "gw_qingsong",
        "孔网格",
        StaffKind.GRID_WORKER,
        "P1",
        Role.GRID_WORKER,
        "13800000008",
    ),
    "county": (
        "xz_officer",
        "严县指",
        StaffKind.OTHER,
        "C",
        Role.COUNTY_OFFICER,
        "13800000009",
    ),
    # Mass testing: a sampler of 四喜社区's points, and the town's lab.
    "sampler": ("sx_sampler", "柏采样", StaffKind.OTHER, "A", Role.SAMPLER, "13800000010"),
    "lab": ("wd_lab", "葛检验", StaffKind.OTHER, "T", Role.LAB, "13800000011"),
}
# Machine clients' API keys (tests/api_keys.py issues them): persona -> (node key,
# issuing persona, permissions). key_a: village A's key with what its cadre may do there
# less managing staff (a key is never given clients.manage either); key_t: the town's
# key, read-only. They sign in to no page; the matrix calls the API with them.
KEY_PERSONAS: dict[str, tuple[str, str, frozenset[Perm]]] = {
    "key_a": (
        "A",
        "commander",
        permissions_for(Role.VILLAGE_CADRE) - {Perm.STAFF_MANAGE, Perm.CLIENTS_MANAGE},
    ),
    "key_t": (
        "T",
        "commander",
        frozenset({Perm.ORG_VIEW, Perm.PEOPLE_VIEW, Perm.ORDERS_VIEW, Perm.REPORTS_VIEW}),
    ),
}


def home_node(persona: str) -> str:
    """The node key a persona (a person's or a key's) works at."""
    return KEY_PERSONAS[persona][0] if persona in KEY_PERSONAS else PERSONAS[persona][3]


# Extra staff without logins worth testing, one per node, so every node has a marker.
EXTRA_STAFF = {
    "C": ("华县员", "13900000020"),
    "T": ("吴镇员", "13900000010"),
    "A": ("郑社员", "13900000011"),
    "B": ("冯村员", "13900000012"),
    "A1": ("陈红员", "13900000013"),
    "A2": ("褚东员", "13900000014"),
    "B1": ("卫光员", "13900000015"),
    "A1M1": ("蒋楼员", "13900000016"),
    "U": ("金洪员", "13900000017"),
    "P": ("魏桃员", "13900000018"),
    "P1": ("陶青员", "13900000019"),
    "P1M1": ("姜三员", "13900000021"),
}
TEAMS = {
    "T": "信息收集报送专班",
    "A": "四喜红色服务队",
    "B": "建设志愿梯队",
    "A1": "红星突击队",
    "A2": "东风宣传队",
    "B1": "光明巡查队",
    "U": "洪合综合专班",
    "P": "桃园先锋队",
    "P1": "青松服务队",
}


@dataclass
class World:
    nodes: dict[str, Jurisdiction] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    staff: dict[str, StaffProfile] = field(default_factory=dict)  # node key -> extra staff
    teams: dict[str, Team] = field(default_factory=dict)
    # Registry objects per leaf node key, made on demand (see ensure_registry).
    households: dict[str, Any] = field(default_factory=dict)
    persons: dict[str, Any] = field(default_factory=dict)
    extra_markers: dict[str, list[str]] = field(default_factory=dict)
    # Names of what a node organises for everyone under it (a town's pushed list or
    # sweep): seen by personas at, above or below the node, by nobody else.
    shared_markers: dict[str, list[str]] = field(default_factory=dict)
    # Work orders per leaf node key, and who each is assigned to (persona).
    orders: dict[str, Any] = field(default_factory=dict)
    order_owner: dict[str, str] = field(default_factory=dict)
    # One photo on each of those orders, per leaf node key.
    photos: dict[str, Any] = field(default_factory=dict)
    # Returnee reports per node key.
    reports: dict[str, Any] = field(default_factory=dict)
    # A list pushed to the town, and its rows per node key of the matched resident.
    pushed: Any = None
    sweep: Any = None
    pushed_lists: dict[str, Any] = field(default_factory=dict)  # town key -> its list
    sweeps: dict[str, Any] = field(default_factory=dict)  # town key -> its sweep
    pushed_rows: dict[str, Any] = field(default_factory=dict)

    def assigned_nodes(self, persona: str) -> set[str]:
        """Nodes where the persona holds an order: its subject is theirs to see."""
        return {key for key, owner in self.order_owner.items() if owner == persona}

    def covers(self, persona: str, node_key: str) -> bool:
        """Whether the persona's membership subtree contains the node."""
        if persona == "anonymous":
            return False
        home = self.nodes[home_node(persona)]
        return self.nodes[node_key].path.startswith(home.path)

    def related(self, persona: str, node_key: str) -> bool:
        """Whether the node is in the persona's subtree or the persona works under it."""
        if persona == "anonymous":
            return False
        home = self.nodes[home_node(persona)]
        return self.covers(persona, node_key) or home.path.startswith(self.nodes[node_key].path)

    def markers_outside(self, persona: str) -> list[str]:
        """Names that must never appear on a page this persona is shown."""
        out: list[str] = []
        assigned = self.assigned_nodes(persona)
        for key, _code, name, _level, _parent in NODES:
            if not self.covers(persona, key) and key not in assigned:
                # The names of the village and town one works in are no secret; the
                # people there are.
                if not self.related(persona, key):
                    out.append(name)
                out.append(EXTRA_STAFF[key][0])
                if key in TEAMS:
                    out.append(TEAMS[key])
        for key, names in self.extra_markers.items():
            if not self.covers(persona, key) and key not in assigned:
                out.extend(names)
        for key, names in self.shared_markers.items():
            if not self.related(persona, key):
                out.extend(names)
        for other, spec in PERSONAS.items():
            if other != persona and not self.covers(persona, spec[3]):
                out.append(spec[1])
        return out


def build_world(password_hash: str | None = None) -> World:
    w = World()
    for key, code, name, level, parent in NODES:
        w.nodes[key] = jurisdiction_create(
            code=code, name=name, level=level, parent=w.nodes[parent] if parent else None
        )
    for persona, (username, name, kind, node, role, phone) in PERSONAS.items():
        profile = staff_create(
            username=username,
            name=name,
            kind=kind,
            jurisdiction=w.nodes[node],
            phone=phone,
            is_party_member=persona in {"commander", "cadre_a"},
            password=None if password_hash else PASSWORD,
            password_hash=password_hash,
        )
        membership_grant(user=profile.user, jurisdiction=w.nodes[node], role=role)
        w.users[persona] = profile.user
    for key, (name, phone) in EXTRA_STAFF.items():
        w.staff[key] = staff_create(
            username=f"extra_{key.lower()}",
            name=name,
            kind=StaffKind.OTHER,
            jurisdiction=w.nodes[key],
            phone=phone,
        )
    for key, name in TEAMS.items():
        w.teams[key] = team_create(
            name=name,
            kind=TeamKind.SERVICE_TEAM,
            jurisdiction=w.nodes[key],
            members=[(w.staff[key].user, "")],
        )
    return w


# One household with one resident on each leaf; names and addresses are unique markers.
REGISTRY = {
    "A1M1": ("红星一号楼", "沈楼居", "11010519491231002X", "13600000001"),
    "A2": ("东风巷8号", "韩东居", "110101199003070011", "13600000002"),
    "B1": ("光明路9号", "杨光居", "110101199003070038", "13600000003"),
    "P1M1": ("青松三号楼", "戚桃居", "110101198511112316", "13600000004"),
}


def ensure_registry(w: World) -> None:
    """Households and persons for the registry routes (idempotent per world)."""
    from fangkong.people.models import Household
    from fangkong.people.services import person_register
    from fangkong.people.validation import clean_person

    for key, (address, name, id_number, phone) in REGISTRY.items():
        if key in w.persons:
            continue
        # Created directly so the address holds no village name (which would be a
        # marker of its own for personas below the village).
        household = Household.objects.create(jurisdiction=w.nodes[key], address=address)
        data, errors = clean_person(
            {"name": name, "id_number": id_number, "phone": phone}, today=date(2026, 1, 1)
        )
        assert data is not None, errors
        w.households[key] = household
        w.persons[key] = person_register(data=data, household=household)
        w.extra_markers[key] = [address, name]


# Who holds the order on each leaf: the grid worker of A1 (through the micro-grid), a
# volunteer from A1 sent to help in A2 (outside their own scope), the grid worker of B1.
ORDER_OWNERS = {"A1M1": "gw_a1", "A2": "volunteer", "B1": "gw_b1", "P1M1": "gw_p1"}


def ensure_orders(w: World) -> None:
    """One open work order about each leaf's resident (idempotent per world)."""
    from fangkong.workorders.dispatch import Strategy
    from fangkong.workorders.services import Subject, orders_create

    ensure_registry(w)
    for key, persona in ORDER_OWNERS.items():
        if key in w.orders:
            continue
        (order,) = orders_create(
            kind="verify_person",
            subjects=[Subject.of(w.persons[key], label=w.persons[key].name)],
            actor=None,
            strategy=Strategy.PERSON,
            person=w.users[persona],
        )
        w.orders[key] = order
        w.order_owner[key] = persona


def ensure_photos(w: World) -> dict[str, Any]:
    """One photo on each world order (idempotent per world)."""
    import uuid

    from fangkong.workorders.models import WorkOrderPhoto

    ensure_orders(w)
    for key, order in w.orders.items():
        if key not in w.photos:
            w.photos[key] = WorkOrderPhoto.objects.create(
                order=order,
                client_id=uuid.uuid4(),
                data=b"\xff\xd8\xff",
                width=1,
                height=1,
                uploaded_by=w.users[w.order_owner[key]],
            )
    return w.photos


# A returnee reported to a grid of each village: (name, ID number, phone).
RETURNEES = {
    "A1": ("归乡甲", "11010119900307117X", "13900000011"),
    "B1": ("归乡乙", "110101199003071153", "13900000012"),
    "P1": ("归乡丙", "110101198511112324", "13900000013"),
}


def ensure_reports(w: World) -> dict[str, Any]:
    """One returnee report per entry of RETURNEES (idempotent per world)."""
    from fangkong.screening.services import ReportInput, report_submit

    for key, (name, id_number, phone) in RETURNEES.items():
        if key in w.reports:
            continue
        w.reports[key], _created = report_submit(
            ReportInput(
                name=name,
                id_number=id_number,
                phone=phone,
                origin_code="310115005",
                left_on=date(2026, 1, 1),
                arrived_on=date(2026, 1, 2),
                mode="train",
                vehicle="G1234",
                jurisdiction=w.nodes[key],
                address=f"{name}暂住处",
            )
        )
        w.extra_markers.setdefault(key, []).extend([name, f"{name}暂住处"])
    return w.reports


# What each town organises for its own villages: (list name, sweep name, residents,
# villages swept).
TOWN_WORK = {
    "T": ("县推送红码名单", "敲门行动第一轮", ("A1M1", "A2", "B1"), ("A", "B")),
    "U": ("县推送黄码名单", "洪合扫楼行动", ("P1M1",), ("P",)),
}


def ensure_pushed(w: World) -> Any:
    """A list pushed to each town naming its registry residents (idempotent); returns
    王店镇's."""
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.core.tabular import Table
    from fangkong.screening.models import PushedRow
    from fangkong.screening.pushed import pushed_import

    if w.pushed is not None:
        return w.pushed
    ensure_registry(w)
    for town, (name, _sweep, residents, _villages) in TOWN_WORK.items():
        rows = [
            (i + 2, [REGISTRY[key][1], REGISTRY[key][2], REGISTRY[key][3]])
            for i, key in enumerate(residents)
        ]
        commander = "commander" if town == "T" else "commander_u"
        result = pushed_import(
            actor=w.users[commander],
            node=w.nodes[town],
            table=Table(headers=["姓名", "身份证号码", "联系电话"], rows=rows),
            filename="推送.csv",
            sha256=str(len(w.pushed_lists)) * 64,
            name=name,
            source="县指挥部",
            category="red_code",
            deadline=timezone.now() + timedelta(days=3),
        )
        w.pushed_lists[town] = result.pushed
        w.shared_markers.setdefault(town, []).append(name)
        for key in residents:
            w.pushed_rows[key] = PushedRow.objects.get(pushed=result.pushed, person=w.persons[key])
    w.pushed = w.pushed_lists["T"]
    return w.pushed


def ensure_sweep(w: World) -> Any:
    """A sweep of each town's villages, over the registry's households (idempotent);
    returns 王店镇's."""
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.screening.sweeps import default_questions, sweep_create

    if w.sweep is None:
        ensure_registry(w)
        today = timezone.localdate()
        for town, (_list, name, _residents, villages) in TOWN_WORK.items():
            w.sweeps[town] = sweep_create(
                actor=w.users["commander" if town == "T" else "commander_u"],
                organiser=w.nodes[town],
                name=name,
                scope=[w.nodes[v] for v in villages],
                starts_on=today,
                ends_on=today + timedelta(days=2),
                questions=default_questions(14),
            )
            w.shared_markers.setdefault(town, []).append(name)
        w.sweep = w.sweeps["T"]
    return w.sweep
