"""`fangkong restore FILE [--force]`: a backup into an empty database, then migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.retention.backup import BackupError, read_manifest, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `fangkong backup` into the configured database, which "
        "must be empty (--force replaces everything in it), then migrate it. Refuses a "
        "backup of another database vendor, of a newer fangkong, or made with another "
        "encryption key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the configured database's contents even if it is not empty",
        )
        parser.add_argument(
            "--check", action="store_true", help="only check the backup against this setup"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            if options["check"]:
                from fangkong.retention.backup import check_restore

                manifest = read_manifest(path)
                check_restore(manifest, force=options["force"])
                self.stdout.write(
                    f"{path}: a {manifest.vendor} backup made {manifest.created_at} by "
                    f"fangkong {manifest.fangkong}; it can be restored here."
                )
                return
            manifest = restore_backup(path, force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        audit_record(
            action=AuditAction.IMPORT,
            actor_name="cli:restore",
            object_repr="database restore",
            detail={
                "kind": "restore",
                "file": path.name,
                "backup_created_at": manifest.created_at,
                "vendor": manifest.vendor,
                "fangkong": manifest.fangkong,
                "forced": bool(options["force"]),
            },
        )
        self.stdout.write(
            f"Restored the backup made {manifest.created_at} and migrated the database. "
            "Run `fangkong purge --dry-run`: what passed its retention period since the "
            "backup was made is due again."
        )
