"""The registry import of a file too large to hold: validated, then committed, in parts.

The same two phases as `importer` (and the same functions for each part): pass 1 reads
the file part by part (`core.tabular_stream`), plans each part with
`plan_people_import` and keeps only the errors and what the parts must agree on; pass
2, only when pass 1 found the file importable, reads it again and writes each part
with `import_commit.write_plan`, all in one transaction (nothing half-imported).

What crosses parts is checked here: an ID number repeated in a later part, a
household whose rows sit in parts with different grids, two rows becoming the same
registered person; a household split between parts is written once. Every part is
matched against the registry as it was before the import (`registered_upto`), so
pass 2 plans exactly what pass 1 checked. Memory: one part's rows and plan, plus a
small entry per ID number, household and matched person of the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.core.tabular import Limits
from fangkong.core.tabular_stream import open_rows, row_chunks
from fangkong.people.import_columns import resolve_columns
from fangkong.people.import_commit import import_pragmas, write_plan
from fangkong.people.importer import (
    MAX_STORED_ERRORS,
    ImportOptions,
    ImportPlan,
    ImportScope,
    RowError,
    _header,
    plan_people_import,
)
from fangkong.people.models import Person

CHUNK_ROWS = 20_000


@dataclass
class StreamOutcome:
    rows_total: int = 0
    file_errors: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # the first MAX_STORED_ERRORS
    error_count: int = 0
    confirmations: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # planned, as ImportPlan.counts
    written: dict[str, int] | None = None  # write_plan's counts, summed; None if not written
    valid_only: bool = False

    @property
    def blocked(self) -> bool:
        return bool(
            self.file_errors or self.confirmations or (self.error_count and not self.valid_only)
        )


def _digest(number: str) -> int:
    # Eight bytes stand for the ID in the repeat check: a dict of a million ints, not
    # of a million strings.
    return int.from_bytes(hashlib.blake2b(number.encode(), digest_size=8).digest(), "big")


@dataclass
class _Across:
    """What the parts of one file must agree on, gathered in pass 1."""

    ids: dict[int, int] = field(default_factory=dict)  # ID digest -> first row
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (grid, row)
    owners: dict[int, int] = field(default_factory=dict)  # registered person -> row
    bad_rows: set[int] = field(default_factory=set)
    bad_keys: set[str] = field(default_factory=set)

    def check(self, plan: ImportPlan, out: StreamOutcome) -> None:
        def add(error: RowError) -> None:
            plan.errors.append(error)
            self.bad_rows.add(error.row)
            if plan.row_keys.get(error.row):
                self.bad_keys.add(plan.row_keys[error.row])

        for hh in plan.households:
            if hh.key:
                grid, first = self.keys.setdefault(hh.key, (hh.jurisdiction.pk, hh.persons[0].row))
                if grid != hh.jurisdiction.pk:
                    for p in hh.persons:
                        add(
                            RowError(
                                p.row,
                                _header(plan, "grid"),
                                hh.jurisdiction.name,
                                _(
                                    "Another row of this household (row %(row)d) is in a "
                                    "different grid."
                                )
                                % {"row": first},
                            )
                        )
                elif first < hh.persons[0].row and not any(p.existing for p in hh.persons):
                    out.counts["households_created"] -= 1  # counted in an earlier part
            for p in hh.persons:
                if p.data.id_number:
                    seen = self.ids.setdefault(_digest(p.data.id_number), p.row)
                    if seen != p.row:
                        add(
                            RowError(
                                p.row,
                                _header(plan, "id_number"),
                                "",
                                _("The same ID number is already in row %(row)d.") % {"row": seen},
                            )
                        )
                if p.existing is not None:
                    owner = self.owners.setdefault(p.existing, p.row)
                    if owner != p.row:
                        add(
                            RowError(
                                p.row,
                                _header(plan, "name"),
                                "",
                                _("This row and row %(row)d are the same registered person.")
                                % {"row": owner},
                            )
                        )
        for error in plan.errors:
            if plan.row_keys.get(error.row):
                self.bad_keys.add(plan.row_keys[error.row])


def import_people_stream(
    path: Path,
    scope: ImportScope,
    options: ImportOptions,
    *,
    actor: User | None,
    source: str,
    limits: Limits,
    chunk_rows: int = CHUNK_ROWS,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> StreamOutcome:
    """Validate the file at `path` part by part and, if it may be imported (and not
    `dry_run`), write it in one transaction; the outcome says which happened."""
    upto = Person.objects.aggregate(last=Max("pk"))["last"] or 0
    scope = replace(scope, registered_upto=upto, persons=scope.persons.filter(pk__lte=upto))
    out = StreamOutcome(valid_only=options.valid_only)
    across = _Across()
    stream = open_rows(path, limits=limits)
    try:
        columns, _unmapped = resolve_columns(stream.headers, options.mapping)
        key_column = columns.get("household_no")
        for rows in row_chunks(stream, chunk_rows, key_column):
            plan = plan_people_import(stream.table(rows), scope, options)
            out.rows_total += plan.rows_total
            if plan.file_errors:
                out.file_errors = plan.file_errors
                break
            for name, value in plan.counts.items():
                out.counts[name] = out.counts.get(name, 0) + value
            across.check(plan, out)
            out.error_count += len(plan.errors)
            out.errors += plan.errors[: max(MAX_STORED_ERRORS - len(out.errors), 0)]
            out.confirmations += len(plan.confirmations)
    finally:
        stream.close()
    out.counts["rows"] = out.rows_total
    out.counts["rows_with_errors"] = len({e.row for e in out.errors}) if out.errors else 0
    if out.blocked or dry_run:
        return out
    written: dict[str, int] = {}
    households: dict[str, int] = {}
    done = 0
    with import_pragmas(), transaction.atomic():
        stream = open_rows(path, limits=limits)
        try:
            for rows in row_chunks(stream, chunk_rows, key_column):
                kept = [r for r in rows if r[0] not in across.bad_rows]
                plan = plan_people_import(stream.table(kept), scope, options)
                if plan.blocked:  # pass 1 saw this part importable; the file changed
                    raise RuntimeError(f"{path.name} changed while it was imported")
                if options.valid_only:
                    plan.households = [
                        hh for hh in plan.households if hh.key not in across.bad_keys
                    ]
                result = write_plan(
                    plan=plan, actor=actor, source=source, households_by_key=households
                )
                for name, value in result.items():
                    written[name] = written.get(name, 0) + value
                done += len(rows)
                if progress:
                    progress(done)
        finally:
            stream.close()
    written["rows_skipped"] = written.get("rows_skipped", 0) + len(across.bad_rows)
    out.written = written
    return out
