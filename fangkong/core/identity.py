"""Resident ID numbers: normalisation and validation (GB 11643).

The rules are python-stdnum's (`stdnum.cn.ric`): 18 characters, 17 digits and a check
character (ISO 7064 MOD 11-2), a real birth date, and a county code that existed in the
birth year. The checksum and date are computed here directly because imports validate a
hundred thousand numbers at a time and stdnum re-normalises the number in every helper;
the county lookup still comes from stdnum's table, cached per (county, year).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from fangkong.core.normalise import fold_width

# ISO 7064 MOD 11-2: weights of the 17 body digits; the check character is CHECK[sum % 11].
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_DIGITS = frozenset("0123456789")


def normalise_id_number(value: str) -> str:
    """Full-width digits to ASCII, spaces removed, a lowercase x upper-cased."""
    return "".join(fold_width(value).split()).upper()


def check_character(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


@lru_cache(maxsize=8192)
def county_existed(county: str, year: int) -> bool:
    body = f"{county}{year:04d}0101001"
    try:
        ric.get_birth_place(body + check_character(body))
    except StdnumError:
        return False
    return True


def birth_date_of(number: str) -> date:
    """The birth date of an already validated number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def clean_id_number(value: str) -> str:
    """The normalised number, or a ValidationError saying what is wrong with it."""
    number = normalise_id_number(value)
    if len(number) != 18:
        raise ValidationError(_("An ID number has 18 characters."))
    if not set(number[:17]) <= _DIGITS or number[17] not in ID_CHECK:
        raise ValidationError(_("An ID number is 17 digits and a final digit or X."))
    if check_character(number[:17]) != number[17]:
        raise ValidationError(_("The ID number's check digit is wrong."))
    try:
        born = birth_date_of(number)
    except ValueError as exc:
        raise ValidationError(_("The ID number has an impossible birth date or region.")) from exc
    if not county_existed(number[:6], born.year):
        raise ValidationError(_("The ID number has an impossible birth date or region."))
    return number
