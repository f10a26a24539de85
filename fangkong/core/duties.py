"""What the home page asks of each person today, from the apps that know.

Core knows no domain: an app registers a function (in `AppConfig.ready`) that lists a
user's duties of the moment, each with the page where it is done; the home page shows
them together, the most urgent first. A grid worker sees their late and due tasks, a
village cadre today's report and the overdue orders of the village, a commander the
villages late with their report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Most urgent first; Bootstrap's colour names, so the page styles them as they are.
LEVELS = ("danger", "warning", "info", "success")


@dataclass(frozen=True)
class Duty:
    key: str  # unique on the page (an id, and what tests look for)
    text: str  # in the user's language
    url: str
    level: str = "info"
    count: int | None = None


DutySource = Callable[[Any, datetime], list[Duty]]

SOURCES: dict[str, DutySource] = {}


def register(name: str, source: DutySource) -> None:
    SOURCES[name] = source


def duties_for(user: Any, now: datetime) -> list[Duty]:
    duties = [duty for source in SOURCES.values() for duty in source(user, now)]
    return sorted(duties, key=lambda d: LEVELS.index(d.level))
