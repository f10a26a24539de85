"""`fangkong export-tree -o FILE [--node CODE]`: the jurisdiction tree to .xlsx or .csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.tabular import csv_stream, write_xlsx
from fangkong.org.models import Jurisdiction
from fangkong.org.tree_io import EXPORT_HEADER, tree_export_rows


class Command(BaseCommand):
    help = "Export the jurisdiction tree (or one node's subtree) to an .xlsx or .csv file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-o", "--output", type=Path, required=True, help="target file, .xlsx or .csv"
        )
        parser.add_argument("--node", default="", help="export only this node's subtree")

    def handle(self, *args: Any, **options: Any) -> None:
        target: Path = options["output"]
        suffix = target.suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise CommandError("The output file must end in .xlsx or .csv.")
        nodes = Jurisdiction.objects.all()
        code: str = options["node"]
        root_path = ""
        if code:
            root = Jurisdiction.objects.filter(code=code).only("path").first()
            if root is None:
                raise CommandError(f"No jurisdiction with code {code}.")
            root_path = root.path
            nodes = nodes.within(root_path)
        rows = tree_export_rows(nodes)
        try:
            if suffix == ".csv":
                count = -2  # the BOM and the header come first
                with target.open("w", encoding="utf-8", newline="") as out:
                    for chunk in csv_stream(EXPORT_HEADER, rows):
                        out.write(chunk)
                        count += 1
            else:
                with target.open("wb") as binary:
                    count = write_xlsx(binary, EXPORT_HEADER, rows)
        except OSError as exc:
            raise CommandError(f"Cannot write {target}: {exc.strerror or exc}") from exc
        audit_record(
            action=AuditAction.EXPORT,
            actor=None,
            actor_name="cli",
            object_repr="jurisdiction tree",
            jurisdiction_path=root_path,
            detail={"format": suffix[1:], "node": code, "rows": count, "source": "cli"},
        )
        self.stdout.write(self.style.SUCCESS(f"Exported {count} nodes to {target}."))
