"""Resident ID numbers: normalisation and validation (GB 11643, via python-stdnum)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from fangkong.core.normalise import fold_width


def normalise_id_number(value: str) -> str:
    """Full-width digits to ASCII, spaces removed, a lowercase x upper-cased."""
    return "".join(fold_width(value).split()).upper()


def clean_id_number(value: str) -> str:
    """The normalised number, or a ValidationError saying what is wrong with it."""
    number = normalise_id_number(value)
    try:
        return str(ric.validate(number))
    except InvalidLength as exc:
        raise ValidationError(_("An ID number has 18 characters.")) from exc
    except InvalidFormat as exc:
        raise ValidationError(_("An ID number is 17 digits and a final digit or X.")) from exc
    except InvalidChecksum as exc:
        raise ValidationError(_("The ID number's check digit is wrong.")) from exc
    except InvalidComponent as exc:
        raise ValidationError(_("The ID number has an impossible birth date or region.")) from exc
