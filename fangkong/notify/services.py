"""Sending notices: the in-app inbox (always there) and the outside channels, queued as
deliveries and sent by the worker with retries, back-off and per-channel limits."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from string import Template
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.crypto import blind_index
from fangkong.notify.addresses import AddressRefused, check_to_save
from fangkong.notify.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    MessageTemplate,
    Notice,
)
from fangkong.org.models import Jurisdiction, Team
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm


def notice_send(
    *, user_ids: Iterable[int], title: str, body: str = "", url: str = "", key: str = ""
) -> int:
    """Put a notice in each user's inbox; with a `key`, a user gets it only once."""
    notices = [
        Notice(user_id=u, title=title[:200], body=body, url=url[:200], key=key[:120])
        for u in sorted(set(user_ids))
    ]
    created = Notice.objects.bulk_create(notices, ignore_conflicts=bool(key))
    return len(created)


def notices_mark_read(
    *, user: Any, ids: Iterable[int] = (), everything: bool = False, now: datetime | None = None
) -> int:
    """Mark the user's own notices read (those of `ids`, or all with `everything`); a
    notice read already keeps the time it was first read. Returns how many changed."""
    unread = Notice.objects.filter(user=user, read_at__isnull=True)
    if not everything:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=now or timezone.now())


# Outside channels -----------------------------------------------------------------------

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600


class TemplateError(ValueError):
    """A template names a variable the caller did not give."""


def render(template: MessageTemplate, variables: Mapping[str, object]) -> tuple[str, str]:
    """Title and body with $variables filled in; every variable must be given (string.
    Template: no attribute access, nothing but the names)."""
    values = {k: str(v) for k, v in variables.items()}
    try:
        return (
            Template(template.title).substitute(values),
            Template(template.body).substitute(values),
        )
    except KeyError as e:
        raise TemplateError(_("The template needs $%(name)s.") % {"name": e.args[0]}) from None
    except ValueError as e:
        raise TemplateError(str(e)) from None


def template_for_event(key: str) -> MessageTemplate | None:
    """The installation's wording for a kind of automatic message, if it has one."""
    return MessageTemplate.objects.filter(key=key).first()


def render_or(
    template: MessageTemplate | None, variables: Mapping[str, object], fallback: tuple[str, str]
) -> tuple[str, str]:
    """The template filled in, or the built-in words when there is no template or it asks
    for a variable this message does not have (an automatic message must still go)."""
    if template is not None:
        try:
            return render(template, variables)
        except TemplateError:
            logger.warning("template %s needs more than %s", template.key, sorted(variables))
    return fallback


def routes(event: str, path: str, channels: Iterable[Channel] | None = None) -> list[Channel]:
    """Group robots (and console/file logs) that take `event` for the node at `path`:
    those of the node or an ancestor, or of no node at all. Pass `channels` (enabled,
    with their jurisdiction) when routing many paths at once."""
    if channels is None:
        channels = Channel.objects.filter(enabled=True).select_related("jurisdiction")
    found = []
    for channel in channels:
        # SMS goes to phones, webhooks take their own structured events (webhooks.emit).
        if channel.kind in (ChannelKind.SMS, ChannelKind.WEBHOOK) or not channel.enabled:
            continue
        if event not in channel.events:
            continue
        if channel.jurisdiction is None or path.startswith(channel.jurisdiction.path):
            found.append(channel)
    return found


