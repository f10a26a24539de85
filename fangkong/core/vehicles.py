"""Licence plates, train and flight numbers as people type them (domain-rules.md §4.3)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from fangkong.core.normalise import fold_width

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Serial characters never use I or O (R4.3.1); new-energy plates have 6 (R4.3.2).
_ORDINARY = re.compile(rf"^[{_PROVINCES}][A-Z][A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9挂学警港澳]$")
_NEW_ENERGY = re.compile(rf"^[{_PROVINCES}][A-Z](?:[0-9]{{5}}[DF]|[DF][A-HJ-NP-Z0-9][0-9]{{4}})$")
_TRAIN = re.compile(r"^[GDCZTKSYL]?\d{1,4}$")
_FLIGHT = re.compile(r"^(?=.*[A-Z])[A-Z0-9]{2}\d{1,4}[A-Z]?$")


def _squash(value: str) -> str:
    return "".join(fold_width(value).split()).replace("·", "").replace("-", "").upper()


def plate_patterns() -> tuple[str, str]:
    """The two plate rules as regular expressions, for a phone page that checks a plate
    before it is sent (the same rules; the server checks again)."""
    return _ORDINARY.pattern, _NEW_ENERGY.pattern


def clean_plate(value: str) -> str:
    plate = _squash(value)
    if _ORDINARY.match(plate) or _NEW_ENERGY.match(plate):
        return plate
    raise ValidationError(
        _("“%(value)s” is not a licence plate (e.g. 湘A12345).") % {"value": value}
    )


def clean_train(value: str) -> str:
    number = _squash(value)
    if _TRAIN.match(number):
        return number
    raise ValidationError(_("“%(value)s” is not a train number (e.g. G1234).") % {"value": value})


def clean_flight(value: str) -> str:
    number = _squash(value)
    if _FLIGHT.match(number):
        return number
    raise ValidationError(_("“%(value)s” is not a flight number (e.g. CA1234).") % {"value": value})
