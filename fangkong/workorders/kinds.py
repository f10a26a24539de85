"""Kinds of work order, registered by the modules that own them.

A kind says what the result form asks (fields as data, validated here for pages, the
API and imports alike), how long the work may take by default, and which follow-up a
result calls for (a household where nobody was in gets a revisit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class ResultField:
    key: str
    label: str | Promise
    kind: str = "text"  # "text" | "choice" | "bool" | "int"
    choices: tuple[tuple[str, str | Promise], ...] = ()
    required: bool = False
    max_length: int = 500
    # An "int" field's range: a count on a form, never a number no column can hold.
    min_value: int = 0
    max_value: int = 999_999


@dataclass(frozen=True)
class FollowUp:
    """When the result's `field` equals `value`, open a `kind` order `after_hours` later."""

    field: str
    value: str
    kind: str
    after_hours: int = 24


@dataclass(frozen=True)
class OrderKind:
    key: str
    label: str | Promise
    fields: tuple[ResultField, ...]
    due_hours: int = 24
    follow_ups: tuple[FollowUp, ...] = field(default_factory=tuple)
    # Dotted path of `f(order, result, actor)`, run in the completing transaction: how a
    # module records what the result means for its own data.
    on_done: str = ""
    # A URL name taking the order id: a module's own result page (a sweep's per-member
    # form) that the task page links to instead of the flat form built from `fields`.
    form_url: str = ""
    # Work about one subject is not opened twice: while an order of this kind is open
    # for a subject, creating another returns it. `same_work` names other kinds whose
    # open order stands for this one too; `replaces`, kinds whose open order this one
    # takes over (it asks all they ask and more), cancelled with a note naming it;
    # `repeatable` lets several be open at once (each sweep has its own visit).
    same_work: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    repeatable: bool = False

    def standing_for(self) -> set[str]:
        """Kinds whose open order about a subject makes a new order of this kind a
        duplicate: its own, its `same_work`, and any kind that replaces it."""
        kinds = set(self.same_work) | {k.key for k in KINDS.values() if self.key in k.replaces}
        if not self.repeatable:
            kinds.add(self.key)
        return kinds


KINDS: dict[str, OrderKind] = {}


def register(kind: OrderKind) -> None:
    KINDS[kind.key] = kind


def get_kind(key: str) -> OrderKind:
    try:
        return KINDS[key]
    except KeyError:
        raise KeyError(_("Unknown work-order type: %(key)s") % {"key": key}) from None


def kind_choices() -> list[tuple[str, str]]:
    return [(k.key, str(k.label)) for k in KINDS.values()]


def clean_result(kind: OrderKind, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed result values, or the errors per field (in the user's language)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    known = {f.key for f in kind.fields}
    for key in data:
        if key not in known:
            errors[key] = _("This form has no field “%(key)s”.") % {"key": key}
    for f in kind.fields:
        raw = data.get(f.key)
        if isinstance(raw, str):
            raw = raw.strip()
        if raw in (None, ""):
            if f.kind == "bool":
                cleaned[f.key] = False
            elif f.required:
                errors[f.key] = _("%(field)s is required.") % {"field": f.label}
            continue
        if f.kind == "choice":
            if str(raw) not in {c for c, _label in f.choices}:
                errors[f.key] = _("“%(value)s” is not one of the choices for %(field)s.") % {
                    "value": raw,
                    "field": f.label,
                }
                continue
            cleaned[f.key] = str(raw)
        elif f.kind == "bool":
            cleaned[f.key] = raw in (True, "1", "true", "on", "yes")
        elif f.kind == "int":
            number = _whole_number(raw)
            if number is None:
                errors[f.key] = _("%(field)s must be a whole number.") % {"field": f.label}
            elif not f.min_value <= number <= f.max_value:
                errors[f.key] = _("%(field)s must be between %(min)d and %(max)d.") % {
                    "field": f.label,
                    "min": f.min_value,
                    "max": f.max_value,
                }
            else:
                cleaned[f.key] = number
        else:
            text = str(raw)
            if len(text) > f.max_length:
                errors[f.key] = _("%(field)s is longer than %(n)d characters.") % {
                    "field": f.label,
                    "n": f.max_length,
                }
                continue
            cleaned[f.key] = text
    return cleaned, errors


def _whole_number(raw: Any) -> int | None:
    """An int, a string of digits or an integral finite float (JSON's 3.0) as an int."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) and raw.is_integer() else None
    text = str(raw)
    if len(text) > 20:
        # Past any field's range whatever the digits, and int() of 5,000 of them costs.
        digits = text.lstrip("+-")
        return None if not digits.isdigit() else -(10**20) if text.startswith("-") else 10**20
    try:
        return int(text)
    except ValueError:
        return None


_NOTE = ResultField("note", gettext_lazy("Note"), "text")
_FOUND = (
    ("found", gettext_lazy("Found, information correct")),
    ("corrected", gettext_lazy("Found, information corrected")),
    ("not_in_town", gettext_lazy("Not in town")),
    ("wrong_info", gettext_lazy("Wrong information, cannot be found")),
)
_VISIT = (
    ("visited", gettext_lazy("Visited, everyone seen")),
    ("nobody_home", gettext_lazy("Nobody home")),
    ("refused", gettext_lazy("Refused to open")),
)

# A visit and its revisit ask the same; "nobody home" queues the next revisit.
_VISIT_FIELDS = (
    ResultField("outcome", gettext_lazy("Outcome"), "choice", _VISIT, required=True),
    ResultField("persons_seen", gettext_lazy("Persons seen"), "int", max_value=999),
    _NOTE,
)
_REVISIT = FollowUp("outcome", "nobody_home", "revisit_household", 24)


def register_builtin() -> None:
    """The kinds every later module builds on; domain modules add their own."""
    register(
        OrderKind(
            "verify_person",
            gettext_lazy("Verify a person"),
            (
                ResultField("outcome", gettext_lazy("Outcome"), "choice", _FOUND, required=True),
                ResultField(
                    "where", gettext_lazy("Where now (if not in town)"), "text", max_length=100
                ),
                _NOTE,
            ),
            due_hours=24,
        )
    )
    register(
        OrderKind(
            "visit_household",
            gettext_lazy("Visit a household"),
            _VISIT_FIELDS,
            due_hours=48,
            follow_ups=(_REVISIT,),
            same_work=("revisit_household",),
        )
    )
    register(
        OrderKind(
            "revisit_household",
            gettext_lazy("Revisit a household"),
            _VISIT_FIELDS,
            due_hours=24,
            follow_ups=(_REVISIT,),
            same_work=("visit_household",),
        )
    )
    register(
        OrderKind(
            "deliver_supplies",
            gettext_lazy("Deliver medicine or supplies"),
            (
                ResultField("delivered", gettext_lazy("Delivered"), "bool"),
                ResultField("items", gettext_lazy("What was delivered"), "text", max_length=200),
                _NOTE,
            ),
            due_hours=4,
            # Medicine today and groceries too: each delivery is its own errand.
            repeatable=True,
        )
    )
    register(
        OrderKind(
            "home_sampling",
            gettext_lazy("Take a sample at home"),
            (
                ResultField("sampled", gettext_lazy("Sampled"), "bool"),
                ResultField("tube", gettext_lazy("Tube number"), "text", max_length=40),
                _NOTE,
            ),
            due_hours=8,
        )
    )
