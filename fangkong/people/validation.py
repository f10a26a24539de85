"""Turning raw person data (form fields, spreadsheet cells) into clean values.

One function for every entry path, so a form, an import and an API call accept and
refuse exactly the same things, with the same messages. Raw values are text as people
type them: dates in several layouts, sex and residency in words, IDs with a lowercase x
or full-width digits — and IDs damaged by Excel, which get their own explanation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core.identity import (
    birth_date_of,
    check_character,
    check_id_number,
    normalise_id_number,
)
from fangkong.core.normalise import fold_width, is_landline, is_mainland_mobile, normalise_phone
from fangkong.people.models import IdType, PersonStatus, Relationship, Residency, Sex, Tag
from fangkong.people.names import to_simplified

_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_PERMIT = re.compile(r"^[A-Z0-9]{8,11}$")
_PASSPORT = re.compile(r"^[A-Z0-9]{5,20}$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = date(1899, 12, 30)

SEX_WORDS = {
    "男": Sex.MALE,
    "m": Sex.MALE,
    "male": Sex.MALE,
    "女": Sex.FEMALE,
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
}
RESIDENCY_WORDS = {
    "户籍": Residency.HUJI,
    "户籍人口": Residency.HUJI,
    "本地": Residency.HUJI,
    "huji": Residency.HUJI,
    "常住": Residency.CHANGZHU,
    "常住人口": Residency.CHANGZHU,
    "changzhu": Residency.CHANGZHU,
    "流动": Residency.LIUDONG,
    "暂住": Residency.LIUDONG,
    "流动人口": Residency.LIUDONG,
    "外来": Residency.LIUDONG,
    "liudong": Residency.LIUDONG,
}
RELATIONSHIP_WORDS = {
    "户主": Relationship.HEAD,
    "本人": Relationship.HEAD,
    "配偶": Relationship.SPOUSE,
    "妻": Relationship.SPOUSE,
    "妻子": Relationship.SPOUSE,
    "夫": Relationship.SPOUSE,
    "丈夫": Relationship.SPOUSE,
    "子": Relationship.CHILD,
    "女": Relationship.CHILD,
    "儿子": Relationship.CHILD,
    "女儿": Relationship.CHILD,
    "长子": Relationship.CHILD,
    "次子": Relationship.CHILD,
    "长女": Relationship.CHILD,
    "次女": Relationship.CHILD,
    "子女": Relationship.CHILD,
    "父亲": Relationship.PARENT,
    "母亲": Relationship.PARENT,
    "父母": Relationship.PARENT,
    "父": Relationship.PARENT,
    "母": Relationship.PARENT,
    "孙子": Relationship.GRANDCHILD,
    "孙女": Relationship.GRANDCHILD,
    "外孙": Relationship.GRANDCHILD,
    "外孙女": Relationship.GRANDCHILD,
    "孙子女": Relationship.GRANDCHILD,
    "祖父": Relationship.GRANDPARENT,
    "祖母": Relationship.GRANDPARENT,
    "祖父母": Relationship.GRANDPARENT,
    "兄": Relationship.SIBLING,
    "弟": Relationship.SIBLING,
    "姐": Relationship.SIBLING,
    "妹": Relationship.SIBLING,
    "兄弟姐妹": Relationship.SIBLING,
    "儿媳": Relationship.CHILD_IN_LAW,
    "女婿": Relationship.CHILD_IN_LAW,
    "租户": Relationship.TENANT,
    "租客": Relationship.TENANT,
    "其他亲属": Relationship.OTHER_RELATIVE,
    "其他": Relationship.OTHER,
}
STATUS_WORDS = {
    "在家": PersonStatus.PRESENT,
    "在村": PersonStatus.PRESENT,
    "在住": PersonStatus.PRESENT,
    "外出": PersonStatus.AWAY,
    "迁出": PersonStatus.MOVED_OUT,
    "死亡": PersonStatus.DECEASED,
    "去世": PersonStatus.DECEASED,
    "已故": PersonStatus.DECEASED,
}
ID_TYPE_WORDS = {
    "居民身份证": IdType.RESIDENT_ID,
    "身份证": IdType.RESIDENT_ID,
    "港澳台居民居住证": IdType.HMT_PERMIT,
    "港澳居民来往内地通行证": IdType.HMT_PERMIT,
    "台湾居民来往大陆通行证": IdType.HMT_PERMIT,
    "回乡证": IdType.HMT_PERMIT,
    "台胞证": IdType.HMT_PERMIT,
    "护照": IdType.PASSPORT,
    "无": IdType.NONE,
}
TAG_WORDS: dict[str, str] = {
    "行动不便": Tag.MOBILITY_IMPAIRED,
    "失能": Tag.MOBILITY_IMPAIRED,
    "卧床": Tag.MOBILITY_IMPAIRED,
    "视障": Tag.VISUALLY_IMPAIRED,
    "视力残疾": Tag.VISUALLY_IMPAIRED,
    "盲人": Tag.VISUALLY_IMPAIRED,
    "慢性病": Tag.CHRONIC,
    "慢病": Tag.CHRONIC,
    "透析": Tag.DIALYSIS,
    "血透": Tag.DIALYSIS,
    "孕妇": Tag.PREGNANT,
    "孕产妇": Tag.PREGNANT,
    "独居": Tag.LIVING_ALONE,
    "独居老人": Tag.LIVING_ALONE,
    "快递": Tag.LOGISTICS_DIRECT,
    "物流直接": Tag.LOGISTICS_DIRECT,
    "物流间接": Tag.LOGISTICS_INDIRECT,
    "医务人员": Tag.MEDICAL,
    "医护": Tag.MEDICAL,
    "冷链": Tag.COLD_CHAIN,
    "司机": Tag.TRANSPORT,
    "交通运输": Tag.TRANSPORT,
    "口岸": Tag.PORT,
    "海关": Tag.PORT,
}


@dataclass
class CleanPerson:
    name: str
    id_type: str = IdType.RESIDENT_ID
    id_number: str = ""
    no_id_reason: str = ""
    sex: str = ""
    birth_date: date | None = None
    phone: str = ""
    phone2: str = ""
    relationship: str = ""
    residency: str = Residency.HUJI
    arrival_date: date | None = None
    occupation: str = ""
    workplace: str = ""
    status: str = PersonStatus.PRESENT
    away_since: date | None = None
    away_where: str = ""
    tags: set[str] = field(default_factory=set)
    # What is unusual but allowed (an ID whose region code was retired before the birth
    # year), per field: every entry path shows these and saves anyway.
    warnings: dict[str, list[str]] = field(default_factory=dict)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return fold_width(str(value)).strip()


def parse_date(value: Any, *, today: date) -> date | None:
    """Dates as typed, as exported by Excel (serial numbers) or as date objects."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        # An Excel serial day number (days since 1899-12-30), e.g. 44562 = 2022-01-01.
        return _EXCEL_EPOCH + timedelta(days=int(float(text)))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                result = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError as exc:
                raise ValidationError(_("%(value)s is not a real date.") % {"value": text}) from exc
            if result > today:
                raise ValidationError(_("%(value)s is in the future.") % {"value": text})
            if result.year < 1900:
                raise ValidationError(_("%(value)s is too long ago.") % {"value": text})
            return result
    raise ValidationError(_("%(value)s is not a date (use 2022-07-03).") % {"value": text})


