"""Columns of the spreadsheets towns receive: header words, labels, household fields, and
the mapping step every import of people's rows shares (the registry, pushed lists).

Offices name the same column a dozen ways (身份证号, 公民身份号码, 证件号码, 手机 …);
the aliases below are the ones seen in village registers and county lists, one table
for every import. A header that none of them matches is left for the user to map, and
the mapping is remembered per source. A column whose values look like ID numbers or
phones is never dropped without the user saying so (`ColumnReading.needs_answer`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from fangkong.core.masking import (
    mask_id_number,
    mask_name,
    mask_personal,
    mask_phone,
    personal_kind,
)
from fangkong.core.tabular import Table, map_headers
from fangkong.people.models import HousingType

# Order matters within a field: the first alias present wins, so the address people
# live at (现住址) is preferred over the registered one (户籍地址) when both are there.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "人员姓名", "居民姓名", "核查对象姓名", "人员"),
    "head_name": ("户主姓名",),
    "id_type": ("证件类型",),
    "id_number": (
        "公民身份号码",
        "身份证号",
        "身份证号码",
        "证件号码",
        "身份证",
        "证件号",
        "公民身份证号",
        "公民身份证号码",
        "居民身份证号",
        "居民身份证号码",
        "身份证件号码",
    ),
    "no_id_reason": ("无证件原因",),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日"),
    "phone": (
        "联系电话",
        "手机号",
        "手机号码",
        "电话",
        "联系方式",
        "手机",
        "电话号码",
        "移动电话",
        "联系号码",
        "本人电话",
        "本人手机",
        "本人联系电话",
    ),
    "phone2": ("备用电话", "其他电话", "备用手机", "其他联系电话"),
    "street": (
        "现住址",
        "现居住地",
        "现居住地址",
        "现住地址",
        "居住地址",
        "居住地",
        "落地地址",
        "家庭住址",
        "家庭地址",
        "住址",
        "详细地址",
        "户籍地址",
        "户籍地",
        "地址",
        "address",
    ),
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

HOUSEHOLD_FIELDS = (
    "village_group",
    "street",
    "house_number",
    "building",
    "unit",
    "room",
    "housing_type",
    "landlord_name",
    "landlord_phone",
)
_HOUSEHOLD_LIMITS = {
    "village_group": 30,
    "street": 60,
    "house_number": 20,
    "building": 20,
    "unit": 20,
    "room": 20,
    "landlord_name": 50,
}
HOUSING_WORDS = {
    "自有": HousingType.OWNED,
    "自住": HousingType.OWNED,
    "自建房": HousingType.OWNED,
    "自有住房": HousingType.OWNED,
    "租住": HousingType.RENTED,
    "租赁": HousingType.RENTED,
    "租房": HousingType.RENTED,
    "出租": HousingType.RENTED,
    "集体宿舍": HousingType.DORMITORY,
    "宿舍": HousingType.DORMITORY,
    "其他": HousingType.OTHER,
}


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
    headers: Sequence[str], saved: Mapping[str, str], fields: Sequence[str] | None = None
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """(field -> column index, unmapped (index, header)); a saved mapping wins.

    `saved` maps a header as written to a field name, or to "" to ignore the column.
    `fields` are the ones the import reads (all of FIELD_ALIASES by default); a column
    saved as another field is ignored.
    """
    known = FIELD_ALIASES if fields is None else {f: FIELD_ALIASES[f] for f in fields}
    columns: dict[str, int] = {}
    claimed: set[int] = set()
    for i, header in enumerate(headers):
        target = saved.get(header.strip())
        if target is not None:
            claimed.add(i)
            if target in known and target not in columns:
                columns[target] = i
    free_headers = [h if i not in claimed else "" for i, h in enumerate(headers)]
    for field, index in map_headers(free_headers, known).items():
        columns.setdefault(field, index)
    used = set(columns.values()) | claimed
    unmapped = [(i, h) for i, h in enumerate(headers) if h.strip() and i not in used]
    if "name" not in columns and "head_name" in columns:
        # A sheet of heads only: 户主姓名 is then the person's own name.
        columns["name"] = columns.pop("head_name")
    return columns, unmapped


# The mapping step ------------------------------------------------------------------------

# Headers known to be read by no import: the row's number in the sender's list.
SKIPPED_HEADERS = frozenset({"序号", "编号", "序列号", "行号", "no", "no."})
# Rows looked at to tell what a column holds, and the share of its filled cells that
# must look like IDs (or phones) for the column to count as holding them.
SAMPLE_ROWS = 200
PERSONAL_SHARE = 1 / 3
SAMPLES_SHOWN = 3
NOT_USED = "-"  # the form's value for "this column is not used"


@dataclass(frozen=True)
class ColumnReading:
    """How one column of a file is read, for the mapping step's page and its checks."""

    index: int
    header: str
    field: str  # the field it is read as; "" when nothing reads it
    how: str  # "saved" (remembered for the source), "alias", "skipped" or "unknown"
    personal: str  # what its values look like: "id", "phone" or ""
    samples: tuple[str, ...]  # its first values, masked
    taken_by: str = ""  # the field it was saved as, which another column already holds

    @property
    def needs_answer(self) -> bool:
        """It holds IDs or phones, nothing reads it, and nobody said to leave it out."""
        return bool(self.personal) and not self.field and self.how != "saved"

    @property
    def label(self) -> Any:
        return FIELD_LABELS[self.field] if self.field else ""


