"""`fangkong export people --jurisdiction CODE -o FILE [--unmask --purpose TEXT]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.purpose import clean_purpose, normalise_purpose
from fangkong.core.tabular import csv_stream, write_xlsx
from fangkong.org.models import Jurisdiction
from fangkong.people.export import PERSON_EXPORT_HEADER, person_export_rows
from fangkong.people.models import Person


class Command(BaseCommand):
    help = "Export a list to xlsx or csv (by the file's extension); masked unless --unmask."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["people"])
        parser.add_argument("--jurisdiction", required=True, help="node code: its whole subtree")
        parser.add_argument("-o", "--output", required=True)
        parser.add_argument("--unmask", action="store_true", help="clear ID numbers and phones")
        parser.add_argument("--purpose", default="", help="required with --unmask; audited")

    def handle(self, *args: Any, **options: Any) -> None:
        node = Jurisdiction.objects.filter(code=options["jurisdiction"]).first()
        if node is None:
            raise CommandError(f"no jurisdiction with code {options['jurisdiction']}")
        output = Path(options["output"])
        if output.suffix.lower() not in {".xlsx", ".csv"}:
            raise CommandError("the output file must end in .xlsx or .csv")
        purpose = normalise_purpose(options["purpose"])
        if options["unmask"]:
            try:
                purpose = clean_purpose(purpose)
            except ValidationError as exc:
                raise CommandError(f"--unmask needs --purpose: {exc.messages[0]}") from exc
        persons = Person.objects.within(node.path)
        rows = person_export_rows(
            persons, [node.path] if options["unmask"] else [], today=timezone.localdate()
        )
        if output.suffix.lower() == ".csv":
            with output.open("w", encoding="utf-8", newline="") as fh:
                for chunk in csv_stream(PERSON_EXPORT_HEADER, rows):
                    fh.write(chunk)
        else:
            with output.open("wb") as fh:
                write_xlsx(fh, PERSON_EXPORT_HEADER, rows)
        count = persons.count()
        audit_record(
            action=AuditAction.EXPORT,
            actor_name="cli",
            object_repr="person list",
            jurisdiction_path=node.path,
            purpose=purpose,
            detail={"file": output.name, "rows": count, "unmasked": options["unmask"]},
        )
        self.stdout.write(f"{count} persons written to {output}")