def deliver(
    *,
    channels: Iterable[Channel],
    title: str,
    body: str,
    event: str,
    key: str,
    phones: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[Delivery]:
    """Queue a message on each channel: once to a robot's group, or once per phone for
    SMS (`phones`: phone → masked label). The `key` makes a repeat a no-op. Sent by the
    worker after the transaction commits."""
    now = now or timezone.now()
    rows = []
    for channel in channels:
        if channel.kind == ChannelKind.SMS:
            for phone, label in (phones or {}).items():
                rows.append(
                    Delivery(
                        channel=channel,
                        recipient=phone,
                        recipient_label=label,
                        title=title[:200],
                        body=body,
                        event=event,
                        key=f"{key}:{blind_index(phone)[:16]}"[:160],
                        next_try_at=now,
                    )
                )
        else:
            rows.append(
                Delivery(
                    channel=channel,
                    title=title[:200],
                    body=body,
                    event=event,
                    key=key[:160],
                    next_try_at=now,
                )
            )
    created = Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        transaction.on_commit(_kick)
    return created


def _kick() -> None:
    """Have the worker send soon; one waiting run sends everything due, so a burst of
    messages (28 villages flagged at 17:00) queues one task, not 28."""
    from django_tasks_db.models import DBTaskResult

    from fangkong.notify.tasks import send_due_task

    waiting = DBTaskResult.objects.filter(status="READY", task_path=send_due_task.module_path)
    if not waiting.exists():
        send_due_task.enqueue()


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


def send_due(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send what is due, oldest first; retry failures with back-off; hold what is over a
    channel's per-minute limit until the next minute. Returns counts by outcome."""
    from fangkong.notify.channels import BACKENDS, SendError

    now = now or timezone.now()
    done: dict[str, int] = {"sent": 0, "retry": 0, "failed": 0, "held": 0}
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_try_at__lte=now)
        .select_related("channel")
        .order_by("next_try_at", "id")[:limit]
    )
    sent_last_minute: dict[int, int] = {}
    for d in due:
        channel = d.channel
        if channel.id not in sent_last_minute:
            sent_last_minute[channel.id] = Delivery.objects.filter(
                channel=channel, sent_at__gt=now - timedelta(minutes=1)
            ).count()
        if not channel.enabled or sent_last_minute[channel.id] >= channel.per_minute:
            Delivery.objects.filter(pk=d.pk).update(next_try_at=now + timedelta(minutes=1))
            done["held"] += 1
            continue
        attempts = d.attempts + 1
        try:
            status = BACKENDS[ChannelKind(channel.kind)](channel, d)
        except SendError as e:
            final = not e.retryable or attempts >= MAX_ATTEMPTS
            Delivery.objects.filter(pk=d.pk).update(
                attempts=attempts,
                last_error=str(e)[:300],
                response_code=e.status or None,
                status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
                next_try_at=now + _retry_delay(attempts),
            )
            done["failed" if final else "retry"] += 1
            continue
        Delivery.objects.filter(pk=d.pk).update(
            attempts=attempts,
            status=DeliveryStatus.SENT,
            sent_at=now,
            last_error="",
            response_code=status or None,
        )
        sent_last_minute[channel.id] += 1
        done["sent"] += 1
    return done


# Pages: channels, templates, retries and broadcasts --------------------------------------

# The events a channel may take; SMS takes none of them (it is sent only when a
# broadcast asks for it).
EVENT_LABELS: dict[str, str | Promise] = {
    "escalation": gettext_lazy("Overdue work orders (escalation)"),
    "pushed_list": gettext_lazy("A new pushed list"),
    "late_report": gettext_lazy("A late daily report"),
    "broadcast": gettext_lazy("Broadcasts"),
    "bulletin": gettext_lazy("The daily bulletin"),
}
TEST_EVENT = "test"
# Audited as they were and are; the secret never, and the address (a webhook carries
# its access token) only as "changed".
_CHANNEL_AUDITED = ("key", "name", "kind", "sign_name", "per_minute", "enabled", "events")


def _channel_state(channel: Channel) -> dict[str, Any]:
    state = {f: getattr(channel, f) for f in _CHANNEL_AUDITED}
    state["jurisdiction"] = channel.jurisdiction.code if channel.jurisdiction else ""
    return state


