"""The chain view: cases and their contacts as a graph, drawn server-side as SVG like the
zones' map (no script): generations in columns — cases, the places where they met
their close contacts, the close contacts, the places of the second step, the secondary
contacts — one row per node; a person who is the contact of two cases is one node with
two links (the clusters show). Labels are masked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from fangkong.core.masking import mask_name
from fangkong.tracing.models import Case, Contact

COLUMN = 170
ROW = 30
TOP = 40
LEFT = 16
BOX_W, BOX_H = 140, 22
# Nodes drawn per column; the rest are counted in a last line.
PER_COLUMN = 80
FILLS = {
    "case": "#f1aeb5",
    "place": "#e9ecef",
    "contact1": "#ffe69c",
    "contact2": "#cfe2ff",
}


@dataclass
class Node:
    key: str
    label: str
    kind: str
    column: int
    row: int = 0
    controlled: bool = False

    @property
    def x(self) -> int:
        return LEFT + self.column * COLUMN

    @property
    def y(self) -> int:
        return TOP + self.row * ROW

    @property
    def fill(self) -> str:
        return FILLS[self.kind]

    @property
    def mid_y(self) -> int:
        return self.y + BOX_H // 2


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass
class Chain:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    more: dict[int, int] = field(default_factory=dict)  # column -> nodes not drawn
    width: int = 0
    height: int = 0
    headings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def more_lines(self) -> list[tuple[int, int, int]]:
        return [(LEFT + c * COLUMN, TOP + PER_COLUMN * ROW + 14, n) for c, n in self.more.items()]


def _person_key(c: Contact) -> str:
    return f"p{c.person_id}" if c.person_id else f"k{c.person_key or c.pk}"


def draw(cases: Sequence[Case], contacts: Sequence[Contact]) -> Chain:
    nodes: dict[str, Node] = {}
    links: list[tuple[str, str]] = []

    def node(key: str, label: str, kind: str, column: int) -> str:
        if key not in nodes:
            nodes[key] = Node(key, label, kind, column)
        return key

    for case in cases:
        node(f"c{case.pk}", f"{mask_name(case.person.name)} · {case.pk}", "case", 0)
    by_contact: dict[int, str] = {}
    for c in sorted(contacts, key=lambda c: (c.degree, c.pk)):
        gen = 1 if c.degree == 1 else 2
        who = node(_person_key(c), c.shown_name, f"contact{gen}", 2 * gen)
        nodes[who].controlled = nodes[who].controlled or c.order_id is not None
        by_contact[c.pk] = who
        source = f"c{c.case_id}" if gen == 1 else by_contact.get(c.via_id or 0, f"c{c.case_id}")
        if source not in nodes:
            continue
        if c.place_id is not None and c.place is not None:
            place = node(f"g{gen}-{c.place_id}", c.place.name, "place", 2 * gen - 1)
            links += [(source, place), (place, who)]
        else:
            links.append((source, who))
    chain = Chain()
    rows: dict[int, int] = {}
    for n in nodes.values():
        row = rows.get(n.column, 0)
        rows[n.column] = row + 1
        if row >= PER_COLUMN:
            chain.more[n.column] = chain.more.get(n.column, 0) + 1
            continue
        n.row = row
        chain.nodes.append(n)
    drawn = {n.key: n for n in chain.nodes}
    for a, b in dict.fromkeys(links):
        if a in drawn and b in drawn:
            s, t = drawn[a], drawn[b]
            chain.edges.append(Edge(s.x + BOX_W, s.mid_y, t.x, t.mid_y))
    columns = max((n.column for n in nodes.values()), default=0) + 1
    chain.width = LEFT * 2 + columns * COLUMN
    chain.height = TOP + min(max(rows.values(), default=1), PER_COLUMN) * ROW + 30
    names = [
        _("Cases"),
        _("Places"),
        _("Close contacts"),
        _("Places"),
        _("Secondary contacts"),
    ]
    chain.headings = [(LEFT + i * COLUMN, names[i]) for i in range(min(columns, len(names)))]
    return chain
