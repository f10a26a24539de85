"""`fangkong purge [--dry-run]`: anonymise or delete what is past its retention period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.retention.kinds import describe
from fangkong.retention.models import PurgeStatus, RecordKind
from fangkong.retention.services import BATCH, periods, purge_run, purpose


class Command(BaseCommand):
    help = (
        "Anonymise or delete every record past its retention period (rules at "
        "/retention/), in batches; keeps the counts, the daily reports and the bulletins; "
        "writes a purge report and audits it. --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
        parser.add_argument("--batch", type=int, default=BATCH, help="records per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        dry = options["dry_run"]
        run = purge_run(actor_name="cli:purge", dry_run=dry, batch=max(options["batch"], 1))
        days = periods()
        ended = purpose().ended_on
        self.stdout.write(
            ("Dry run: would purge" if dry else "Purged")
            + f" {run.total} records (report #{run.pk}); the epidemic's control "
            + (f"ended on {ended:%Y-%m-%d}." if ended else "has not been declared ended.")
        )
        for kind in RecordKind:
            self.stdout.write(
                f"  {kind.value:<18} {run.counts.get(kind.value, 0):>8}   kept {days[kind]} days "
                f"after {describe(kind).counts_from}"
            )
        for key, value in sorted(run.detail.items()):
            self.stdout.write(f"  {key:<30} {value:>8}")
        if run.status == PurgeStatus.FAILED:
            raise CommandError(f"The purge stopped: {run.message} (run it again to go on)")
