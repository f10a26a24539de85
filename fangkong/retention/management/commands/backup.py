"""`fangkong backup [-o FILE]`: the whole database in one file (see retention/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.retention.backup import BackupError, make_backup


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump custom format on PostgreSQL, an online copy on "
        "SQLite) with its uploads, photos and bulletins into one file; the encryption and "
        "secret keys are never in it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-o",
            "--output",
            help="the backup file (default: var/backups/fangkong-<time>.fkbackup)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = (
            Path(options["output"])
            if options["output"]
            else Path(settings.DATA_DIR)
            / "backups"
            / f"fangkong-{timezone.localtime():%Y%m%d-%H%M%S}.fkbackup"
        )
        try:
            manifest = make_backup(output)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        audit_record(
            action=AuditAction.EXPORT,
            actor_name="cli:backup",
            object_repr="database backup",
            detail={
                "kind": "backup",
                "file": output.name,
                "vendor": manifest.vendor,
                "bytes": manifest.size,
                "key_fingerprint": manifest.key_fingerprint,
            },
        )
        self.stdout.write(
            f"Backed up the {manifest.vendor} database to {output} "
            f"({manifest.size:,} bytes of data, key fingerprint {manifest.key_fingerprint[:12]}). "
            "Keep the encryption key apart from it: without the key the backup cannot be read."
        )