def _looks_personal(values: Sequence[str]) -> str:
    if not values:
        return ""
    counts = Counter(personal_kind(v) for v in values)
    kind, n = max(((k, counts[k]) for k in ("id", "phone")), key=lambda kn: kn[1])
    return kind if n and n >= PERSONAL_SHARE * len(values) else ""


def read_columns(
    table: Table, saved: Mapping[str, str], fields: Sequence[str] | None = None
) -> list[ColumnReading]:
    """Every column of the table: what it is read as, why, and what its values look like."""
    known = set(FIELD_ALIASES if fields is None else fields)
    columns, _unmapped = resolve_columns(table.headers, saved, fields)
    field_at = {i: f for f, i in columns.items()}
    sample = table.rows[:SAMPLE_ROWS]
    out = []
    for i, header in enumerate(table.headers):
        values = [c[i].strip() for _n, c in sample if i < len(c) and c[i].strip()]
        field = field_at.get(i, "")
        target = saved.get(header.strip())
        if target is not None:
            how = "saved"
        elif field:
            how = "alias"
        elif "".join(header.split()).lower() in SKIPPED_HEADERS:
            how = "skipped"
        else:
            how = "unknown"
        out.append(
            ColumnReading(
                index=i,
                header=header,
                field=field,
                how=how,
                personal=_looks_personal(values),
                samples=tuple(
                    mask_personal(mask_value(field, v))[:30] for v in values[:SAMPLES_SHOWN]
                ),
                taken_by=target if target in known and not field else "",
            )
        )
    return out


def column_problems(readings: Sequence[ColumnReading]) -> list[str]:
    """Why the mapping cannot be used as it is: a column of IDs or phones left unread
    without anyone saying so, or two columns set to the same field."""
    problems = []
    holder = {r.field: r for r in readings if r.field}
    for r in readings:
        if r.needs_answer:
            words = (
                _(
                    "Column “%(header)s” holds what look like ID numbers and nothing reads "
                    "it: say what it holds, or that it is not used."
                )
                if r.personal == "id"
                else _(
                    "Column “%(header)s” holds what look like phone numbers and nothing "
                    "reads it: say what it holds, or that it is not used."
                )
            )
            problems.append(words % {"header": r.header})
        elif r.taken_by:
            problems.append(
                _(
                    "Columns “%(header)s” and “%(other)s” are both set to %(field)s: choose "
                    "another field for one of them, or “Not used”."
                )
                % {
                    "header": r.header,
                    "other": holder[r.taken_by].header,
                    "field": FIELD_LABELS[r.taken_by],
                }
            )
    return problems


def field_choices(fields: Sequence[str] | None = None) -> list[tuple[str, Any]]:
    return [(f, FIELD_LABELS[f]) for f in (FIELD_ALIASES if fields is None else fields)]


def mapping_from_form(
    table: Table,
    saved: Mapping[str, str],
    data: Mapping[str, str],
    fields: Sequence[str] | None = None,
) -> dict[str, str]:
    """The saved mapping with a mapping form's choices applied.

    The form sends `map:<header>` = a field, NOT_USED, or "" (no answer: keep what is
    saved). Only what differs from what the aliases read is stored, so a source's
    mapping holds the user's decisions and nothing else; a "not used" for a column of
    IDs or phones is a decision and is stored.
    """
    known = set(FIELD_ALIASES if fields is None else fields)
    by_alias, _unmapped = resolve_columns(table.headers, {}, fields)
    alias_at = {i: f for f, i in by_alias.items()}
    mapping = dict(saved)
    for r in read_columns(table, {}, fields):
        value = data.get(f"map:{r.header}", "")
        if not value or (value != NOT_USED and value not in known):
            continue
        chosen = "" if value == NOT_USED else value
        key = r.header.strip()
        if chosen == alias_at.get(r.index, "") and not (r.personal and not chosen):
            mapping.pop(key, None)
        else:
            mapping[key] = chosen
    return mapping


def clean_household(raw: Mapping[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The household columns of one row: cleaned values and errors per field."""
    from fangkong.people.validation import clean_phone_number, simplified_word

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
    housing = simplified_word(raw.get("housing_type", ""))
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
