"""Rules for jurisdiction codes and the spreadsheet import of the tree.

Towns and villages carry the 12-digit statistical division code (统计用区划代码):
a town is its county's 6 digits + 3 digits + "000", a village its town's first 9
digits + 3 digits. Grids and micro-grids have no national code; they extend their
parent's code with a local suffix ("-" + letters/digits), which keeps them unique and
readable ("433122102201-G03-M02").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from fangkong.org.models import Jurisdiction, Level

# [0-9], not \d: \d also matches full-width and other Unicode digits.
_DIGITS12 = re.compile(r"^[0-9]{12}$")
_COUNTY = re.compile(r"^[0-9]{6}(000000)?$")
_SUFFIX = re.compile(r"^[0-9A-Za-z]{1,8}$")

LEVEL_WORDS: dict[str, int] = {
    "1": Level.COUNTY,
    "county": Level.COUNTY,
    "县": Level.COUNTY,
    "区": Level.COUNTY,
    "县/区": Level.COUNTY,
    "县区": Level.COUNTY,
    "2": Level.TOWN,
    "town": Level.TOWN,
    "street": Level.TOWN,
    "镇": Level.TOWN,
    "乡": Level.TOWN,
    "街道": Level.TOWN,
    "镇/街道": Level.TOWN,
    "乡镇": Level.TOWN,
    "3": Level.VILLAGE,
    "village": Level.VILLAGE,
    "community": Level.VILLAGE,
    "村": Level.VILLAGE,
    "社区": Level.VILLAGE,
    "村/社区": Level.VILLAGE,
    "村社": Level.VILLAGE,
    "4": Level.GRID,
    "grid": Level.GRID,
    "网格": Level.GRID,
    "5": Level.MICROGRID,
    "microgrid": Level.MICROGRID,
    "micro-grid": Level.MICROGRID,
    "微网格": Level.MICROGRID,
}


def parse_level(text: str) -> int | None:
    return LEVEL_WORDS.get(text.strip().lower())


def check_code(
    code: str, level: int, parent_code: str | None, parent_level: int | None
) -> list[str]:
    """Errors for a node's code given its level and parent; empty when it is valid."""
    errors: list[str] = []
    if not code:
        return [_("The code is empty.")]
    if len(code) > 40 or "/" in code or any(c.isspace() for c in code):
        return [_("A code has at most 40 characters, without spaces or '/'.")]
    from fangkong.org.services import PARENT_LEVEL, TOP_LEVELS

    if parent_level is None:
        if level not in TOP_LEVELS:
            errors.append(_("Only a county or a town can be at the top; give a parent code."))
    elif parent_level not in PARENT_LEVEL[level]:
        errors.append(
            _("A %(level)s cannot be placed under a %(parent)s.")
            % {"level": Level(level).label, "parent": Level(parent_level).label}
        )
    if level == Level.COUNTY and not _COUNTY.match(code):
        errors.append(_("A county code is 6 digits (or 12 digits ending in 000000)."))
    elif level == Level.TOWN:
        if not _DIGITS12.match(code) or not code.endswith("000"):
            errors.append(_("A town code is 12 digits ending in 000."))
        elif parent_code and not code.startswith(parent_code[:6]):
            errors.append(_("A town code starts with its county's 6 digits."))
    elif level == Level.VILLAGE:
        if not _DIGITS12.match(code):
            errors.append(_("A village/community code is 12 digits."))
        elif parent_code and not code.startswith(parent_code[:9]):
            errors.append(_("A village code starts with its town's first 9 digits."))
    elif level in (Level.GRID, Level.MICROGRID):
        prefix = (parent_code or "") + "-"
        if not code.startswith(prefix) or not _SUFFIX.match(code[len(prefix) :]):
            errors.append(
                _("A grid or micro-grid code is its parent's code, '-', and 1-8 letters or digits.")
            )
    return errors


@dataclass
class RowError:
    row: int
    column: str
    value: str
    message: str


@dataclass
class TreeRow:
    row: int
    code: str
    name: str
    level: int
    parent_code: str
    party_org_name: str


