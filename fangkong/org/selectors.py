"""Reads for the organisation; all of them scoped to the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.http import Http404

from fangkong.core.crypto import blind_index
from fangkong.core.search_terms import identifier_in
from fangkong.org.access import object_for_user
from fangkong.org.models import ApiClient, Jurisdiction, Level, Membership, StaffProfile, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import ScopedQuerySet, scope_paths


def jurisdictions_visible(user: Any) -> ScopedQuerySet[Jurisdiction]:
    return Jurisdiction.objects.visible_to(user, Perm.ORG_VIEW)


def jurisdiction_for_user(
    user: Any,
    code: str,
    perm: Perm = Perm.ORG_VIEW,
    *,
    write: Perm | None = None,
    level: Level | None = None,
) -> Jurisdiction:
    """A node by its code, seen with `perm` (404 outside it); with `write`, the user must
    hold that permission at the node (403)."""
    nodes = (
        Jurisdiction.objects.all() if level is None else Jurisdiction.objects.filter(level=level)
    )
    return object_for_user(nodes, user, perm, write=write, code=code)


def node_or_top_for_user(user: Any, code: str, perm: Perm) -> Jurisdiction:
    """The node a page asks for (`?node=CODE`), or the top of the user's area."""
    if code:
        return jurisdiction_for_user(user, code, perm)
    node = top_node(user, perm)
    if node is None:
        raise Http404
    return node


def scope_roots(user: Any) -> list[Jurisdiction]:
    """The top nodes of the user's view, each with its number of children."""
    paths = scope_paths(user, Perm.ORG_VIEW)
    return list(Jurisdiction.objects.filter(path__in=paths).annotate(child_count=Count("children")))


def top_node(user: Any, perm: Perm) -> Jurisdiction | None:
    """The highest node where the user holds `perm`: where what they organise for their
    whole area (a received list, a sweep, a local rule edition) belongs."""
    paths = scope_paths(user, perm)
    return Jurisdiction.objects.filter(path=min(paths, key=len)).first() if paths else None


def children_of(node: Jurisdiction) -> list[Jurisdiction]:
    return list(
        node.children.annotate(
            child_count=Count("children", distinct=True),
            staff_count=Count("staff", distinct=True),
        ).order_by("code")
    )


def visible_ancestors(user: Any, node: Jurisdiction) -> list[Jurisdiction]:
    codes = node.ancestor_codes()[:-1]
    by_code = {j.code: j for j in jurisdictions_visible(user).filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


def staff_visible(user: Any) -> ScopedQuerySet[StaffProfile]:
    return StaffProfile.objects.visible_to(user, Perm.ORG_VIEW).select_related("jurisdiction")


def staff_search(
    user: Any, *, node: Jurisdiction | None = None, q: str = ""
) -> ScopedQuerySet[StaffProfile]:
    """By name, user name or unit; a whole mobile or ID number by its keyed hash."""
    qs = staff_visible(user)
    if node is not None:
        qs = qs.within(node.path)
    found = identifier_in(q) if q else None
    if found is not None:
        column = "phone_hash" if found[0] == "phone" else "id_number_hash"
        qs = qs.filter(**{column: blind_index(found[1])})
    elif q:
        qs = qs.filter(Q(name__contains=q) | Q(user__username__icontains=q) | Q(unit__contains=q))
    return qs


def staff_for_user(user: Any, staff_id: int, *, write: bool = False) -> StaffProfile:
    return object_for_user(
        staff_visible(user),
        user,
        Perm.ORG_VIEW,
        write=Perm.STAFF_MANAGE if write else None,
        pk=staff_id,
    )


def memberships_of(profile: StaffProfile) -> list[Membership]:
    return list(
        profile.user.memberships.select_related("jurisdiction").order_by("jurisdiction__path")
    )


def teams_visible(user: Any) -> ScopedQuerySet[Any]:
    return (
        Team.objects.visible_to(user, Perm.ORG_VIEW)
        .select_related("jurisdiction", "leader__staff", "template")
        .annotate(member_count=Count("members"))
        # GROUP BY queries ignore Meta.ordering; lists are paginated, so order explicitly.
        .order_by("jurisdiction__path", "kind", "name")
    )


def team_for_user(
    user: Any, team_id: int, perm: Perm = Perm.ORG_VIEW, *, write: bool = False
) -> Team:
    """A team seen with `perm` (orders.dispatch when orders go to it); with `write`, the
    user must hold team.manage at the team's node."""
    return object_for_user(
        Team.objects.select_related("jurisdiction", "template"),
        user,
        perm,
        write=Perm.TEAM_MANAGE if write else None,
        pk=team_id,
    )


@dataclass
class HomeCard:
    node: Jurisdiction
    roles: list[str]
    responsibility: list[str]


def home_cards(user: Any) -> list[HomeCard]:
    cards: dict[int, HomeCard] = {}
    for m in Membership.objects.filter(user=user).select_related("jurisdiction"):
        card = cards.setdefault(m.jurisdiction_id, HomeCard(m.jurisdiction, [], []))
        card.roles.append(m.get_role_display())
        if m.responsibility:
            card.responsibility.append(m.get_responsibility_display())
    return sorted(cards.values(), key=lambda c: c.node.path)


def clients_visible(user: Any) -> ScopedQuerySet[ApiClient]:
    return ApiClient.objects.visible_to(user, Perm.CLIENTS_MANAGE).select_related(
        "jurisdiction", "issued_by", "revoked_by"
    )


def api_client_for_user(user: Any, client_id: int, *, write: bool = False) -> ApiClient:
    """404 outside the user's area, 403 when seen but not theirs to revoke."""
    return object_for_user(
        ApiClient.objects.select_related("jurisdiction"),
        user,
        Perm.CLIENTS_MANAGE,
        write=Perm.CLIENTS_MANAGE if write else None,
        pk=client_id,
    )
