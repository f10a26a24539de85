"""Notifications API: broadcasts (as the broadcast page sends them), one's own inbox,
webhook subscriptions for integrators, channels and the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.notify import selectors, services, webhooks
from fangkong.notify.forms import masked_url
from fangkong.notify.models import Channel, ChannelKind, Delivery, DeliveryStatus, Notice
from fangkong.org.access import ScopedRouter
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm, Role
from fangkong.org.selectors import jurisdiction_for_user, team_for_user

router = ScopedRouter(tags=["notify"])

NodeCode = Annotated[str, Field(min_length=1, max_length=40, description="A node's code")]
# The keys of webhooks.EVENTS (tests/test_webhooks.py keeps them equal).
EventName = Literal["pushed_row.verified", "report.late", "bulletin.made"]


# Broadcasts -------------------------------------------------------------------------


class BroadcastIn(Schema):
    key: uuid.UUID = Field(
        description="Chosen by the client, one per message: a resend with "
        "the same key sends nothing again"
    )
    node: NodeCode = Field(description="The staff under this node receive it")
    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=2000)]
    roles: list[Role] = Field(default_factory=list, max_length=20)
    team_id: Id | None = Field(None, description="Only this team (instead of roles)")
    sms: bool = Field(False, description="Also by SMS through the node's gateway")
    robots: bool = Field(False, description="Also to the group robots of the node")


class BroadcastOut(Schema):
    inbox: Count
    sms: Count
    robots: Count
    repeated: bool
    no_sms_channel: bool


@router.write("/broadcasts", perm=Perm.BROADCAST, response=BroadcastOut)
def broadcast(request: HttpRequest, body: BroadcastIn) -> BroadcastOut:
    """Send a message to the staff under a node where you may broadcast."""
    user = request_user(request)
    node = jurisdiction_for_user(user, body.node, Perm.BROADCAST)
    team = team_for_user(user, body.team_id, Perm.BROADCAST) if body.team_id else None
    if team is not None and body.roles:
        raise ValidationError({"roles": [_("Pick roles or a team, not both.")]})
    result = services.broadcast_send(
        actor=user,
        node=node,
        title=body.title,
        body=body.body,
        roles=body.roles,
        team=team,
        sms=body.sms,
        robots=body.robots,
        key=str(body.key),
    )
    return BroadcastOut(
        inbox=result.inbox,
        sms=result.sms,
        robots=result.robots,
        repeated=result.repeated,
        no_sms_channel=result.no_sms_channel,
    )


# The inbox ----------------------------------------------------------------------------


class NoticeOut(Schema):
    id: Id
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def of(n: Notice) -> NoticeOut:
        return NoticeOut(
            id=n.pk,
            title=n.title,
            body=n.body,
            url=n.url,
            created_at=n.created_at,
            read_at=n.read_at,
        )


@router.read("/notices", perm=None, response=Page[NoticeOut])
def list_notices(
    request: HttpRequest, unread: bool = False, cursor: Cursor = "", limit: Limit = 50
) -> Page[NoticeOut]:
    """Your own notices, newest first (`unread=true`: those not read yet)."""
    notices = Notice.objects.filter(user=request_user(request))
    if unread:
        notices = notices.filter(read_at__isnull=True)
    rows, after = cursor_page(notices, cursor=cursor, limit=limit)
    return Page[NoticeOut](items=[NoticeOut.of(n) for n in rows], next_cursor=after)


class ReadIn(Schema):
    ids: list[Id] = Field(default_factory=list, max_length=200)
    all: bool = Field(False, description="Mark every notice of yours read")


class ReadOut(Schema):
    marked: Count
    unread: Count


@router.write("/notices/read", perm=None, response=ReadOut)
def mark_read(request: HttpRequest, body: ReadIn) -> ReadOut:
    """Mark notices read. Only your own are touched: another's id changes nothing."""
    user = request_user(request)
    marked = services.notices_mark_read(user=user, ids=body.ids, everything=body.all)
    return ReadOut(marked=marked, unread=selectors.unread_count(user))


# Webhook subscriptions and channels -------------------------------------------------


class ChannelOut(Schema):
    id: Id
    key: str
    name: str
    kind: str
    url_masked: str
    node_code: str | None
    events: list[str]
    enabled: bool
    per_minute: Count

    @staticmethod
    def of(c: Channel) -> ChannelOut:
        return ChannelOut(
            id=c.pk,
            key=c.key,
            name=c.name,
            kind=c.kind,
            url_masked=masked_url(c.url) if c.url else "",
            node_code=c.jurisdiction.code if c.jurisdiction else None,
            events=list(c.events),
            enabled=c.enabled,
            per_minute=c.per_minute,
        )


