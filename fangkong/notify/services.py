"""Sending notices. One interface; the in-app inbox is the channel that always exists."""

from __future__ import annotations

from collections.abc import Iterable

from fangkong.notify.models import Notice


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
