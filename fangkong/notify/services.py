"""Sending notices: the in-app inbox (always there) and the outside channels, queued as
deliveries and sent by the worker with retries, back-off and per-channel limits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from string import Template

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.crypto import blind_index
from fangkong.notify.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    MessageTemplate,
    Notice,
)


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


# Outside channels -----------------------------------------------------------------------

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
        return (Template(template.title).substitute(values),
                Template(template.body).substitute(values))  # fmt: skip
    except KeyError as e:
        raise TemplateError(_("The template needs $%(name)s.") % {"name": e.args[0]}) from None
    except ValueError as e:
        raise TemplateError(str(e)) from None


def routes(event: str, path: str, channels: Iterable[Channel] | None = None) -> list[Channel]:
    """Group robots (and console/file logs) that take `event` for the node at `path`:
    those of the node or an ancestor, or of no node at all. Pass `channels` (enabled,
    with their jurisdiction) when routing many paths at once."""
    if channels is None:
        channels = Channel.objects.filter(enabled=True).select_related("jurisdiction")
    found = []
    for channel in channels:
        if channel.kind == ChannelKind.SMS or not channel.enabled:
            continue
        if event not in channel.events:
            continue
        if channel.jurisdiction is None or path.startswith(channel.jurisdiction.path):
            found.append(channel)
    return found


def deliver(
    *, channels: Iterable[Channel], title: str, body: str, event: str, key: str,
    phones: Mapping[str, str] | None = None, now: datetime | None = None,
) -> list[Delivery]:  # fmt: skip
    """Queue a message on each channel: once to a robot's group, or once per phone for
    SMS (`phones`: phone → masked label). The `key` makes a repeat a no-op. Sent by the
    worker after the transaction commits."""
    now = now or timezone.now()
    rows = []
    for channel in channels:
        if channel.kind == ChannelKind.SMS:
            for phone, label in (phones or {}).items():
                rows.append(Delivery(channel=channel, recipient=phone, recipient_label=label,
                                     title=title[:200], body=body, event=event,
                                     key=f"{key}:{blind_index(phone)[:16]}"[:160],
                                     next_try_at=now))  # fmt: skip
        else:
            rows.append(Delivery(channel=channel, title=title[:200], body=body, event=event,
                                 key=key[:160], next_try_at=now))  # fmt: skip
    created = Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(_kick)
    return created


def _kick() -> None:
    from fangkong.notify.tasks import send_due_task

    send_due_task.enqueue()


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


def send_due(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send what is due, oldest first; retry failures with back-off; hold what is over a
    channel's per-minute limit until the next minute. Returns counts by outcome."""
    from fangkong.notify.channels import BACKENDS, SendError

    now = now or timezone.now()
    done: dict[str, int] = {"sent": 0, "retry": 0, "failed": 0, "held": 0}
    due = list(Delivery.objects.filter(status=DeliveryStatus.PENDING, next_try_at__lte=now)
               .select_related("channel").order_by("next_try_at", "id")[:limit])  # fmt: skip
    sent_last_minute: dict[int, int] = {}
    for d in due:
        channel = d.channel
        if channel.id not in sent_last_minute:
            sent_last_minute[channel.id] = Delivery.objects.filter(
                channel=channel, sent_at__gt=now - timedelta(minutes=1)).count()  # fmt: skip
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
                attempts=attempts, last_error=str(e)[:300], response_code=e.status or None,
                status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
                next_try_at=now + _retry_delay(attempts),
            )  # fmt: skip
            done["failed" if final else "retry"] += 1
            continue
        Delivery.objects.filter(pk=d.pk).update(
            attempts=attempts, status=DeliveryStatus.SENT, sent_at=now, last_error="",
            response_code=status or None,
        )  # fmt: skip
        sent_last_minute[channel.id] += 1
        done["sent"] += 1
    return done
