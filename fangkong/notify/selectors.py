"""Reads for the notification pages, always scoped to the viewer.

`Channel` has no `ScopedQuerySet`: a channel without a node belongs to no subtree (it
serves the whole installation), so it is shown only to managers whose area is a top
node of the tree; a channel with a node, to managers at or above that node.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from fangkong.notify.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    MessageTemplate,
    Notice,
)
from fangkong.org.access import require_top
from fangkong.org.models import Jurisdiction, Level, Membership, StaffProfile, Team, TeamMember
from fangkong.org.roles import Perm
from fangkong.org.scoping import holds_at_a_root, scope_paths, subtree_q

# Nodes offered in the pickers: micro-grids rarely have a group or a broadcast of
# their own, and a town may have thousands of them.
PICKER_LEVELS = (Level.COUNTY, Level.TOWN, Level.VILLAGE, Level.GRID)


def _any(conditions: list[Q]) -> Q:
    combined = Q(pk__in=[])
    for condition in conditions:
        combined |= condition
    return combined


def manages_everything(user: Any) -> bool:
    """Whether the user manages channels, templates and the rest of the installation's
    notification set-up from a top node."""
    return holds_at_a_root(user, Perm.NOTIFY_MANAGE)


def channels_visible(user: Any) -> QuerySet[Channel]:
    roots = scope_paths(user, Perm.NOTIFY_MANAGE)
    if not roots:
        return Channel.objects.none()
    q = _any([subtree_q("jurisdiction__path", root) for root in roots])
    if manages_everything(user):
        q |= Q(jurisdiction__isnull=True)
    return Channel.objects.filter(q).select_related("jurisdiction")


def channel_for_user(user: Any, channel_id: int) -> Channel:
    """The same 404 for a missing channel and one outside the user's area."""
    channel = channels_visible(user).filter(pk=channel_id).first()
    if channel is None:
        raise Http404
    return channel


def channel_list(user: Any, now: datetime) -> QuerySet[Channel]:
    """Channels with their deliveries of the last 24 hours, sent and failed."""
    since = now - timedelta(hours=24)
    recent = Q(deliveries__created_at__gte=since)
    return (
        channels_visible(user)
        .annotate(
            sent_24h=Count("deliveries", filter=recent & Q(deliveries__status=DeliveryStatus.SENT)),
            failed_24h=Count(
                "deliveries", filter=recent & Q(deliveries__status=DeliveryStatus.FAILED)
            ),
        )
        .order_by("key")
    )


def template_for_user(user: Any, template_id: int, *, write: bool = False) -> MessageTemplate:
    """Templates are the installation's wording: every manager reads them; only a
    manager of the whole tree changes them (403 for others)."""
    template = MessageTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise Http404
    if write:
        require_top(user, Perm.NOTIFY_MANAGE)
    return template


@dataclass(frozen=True)
class DeliveryFilters:
    status: str = ""
    channel_id: int | None = None
    event: str = ""


def deliveries_visible(user: Any, filters: DeliveryFilters | None = None) -> QuerySet[Delivery]:
    """The delivery log of the channels the user manages, newest first. The recipient
    column is encrypted and never read here: pages show the masked label."""
    rows = Delivery.objects.filter(channel__in=channels_visible(user).values("pk")).defer(
        "recipient", "body"
    )
    if filters is not None:
        if filters.status:
            rows = rows.filter(status=filters.status)
        if filters.channel_id:
            rows = rows.filter(channel_id=filters.channel_id)
        if filters.event:
            rows = rows.filter(event=filters.event)
    # Newest first by id (the order rows were queued in), which the primary key serves;
    # created_at has no index.
    return rows.select_related("channel").order_by("-id")


def delivery_for_user(user: Any, delivery_id: int) -> Delivery:
    delivery = deliveries_visible(user).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404
    return delivery


# The inbox ------------------------------------------------------------------------------


def unread_count(user: Any) -> int:
    """Notices the user has not opened: a COUNT over the (user, read_at) index."""
    if user is None or not user.is_authenticated:
        return 0
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


# Broadcasts -----------------------------------------------------------------------------


def broadcast_nodes(user: Any) -> QuerySet[Jurisdiction]:
    return Jurisdiction.objects.visible_to(user, Perm.BROADCAST).filter(level__in=PICKER_LEVELS)


def broadcast_teams(user: Any) -> QuerySet[Team]:
    return (
        Team.objects.visible_to(user, Perm.BROADCAST)
        .select_related("jurisdiction")
        .order_by("jurisdiction__path", "name")
    )


def audience(node: Jurisdiction, roles: list[str], team: Team | None) -> set[int]:
    """Active staff users a broadcast reaches: a team's members and leader; or those
    holding one of `roles` under the node; or (no roles) everyone listed or holding a
    role under the node."""
    if team is not None:
        ids = set(TeamMember.objects.filter(team=team).values_list("user_id", flat=True))
        if team.leader_id:
            ids.add(team.leader_id)
    else:
        memberships = Membership.objects.within(node.path)
        if roles:
            memberships = memberships.filter(role__in=roles)
        ids = set(memberships.values_list("user_id", flat=True))
        if not roles:
            ids |= set(StaffProfile.objects.within(node.path).values_list("user_id", flat=True))
    if not ids:
        return set()
    from fangkong.accounts.models import User

    return set(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))


def sms_channel_for(node: Jurisdiction) -> Channel | None:
    """The enabled SMS gateway nearest above the node (or the installation's own): one,
    so nobody gets the same text twice through two gateways."""
    candidates = [
        c
        for c in Channel.objects.filter(kind=ChannelKind.SMS, enabled=True).select_related(
            "jurisdiction"
        )
        if c.jurisdiction is None or node.path.startswith(c.jurisdiction.path)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (len(c.jurisdiction.path) if c.jurisdiction else 0, -c.pk))
