"""Who gets an order: the responsible grid worker by default, a team in turn, or the
nearest fit by grid.

Every strategy resolves a whole batch with a fixed number of queries (memberships of the
subtree once, open-order loads once), so dispatching 10,000 orders costs the same few
reads as dispatching one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Count
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.org.models import Jurisdiction, Level, Membership, Responsibility, Team
from fangkong.org.roles import Role
from fangkong.org.scoping import subtree_q
from fangkong.workorders.models import OPEN_STATUSES, DispatchCursor, WorkOrder


class Strategy(StrEnum):
    GRID = "grid"  # the responsible grid worker of the subject's grid
    TEAM = "team"  # a team's members in turn (round-robin)
    NEAREST = "nearest"  # among holders of a role, the one whose node is closest
    PERSON = "person"  # one named person takes them all


STRATEGY_LABELS = {
    Strategy.GRID: _("Responsible grid worker"),
    Strategy.TEAM: _("Team members in turn"),
    Strategy.NEAREST: _("Nearest fit by grid"),
    Strategy.PERSON: _("One person"),
}


class DispatchError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    """Where one order's subject lives."""

    node_id: int
    path: str
    level: int
    parent_path: str


def target_of(node: Jurisdiction) -> Target:
    parent_path = node.path.rsplit("/", 2)[0] + "/" if node.level == Level.MICROGRID else node.path
    return Target(node.pk, node.path, node.level, parent_path)


def _grid_path(t: Target) -> str:
    """A micro-grid's orders belong to its grid's worker."""
    return t.parent_path if t.level == Level.MICROGRID else t.path


def resolve(
    targets: Sequence[Target],
    strategy: Strategy,
    *,
    team: Team | None = None,
    role: Role = Role.VOLUNTEER,
    person: User | None = None,
) -> list[int | None]:
    """The assignee's user id for each target (None: nobody fits; the order stays new)."""
    if not targets:
        return []
    if strategy == Strategy.PERSON:
        if person is None:
            raise DispatchError(_("Choose the person who takes these orders."))
        return [person.pk] * len(targets)
    if strategy == Strategy.TEAM:
        return _round_robin(team, len(targets))
    if strategy == Strategy.NEAREST:
        return _nearest(targets, role)
    return _grid_workers(targets)


def _grid_workers(targets: Sequence[Target]) -> list[int | None]:
    grid_paths = {_grid_path(t) for t in targets}
    best: dict[str, tuple[int, int]] = {}
    rows = Membership.objects.filter(
        jurisdiction__path__in=grid_paths, role__in=(Role.GRID_WORKER, Role.GRID_LEADER)
    ).values_list("jurisdiction__path", "role", "responsibility", "user_id")
    for path, role, responsibility, user_id in rows:
        # A worker responsible for the grid (包网格) first, then any worker, then the
        # grid leader; the lowest user id breaks ties so dispatch is repeatable.
        rank = (
            (0 if responsibility == Responsibility.GRID else 1) if role == Role.GRID_WORKER else 2
        )
        key = (rank, user_id)
        if path not in best or key < best[path]:
            best[path] = key
    return [best[p][1] if (p := _grid_path(t)) in best else None for t in targets]


def _round_robin(team: Team | None, n: int) -> list[int | None]:
    if team is None:
        raise DispatchError(_("Choose the team that takes these orders."))
    members = list(team.members.order_by("id").values_list("user_id", flat=True))
    if not members:
        raise DispatchError(_("Team “%(team)s” has no members.") % {"team": team.name})
    cursor, _created = DispatchCursor.objects.select_for_update().get_or_create(team=team)
    start = cursor.position
    cursor.position = (start + n) % len(members)
    cursor.save(update_fields=["position"])
    return [members[(start + i) % len(members)] for i in range(n)]


def _nearest(targets: Sequence[Target], role: Role) -> list[int | None]:
    """Closest by the tree: the candidate whose node shares the longest path with the
    subject's; among equals, the one with the fewest open orders (counted as we go)."""
    root = _common_prefix([t.path for t in targets])
    # Candidates come from the whole town around the subjects.
    town = (
        Jurisdiction.objects.filter(code__in=root.strip("/").split("/"), level=Level.TOWN)
        .values_list("path", flat=True)
        .first()
    ) or root
    candidates = list(
        Membership.objects.filter(subtree_q("jurisdiction__path", town), role=role)
        .values_list("user_id", "jurisdiction__path")
        .distinct()
    )
    if not candidates:
        raise DispatchError(_("Nobody holds the role “%(role)s” here.") % {"role": role.label})
    load = Counter(
        dict(
            WorkOrder.objects.filter(
                assignee_id__in={u for u, _p in candidates}, status__in=OPEN_STATUSES
            )
            .values_list("assignee_id")
            .annotate(n=Count("id"))
            .values_list("assignee_id", "n")
        )
    )
    out: list[int | None] = []
    for t in targets:
        user_id = min(
            candidates,
            key=lambda c: (-len(_common_prefix([c[1], t.path])), load[c[0]], c[0]),
        )[0]
        load[user_id] += 1
        out.append(user_id)
    return out


def _common_prefix(paths: Sequence[str]) -> str:
    first, *rest = paths
    parts = first.strip("/").split("/")
    n = len(parts)
    for p in rest:
        other = p.strip("/").split("/")
        n = min(
            n,
            next(
                (i for i, (a, b) in enumerate(zip(parts, other, strict=False)) if a != b),
                min(len(parts), len(other)),
            ),
        )
    return "/" + "/".join(parts[:n]) + "/" if n else "/"
