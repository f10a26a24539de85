"""What a switch of the response level announces to higher apps (checkpoints opening
their posts, reports asking their fields), without this app knowing them.

A listener is registered by name and called, inside the switch's transaction, with a
`LevelSwitch`: the node, the levels and their configurations, and per configured key
what the new level adds and what it drops. Switching back hands the listener the
reverse, so what a level opened is closed again. Whatever a listener returns (a small
JSON-able summary, "opened 7 posts") is kept in the switch's history; an exception
rolls the switch back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fangkong.org.models import Jurisdiction


@dataclass(frozen=True)
class LevelSwitch:
    node: Jurisdiction
    from_code: str
    to_code: str
    from_config: Mapping[str, Any]
    to_config: Mapping[str, Any]
    # {"checkpoints.kinds": [...], "checkpoints.names": [...], "teams_on_duty": [...], ...}
    added: Mapping[str, list[str]] = field(default_factory=dict)
    removed: Mapping[str, list[str]] = field(default_factory=dict)
    # When the switch takes effect (None: now).
    at: datetime | None = None


LevelListener = Callable[[LevelSwitch], Any]

_LISTENERS: dict[str, LevelListener] = {}


def register_level_listener(name: str, listener: LevelListener) -> None:
    """Register (or replace) the listener called `name`."""
    _LISTENERS[name] = listener


def unregister_level_listener(name: str) -> None:
    _LISTENERS.pop(name, None)


def level_listeners() -> dict[str, LevelListener]:
    return dict(_LISTENERS)


def flatten(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """A level's configuration as lists of strings by key; nested mappings get dotted
    keys ({"checkpoints": {"kinds": [...]}} -> "checkpoints.kinds")."""
    out: dict[str, list[str]] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            for sub, items in flatten(value).items():
                out[f"{key}.{sub}"] = items
        elif isinstance(value, list | tuple):
            out[key] = [str(v) for v in value]
        elif value not in (None, ""):
            out[key] = [str(value)]
    return out


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """What `after` adds to `before` and what it drops, per flattened key."""
    old, new = flatten(before), flatten(after)
    added: dict[str, list[str]] = {}
    removed: dict[str, list[str]] = {}
    for key in sorted(set(old) | set(new)):
        plus = [v for v in new.get(key, []) if v not in old.get(key, [])]
        minus = [v for v in old.get(key, []) if v not in new.get(key, [])]
        if plus:
            added[key] = plus
        if minus:
            removed[key] = minus
    return added, removed