def explain_id_damage(raw: str) -> str | None:
    """Excel's typical damage to an 18-digit number, in words; None when not damaged."""
    text = _text(raw).replace(",", "")
    if _SCIENTIFIC.match(text):
        return _(
            "Excel turned this ID number into a number (%(value)s) and lost its digits; "
            "format the column as text and enter it again."
        ) % {"value": text}
    digits = normalise_id_number(text)
    if re.fullmatch(r"\d{15}0{3}", digits) and check_character(digits[:17]) != digits[17]:
        return _(
            "The last digits of %(value)s are zeros, as Excel does to numbers of more than "
            "15 digits; format the column as text and enter the number again."
        ) % {"value": digits}
    return None


@dataclass(frozen=True)
class Identity:
    number: str = ""
    sex: str = ""  # sex and birth date come from a resident ID only
    birth_date: date | None = None
    warnings: tuple[str, ...] = ()


def clean_identity(id_type: str, raw: str, *, today: date | None = None) -> Identity:
    """The document number checked for its type; a ValidationError says what is wrong."""
    if not raw:
        return Identity()
    damage = explain_id_damage(raw)
    if damage:
        raise ValidationError(damage)
    if id_type == IdType.RESIDENT_ID or (
        id_type == IdType.HMT_PERMIT and len(normalise_id_number(raw)) == 18
    ):
        checked = check_id_number(raw, today=today)
        number = checked.number
        sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
        return Identity(number, sex, birth_date_of(number), checked.warnings)
    number = normalise_id_number(raw)
    pattern = _PERMIT if id_type == IdType.HMT_PERMIT else _PASSPORT
    if not pattern.match(number):
        raise ValidationError(_("%(value)s is not a valid document number.") % {"value": number})
    return Identity(number)


def clean_phone_number(raw: str) -> str:
    digits = normalise_phone(_text(raw))
    if not digits:
        return ""
    if not (is_mainland_mobile(digits) or is_landline(digits)):
        raise ValidationError(
            _("%(value)s is not a mainland mobile (11 digits from 13-19) or a landline.")
            % {"value": _text(raw)}
        )
    return digits


@lru_cache(maxsize=32)
def _codes(choices: Any) -> frozenset[str]:
    return frozenset(str(v) for v in choices.values)


