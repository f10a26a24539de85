"""Import and export of the jurisdiction tree as a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core.uploads import UploadKind
from fangkong.org.models import PATH_SEP, Jurisdiction, Level
from fangkong.org.pii import is_under
from fangkong.org.services import child_path, default_party_org_name, jurisdiction_move
from fangkong.org.validation import TreePlan

# The tree's own export has no title row above its header.
TREE_UPLOAD = UploadKind("org.tree", skip_title=False)
EXPORT_HEADER = ["代码", "名称", "层级", "上级代码", "党组织", "户数", "人数"]
LEVEL_NAMES = {
    Level.COUNTY: "县/区",
    Level.TOWN: "镇/街道",
    Level.VILLAGE: "村/社区",
    Level.GRID: "网格",
    Level.MICROGRID: "微网格",
}


@transaction.atomic
def tree_import_commit(*, plan: TreePlan) -> dict[str, int]:
    """Apply a validated plan atomically; re-applying the same file changes nothing."""
    if plan.errors:
        raise ValidationError(_("The file has errors; nothing was imported."))
    by_code: dict[str, Jurisdiction] = {
        j.code: j for j in Jurisdiction.objects.filter(code__in=[r.code for r in plan.rows])
    }
    parents: dict[str, Jurisdiction] = {
        j.code: j
        for j in Jurisdiction.objects.filter(
            code__in={r.parent_code for r in plan.rows if r.parent_code}
        )
    }
    created = updated = 0
    for level in sorted({r.level for r in plan.rows}):
        new_nodes = []
        for row in (r for r in plan.rows if r.level == level):
            parent = parents.get(row.parent_code) if row.parent_code else None
            node = by_code.get(row.code)
            if node is None:
                node = Jurisdiction(
                    code=row.code,
                    name=row.name,
                    level=row.level,
                    parent=parent,
                    path=child_path(parent, row.code),
                    party_org_name=row.party_org_name
                    or default_party_org_name(row.name, row.level),
                )
                new_nodes.append(node)
            else:
                changed = False
                if parent is not None and node.parent_id != parent.pk:
                    node = jurisdiction_move(node=node, new_parent=parent)
                    changed = True
                if node.name != row.name or (
                    row.party_org_name and node.party_org_name != row.party_org_name
                ):
                    node.name = row.name
                    node.party_org_name = row.party_org_name or node.party_org_name
                    node.save(update_fields=["name", "party_org_name", "updated_at"])
                    changed = True
                updated += changed
            parents[row.code] = node
        Jurisdiction.objects.bulk_create(new_nodes, batch_size=2000)
        created += len(new_nodes)
        # bulk_create sets pks on PostgreSQL and SQLite; children of this level need them.
    return {"created": created, "updated": updated, "unchanged": len(plan.rows) - created - updated}


def planned_paths(plan: TreePlan) -> dict[str, list[str]]:
    """Per row: the paths it touches (where it will be, and where it is if it moves).

    Parents may be new rows of the same file, so paths are built level by level from
    the plan before anything is written; the permission check runs on these.
    """
    codes = {r.code for r in plan.rows} | {r.parent_code for r in plan.rows if r.parent_code}
    existing = dict(Jurisdiction.objects.filter(code__in=codes).values_list("code", "path"))
    new_paths: dict[str, str] = {}
    touched: dict[str, list[str]] = {}
    for row in sorted(plan.rows, key=lambda r: r.level):
        parent_path = new_paths.get(row.parent_code) or existing.get(row.parent_code, PATH_SEP)
        new_paths[row.code] = (parent_path if row.parent_code else PATH_SEP) + row.code + PATH_SEP
        touched[row.code] = [new_paths[row.code]]
        if row.code in existing and existing[row.code] != new_paths[row.code]:
            touched[row.code].append(existing[row.code])
    return touched


def tree_export_rows(nodes: Any) -> Iterator[list[Any]]:
    """Rows for the spreadsheet in tree order; the parent code comes from the path."""
    for node in (
        nodes.order_by("path")
        .only(
            "pk",
            "code",
            "name",
            "level",
            "party_org_name",
            "household_count",
            "resident_count",
            "path",
        )
        .iterator(chunk_size=2000)
    ):
        codes = node.ancestor_codes()
        yield [
            node.code,
            node.name,
            LEVEL_NAMES[Level(node.level)],
            codes[-2] if len(codes) > 1 else "",
            node.party_org_name,
            node.household_count,
            node.resident_count,
        ]


STAFF_EXPORT_HEADER = ["姓名", "类别", "单位", "所属辖区", "辖区代码", "党员", "手机号", "身份证号"]


def staff_export_rows(profiles: Any, clear_paths: list[str]) -> Iterator[list[Any]]:
    """Roster rows: phone and ID masked unless the row lies under one of `clear_paths`."""
    for p in profiles.order_by("jurisdiction__path", "name").iterator(chunk_size=2000):
        clear = is_under(p.jurisdiction.path, clear_paths)
        yield [
            p.name,
            p.get_kind_display(),
            p.unit,
            p.jurisdiction.name,
            p.jurisdiction.code,
            "是" if p.is_party_member else "否",
            p.phone if clear else p.phone_masked,
            p.id_number if clear else p.id_number_masked,
        ]
