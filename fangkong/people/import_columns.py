"""Columns of the population spreadsheets towns keep: header words, labels, household fields.

Offices name the same column a dozen ways (身份证号, 公民身份号码, 证件号码 …); the
aliases below are the ones seen in village registers. A header that none of them
matches is left for the user to map, and the mapping is remembered per source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.tabular import map_headers
from fangkong.people.models import HousingType
from fangkong.people.names import to_simplified

# Order matters within a field: the first alias present wins, so the address people
# live at (现住址) is preferred over the registered one (户籍地址) when both are there.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "人员姓名", "居民姓名"),
    "head_name": ("户主姓名",),
    "id_type": ("证件类型",),
    "id_number": ("公民身份号码", "身份证号", "身份证号码", "证件号码", "身份证", "证件号"),
    "no_id_reason": ("无证件原因",),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日"),
    "phone": ("联系电话", "手机号", "手机号码", "电话", "联系方式", "手机"),
    "phone2": ("备用电话", "其他电话"),
    "street": ("现住址", "居住地址", "家庭住址", "住址", "户籍地址", "地址", "address"),
    "relationship": ("与户主关系", "关系"),
    "household_no": ("户号", "户编号"),
    "grid": ("所属网格", "网格", "网格编码", "网格代码", "网格名称"),
    "village_group": ("小组", "村民小组"),
    "house_number": ("门牌号", "门牌"),
    "building": ("楼栋", "楼号"),
    "unit": ("单元",),
    "room": ("房号", "房间号"),
    "housing_type": ("住房类型", "房屋性质", "住房性质"),
    "landlord_name": ("房东", "房东姓名"),
    "landlord_phone": ("房东电话", "房东联系电话"),
    "residency": ("人口类型", "户籍类型", "人员类型"),
    "arrival_date": ("来本地日期", "到达日期", "来本地时间"),
    "occupation": ("职业",),
    "workplace": ("工作单位",),
    "tags": ("特殊人群", "标签", "重点人群"),
    "status": ("状态", "人员状态"),
    "away_since": ("外出日期",),
    "away_where": ("外出地点", "去向"),
}

FIELD_LABELS: dict[str, Any] = {
    "name": pgettext_lazy("person", "Name"),
    "head_name": gettext_lazy("Name of the head of household"),
    "id_type": gettext_lazy("ID type"),
    "id_number": gettext_lazy("ID number"),
    "no_id_reason": gettext_lazy("Reason for no ID"),
    "sex": gettext_lazy("Sex"),
    "birth_date": gettext_lazy("Birth date"),
    "phone": gettext_lazy("Phone"),
    "phone2": gettext_lazy("Second phone"),
    "street": gettext_lazy("Address"),
    "relationship": gettext_lazy("Relationship to head"),
    "household_no": gettext_lazy("Household number"),
    "grid": gettext_lazy("Grid"),
    "village_group": gettext_lazy("Villager group"),
    "house_number": gettext_lazy("House number"),
    "building": gettext_lazy("Building"),
    "unit": gettext_lazy("Unit"),
    "room": gettext_lazy("Room"),
    "housing_type": gettext_lazy("Housing"),
    "landlord_name": gettext_lazy("Landlord"),
    "landlord_phone": gettext_lazy("Landlord phone"),
    "residency": gettext_lazy("Residency"),
    "arrival_date": gettext_lazy("Arrived on"),
    "occupation": gettext_lazy("Occupation"),
    "workplace": gettext_lazy("Workplace"),
    "tags": gettext_lazy("Special groups"),
    "status": gettext_lazy("Status"),
    "away_since": gettext_lazy("Away since"),
    "away_where": gettext_lazy("Away where"),
}

# Fields shown masked wherever a value is echoed back (preview, error report, CLI).
ID_FIELDS = frozenset({"id_number"})
PHONE_FIELDS = frozenset({"phone", "phone2", "landlord_phone"})
NAME_FIELDS = frozenset({"name", "head_name", "landlord_name"})

HOUSEHOLD_FIELDS = ("village_group", "street", "house_number", "building", "unit", "room",
                    "housing_type", "landlord_name", "landlord_phone")  # fmt: skip
_HOUSEHOLD_LIMITS = {"village_group": 30, "street": 60, "house_number": 20, "building": 20,
                     "unit": 20, "room": 20, "landlord_name": 50}  # fmt: skip
HOUSING_WORDS = {
    "自有": HousingType.OWNED, "自住": HousingType.OWNED, "自建房": HousingType.OWNED,
    "自有住房": HousingType.OWNED, "租住": HousingType.RENTED, "租赁": HousingType.RENTED,
    "租房": HousingType.RENTED, "出租": HousingType.RENTED, "集体宿舍": HousingType.DORMITORY,
    "宿舍": HousingType.DORMITORY, "其他": HousingType.OTHER,
}  # fmt: skip


def mask_value(field: str, value: str) -> str:
    """A cell value as it may be shown back to the user."""
    if field in ID_FIELDS:
        return mask_id_number(value)
    if field in PHONE_FIELDS:
        return mask_phone(value)
    if field in NAME_FIELDS:
        return mask_name(value)
    return value


def resolve_columns(
    headers: Sequence[str], saved: Mapping[str, str]
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """(field -> column index, unmapped (index, header)); a saved mapping wins.

    `saved` maps a header as written to a field name, or to "" to ignore the column.
    """
    columns: dict[str, int] = {}
    claimed: set[int] = set()
    for i, header in enumerate(headers):
        target = saved.get(header.strip())
        if target is not None:
            claimed.add(i)
            if target in FIELD_ALIASES and target not in columns:
                columns[target] = i
    free_headers = [h if i not in claimed else "" for i, h in enumerate(headers)]
    for field, index in map_headers(free_headers, FIELD_ALIASES).items():
        columns.setdefault(field, index)
    used = set(columns.values()) | claimed
    unmapped = [(i, h) for i, h in enumerate(headers) if h.strip() and i not in used]
    if "name" not in columns and "head_name" in columns:
        # A sheet of heads only: 户主姓名 is then the person's own name.
        columns["name"] = columns.pop("head_name")
    return columns, unmapped


def clean_household(raw: Mapping[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The household columns of one row: cleaned values and errors per field."""
    from fangkong.people.validation import clean_phone_number

    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field, limit in _HOUSEHOLD_LIMITS.items():
        text = raw.get(field, "").strip()
        if len(text) > limit:
            errors[field] = [
                _("At most %(limit)d characters; this has %(n)d.")
                % {"limit": limit, "n": len(text)}
            ]
        values[field] = text
    housing = to_simplified(raw.get("housing_type", "").strip())
    if not housing:
        values["housing_type"] = ""
    elif housing in HOUSING_WORDS:
        values["housing_type"] = str(HOUSING_WORDS[housing])
    elif housing.lower() in HousingType.values:
        values["housing_type"] = housing.lower()
    else:
        errors["housing_type"] = [
            _("%(value)s is not a known housing type (自有, 租住, 集体宿舍).") % {"value": housing}
        ]
    try:
        values["landlord_phone"] = clean_phone_number(raw.get("landlord_phone", ""))
    except ValidationError as exc:
        errors["landlord_phone"] = list(exc.messages)
    return values, errors
