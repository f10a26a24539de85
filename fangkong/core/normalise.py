"""Normalisation of identifiers before validation, hashing or comparison."""

from __future__ import annotations

import re
import unicodedata

_NON_DIGITS = re.compile(r"\D+")


def fold_width(value: str) -> str:
    """Full-width digits and letters (common in Chinese input) to ASCII."""
    return unicodedata.normalize("NFKC", value)


def normalise_phone(value: str) -> str:
    """Digits only, without a +86/0086 country prefix for mainland mobiles."""
    digits = _NON_DIGITS.sub("", fold_width(value))
    if digits.startswith("0086") and len(digits) == 15:
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")


def is_mainland_mobile(digits: str) -> bool:
    return bool(_MOBILE.match(digits))


def is_landline(digits: str) -> bool:
    return bool(_LANDLINE.match(digits))
