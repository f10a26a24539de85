"""Importing households and persons from a spreadsheet: validate into a plan, then commit.

Phase 1 (`plan_people_import`) checks every row — person fields through the one
`clean_person`, the grid within the importer's scope and the leaf rule, household
fields, spreadsheet damage — and finds who is already registered: by ID number (its
blind index), otherwise by an exact name/birth-date match in the same grid, otherwise
by the matcher, whose unsure answers a person confirms. Phase 2 (`commit_plan`) writes
the plan in one transaction with bulk statements, so 100,000 rows fit in a minute, and
records every change in the persons' history. Re-importing the same file finds every
row registered and unchanged, and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.core.crypto import BlindIndexMemo, blind_index
from fangkong.core.identity import normalise_id_number
from fangkong.core.masking import mask_id_number, mask_middle, mask_name, mask_phone
from fangkong.core.tabular import FORMULA_NO_VALUE, LONG_NUMBER, Table
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.people import matching
from fangkong.people.import_columns import (
    FIELD_LABELS,
    HOUSEHOLD_FIELDS,
    ID_FIELDS,
    PHONE_FIELDS,
    clean_household,
    column_problems,
    mask_value,
    read_columns,
    resolve_columns,
)
from fangkong.people.models import HousingType, Person, PersonTag
from fangkong.people.names import name_key
from fangkong.people.services import (
    PERSON_FIELDS,
    check_leaf,
    compose_address,
)
from fangkong.people.validation import CleanPerson, clean_person

BATCH = 2000
MAX_STORED_ERRORS = 1000
_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = BATCH) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class RowError:
    row: int
    column: str  # the header as it appears in the file
    value: str  # masked for IDs, phones and names
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PlannedPerson:
    row: int
    data: CleanPerson
    existing: int | None = None  # the registered person's pk when matched


@dataclass
class PlannedHousehold:
    key: str
    jurisdiction: Jurisdiction
    fields: dict[str, str]
    persons: list[PlannedPerson] = field(default_factory=list)
    # False for rows with no household columns at all: persons registered on the grid.
    real: bool = True


@dataclass
class Confirmation:
    row: int
    name: str  # masked
    person_id: int
    person: str  # masked description of the registered person
    score: float
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportScope:
    """Where the importer may write: jurisdictions and persons within their reach."""

    nodes: list[Jurisdiction]
    roots: list[str]
    persons: QuerySet[Person]
    # Only persons up to this id count as registered: a streamed import matches each
    # part of its file against the registry as it was, not against its own earlier parts.
    registered_upto: int | None = None

    def __post_init__(self) -> None:
        self.by_code = {n.code: n for n in self.nodes}
        self.by_name: dict[str, list[Jurisdiction]] = defaultdict(list)
        for n in self.nodes:
            self.by_name[n.name].append(n)

    def covers(self, path: str) -> bool:
        return any(path.startswith(root) for root in self.roots)


def scope_for_user(user: User) -> ImportScope:
    from fangkong.org.scoping import scope_paths

    return ImportScope(
        nodes=list(Jurisdiction.objects.visible_to(user, Perm.PEOPLE_IMPORT)),
        roots=scope_paths(user, Perm.PEOPLE_IMPORT),
        persons=Person.objects.visible_to(user, Perm.PEOPLE_IMPORT),
    )


def scope_for_root(root: Jurisdiction | None) -> ImportScope:
    """The command line's scope: one subtree, or the whole tree."""
    if root is None:
        return ImportScope(list(Jurisdiction.objects.all()), ["/"], Person.objects.all())
    return ImportScope(
        nodes=list(Jurisdiction.objects.within(root.path)),
        roots=[root.path],
        persons=Person.objects.within(root.path),
    )


@dataclass
class ImportOptions:
    filename: str
    default_code: str = ""
    valid_only: bool = False
    mapping: Mapping[str, str] = field(default_factory=dict)  # header -> field ("" ignore)
    decisions: Mapping[str, str] = field(default_factory=dict)  # row -> "new" | person pk
    unsure_as_new: bool = False
    today: date | None = None
    # The web import asks about every column of IDs or phones nothing reads (the mapping
    # step); the command line, which cannot ask, names them (ImportPlan.unread).
    ask_columns: bool = False


