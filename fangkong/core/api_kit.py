"""What every API operation shares: cursor pages and the one error shape.

Offset paging over a million rows walks every skipped row, and a row inserted between
two requests shifts the next page by one, so an integrator pulling a list misses or
repeats a row. A cursor is the last key the client saw; the next page starts after it,
whatever was inserted meanwhile, and costs one index seek however deep it goes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field

from fangkong.core.bounds import is_id

# A time a phone recorded while offline (ADR 0020's queue) may run ahead of the server's
# clock by this much before it is refused as impossible.
CLOCK_SKEW = timedelta(minutes=10)


def queued_time_ok(at: datetime, *, now: datetime, earliest: datetime) -> bool:
    """Whether a time a phone's offline queue sent can be true: not ahead of the
    server's clock beyond the skew, not before `earliest`."""
    return earliest <= at <= now + CLOCK_SKEW


# A page is never more than this many rows: a client that wants more follows the cursor.
PAGE_MAX = 200
Limit = Annotated[int, Field(ge=1, le=PAGE_MAX, description="Rows per page")]
# A time of day (a deadline) is a wall-clock time of the town, not an instant: JSON
# Schema's "time" format demands an offset, which a daily 17:00 in any season does not
# have, so it travels as plain "HH:MM" in the installation's time zone.
LocalTime = Annotated[
    str,
    Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time of day in the installation's time zone, HH:MM",
        examples=["17:00"],
    ),
]
Cursor = Annotated[
    str,
    Field(max_length=200, description="`next_cursor` of the previous page; empty for the first"),
]

T = TypeVar("T")
M = TypeVar("M", bound=Model)


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


def _encode(pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": pk}).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        after = None
    if not is_id(after):
        raise ValidationError({"cursor": [_("This cursor was not given by this list.")]})
    return int(after)


def cursor_page(queryset: QuerySet[M], *, cursor: str, limit: int) -> tuple[list[M], str | None]:
    """One page of `queryset`, newest first (by primary key), after `cursor`.

    The queryset carries the caller's scope and filters; its own ordering is replaced,
    because a cursor is only stable over a unique key. A bad cursor raises
    ValidationError on the `cursor` field, which the API answers as a 422.
    """
    rows = queryset.order_by("-pk")
    if cursor:
        rows = rows.filter(pk__lt=_decode(cursor))
    page = list(rows[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (_encode(page[-1].pk) if more and page else None)


# How an offline sync op (ADR 0020) answers each record of a phone's queue: the schema
# names the three values so a client can branch on them; the services answer with plain
# strings, and anything but "recorded" or "already" is a refusal the phone shows.
SyncStatus = Literal["recorded", "already", "refused"]


class SyncAnswer(Protocol):
    @property
    def status(self) -> str: ...


def sync_status(status: str) -> SyncStatus:
    """A sync service's per-record status as the API's `SyncStatus`."""
    if status == "recorded":
        return "recorded"
    if status == "already":
        return "already"
    return "refused"


def sync_recorded(answers: Iterable[SyncAnswer]) -> int:
    """How many of a sync's records were recorded by this request (not repeats)."""
    return sum(a.status == "recorded" for a in answers)


class ErrorOut(Schema):
    """The one error shape: a sentence for a person and, where a field is at fault, the
    field's own messages, in the caller's language."""

    detail: str
    errors: dict[str, list[str]] = Field(default_factory=dict)


def validation_error_body(exc: ValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        first = next(iter(errors.values()), [""])
        return {"detail": first[0] if first else "", "errors": errors}
    return {"detail": "; ".join(str(m) for m in exc.messages), "errors": {}}


def referenced(field_name: str, load: Callable[[], T]) -> T:
    """An object a request body names (not the path): one missing or outside the caller's
    area is bad input on that field, 422, the same answer for both."""
    try:
        return load()
    except Http404:
        raise ValidationError({field_name: [_("Not found in your area.")]}) from None


# Request validation (the schema's types and bounds, checked before an operation runs)
# answers in the same shape as a service's refusal: `errors` by field, in the caller's
# language. The parser's own items stay beside it as `issues` (type, loc, msg) for a
# program that wants the exact place.
_LOCATIONS = frozenset({"body", "query", "path", "form", "file", "header", "cookie"})


def _field_of(loc: Any) -> str:
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
        # A body parameter's own name (`body`) is no field of the request.
        if len(parts) > 1 and parts[0] == "body":
            parts = parts[1:]
    return ".".join(parts) or "body"


def _message(issue: dict[str, Any]) -> str:
    kind = str(issue.get("type", ""))
    ctx = issue.get("ctx") or {}
    fixed = {
        "missing": _("This field is required."),
        "int_parsing": _("A whole number."),
        "int_type": _("A whole number."),
        "int_from_float": _("A whole number."),
        "float_parsing": _("A number."),
        "float_type": _("A number."),
        "decimal_parsing": _("A number."),
        "decimal_type": _("A number."),
        "bool_parsing": _("true or false."),
        "bool_type": _("true or false."),
        "date_parsing": _("A date, YYYY-MM-DD."),
        "date_type": _("A date, YYYY-MM-DD."),
        "date_from_datetime_parsing": _("A date, YYYY-MM-DD."),
        "datetime_parsing": _("A date and time, ISO 8601 with its offset."),
        "datetime_type": _("A date and time, ISO 8601 with its offset."),
        "datetime_from_date_parsing": _("A date and time, ISO 8601 with its offset."),
        "uuid_parsing": _("A UUID."),
        "uuid_type": _("A UUID."),
        "string_type": _("Text."),
        "string_pattern_mismatch": _("Not in the expected format."),
        "list_type": _("A list."),
        "dict_type": _("An object."),
        "model_type": _("An object."),
        "model_attributes_type": _("An object."),
        "json_invalid": _("The body is not valid JSON."),
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "string_too_long" and "max_length" in ctx:
        return _("At most %(n)s characters.") % {"n": ctx["max_length"]}
    if kind == "string_too_short" and "min_length" in ctx:
        return _("At least %(n)s characters.") % {"n": ctx["min_length"]}
    if kind == "too_long" and "max_length" in ctx:
        return _("At most %(n)s items.") % {"n": ctx["max_length"]}
    if kind == "too_short" and "min_length" in ctx:
        return _("At least %(n)s items.") % {"n": ctx["min_length"]}
    bounds = {
        "greater_than_equal": ("ge", _("At least %(n)s.")),
        "less_than_equal": ("le", _("At most %(n)s.")),
        "greater_than": ("gt", _("More than %(n)s.")),
        "less_than": ("lt", _("Less than %(n)s.")),
    }
    if kind in bounds and bounds[kind][0] in ctx:
        key, text = bounds[kind]
        return text % {"n": ctx[key]}
    if kind in ("enum", "literal_error") and "expected" in ctx:
        return _("One of: %(choices)s.") % {"choices": ctx["expected"]}
    # A rarer check (or one of ours, already translated): its own words.
    return str(issue.get("msg", "")) or _("Not valid.")


def request_error_body(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """The one error shape for a request the schema refused."""
    errors: dict[str, list[str]] = {}
    for issue in issues:
        errors.setdefault(_field_of(issue.get("loc", ())), []).append(_message(issue))
    field, messages = next(iter(errors.items()), ("", [""]))
    detail = f"{field}: {messages[0]}" if field else messages[0]
    plain = [
        {k: issue[k] for k in ("type", "loc", "msg") if k in issue}
        | {"loc": [str(p) if not isinstance(p, int) else p for p in issue.get("loc", ())]}
        for issue in issues
    ]
    return {"detail": detail, "errors": errors, "issues": plain}