@transaction.atomic
def channel_save(
    *, actor: User, channel: Channel | None, data: Mapping[str, Any], secret: str | None
) -> Channel:
    """Create (`channel=None`) or change a channel from checked form data. `secret`:
    None keeps the stored one, "" removes it, anything else replaces it."""
    creating = channel is None
    target = Channel() if channel is None else channel
    url = data.get("url", target.url)
    if url and url != target.url:
        # The form says so on the field first; this keeps any other caller honest.
        try:
            check_to_save(url)
        except AddressRefused as e:
            raise ValidationError({"url": str(e)}) from None
    before = {} if creating else _channel_state(target)
    url_before = target.url
    for field in (*_CHANNEL_AUDITED, "url", "jurisdiction"):
        if field in data:
            setattr(target, field, data[field])
    secret_change = "kept"  # noqa: S105 - what happened to the secret, not a secret
    if secret is not None and secret != target.secret:
        secret_change = "set" if secret else "removed"
        target.secret = secret
    target.save()
    after = _channel_state(target)
    changed = sorted(k for k in after if before.get(k) != after[k]) if not creating else []
    if url_before != target.url and not creating:
        changed.append("url")
    audit_record(
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        actor=actor,
        obj=target,
        object_repr=f"channel: {target.key}",
        jurisdiction_path=_channel_path(target),
        detail={
            "changed": changed,
            "before": {k: before[k] for k in changed if k in before},
            "after": after if creating else {k: after[k] for k in changed if k in after},
            "secret": secret_change,
        },
    )
    return target


def _channel_path(channel: Channel) -> str:
    return channel.jurisdiction.path if channel.jurisdiction else ""


@transaction.atomic
def channel_test(*, actor: User, channel: Channel, phone: str = "") -> int:
    """Queue one test message on the channel (to `phone` for SMS); returns the rows
    queued. Each test has its own key, so pressing the button again sends again."""
    from fangkong.core.masking import mask_phone

    if channel.kind == ChannelKind.SMS and not phone:
        raise ValidationError(_("Your staff profile has no phone to send the test SMS to."))
    name = getattr(getattr(actor, "staff", None), "name", "") or actor.get_username()
    rows = deliver(
        channels=[channel],
        title=_("Test message from fangkong"),
        body=_("Sent by %(name)s from the channel page to check that %(channel)s works.")
        % {"name": name, "channel": channel.name},
        event=TEST_EVENT,
        key=f"test:{uuid.uuid4()}",
        phones={phone: mask_phone(phone)} if phone else None,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=channel,
        object_repr=f"test message: {channel.key}",
        jurisdiction_path=_channel_path(channel),
        detail={"queued": len(rows)},
    )
    return len(rows)


def template_problems(text: str) -> list[str]:
    """What is wrong with the $variables of a title or body (empty: nothing)."""
    if Template(text).is_valid():
        return []
    return [
        _(
            "A $ must start a variable name in Latin letters, digits or _ ($town or "
            "${town}); write $$ for a dollar sign."
        )
    ]


def template_variables(template: MessageTemplate) -> list[str]:
    """The variables of the title, then those of the body, each once."""
    names: list[str] = []
    for text in (template.title, template.body):
        if Template(text).is_valid():
            names += [n for n in Template(text).get_identifiers() if n not in names]
    return names


@transaction.atomic
def template_save(
    *, actor: User, template: MessageTemplate | None, data: Mapping[str, str]
) -> MessageTemplate:
    creating = template is None
    target = MessageTemplate() if template is None else template
    before = {f: getattr(target, f) for f in ("key", "name", "title", "body")}
    for text in (data["title"], data["body"]):
        if template_problems(text):
            raise ValidationError(template_problems(text))
    for field in ("key", "name", "title", "body"):
        setattr(target, field, data[field])
    target.save()
    changed = [f for f in ("key", "name", "title", "body") if before[f] != getattr(target, f)]
    audit_record(
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        actor=actor,
        obj=target,
        object_repr=f"message template: {target.key}",
        detail={"changed": changed, "variables": template_variables(target)},
    )
    return target


