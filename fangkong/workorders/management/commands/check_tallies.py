"""`fangkong check-tallies [--fix]`: recount every work-order tally from the orders."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.org.models import Jurisdiction
from fangkong.workorders.services import tally_differences, tally_repair

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Recount the work-order tallies (open orders per due day, done orders per day) "
        "from the orders and report every difference; exits non-zero when one differs. "
        "--fix rewrites the tallies from the recount and audits the repair."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="rewrite the tallies from the recount (audited)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        differences = (
            tally_repair(actor_name="cli:check-tallies") if options["fix"] else tally_differences()
        )
        if not differences:
            self.stdout.write(self.style.SUCCESS("Every work-order tally matches a recount."))
            return
        codes = dict(
            Jurisdiction.objects.filter(pk__in={d.key[0] for d in differences}).values_list(
                "pk", "code"
            )
        )
        for d in differences[:SHOWN]:
            node, kind, day = d.key
            self.stderr.write(
                f"{codes.get(node, node)} {kind} {day}: stored open {d.stored[0]} done "
                f"{d.stored[1]}, recount open {d.counted[0]} done {d.counted[1]}"
            )
        if len(differences) > SHOWN:
            self.stderr.write(f"... and {len(differences) - SHOWN} more")
        if options["fix"]:
            self.stdout.write(
                self.style.SUCCESS(f"Rewrote the tallies: {len(differences)} differed.")
            )
            return
        raise CommandError(
            f"{len(differences)} tally entries differ from a recount; "
            "run `fangkong check-tallies --fix` to rewrite them."
        )
