"""Co-location contacts of index cases from a scan extract, on DuckDB or Spark:

    fangkong colocate --cases cases.csv                    # the places app's own scans
    fangkong colocate --extract scans.parquet --cases cases.csv
    fangkong colocate --extract scans.parquet --cases cases.csv --engine spark --master spark://host:7077

`cases.csv` has the columns person_key, onset, isolated_at (ISO 8601 with a zone). The
rules in force today (the edition's look-back, the co-location rule) apply unless given
here. Contacts are written as CSV to standard output, one per line with the reason.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.tabular import csv_stream
from fangkong.tracing.colocation import IndexCase, colocate, contacts
from fangkong.tracing.engines import engine_for
from fangkong.tracing.extract import (
    ExtractError,
    ParquetSource,
    extract,
    place_names,
    place_scans,
)
from fangkong.tracing.rules import settings_for


def read_cases(path: Path) -> list[IndexCase]:
    cases = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                onset = datetime.fromisoformat(row["onset"])
                isolated = datetime.fromisoformat(row["isolated_at"])
                key = row["person_key"].strip()
            except (KeyError, ValueError, AttributeError) as error:
                raise CommandError(
                    _("%(file)s row %(row)d: %(error)s")
                    % {"file": path.name, "row": number, "error": error}
                ) from error
            if onset.tzinfo is None or isolated.tzinfo is None or not key:
                raise CommandError(
                    _("%(file)s row %(row)d: a person key and times with a zone are needed.")
                    % {"file": path.name, "row": number}
                )
            cases.append(IndexCase(key, onset, isolated))
    return cases


class Command(BaseCommand):
    help = "Co-location contacts of index cases from a scan extract (DuckDB or Spark)."

    def add_arguments(self, parser: CommandParser) -> None:
        # Without an extract: the place-code scans kept by the places app.
        parser.add_argument("--extract", type=Path)
        parser.add_argument("--cases", type=Path, required=True)
        parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        parser.add_argument("--master", default="local[2]")
        parser.add_argument("--lookback-days", type=int)
        parser.add_argument("--tolerance-minutes", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        cases = read_cases(options["cases"])
        if not cases:
            raise CommandError(_("No index cases."))
        settings = settings_for(timezone.localdate())
        if options["lookback_days"] is not None:
            settings = replace(settings, lookback_days=options["lookback_days"])
        if options["tolerance_minutes"] is not None:
            settings = replace(settings, tolerance_minutes=options["tolerance_minutes"])
        start = min(c.onset for c in cases) - timedelta(days=settings.lookback_days)
        end = max(c.isolated_at for c in cases) + timedelta(days=1)
        try:
            scans = extract(
                ParquetSource(options["extract"]) if options["extract"] else place_scans(),
                start=start,
                end=end,
                assumed_stay=timedelta(minutes=settings.assumed_stay_minutes),
            )
        except (ExtractError, OSError) as error:
            raise CommandError(str(error)) from error
        engine = engine_for(options["engine"], master=options["master"])
        engine.load(scans, slot=settings.slot_minutes * 60)
        found = contacts(scans, colocate(engine, scans, cases, settings))
        engine.close()
        header = [
            "person_key",
            "degree",
            "source_key",
            "place_id",
            "t_in",
            "t_out",
            "overlap_minutes",
            "reason",
        ]
        # The places app's names where the extract is its scans; the ids otherwise.
        names = {} if options["extract"] else place_names(c.place_id for c in found)
        rows = (
            [
                c.person_key,
                c.degree,
                c.source_key,
                c.place_id,
                c.t_in.isoformat(),
                c.t_out.isoformat(),
                c.overlap_seconds // 60,
                c.reason(names.get(c.place_id, str(c.place_id)), c.source_key[:6]),
            ]
            for c in found
        )
        # Through the one writer (a reason is never read as a formula).
        for chunk in csv_stream(header, rows, bom=False):
            self.stdout.write(chunk, ending="")
