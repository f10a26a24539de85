"""What other apps show on a person's page, registered by those apps.

The registry sits below the apps that hold results about a person (testing, control):
it cannot import them (docs/architecture.md, layers), so they register a panel here in
their `AppConfig.ready`, as policy's hooks and workorders' kinds do. A panel decides for
itself whether the reader may see it (the reader has already passed the person's
accessor) and returns None when not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fangkong.people.models import Person


@dataclass(frozen=True)
class Panel:
    key: str  # the panel's id on the page
    title: str
    rows: list[tuple[str, str, str]]  # (when, what, result), newest first
    empty: str  # said when there are no rows


PanelSource = Callable[[Any, Person], Panel | None]
PERSON_PANELS: list[PanelSource] = []


def register(source: PanelSource) -> None:
    if source not in PERSON_PANELS:
        PERSON_PANELS.append(source)


def panels_for(user: Any, person: Person) -> list[Panel]:
    """The panels the user sees on this person's page, in registration order."""
    return [p for p in (source(user, person) for source in PERSON_PANELS) if p is not None]
