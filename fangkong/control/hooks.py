"""What follows a positive case, registered by the apps that act on it.

Control sits below the apps that act on a case's place (zones turn a controlled area
into a sealed one): it cannot call them, so it announces the case here and they
subscribe in their `AppConfig.ready` (the pattern of `policy.hooks`). The hooks run after
the case commits, so a rolled-back case announces nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import transaction


@dataclass(frozen=True)
class PositiveCase:
    """A person who became a case: who, where they live, on which day, and who made
    the case (the subscribers act in their name)."""

    person_id: int
    household_id: int | None
    on: date
    actor_id: int | None


POSITIVE_CASE: list[Callable[[PositiveCase], object]] = []


def positive_case_made(case: PositiveCase) -> None:
    for hook in POSITIVE_CASE:
        transaction.on_commit(lambda hook=hook: hook(case))  # type: ignore[misc]
