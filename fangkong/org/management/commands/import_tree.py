"""`fangkong import-tree FILE [--dry-run]`: the jurisdiction tree from a spreadsheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import uploads
from fangkong.core.tabular import TableError
from fangkong.org.tree_io import TREE_UPLOAD, tree_import_commit
from fangkong.org.validation import plan_tree_import


class Command(BaseCommand):
    help = (
        "Import the jurisdiction tree from an .xlsx or .csv file (columns 代码, 名称, 层级, "
        "上级代码). Every row is checked first; a file with any error writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and print the plan only"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            table = uploads.read(uploads.receive_path(path, TREE_UPLOAD), TREE_UPLOAD)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except TableError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        plan = plan_tree_import(table.headers, table.rows)
        if plan.errors:
            for e in plan.errors:
                self.stderr.write(f'row {e.row}, column {e.column}, value "{e.value}": {e.message}')
            raise CommandError(f"{path.name}: {len(plan.errors)} error(s); nothing was imported.")
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {plan.creates} to create, {plan.updates} to update, "
                f"{plan.unchanged} unchanged. Nothing was written."
            )
            return
        result = tree_import_commit(plan=plan)
        audit_record(
            action=AuditAction.IMPORT,
            actor=None,
            actor_name="cli",
            object_repr=path.name,
            detail={"kind": "org.tree", "source": "cli", **result},
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {result['created']} created, {result['updated']} updated, "
                f"{result['unchanged']} unchanged."
            )
        )
