"""What follows a change of the rules, registered by the apps that act on it.

Policy sits below control (docs/architecture.md, layers): it cannot call control's
re-check, so it announces the change here and control subscribes in its
`AppConfig.ready` (the same pattern as screening's `MEASURE_VERIFIED`). The hooks run
after the change commits, so a rolled-back change announces nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class RulesChange:
    """A change of the rules: risk areas added, changed or lifted (their division
    codes), or an edition coming into force or changed (its key). `label` says it in
    words for the people reviewing what follows."""

    kind: str  # "area" | "edition"
    label: str  # the area's or the edition's name
    action: str = ""  # an area's: created | updated | lifted
    area_codes: tuple[str, ...] = ()
    edition_key: str = ""


RULES_CHANGED: list[Callable[[RulesChange], object]] = []


def rules_changed(change: RulesChange) -> None:
    for hook in RULES_CHANGED:
        transaction.on_commit(lambda hook=hook: hook(change))  # type: ignore[misc]
