"""Resident ID numbers: normalisation and validation (GB 11643).

18 characters: 17 digits and a check character (ISO 7064 MOD 11-2), a real birth date,
and a region code. The checksum and date are computed here directly because imports
validate a hundred thousand numbers at a time and stdnum re-normalises the number in
every helper.

The region code is the county where the household was registered when the number was
*issued* (the first cards from 1984-85; the 18-digit upgrade of 1999 kept it), not
where or when the person was born (domain rules R4.1.7). python-stdnum's check, "the
code existed in the birth year", therefore refuses everyone born before their county
got its code: Pudong's 310115 dates from 1992 and is carried by people born in 1980.
Here a code is accepted when it existed in any year from the birth year to today,
refused when it never existed, and only warned about when it was retired before the
person was born (possible, but worth a second look). The codes' history is stdnum's
table (`stdnum/cn/loc.dat`: `[1983-1998]郊区,[1999-]秀洲区`), read once per code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import numdb

from fangkong.core.normalise import fold_width

# ISO 7064 MOD 11-2: weights of the 17 body digits; the check character is CHECK[sum % 11].
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_DIGITS = frozenset("0123456789")
# Nobody alive was born earlier; an older date is a typing or spreadsheet error.
EARLIEST_BIRTH_YEAR = 1900


@dataclass(frozen=True)
class RegionSpell:
    """One name a region code stood for, and its years (None: open at that end)."""

    name: str
    start: int | None = None
    end: int | None = None

    def covers(self, first: int, last: int) -> bool:
        """Whether the code was in use in any year from `first` to `last`."""
        return (self.start is None or self.start <= last) and (
            self.end is None or self.end >= first
        )


# Residence permits of Taiwan residents (R4.1.5) carry 830000, which is no county and
# absent from stdnum's table; Hong Kong's 810000 and Macao's 820000 are in it.
_PERMIT_REGIONS = {"830000": (RegionSpell("台湾居民居住证", 2018),)}


@dataclass(frozen=True)
class IdCheck:
    """A valid number and what is unusual about it (shown, never blocking)."""

    number: str
    warnings: tuple[str, ...] = ()


def normalise_id_number(value: str) -> str:
    """Full-width digits to ASCII, spaces removed, a lowercase x upper-cased."""
    return "".join(fold_width(value).split()).upper()


def check_character(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


@lru_cache(maxsize=8192)
def region_history(code: str) -> tuple[RegionSpell, ...]:
    """Every name the 6-digit region `code` has stood for, oldest first; () for a code
    that never existed."""
    if code in _PERMIT_REGIONS:
        return _PERMIT_REGIONS[code]
    found: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        found.update(props)
    spells = []
    for entry in filter(None, found.get("county", "").split(",")):
        if not entry.startswith("["):
            spells.append(RegionSpell(entry))
            continue
        years, _sep, name = entry[1:].partition("]")
        start, _dash, end = years.partition("-")
        spells.append(RegionSpell(name, int(start) if start else None, int(end) if end else None))
    return tuple(spells)


def county_existed(county: str, year: int) -> bool:
    """Whether the region code was in use in `year` (stdnum's own birth-year rule; the
    demo draws synthetic numbers with it so they look like numbers issued at birth)."""
    return any(spell.covers(year, year) for spell in region_history(county))


def birth_date_of(number: str) -> date:
    """The birth date of an already validated number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def check_id_number(value: str, *, today: date | None = None) -> IdCheck:
    """The normalised number and its warnings, or a ValidationError saying which part
    of it is wrong."""
    number = normalise_id_number(value)
    if len(number) != 18:
        raise ValidationError(_("An ID number has 18 characters."))
    if not set(number[:17]) <= _DIGITS or number[17] not in ID_CHECK:
        raise ValidationError(_("An ID number is 17 digits and a final digit or X."))
    if check_character(number[:17]) != number[17]:
        raise ValidationError(_("The ID number's check digit is wrong."))
    today = today or timezone.localdate()
    try:
        born = birth_date_of(number)
    except ValueError as exc:
        raise ValidationError(
            _("The birth date in the ID number (digits 7 to 14) is not a real date.")
        ) from exc
    if born > today:
        raise ValidationError(
            _("The birth date in the ID number (digits 7 to 14) is in the future.")
        )
    if born.year < EARLIEST_BIRTH_YEAR:
        raise ValidationError(
            _("The birth date in the ID number (digits 7 to 14) is before %(year)d.")
            % {"year": EARLIEST_BIRTH_YEAR}
        )
    history = region_history(number[:6])
    if not history:
        raise ValidationError(
            _(
                "The region code of the ID number (its first 6 digits) is not a code that "
                "has ever existed."
            )
        )
    if any(spell.covers(born.year, today.year) for spell in history):
        return IdCheck(number)
    last = max(history, key=lambda spell: spell.end or 0)
    return IdCheck(
        number,
        (
            _(
                "The region code of the ID number (its first 6 digits) stood for %(place)s "
                "until %(end)d, before the birth year %(year)d: check the number."
            )
            % {"place": last.name, "end": last.end or 0, "year": born.year},
        ),
    )


def clean_id_number(value: str, *, today: date | None = None) -> str:
    """The normalised number, or a ValidationError saying what is wrong with it."""
    return check_id_number(value, today=today).number