@dataclass
class TreePlan:
    rows: list[TreeRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    creates: int = 0
    updates: int = 0
    unchanged: int = 0


TREE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("代码", "编码", "区划代码", "统计用区划代码", "网格编码"),
    "name": ("名称", "名字", "单位名称"),
    "level": ("层级", "级别", "类型"),
    "parent_code": ("上级代码", "上级编码", "父级代码", "parent code", "parent"),
    "party_org_name": ("党组织", "党组织名称", "party organisation", "party org"),
}
TREE_REQUIRED = ("code", "name", "level", "parent_code")


def plan_tree_import(headers: list[str], rows: list[tuple[int, list[str]]]) -> TreePlan:
    """Validate every row against the file and the database; nothing is written."""
    from fangkong.core.tabular import map_headers

    plan = TreePlan()
    columns = map_headers(headers, TREE_COLUMNS)
    missing = [c for c in TREE_REQUIRED if c not in columns]
    if missing:
        plan.errors.append(
            RowError(1, ", ".join(missing), "", _("Required columns are missing from the header."))
        )
        return plan

    def cell(cells: list[str], name: str) -> str:
        i = columns.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    existing = {
        j.code: j
        for j in Jurisdiction.objects.only(
            "code", "level", "name", "party_org_name", "parent_id", "path"
        )
    }
    existing_parent_code = {j.pk: j.code for j in existing.values()}
    in_file: dict[str, TreeRow] = {}
    first_row: dict[str, int] = {}  # every code's first row, valid or not
    bad_codes: set[str] = set()
    for number, cells in rows:
        code, name = cell(cells, "code"), cell(cells, "name")
        level_text, parent_code = cell(cells, "level"), cell(cells, "parent_code")
        errors_before = len(plan.errors)
        level = parse_level(level_text)
        if level is None:
            plan.errors.append(RowError(number, "level", level_text, _("Unknown level.")))
        if not name:
            plan.errors.append(RowError(number, "name", name, _("The name is empty.")))
        elif len(name) > 100:
            plan.errors.append(RowError(number, "name", name[:20], _("The name is too long.")))
        if code and code in first_row:
            plan.errors.append(
                RowError(
                    number,
                    "code",
                    code,
                    _("Code repeated; first seen in row %(row)d.") % {"row": first_row[code]},
                )
            )
        else:
            first_row[code] = number
        if len(plan.errors) == errors_before and level is not None:
            row = TreeRow(number, code, name, level, parent_code, cell(cells, "party_org_name"))
            in_file[code] = row
        else:
            bad_codes.add(code)
    # Second pass: parents may appear anywhere in the file or already exist.
    for row in in_file.values():
        parent_level: int | None = None
        if row.parent_code:
            if row.parent_code in in_file:
                parent_level = in_file[row.parent_code].level
            elif row.parent_code in existing:
                parent_level = existing[row.parent_code].level
            elif row.parent_code in bad_codes:
                plan.errors.append(
                    RowError(
                        row.row, "parent_code", row.parent_code, _("The parent row has errors.")
                    )
                )
                continue
            else:
                plan.errors.append(
                    RowError(
                        row.row,
                        "parent_code",
                        row.parent_code,
                        _("No such parent in the file or the system."),
                    )
                )
                continue
        for message in check_code(row.code, row.level, row.parent_code or None, parent_level):
            plan.errors.append(RowError(row.row, "code", row.code, message))
        old = existing.get(row.code)
        if old is not None and old.level != row.level:
            plan.errors.append(
                RowError(
                    row.row, "level", str(row.level), _("The existing node has another level.")
                )
            )
        if old is not None and old.parent_id and not row.parent_code:
            # Detaching a node from its parent is not something a spreadsheet should do
            # by leaving a cell blank; the commit would not do it either.
            plan.errors.append(
                RowError(
                    row.row, "parent_code", "", _("The existing node has a parent; give its code.")
                )
            )
    if plan.errors:
        plan.errors.sort(key=lambda e: (e.row, e.column))
        return plan
    for row in sorted(in_file.values(), key=lambda r: (r.level, r.row)):
        old = existing.get(row.code)
        if old is None:
            plan.creates += 1
        elif (
            old.name == row.name
            and existing_parent_code.get(old.parent_id or 0, "") == row.parent_code
            and (not row.party_org_name or old.party_org_name == row.party_org_name)
        ):
            plan.unchanged += 1
        else:
            plan.updates += 1
        plan.rows.append(row)
    return plan
