"""Webhooks out: an integrator's system subscribes, at a node, to events that happen at
or under it, and receives each as signed JSON.

A subscription is a `Channel` of kind `webhook`: the channel already has an address
checked against loopback, private and metadata addresses (`addresses.py`), an encrypted
secret, a node, events, a per-minute limit, and the delivery log with retries and
back-off (`services.send_due`). An event is queued as a `Delivery` whose body is the
JSON sent; its key makes a repeated emit of the same event a no-op, and the sender
signs the body afresh on each attempt (`channels.send_webhook`).

Scoping: a subscription at a node receives the events of that node and of the nodes
under it, never those of a sibling or of the town above (a village's subscription does
not hear another village's, nor its town's, bulletin).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.notify.addresses import AddressRefused, check_to_save
from fangkong.notify.models import Channel, ChannelKind, Delivery
from fangkong.notify.services import _kick
from fangkong.org.access import require_perm_at
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths

PUSHED_ROW_VERIFIED = "pushed_row.verified"
REPORT_LATE = "report.late"
BULLETIN_MADE = "bulletin.made"
EVENTS: dict[str, str | Promise] = {
    PUSHED_ROW_VERIFIED: gettext_lazy("A row of a pushed list was verified"),
    REPORT_LATE: gettext_lazy("A village's daily report is late"),
    BULLETIN_MADE: gettext_lazy("A daily bulletin was made"),
}
# A webhook takes at most this many events a minute before the rest wait a minute.
PER_MINUTE = 120


def _key_of(client_id: uuid.UUID) -> str:
    return f"webhook-{client_id.hex}"


@transaction.atomic
def webhook_create(
    *,
    actor: User,
    node: Jurisdiction,
    name: str,
    url: str,
    events: Sequence[str],
    client_id: uuid.UUID,
) -> tuple[Channel, bool]:
    """Subscribe `url` to `events` at `node`; the secret is generated here. `client_id`
    (one per subscription, chosen by the caller) makes a retried request return the
    subscription the first one made: (channel, created)."""
    require_perm_at(actor, Perm.NOTIFY_MANAGE, node.path)
    key = _key_of(client_id)
    existing = Channel.objects.filter(key=key).select_related("jurisdiction").first()
    if existing is not None:
        same = (
            existing.kind == ChannelKind.WEBHOOK
            and existing.jurisdiction_id == node.pk
            and existing.url == url
            and sorted(existing.events) == sorted(events)
        )
        if not same:
            raise ValidationError(
                {"client_id": _("This client_id was used for another subscription.")}
            )
        return existing, False
    errors: dict[str, str] = {}
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        errors["events"] = _("Unknown events: %(events)s.") % {"events": ", ".join(unknown)}
    elif not events:
        errors["events"] = _("Choose at least one event.")
    if not name.strip():
        errors["name"] = _("Give the subscription a name.")
    try:
        check_to_save(url)
    except AddressRefused as e:
        errors["url"] = str(e)
    if errors:
        raise ValidationError(errors)
    channel = Channel.objects.create(
        key=key,
        name=name.strip()[:100],
        kind=ChannelKind.WEBHOOK,
        url=url,
        secret=secrets.token_urlsafe(32),
        per_minute=PER_MINUTE,
        jurisdiction=node,
        events=sorted(set(events)),
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=channel,
        object_repr=f"webhook: {channel.name}",
        jurisdiction_path=node.path,
        # The address may carry a token and the secret is a secret: neither is recorded.
        detail={"events": channel.events, "node": node.code},
    )
    return channel, True


@transaction.atomic
def webhook_enable(*, actor: User, channel: Channel, enabled: bool) -> Channel:
    """Pause or resume a subscription (or any channel the actor manages). A paused one
    queues nothing new; what is queued waits until it is resumed."""
    path = channel.jurisdiction.path if channel.jurisdiction else ""
    if channel.jurisdiction is None:
        from fangkong.org.access import require_top

        require_top(actor, Perm.NOTIFY_MANAGE)
    else:
        require_perm_at(actor, Perm.NOTIFY_MANAGE, path)
    if channel.enabled == enabled:
        return channel
    Channel.objects.filter(pk=channel.pk).update(enabled=enabled)
    channel.enabled = enabled
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=channel,
        object_repr=f"channel: {channel.key}",
        jurisdiction_path=path,
        detail={"changed": ["enabled"], "after": {"enabled": enabled}},
    )
    return channel


def enabled_webhooks() -> list[Channel]:
    """Every enabled webhook, with its node: read once by a job that emits for many
    nodes (pass it to `emit` as `hooks`)."""
    return list(
        Channel.objects.filter(kind=ChannelKind.WEBHOOK, enabled=True).select_related(
            "jurisdiction"
        )
    )


def subscribers(event: str, path: str, hooks: Sequence[Channel] | None = None) -> list[Channel]:
    """Enabled webhooks taking `event` at the node `path` or at one of its ancestors."""
    above = ancestor_paths(path)
    if hooks is None:
        hooks = list(
            Channel.objects.filter(
                kind=ChannelKind.WEBHOOK, enabled=True, jurisdiction__path__in=above
            ).select_related("jurisdiction")
        )
    return [
        c
        for c in hooks
        if c.jurisdiction is not None and c.jurisdiction.path in above and event in c.events
    ]


def emit(
    event: str,
    *,
    node: Jurisdiction,
    key: str,
    data: Mapping[str, Any],
    now: datetime | None = None,
    hooks: Sequence[Channel] | None = None,
) -> list[Delivery]:
    """Queue `event` (at `node`) to every webhook subscribed to it there. `key` names the
    occurrence (the same report's lateness, the same bulletin version): emitting it
    again queues nothing new. Sent by the worker after the transaction commits."""
    if event not in EVENTS:
        raise ValueError(event)
    channels = subscribers(event, node.path, hooks)
    if not channels:
        return []
    now = now or timezone.now()
    occurrence = f"{event}:{key}"[:160]
    body = json.dumps(
        {
            "id": occurrence,
            "event": event,
            "occurred_at": timezone.localtime(now).isoformat(),
            "node": {"code": node.code, "name": node.name},
            "data": dict(data),
        },
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    rows = [
        Delivery(
            channel=c,
            title=str(EVENTS[event])[:200],
            body=body,
            event=event,
            key=occurrence,
            next_try_at=now,
        )
        for c in channels
    ]
    created = Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(_kick)
    return created


def pushed_row_event(row: Any) -> dict[str, Any]:
    """emit()'s arguments for a verified row of a pushed list. The row is named by its
    list and row number, which the sender of the list knows; no name, ID number or
    phone leaves in a webhook."""
    verified_at = row.verified_at or timezone.now()
    return {
        "node": row.jurisdiction,
        "key": f"{row.pk}:{verified_at.isoformat()}",
        "data": {
            "list_id": row.pushed_id,
            "row_id": row.pk,
            "row_number": row.row_number,
            "outcome": row.outcome,
            "where": row.where,
            "measure": row.measure,
            "verified_at": timezone.localtime(verified_at).isoformat(),
        },
    }
