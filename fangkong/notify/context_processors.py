"""The inbox's unread count beside 消息 in the menu of every page."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from fangkong.notify.selectors import unread_count


class Unread:
    """Counted when the menu first asks (a fragment never does) and at most once per
    request, however many times the page shows it."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def count(self) -> int:
        return unread_count(self.user)


def inbox(request: HttpRequest) -> dict[str, Any]:
    unread = getattr(request, "fk_unread", None)
    if unread is None:
        unread = Unread(getattr(request, "user", None))
        setattr(request, "fk_unread", unread)  # noqa: B010 - HttpRequest declares no such field
    return {"inbox_unread": unread}