@dataclass
class ImportPlan:
    headers: list[str]
    columns: dict[str, int]
    unmapped: list[tuple[int, str]]
    rows_total: int = 0
    file_errors: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Unusual values that do not stop a row (CleanPerson.warnings), row by row.
    warnings: list[RowError] = field(default_factory=list)
    households: list[PlannedHousehold] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)
    existing: dict[int, Person] = field(default_factory=dict)
    existing_tags: dict[int, set[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    valid_only: bool = False
    matched: dict[int, int] = field(default_factory=dict)  # row -> registered person pk
    row_keys: dict[int, str] = field(default_factory=dict)  # row -> household key
    # Columns of IDs or phones that nothing reads and nobody answered for.
    unread: list[str] = field(default_factory=list)
    # Keyed hashes of this file's IDs and phones, each computed once for matching and
    # for the stored keys.
    blind: BlindIndexMemo = field(default_factory=BlindIndexMemo, repr=False)

    @property
    def invalid_rows(self) -> set[int]:
        return {e.row for e in self.errors}

    @property
    def blocked(self) -> bool:
        """Whether a commit must refuse: file errors, unanswered matches, or row errors
        when everything must be valid."""
        undecided = any(c.person_id for c in self.confirmations)
        return bool(self.file_errors or undecided or (self.errors and not self.valid_only))

    def given(self, name: str) -> bool:
        return name in self.columns


def _sanitise(field_name: str, message: str) -> str:
    """Messages may quote the value; an ID or phone must not come back in clear."""
    if field_name in ID_FIELDS or field_name in PHONE_FIELDS:
        import re

        return re.sub(r"[0-9Xx]{7,}", lambda m: mask_middle(m.group(), 3, 4), message)
    return message


def _grid(text: str, scope: ImportScope, leaf_cache: dict[int, str | None]) -> Jurisdiction | str:
    """The grid a row names (code or name) or the message why it cannot be used."""
    node = scope.by_code.get(text)
    if node is None:
        named = scope.by_name.get(text, [])
        if len(named) > 1:
            return _("Several jurisdictions are named %(value)s; use the code.") % {"value": text}
        node = named[0] if named else None
    if node is None:
        return _("%(value)s is not a grid in your jurisdiction.") % {"value": text}
    if node.pk not in leaf_cache:
        try:
            check_leaf(node)
            leaf_cache[node.pk] = None
        except ValidationError as exc:
            leaf_cache[node.pk] = " ".join(exc.messages)
    return leaf_cache[node.pk] or node


def plan_people_import(table: Table, scope: ImportScope, options: ImportOptions) -> ImportPlan:
    """Phase 1: every row checked, matched and grouped; nothing written."""
    plan = _plan_rows(table, scope, options)
    plan.unread = column_problems(read_columns(table, options.mapping))
    if options.ask_columns:
        # Blocks the commit; the rows were still checked, so the preview is complete.
        plan.file_errors.extend(plan.unread)
    return plan


def _plan_rows(table: Table, scope: ImportScope, options: ImportOptions) -> ImportPlan:
    columns, unmapped = resolve_columns(table.headers, options.mapping)
    plan = ImportPlan(
        table.headers, columns, unmapped, rows_total=len(table.rows), valid_only=options.valid_only
    )
    if table.header_merges:
        plan.file_errors.append(
            _(
                "The header has merged cells (%(cells)s): it looks like a header of two rows. "
                "Keep one header row with one title per column."
            )
            % {"cells": ", ".join(table.header_merges[:10])}
        )
    if "name" not in columns:
        plan.file_errors.append(_("No column holds the names: map one below."))
    default = options.default_code.strip()
    if "grid" not in columns and not default:
        plan.file_errors.append(_("No column holds the grid: map one, or choose a grid."))
    if plan.file_errors:
        return plan
    today = options.today or timezone.localdate()

    def header(name: str) -> str:
        return table.headers[columns[name]] if name in columns else str(FIELD_LABELS[name])

    def add(row: int, name: str, value: str, message: str) -> None:
        plan.errors.append(
            RowError(row, header(name), mask_value(name, value), _sanitise(name, message))
        )

    leaf_cache: dict[int, str | None] = {}
    seen_ids: dict[str, int] = {}
    parsed: list[tuple[int, CleanPerson, Jurisdiction, dict[str, str], str]] = []
    household_columns = [
        f for f in ("household_no", "head_name", *HOUSEHOLD_FIELDS) if f in columns
    ]
    items = list(columns.items())
    for number, cells in table.rows:
        raw = {f: cells[i] if i < len(cells) else "" for f, i in items}
        bad = False
        for f, i in items:
            flag = table.cell_flags.get((number, i))
            if flag == FORMULA_NO_VALUE:
                add(number, f, "", _("A formula without a value: paste the values instead."))
                bad = True
            elif flag == LONG_NUMBER and f in ID_FIELDS:
                add(
                    number,
                    f,
                    raw[f],
                    _(
                        "The ID number was stored as a number, so Excel kept only its first 15 "
                        "digits; format the column as text and enter the number again."
                    ),
                )
                raw[f] = ""
                bad = True
        person, person_errors = clean_person(raw, today=today)
        for f, messages in (person.warnings if person else {}).items():
            plan.warnings += [
                RowError(number, header(f), mask_value(f, raw.get(f, "")), _sanitise(f, m))
                for m in messages
            ]
        for f, messages in person_errors.items():
            if f == "id_number" and bad and not raw.get("id_number"):
                continue  # already explained as stored-as-number
            for message in messages:
                add(number, f, raw.get(f, ""), message)
        household, household_errors = clean_household(raw)
        for f, messages in household_errors.items():
            for message in messages:
                add(number, f, raw.get(f, ""), message)
        grid_text = raw.get("grid", "").strip() or default
        grid: Jurisdiction | str = (
            _grid(grid_text, scope, leaf_cache) if grid_text else _("The grid is empty.")
        )
        if isinstance(grid, str):
            add(number, "grid", grid_text, grid)
        key = ""
        if household_columns:
            no = raw.get("household_no", "").strip()
            address = tuple(household.get(f, "") for f in HOUSEHOLD_FIELDS[:6])
            if no:
                key = "no:" + no
            elif any(address):
                key = "at:" + "|".join((grid_text, raw.get("head_name", ""), *address))
        if key:
            plan.row_keys[number] = key
        id_key = person.id_number if person else normalise_id_number(raw.get("id_number", ""))
        if id_key and "id_number" not in person_errors:
            first = seen_ids.setdefault(id_key, number)
            if first != number:
                add(
                    number,
                    "id_number",
                    id_key,
                    _("The same ID number is already in row %(row)d.") % {"row": first},
                )
                continue
        if person is None or bad or household_errors or isinstance(grid, str):
            continue
        parsed.append((number, person, grid, household, key))
    _match_existing(plan, scope, parsed, options)
    _group(plan, parsed, household_columns)
    _count(plan)
    return plan


def _match_existing(
    plan: ImportPlan,
    scope: ImportScope,
    parsed: list[tuple[int, CleanPerson, Jurisdiction, dict[str, str], str]],
    options: ImportOptions,
) -> None:
    """Registered persons for the rows: by ID number, exact name + birth, then matcher."""
    invalid = plan.invalid_rows
    rows = [p for p in parsed if p[0] not in invalid]
    by_hash = {plan.blind(p[1].id_number): p for p in rows if p[1].id_number}
    matched: dict[int, int] = {}  # row -> person pk
    hashes = list(by_hash)
    for part in chunks(hashes):
        found = Person.objects.filter(id_number_hash__in=part)
        if scope.registered_upto is not None:
            found = found.filter(pk__lte=scope.registered_upto)
        for pk, h, path in found.values_list("pk", "id_number_hash", "jurisdiction__path"):
            if h is None:
                continue
            number, person = by_hash[h][0], by_hash[h][1]
            if scope.covers(path):
                matched[number] = pk
            else:
                plan.errors.append(
                    RowError(
                        number,
                        _header(plan, "id_number"),
                        mask_id_number(person.id_number),
                        _("A person with this ID number is registered outside your jurisdiction."),
                    )
                )
    rest = [p for p in rows if p[0] not in matched and p[0] not in plan.invalid_rows]
    # Persons without an ID number: the same name and birth date in the same grid. Only
    # rows sharing a name key or a phone with someone in scope go on to the matcher, so
    # a file of newcomers costs two indexed queries per 2,000 rows, not a match each.
    keys = {name_key(p[1].name) for p in rest}
    exact: dict[tuple[int, str, date | None], list[int]] = defaultdict(list)
    phones = {plan.blind(p[1].phone) for p in rest if p[1].phone}
    known_keys: set[str] = set()
    known_phones: set[str] = set()
    for part in chunks(sorted(keys)):
        for pk, jid, key, birth, h in scope.persons.filter(name_key__in=part).values_list(
            "pk", "jurisdiction_id", "name_key", "birth_date", "id_number_hash"
        ):
            known_keys.add(key)
            if not h:
                exact[(jid, key, birth)].append(pk)
    for part in chunks(sorted(phones)):
        known_phones.update(
            h
            for h in scope.persons.filter(phone_hash__in=part).values_list("phone_hash", flat=True)
            if h
        )
    unsure: list[tuple[int, CleanPerson]] = []
    for number, person, grid, _h, _k in rest:
        hits = exact.get((grid.pk, name_key(person.name), person.birth_date), [])
        if len(hits) == 1 and not person.id_number:
            matched[number] = hits[0]
        elif name_key(person.name) in known_keys or (
            person.phone and plan.blind(person.phone) in known_phones
        ):
            unsure.append((number, person))
    candidates = _run_matcher([p for _n, p in unsure], scope.persons)
    for (number, person), (candidate, automatic) in zip(unsure, candidates, strict=True):
        decision = options.decisions.get(str(number), "")
        if candidate is None or decision == "new":
            continue
        if automatic or decision == str(candidate.person_id):
            matched[number] = candidate.person_id
        elif not options.unsure_as_new:
            plan.confirmations.append(
                Confirmation(
                    number,
                    mask_name(person.name),
                    candidate.person_id,
                    "",
                    candidate.score,
                    list(candidate.reasons),
                )
            )
    if plan.confirmations:
        described = {
            p.pk: p for p in scope.persons.filter(pk__in=[c.person_id for c in plan.confirmations])
        }
        for c in plan.confirmations:
            p = described.get(c.person_id)
            c.person = (
                f"{mask_name(p.name)} {mask_id_number(p.id_number)} {mask_phone(p.phone)} "
                f"{p.birth_date or ''}".strip()
                if p
                else ""
            )
    # Two rows must not both become the same registered person.
    owner: dict[int, int] = {}
    for number in sorted(matched):
        pk = matched[number]
        if pk in owner:
            plan.errors.append(
                RowError(
                    number,
                    _header(plan, "name"),
                    "",
                    _("This row and row %(row)d are the same registered person.")
                    % {"row": owner[pk]},
                )
            )
            del matched[number]
        else:
            owner[pk] = number
    ids = sorted(set(matched.values()))
    for id_part in chunks(ids):
        for p in Person.objects.filter(pk__in=id_part):
            plan.existing[p.pk] = p
        for pid, tag in PersonTag.objects.filter(person_id__in=id_part).values_list(
            "person_id", "tag"
        ):
            plan.existing_tags.setdefault(pid, set()).add(tag)
    plan.matched = matched


def _header(plan: ImportPlan, name: str) -> str:
    return plan.headers[plan.columns[name]] if name in plan.columns else str(FIELD_LABELS[name])


def _run_matcher(
    persons: list[CleanPerson], pool: QuerySet[Person]
) -> list[tuple[matching.Candidate | None, bool]]:
    """Per person: the matcher's best candidate and whether it may be taken unasked."""
    if not persons:
        return []
    records = [
        matching.OutsideRecord(
            name=p.name,
            id_number=p.id_number,
            phone=p.phone,
            birth_date=p.birth_date.isoformat() if p.birth_date else "",
        )
        for p in persons
    ]
    return [
        (candidates[0] if candidates else None, matching.best_match(candidates) is not None)
        for candidates in matching.match_records(records, persons=pool)
    ]


def _group(
    plan: ImportPlan,
    parsed: list[tuple[int, CleanPerson, Jurisdiction, dict[str, str], str]],
    household_columns: list[str],
) -> None:
    """Rows into households; in valid-only mode a household with a bad row is dropped."""
    matched = plan.matched
    invalid = plan.invalid_rows
    all_rows: dict[str, list[int]] = defaultdict(list)
    grids: dict[str, Jurisdiction] = {}
    households: dict[str, PlannedHousehold] = {}
    for number, _person, grid, _household, key in parsed:
        if not key:
            continue
        all_rows[key].append(number)
        if key in grids and grids[key].pk != grid.pk and number not in invalid:
            plan.errors.append(
                RowError(
                    number,
                    _header(plan, "grid"),
                    grid.name,
                    _("Another row of this household (row %(row)d) is in a different grid.")
                    % {"row": all_rows[key][0]},
                )
            )
            invalid.add(number)
        grids.setdefault(key, grid)
    # Rows that failed validation never reach `parsed`; find their households by number.
    for number, person, grid, household, key in parsed:
        if number in invalid:
            continue
        planned = PlannedPerson(number, person, matched.get(number))
        if not key:
            plan.households.append(PlannedHousehold("", grid, household, [planned], real=False))
            continue
        target = households.get(key)
        if target is None:
            target = households[key] = PlannedHousehold(key, grid, dict(household))
            plan.households.append(target)
        else:
            for f in HOUSEHOLD_FIELDS:
                if not target.fields.get(f) and household.get(f):
                    target.fields[f] = household[f]
        target.persons.append(planned)
    bad_keys: dict[str, list[int]] = defaultdict(list)
    for number in sorted(invalid):
        if plan.row_keys.get(number):
            bad_keys[plan.row_keys[number]].append(number)
    if not bad_keys or not plan.valid_only:
        return  # all or nothing: the row errors already block the whole file
    kept = []
    for hh in plan.households:
        if hh.key in bad_keys:
            first_bad = bad_keys[hh.key][0]
            for p in hh.persons:
                plan.errors.append(
                    RowError(
                        p.row,
                        _header(plan, "name"),
                        mask_name(p.data.name),
                        _(
                            "Not imported: row %(row)d of the same household has errors, and a "
                            "household is imported whole or not at all."
                        )
                        % {"row": first_bad},
                    )
                )
        else:
            kept.append(hh)
    plan.households = kept


def _count(plan: ImportPlan) -> None:
    created = updated = unchanged = households_new = 0
    for hh in plan.households:
        if hh.real and not any(p.existing for p in hh.persons):
            households_new += 1
        for p in hh.persons:
            if p.existing is None:
                created += 1
            elif _person_changes(plan, plan.existing[p.existing], p.data, hh):
                updated += 1
            else:
                unchanged += 1
    plan.counts = {
        "rows": plan.rows_total,
        "persons_created": created,
        "persons_updated": updated,
        "persons_unchanged": unchanged,
        "households_created": households_new,
        "rows_with_errors": len(plan.invalid_rows),
    }


def _given_fields(plan: ImportPlan, data: CleanPerson) -> list[str]:
    """The person fields this file speaks about; others keep their registered values."""
    has_id = plan.given("id_number") and bool(data.id_number)
    out = []
    for f in PERSON_FIELDS:
        if (
            plan.given(f)
            or f == "name"
            or (f in ("sex", "birth_date", "id_type") and has_id)
            or (f == "no_id_reason" and has_id)
        ):
            out.append(f)
    return out


def _person_changes(
    plan: ImportPlan, person: Person, data: CleanPerson, hh: PlannedHousehold
) -> dict[str, tuple[Any, Any]]:
    changes = {
        f: (getattr(person, f), getattr(data, f))
        for f in _given_fields(plan, data)
        if getattr(person, f) != getattr(data, f)
    }
    if plan.given("tags"):
        old = plan.existing_tags.get(person.pk, set())
        if old != data.tags:
            changes["tags"] = (sorted(old), sorted(data.tags))
    if person.jurisdiction_id != hh.jurisdiction.pk:
        changes["jurisdiction"] = (person.jurisdiction_id, hh.jurisdiction.pk)
    return changes


Progress = Callable[[int], None]


def commit_plan(
    *, plan: ImportPlan, actor: User | None, source: str, progress: Progress | None = None
) -> dict[str, int]:
    """Phase 2: write the plan atomically; returns the counts."""
    if plan.blocked:
        raise ValidationError(_("The file has errors; nothing was imported."))
    from fangkong.people.import_commit import import_pragmas, write_plan

    with import_pragmas(), transaction.atomic():
        return write_plan(plan=plan, actor=actor, source=source, progress=progress)


def village_names(nodes: Iterable[Jurisdiction]) -> dict[int, str]:
    """The village name above each node (for composed addresses), in one query."""
    nodes = list(nodes)
    codes = {c for n in nodes for c in n.ancestor_codes()}
    villages = dict(
        Jurisdiction.objects.filter(code__in=codes, level=Level.VILLAGE).values_list("code", "name")
    )
    return {
        n.pk: next((villages[c] for c in n.ancestor_codes() if c in villages), "") for n in nodes
    }


def household_values(fields: Mapping[str, str], village: str) -> dict[str, Any]:
    values: dict[str, Any] = {f: fields.get(f, "") for f in HOUSEHOLD_FIELDS}
    values["housing_type"] = values["housing_type"] or HousingType.OWNED
    values["address"] = (
        compose_address(village=village, **{f: values[f] for f in HOUSEHOLD_FIELDS[:6]})
        or village
        or "-"
    )
    phone = values["landlord_phone"]
    values["landlord_phone_hash"] = blind_index(phone) if phone else ""
    return values