@router.read("/webhooks", perm=Perm.NOTIFY_MANAGE, response=Page[ChannelOut])
def list_webhooks(request: HttpRequest, cursor: Cursor = "", limit: Limit = 50) -> Page[ChannelOut]:
    """Webhook subscriptions at the nodes where you manage notifications."""
    hooks = selectors.channels_visible(request.user).filter(kind=ChannelKind.WEBHOOK)
    rows, after = cursor_page(hooks, cursor=cursor, limit=limit)
    return Page[ChannelOut](items=[ChannelOut.of(c) for c in rows], next_cursor=after)


class WebhookIn(Schema):
    client_id: uuid.UUID = Field(
        description="Chosen by the client, one per subscription: a resend returns the first"
    )
    node: NodeCode = Field(description="Events at this node and under it are sent")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    url: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="http(s) address; loopback, private, link-local and metadata addresses "
        "are refused unless the installation names an internal gateway"
    )
    events: list[EventName] = Field(min_length=1, max_length=len(webhooks.EVENTS))


class WebhookCreatedOut(Schema):
    created: bool
    webhook: ChannelOut
    secret: str = Field(description="The signing key: keep it; HMAC-SHA256 of every body")


@router.write("/webhooks", perm=Perm.NOTIFY_MANAGE, response=WebhookCreatedOut)
def create_webhook(request: HttpRequest, body: WebhookIn) -> WebhookCreatedOut:
    """Subscribe an address to events at a node where you manage notifications."""
    user = request_user(request)
    node: Jurisdiction = jurisdiction_for_user(
        user, body.node, Perm.NOTIFY_MANAGE, write=Perm.NOTIFY_MANAGE
    )
    channel, created = webhooks.webhook_create(
        actor=user,
        node=node,
        name=body.name,
        url=body.url.strip(),
        events=list(body.events),
        client_id=body.client_id,
    )
    return WebhookCreatedOut(created=created, webhook=ChannelOut.of(channel), secret=channel.secret)


@router.read("/channels/{channel_id}", perm=Perm.NOTIFY_MANAGE, response=ChannelOut)
def get_channel(request: HttpRequest, channel_id: Id) -> ChannelOut:
    """A channel or webhook subscription you manage (its address masked, never its
    secret)."""
    return ChannelOut.of(selectors.channel_for_user(request.user, channel_id))


class ChannelChangeIn(Schema):
    enabled: bool = Field(description="false pauses it: nothing new is queued or sent")


@router.write(
    "/channels/{channel_id}", perm=Perm.NOTIFY_MANAGE, method="PATCH", response=ChannelOut
)
def change_channel(request: HttpRequest, channel_id: Id, body: ChannelChangeIn) -> ChannelOut:
    user = request_user(request)
    channel = selectors.channel_for_user(user, channel_id)
    return ChannelOut.of(webhooks.webhook_enable(actor=user, channel=channel, enabled=body.enabled))


class DeliveryOut(Schema):
    id: Id
    channel_id: Id
    event: str
    key: str
    title: str
    recipient: str
    status: str
    attempts: Count
    last_error: str
    response_code: Count | None
    created_at: datetime
    next_try_at: datetime
    sent_at: datetime | None

    @staticmethod
    def of(d: Delivery) -> DeliveryOut:
        return DeliveryOut(
            id=d.pk,
            channel_id=d.channel_id,
            event=d.event,
            key=d.key,
            title=d.title,
            recipient=d.recipient_label,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            response_code=d.response_code,
            created_at=d.created_at,
            next_try_at=d.next_try_at,
            sent_at=d.sent_at,
        )


@router.read("/deliveries", perm=Perm.NOTIFY_MANAGE, response=Page[DeliveryOut])
def list_deliveries(
    request: HttpRequest,
    channel_id: Id | None = None,
    status: Literal[tuple(DeliveryStatus.values)] | None = None,  # type: ignore[valid-type]
    cursor: Cursor = "",
    limit: Limit = 50,
) -> Page[DeliveryOut]:
    """The delivery log of the channels and webhooks you manage, newest first."""
    filters = selectors.DeliveryFilters(status=status or "", channel_id=channel_id)
    rows, after = cursor_page(
        selectors.deliveries_visible(request.user, filters), cursor=cursor, limit=limit
    )
    return Page[DeliveryOut](items=[DeliveryOut.of(d) for d in rows], next_cursor=after)