@lru_cache(maxsize=4096)
def simplified_word(value: str) -> str:
    """A short cell (a sex, a relationship, a tag) folded and in simplified script.

    Cached: such columns hold a few dozen distinct words, and OpenCC per cell was a
    tenth of an import's validation time.
    """
    return to_simplified(_text(value))


def _choice(value: str, words: Mapping[str, str], choices: Any, field_label: Any) -> str:
    """A choice code from its code or one of its words; `field_label` may be lazy, it is
    only turned into text for an error."""
    # 集體宿舍 and 集体宿舍 are the same word.
    text = simplified_word(value) if isinstance(value, str) else to_simplified(_text(value))
    if not text:
        return ""
    if text.lower() in _codes(choices):
        return text.lower()
    if text in words or text.lower() in words:
        return str(words.get(text) or words[text.lower()])
    raise ValidationError(
        _("%(value)s is not a known %(field)s.") % {"value": text, "field": field_label}
    )


def clean_person(
    raw: Mapping[str, Any], *, today: date
) -> tuple[CleanPerson | None, dict[str, list[str]]]:
    """Clean every field; return the person or the errors per field (never both). The
    person carries its warnings (`CleanPerson.warnings`), which never refuse it."""
    errors: dict[str, list[str]] = {}

    def attempt(field_name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            errors.setdefault(field_name, []).extend(exc.messages)
            return None

    name = _text(raw.get("name"))
    if not name:
        errors["name"] = [_("The name is empty.")]
    elif len(name) > 50:
        errors["name"] = [_("The name is longer than 50 characters.")]
    id_type = (
        attempt(
            "id_type",
            _choice,
            raw.get("id_type") or IdType.RESIDENT_ID,
            ID_TYPE_WORDS,
            IdType,
            gettext_lazy("ID type"),
        )
        or IdType.RESIDENT_ID
    )
    identity = (
        attempt("id_number", clean_identity, id_type, _text(raw.get("id_number")), today=today)
        or Identity()
    )
    number, id_sex, id_birth = identity.number, identity.sex, identity.birth_date
    no_id_reason = _text(raw.get("no_id_reason"))
    if not number and id_type != IdType.NONE and "id_number" not in errors and not no_id_reason:
        errors["id_number"] = [_("Give the ID number, or the reason there is none.")]
    sex = attempt("sex", _choice, raw.get("sex"), SEX_WORDS, Sex, gettext_lazy("sex")) or ""

    def date_of(value: Any) -> date | None:
        return parse_date(value, today=today)

    birth = attempt("birth_date", date_of, raw.get("birth_date"))
    # The ID number is the authority; a contradicting column is an error, not overwritten.
    if id_sex and sex and sex != id_sex:
        errors.setdefault("sex", []).append(_("The sex does not match the ID number."))
    if id_birth and birth and birth != id_birth:
        errors.setdefault("birth_date", []).append(
            _("The birth date does not match the ID number (%(date)s).") % {"date": id_birth}
        )
    phone = attempt("phone", clean_phone_number, raw.get("phone") or "") or ""
    phone2 = attempt("phone2", clean_phone_number, raw.get("phone2") or "") or ""
    relationship = (
        attempt(
            "relationship",
            _choice,
            raw.get("relationship"),
            RELATIONSHIP_WORDS,
            Relationship,
            gettext_lazy("relationship"),
        )
        or ""
    )
    residency = (
        attempt(
            "residency",
            _choice,
            raw.get("residency"),
            RESIDENCY_WORDS,
            Residency,
            gettext_lazy("residency"),
        )
        or Residency.HUJI
    )
    arrival = attempt("arrival_date", date_of, raw.get("arrival_date"))
    status = (
        attempt(
            "status", _choice, raw.get("status"), STATUS_WORDS, PersonStatus, gettext_lazy("status")
        )
        or PersonStatus.PRESENT
    )
    away_since = attempt("away_since", date_of, raw.get("away_since"))
    tags: set[str] = set()
    for word in re.split(r"[,，、;；\s]+", _text(raw.get("tags"))):
        if not word:
            continue
        tag = TAG_WORDS.get(simplified_word(word)) or (word if word in Tag.values else None)
        if tag is None:
            errors.setdefault("tags", []).append(
                _("%(value)s is not a known tag.") % {"value": word}
            )
        else:
            tags.add(tag)
    if errors:
        return None, errors
    return (
        CleanPerson(
            name=name,
            id_type=id_type,
            id_number=number,
            no_id_reason=no_id_reason,
            sex=id_sex or sex,
            birth_date=id_birth or birth,
            phone=phone,
            phone2=phone2,
            relationship=relationship,
            residency=residency,
            arrival_date=arrival,
            occupation=_text(raw.get("occupation"))[:60],
            workplace=_text(raw.get("workplace"))[:100],
            status=status,
            away_since=away_since,
            away_where=_text(raw.get("away_where"))[:100],
            tags=tags,
            warnings={"id_number": list(identity.warnings)} if identity.warnings else {},
        ),
        {},
    )
