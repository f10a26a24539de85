"""`fangkong import people FILE [--jurisdiction CODE] [--dry-run] [--valid-only] [--source NAME]`.

The first argument names what is imported, so later registers (screening lists,
vaccination records) join as further kinds of the same command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import uploads
from fangkong.core.tabular import TableError
from fangkong.org.models import Jurisdiction
from fangkong.people.import_jobs import PEOPLE_UPLOAD
from fangkong.people.importer import (
    ImportOptions,
    ImportPlan,
    commit_plan,
    plan_people_import,
    scope_for_root,
)
from fangkong.people.services import registry_recount

KINDS = ("people",)


class Command(BaseCommand):
    help = (
        "Import a register from an .xlsx, .xls or .csv file. Kinds: people (households and "
        "persons). Every row is checked first; by default a file with any error writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--jurisdiction",
            default="",
            help="code of the subtree to import into; also the grid for rows without one",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="import the valid rows (whole households) and report the others",
        )
        parser.add_argument("--source", default="", help="name of the list, for the history")
        parser.add_argument(
            "--unsure-as-new",
            action="store_true",
            help="register rows whose best match is uncertain as new persons",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            received = uploads.receive_path(path, PEOPLE_UPLOAD)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except TableError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        root = None
        if options["jurisdiction"]:
            root = Jurisdiction.objects.filter(code=options["jurisdiction"]).first()
            if root is None:
                raise CommandError(f"No jurisdiction with code {options['jurisdiction']}.")
        try:
            table = uploads.read(received, PEOPLE_UPLOAD)
        except TableError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        progress = self._progress(len(table.rows))
        plan = plan_people_import(
            table,
            scope_for_root(root),
            ImportOptions(
                filename=path.name,
                default_code=root.code if root and root.children.count() == 0 else "",
                valid_only=options["valid_only"],
                unsure_as_new=options["unsure_as_new"],
            ),
        )
        self._report(plan)
        if plan.blocked:
            raise CommandError(
                f"{path.name}: {len(plan.file_errors) + len(plan.errors)} error(s), "
                f"{len(plan.confirmations)} uncertain match(es); nothing was imported."
            )
        counts = plan.counts
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {counts['persons_created']} persons to create, "
                f"{counts['persons_updated']} to update, {counts['persons_unchanged']} unchanged, "
                f"{counts['households_created']} households to create. Nothing was written."
            )
            return
        source = options["source"] or path.name
        result = commit_plan(plan=plan, actor=None, source=f"import:{source}", progress=progress)
        registry_recount()
        audit_record(
            action=AuditAction.IMPORT,
            actor=None,
            actor_name="cli",
            object_repr=path.name[:200],
            detail={"kind": "people", "source": "cli", **result},
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {result['persons_created']} persons created, "
                f"{result['persons_updated']} updated, {result['persons_unchanged']} unchanged; "
                f"{result['households_created']} households created, "
                f"{result['households_updated']} updated; {result['rows_skipped']} rows left out."
            )
        )

    def _report(self, plan: ImportPlan) -> None:
        for message in plan.file_errors:
            self.stderr.write(message)
        for message in plan.unread:
            # The web import asks about these columns; here they are only named.
            self.stderr.write(f"warning, not imported: {message}")
        for e in sorted(plan.errors, key=lambda e: e.row):
            self.stderr.write(f'row {e.row}, column {e.column}, value "{e.value}": {e.message}')
        for w in plan.warnings:
            self.stderr.write(
                f'row {w.row}, column {w.column}, value "{w.value}" (imported): {w.message}'
            )
        for c in plan.confirmations:
            self.stderr.write(
                f"row {c.row}: {c.name} may be the registered {c.person} "
                f"({', '.join(c.reasons)}; score {c.score:.2f}); confirm in the web import or "
                "pass --unsure-as-new"
            )

    def _progress(self, total: int) -> Any:
        step = max(total // 10, 1)
        last = [0]

        def report(done: int) -> None:
            if done - last[0] >= step or done == total:
                last[0] = done
                self.stdout.write(f"written {done}/{total} rows")
                sys.stdout.flush()

        return report