@transaction.atomic
def delivery_retry(*, actor: User, delivery: Delivery, now: datetime | None = None) -> bool:
    """Put a failed delivery back in the queue, due now, its attempts kept (so the log
    still says how often it was tried). False when it had not failed."""
    now = now or timezone.now()
    changed = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, next_try_at=now
    )
    if not changed:
        return False
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=delivery,
        object_repr=f"delivery retry: {delivery.channel.key}",
        jurisdiction_path=_channel_path(delivery.channel),
        detail={
            "attempts": delivery.attempts,
            "last_error": delivery.last_error,
            "response_code": delivery.response_code,
        },
    )
    transaction.on_commit(_kick)
    return True


@dataclass(frozen=True)
class BroadcastResult:
    inbox: int
    sms: int
    robots: int
    # The same form was submitted before: nothing was sent this time.
    repeated: bool = False
    # SMS was asked for, but no enabled gateway serves the node.
    no_sms_channel: bool = False


@transaction.atomic
def broadcast_groups(node: Jurisdiction) -> list[Channel]:
    """ "The node's group robots": the groups of the node and under it, never the town's
    or the whole system's groups above a village that broadcasts to its own staff."""
    return [
        c
        for c in routes("broadcast", node.path)
        if c.jurisdiction is not None and c.jurisdiction.path.startswith(node.path)
    ]


def broadcast_send(
    *,
    actor: User,
    node: Jurisdiction,
    title: str,
    body: str,
    roles: Sequence[str] = (),
    team: Team | None = None,
    sms: bool = False,
    robots: bool = False,
    key: str,
) -> BroadcastResult:
    """Send a message to the staff under `node` (those holding `roles`, or the members
    of `team`) in their inbox, and on request by SMS to their phones and to the node's
    group robots. `key` (one per form) makes a repeated submit send nothing."""
    from fangkong.core.masking import mask_phone
    from fangkong.notify import selectors
    from fangkong.org.models import StaffProfile

    if not has_perm(actor, Perm.BROADCAST, node.path):
        raise PermissionDenied
    if team is not None and not team.jurisdiction.path.startswith(node.path):
        raise ValidationError({"team": _("The team is not under the chosen node.")})
    if not title.strip():
        raise ValidationError({"title": _("A broadcast needs a title.")})
    # A double submit comes from one user: holding their row makes the second request
    # wait for the first to commit, and then find what it sent.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    msg_key = f"broadcast:{key}"[:120]
    user_ids = selectors.audience(node, list(roles), team)
    gateway = selectors.sms_channel_for(node) if sms else None
    groups = broadcast_groups(node) if robots else []
    sent_before = Notice.objects.filter(user_id__in=user_ids, key=msg_key).exists() or (
        Delivery.objects.filter(channel__in=[*groups, *([gateway] if gateway else [])])
        .filter(Q(key=msg_key) | Q(key__startswith=msg_key + ":"))
        .exists()
    )
    if sent_before:
        return BroadcastResult(0, 0, 0, repeated=True)
    inbox = notice_send(user_ids=user_ids, title=title, body=body, key=msg_key)
    phones: dict[str, str] = {}
    if gateway is not None:
        for profile in StaffProfile.objects.filter(user_id__in=user_ids).only("phone"):
            if profile.phone:
                phones[profile.phone] = mask_phone(profile.phone)
        deliver(
            channels=[gateway],
            title=title,
            body=body,
            event="broadcast",
            key=msg_key,
            phones=phones,
        )
    if groups:
        deliver(channels=groups, title=title, body=body, event="broadcast", key=msg_key)
    result = BroadcastResult(
        inbox, len(phones), len(groups), no_sms_channel=sms and gateway is None
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        object_repr=f"broadcast: {title}",
        jurisdiction_path=node.path,
        detail={
            "key": key,
            "roles": list(roles),
            "team": team.pk if team else None,
            "inbox": result.inbox,
            "sms": result.sms,
            "robots": result.robots,
            "channels": [c.key for c in ([gateway] if gateway else []) + groups],
        },
    )
    return result
