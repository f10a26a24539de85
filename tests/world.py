"""A small named world for tests: one town, two villages, three grids, and personas.

王店镇 (town) ─ 四喜社区 (village A) ─ 红星网格 (A1) ─ 一号楼微网格 (A1M1)
                                  └ 东风网格 (A2)
            └ 建设村 (village B) ──── 光明网格 (B1)

Every node, staff member and team has a name that is no substring of another, so a
test can search a page for names that must not be there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level, StaffKind, StaffProfile, Team, TeamKind
from fangkong.org.roles import Role
from fangkong.org.services import jurisdiction_create, membership_grant, staff_create, team_create

PASSWORD = "Test-pass-2022!"

NODES = [
    # key, code, name, level, parent key
    ("T", "330411102000", "王店镇", Level.TOWN, None),
    ("A", "330411102201", "四喜社区", Level.VILLAGE, "T"),
    ("B", "330411102202", "建设村", Level.VILLAGE, "T"),
    ("A1", "330411102201-G01", "红星网格", Level.GRID, "A"),
    ("A2", "330411102201-G02", "东风网格", Level.GRID, "A"),
    ("B1", "330411102202-G01", "光明网格", Level.GRID, "B"),
    ("A1M1", "330411102201-G01-M01", "一号楼微网格", Level.MICROGRID, "A1"),
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
}
# Extra staff without logins worth testing, one per node, so every node has a marker.
EXTRA_STAFF = {
    "T": ("吴镇员", "13900000010"),
    "A": ("郑社员", "13900000011"),
    "B": ("冯村员", "13900000012"),
    "A1": ("陈红员", "13900000013"),
    "A2": ("褚东员", "13900000014"),
    "B1": ("卫光员", "13900000015"),
    "A1M1": ("蒋楼员", "13900000016"),
}
TEAMS = {
    "T": "信息收集报送专班",
    "A": "四喜红色服务队",
    "B": "建设志愿梯队",
    "A1": "红星突击队",
    "A2": "东风宣传队",
    "B1": "光明巡查队",
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
    pushed_rows: dict[str, Any] = field(default_factory=dict)

    def assigned_nodes(self, persona: str) -> set[str]:
        """Nodes where the persona holds an order: its subject is theirs to see."""
        return {key for key, owner in self.order_owner.items() if owner == persona}

    def covers(self, persona: str, node_key: str) -> bool:
        """Whether the persona's membership subtree contains the node."""
        if persona == "anonymous":
            return False
        home = self.nodes[PERSONAS[persona][3]]
        return self.nodes[node_key].path.startswith(home.path)

    def markers_outside(self, persona: str) -> list[str]:
        """Names that must never appear on a page this persona is shown."""
        out: list[str] = []
        assigned = self.assigned_nodes(persona)
        for key, _code, name, _level, _parent in NODES:
            if not self.covers(persona, key) and key not in assigned:
                out.append(name)
                out.append(EXTRA_STAFF[key][0])
                if key in TEAMS:
                    out.append(TEAMS[key])
        for key, names in self.extra_markers.items():
            if not self.covers(persona, key) and key not in assigned:
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
            username=f"extra_{key.lower()}", name=name, kind=StaffKind.OTHER,
            jurisdiction=w.nodes[key], phone=phone,
        )  # fmt: skip
    for key, name in TEAMS.items():
        w.teams[key] = team_create(
            name=name, kind=TeamKind.SERVICE_TEAM, jurisdiction=w.nodes[key],
            members=[(w.staff[key].user, "")],
        )  # fmt: skip
    return w


