"""The one scoped-access mechanism.

Every scoped model names the lookup to its jurisdiction path (`scope_path`) and uses
`ScopedQuerySet`, so `Model.objects.visible_to(user, perm)` is the only way views and
selectors list rows. A user's scope is the union of the subtrees of the memberships
whose role grants the permission asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar

from django.db import connection, models
from django.db.models import F, Q

from fangkong.org.roles import Perm, permissions_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from fangkong.accounts.models import User

_M = TypeVar("_M", bound=models.Model)
_T = TypeVar("_T")

# SQLite's LIKE cannot use an index; a half-open range on a BINARY-collated column can.
# PostgreSQL gets a varchar_pattern_ops index for LIKE 'prefix%' (Django adds it to
# every indexed CharField), which is correct under any database collation.
_RANGE_END = chr(0x10FFFF)


def prefix_q(field: str, prefix: str) -> Q:
    """Index-backed `field LIKE 'prefix%'` on both databases (case-sensitive)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__startswith": prefix})
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + _RANGE_END})


def subtree_q(field: str, path: str) -> Q:
    return prefix_q(field, path)


@dataclass(frozen=True)
class Grant:
    """What one principal may do over one subtree. A membership grants its role's
    permissions; a machine client's key (org.clients) grants the permissions it was
    issued with and has no role (""), so every check below reads `perms`, never `role`."""

    jurisdiction_id: int
    path: str
    role: str
    perms: frozenset[Perm]


def grants_of(user: User | AnonymousUser) -> tuple[Grant, ...]:
    """The user's memberships, loaded once per request (cached on the user object)."""
    if not user.is_authenticated:
        return ()
    cached: tuple[Grant, ...] | None = getattr(user, "_fk_grants", None)
    if cached is None:
        from fangkong.org.models import Membership

        cached = tuple(
            Grant(m.jurisdiction_id, m.jurisdiction.path, m.role, permissions_for(m.role))
            for m in Membership.objects.filter(user=user).select_related("jurisdiction")
        )
        user._fk_grants = cached  # type: ignore[attr-defined]
    return cached


def forget_grants(user: Any) -> None:
    if hasattr(user, "_fk_grants"):
        del user._fk_grants


def scope_paths(user: User | AnonymousUser, perm: Perm | None = None) -> list[str]:
    """Minimal set of subtree roots the user may see (with `perm`, if given)."""
    paths = sorted({g.path for g in grants_of(user) if perm is None or perm in g.perms})
    roots: list[str] = []
    for p in paths:
        if not roots or not p.startswith(roots[-1]):
            roots.append(p)
    return roots


def has_perm(user: User | AnonymousUser, perm: Perm, path: str | None = None) -> bool:
    """Whether some membership grants `perm` (at a node covering `path`, if given)."""
    return any(
        perm in g.perms and (path is None or path.startswith(g.path)) for g in grants_of(user)
    )


class ScopedQuerySet(models.QuerySet[_M]):
    def visible_to(
        self, user: User | AnonymousUser, perm: Perm | None = None, *, as_filter: bool = False
    ) -> Self:
        """Rows in the user's scope. `as_filter=True` when the query has a more selective
        condition of its own (a name key, a hash): the scope is then checked on the rows
        that condition finds rather than used to find rows."""
        roots = scope_paths(user, perm)
        if not roots:
            return self.none()
        return self._in_subtrees(roots, as_filter=as_filter)

    def within(self, path: str, *, as_filter: bool = False) -> Self:
        return self._in_subtrees([path], as_filter=as_filter)

    def _in_subtrees(self, roots: list[str], *, as_filter: bool = False) -> Self:
        field: str = self.model.scope_path  # type: ignore[attr-defined]
        fk, _sep, rest = field.partition("__")
        if rest != "path":
            return self.filter(_any(subtree_q(field, root) for root in roots))
        # One hop to the jurisdiction: a semi-join on the foreign key (fk IN (subtree
        # ids)) rather than a join, so the planner can start from the row table's
        # selective index (a name key or a phone hash) instead of walking every row of
        # every node in scope; SQLite picks that join order badly otherwise.
        from fangkong.org.models import Jurisdiction

        nodes = Jurisdiction.objects.filter(_any(subtree_q("path", root) for root in roots))
        if as_filter:
            if connection.vendor == "postgresql":
                # PostgreSQL starts from the selective index and checks each row's node
                # through the primary key; an IN (subquery) on an expression would be
                # re-run per row instead of hashed.
                return self.filter(_any(subtree_q(field, root) for root in roots))
            # SQLite: "fk + 0" is not an indexed column, so the planner cannot start from
            # it; the IN list is built once.
            return self.alias(_scope_fk=F(f"{fk}_id") + 0).filter(_scope_fk__in=nodes.values("pk"))
        return self.filter(**{f"{fk}__in": nodes.values("pk")})


def _any(conditions: Iterable[Q]) -> Q:
    combined = Q()
    for condition in conditions:
        combined |= condition
    return combined


def ancestor_paths(path: str) -> list[str]:
    """The paths from the root down to `path` itself: "/a/b/" -> ["/a/", "/a/b/"]."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def nearest_in(path: str, paths: Mapping[str, _T]) -> _T | None:
    """The value of the deepest of `paths` at or above `path` (a row's village, say)."""
    for candidate in reversed(ancestor_paths(path)):
        if candidate in paths:
            return paths[candidate]
    return None


def at_or_above_q(user: User | AnonymousUser, perm: Perm | None, field: str) -> Q:
    """Rows at a node in the user's scope or at one of its ancestors: what was sent to
    the whole town (a pushed list, a sweep) concerns each village and grid in it."""
    q = Q(pk__in=[])
    for root in scope_paths(user, perm):
        q |= subtree_q(field, root) | Q(**{f"{field}__in": ancestor_paths(root)})
    return q


def holds_at_a_root(user: User | AnonymousUser, perm: Perm) -> bool:
    """Whether the user holds `perm` at a top node of the tree (one without a parent):
    what belongs to no node (installation-wide templates, report fields, system
    channels) is theirs to change, not a single town's."""
    from fangkong.org.models import Jurisdiction

    roots = scope_paths(user, perm)
    return bool(roots) and Jurisdiction.objects.filter(path__in=roots, parent__isnull=True).exists()