# One household with one resident on each leaf; names and addresses are unique markers.
REGISTRY = {
    "A1M1": ("红星一号楼", "沈楼居", "11010519491231002X", "13600000001"),
    "A2": ("东风巷8号", "韩东居", "110101199003070011", "13600000002"),
    "B1": ("光明路9号", "杨光居", "110101199003070038", "13600000003"),
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
        data, errors = clean_person({"name": name, "id_number": id_number, "phone": phone},
                                    today=date(2026, 1, 1))  # fmt: skip
        assert data is not None, errors
        w.households[key] = household
        w.persons[key] = person_register(data=data, household=household)
        w.extra_markers[key] = [address, name]


# Who holds the order on each leaf: the grid worker of A1 (through the micro-grid), a
# volunteer from A1 sent to help in A2 (outside their own scope), the grid worker of B1.
ORDER_OWNERS = {"A1M1": "gw_a1", "A2": "volunteer", "B1": "gw_b1"}


def ensure_orders(w: World) -> None:
    """One open work order about each leaf's resident (idempotent per world)."""
    from fangkong.workorders.dispatch import Strategy
    from fangkong.workorders.services import Subject, orders_create

    ensure_registry(w)
    for key, persona in ORDER_OWNERS.items():
        if key in w.orders:
            continue
        (order,) = orders_create(
            kind="verify_person", subjects=[Subject.of(w.persons[key], label=w.persons[key].name)],
            actor=None, strategy=Strategy.PERSON, person=w.users[persona],
        )  # fmt: skip
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
                order=order, client_id=uuid.uuid4(), data=b"\xff\xd8\xff", width=1, height=1,
                uploaded_by=w.users[w.order_owner[key]],
            )  # fmt: skip
    return w.photos


# A returnee reported to a grid of each village: (name, ID number, phone).
RETURNEES = {
    "A1": ("归乡甲", "11010119900307117X", "13900000011"),
    "B1": ("归乡乙", "110101199003071153", "13900000012"),
}


def ensure_reports(w: World) -> dict[str, Any]:
    """One returnee report per entry of RETURNEES (idempotent per world)."""
    from fangkong.screening.services import ReportInput, report_submit

    for key, (name, id_number, phone) in RETURNEES.items():
        if key in w.reports:
            continue
        w.reports[key], _created = report_submit(ReportInput(
            name=name, id_number=id_number, phone=phone, origin_code="310115005",
            left_on=date(2026, 1, 1), arrived_on=date(2026, 1, 2), mode="train",
            vehicle="G1234", jurisdiction=w.nodes[key], address=f"{name}暂住处",
        ))  # fmt: skip
        w.extra_markers.setdefault(key, []).extend([name, f"{name}暂住处"])
    return w.reports


def ensure_pushed(w: World) -> Any:
    """A list pushed to the town naming the three registry residents (idempotent)."""
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.core.tabular import Table
    from fangkong.screening.models import PushedRow
    from fangkong.screening.pushed import pushed_import

    if w.pushed is not None:
        return w.pushed
    ensure_registry(w)
    rows = [(i + 2, [name, number, phone]) for i, (_a, name, number, phone)
            in enumerate(REGISTRY.values())]  # fmt: skip
    result = pushed_import(
        actor=w.users["commander"], node=w.nodes["T"],
        table=Table(headers=["姓名", "身份证号码", "联系电话"], rows=rows), filename="推送.csv",
        sha256="0" * 64, name="县推送红码名单", source="县指挥部", category="red_code",
        deadline=timezone.now() + timedelta(days=3),
    )  # fmt: skip
    w.pushed = result.pushed
    for key, person in w.persons.items():
        w.pushed_rows[key] = PushedRow.objects.get(pushed=w.pushed, person=person)
    return w.pushed


def ensure_sweep(w: World) -> Any:
    """A sweep of both villages, over the registry's households (idempotent)."""
    from datetime import timedelta

    from django.utils import timezone

    from fangkong.screening.sweeps import default_questions, sweep_create

    if w.sweep is None:
        ensure_registry(w)
        today = timezone.localdate()
        w.sweep = sweep_create(
            actor=w.users["commander"], organiser=w.nodes["T"], name="敲门行动第一轮",
            scope=[w.nodes["A"], w.nodes["B"]], starts_on=today,
            ends_on=today + timedelta(days=2), questions=default_questions(14),
        )  # fmt: skip
    return w.sweep
