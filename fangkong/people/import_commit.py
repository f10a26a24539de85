"""Phase 2 of the registry import: the plan written with bulk statements.

Called inside the transaction `importer.commit_plan` opens. The history written here
has the shape `services.person_update` writes (field -> [old, new], personal data
masked), one PersonChange per created or changed person; one per row through the
services would cost four queries a row, which 100,000 rows cannot afford.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.core.copytext import copy_blocks
from fangkong.core.crypto import blind_index, encrypt
from fangkong.core.fields import EncryptedTextField
from fangkong.people.import_columns import HOUSEHOLD_FIELDS
from fangkong.people.importer import (
    BATCH,
    ImportPlan,
    Progress,
    _person_changes,
    chunks,
    household_values,
    village_names,
)
from fangkong.people.models import Household, Person, PersonChange, PersonTag, Relationship
from fangkong.people.names import name_initials, name_key
from fangkong.people.services import PERSON_FIELDS, _history_value, compose_address

# Field types whose Python value is already what the driver sends: preparing them
# through the field (to_python, get_prep_value, get_db_prep_value) per value cost more
# than the database did at 100,000 rows. Exact types: a subclass (the encrypted text
# field) may transform its values.
_PLAIN_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.TextField,
)


def _preparer(f: Any, conn: Any) -> Callable[[Any], Any] | None:
    """How a value of `f` is prepared for the database; None when it goes as it is."""
    if type(f) in _PLAIN_FIELDS:
        return None
    if isinstance(f, models.ForeignKey) and type(f.target_field) in _PLAIN_FIELDS:
        return None
    if type(f) is EncryptedTextField:
        # What its get_prep_value does, without the text field's to_python before it.
        return _encrypted
    if type(f) is models.DateField:
        adapt_date = conn.ops.adapt_datefield_value
        return lambda value: None if value is None else adapt_date(value)
    if type(f) is models.DateTimeField:
        # A column of rows written together holds one timestamp: adapted once.
        last: list[Any] = [None, None]

        def adapt_stamp(value: Any) -> Any:
            if value is not last[0]:
                last[0], last[1] = value, f.get_db_prep_save(value, conn)
            return last[1]

        return adapt_stamp
    return partial(_db_prep, f, conn)


def _db_prep(f: Any, conn: Any, value: Any) -> Any:
    return f.get_db_prep_save(value, conn)


def _encrypted(value: Any) -> Any:
    return value if value is None or value == "" else encrypt(str(value))


def _prepared(
    fields: Sequence[Any], rows: Iterable[Sequence[Any]], conn: Any
) -> Iterator[list[Any]]:
    preparers = [(i, p) for i, f in enumerate(fields) if (p := _preparer(f, conn)) is not None]
    for row in rows:
        values = list(row)
        for i, prepare in preparers:
            values[i] = prepare(values[i])
        yield values


def _fields(model: Any, names: Sequence[str]) -> list[Any]:
    meta = model._meta
    by_name = {f.name: f for f in meta.concrete_fields} | {
        f.attname: f for f in meta.concrete_fields
    }
    return [by_name[n] for n in names]


def insert_rows(
    model: Any, names: Sequence[str], rows: Sequence[Sequence[Any]], *, ids: bool = False
) -> list[int]:
    """Insert plain rows (values in the order of the field names `names`); with `ids`,
    return the new primary keys in row order.

    No model instances: building 100,000 of them for tags and history cost more than
    writing them. PostgreSQL gets COPY (with ids taken from the table's sequence first,
    since COPY returns none); SQLite gets executemany, or multi-row INSERT ... RETURNING
    when the ids are needed (3.35+ returns them in VALUES order, as `bulk_create` also
    relies on).
    """
    if not rows:
        return []
    conn = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    qn = conn.ops.quote_name
    fields = _fields(model, names)
    table = qn(meta.db_table)
    if conn.vendor == "postgresql":
        new_ids: list[int] = []
        with conn.cursor() as cursor:
            if ids:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(rows)],
                )
                new_ids = [row[0] for row in cursor.fetchall()]
            names_pg = [meta.pk.column] * ids + [f.column for f in fields]
            head = ", ".join(qn(c) for c in names_pg)
            # The driver's own COPY: its errors made Django's (IntegrityError, ...), as
            # execute()'s are, so callers that retry a lost race catch them.
            with (
                conn.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({head}) FROM STDIN") as copy,
            ):
                prepared: Iterable[Sequence[Any]] = _prepared(fields, rows, conn)
                if ids:
                    prepared = (
                        [new_id, *values] for new_id, values in zip(new_ids, prepared, strict=True)
                    )
                # As text: the driver's per-value adaptation cost more than the server.
                for block in copy_blocks(prepared):
                    copy.write(block)
        return new_ids
    columns = ", ".join(qn(f.column) for f in fields)
    # Only quoted names from the model's meta and placeholders; values are parameters.
    head = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    out: list[int] = []
    with conn.cursor() as cursor:
        if not ids:
            cursor.executemany(head + row_sql, list(_prepared(fields, rows, conn)))
            return out
        size = min(1000, (conn.features.max_query_params or 999_999) // len(fields))
        for part in chunks(rows, size):
            params = [v for values in _prepared(fields, part, conn) for v in values]
            sql = head + ", ".join([row_sql] * len(part)) + f" RETURNING {qn(meta.pk.column)}"
            cursor.execute(sql, params)
            out += [row[0] for row in cursor.fetchall()]
    return out


def fast_insert(model: Any, objs: Sequence[Any]) -> None:
    """Insert model instances (as `bulk_create` would) and set their primary keys.

    Through `insert_rows`: only the values of fields that transform them (encrypted,
    dates, JSON) are prepared by the field; foreign keys to objects saved after they
    were assigned are resolved as `save()` does.
    """
    if not objs:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    relations = [f for f in fields if f.is_relation]
    now = timezone.now()
    stamped = [
        f for f in fields if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
    ]
    rows = []
    for obj in objs:
        for f in relations:
            if getattr(obj, f.attname) is None and f.is_cached(obj):
                related = f.get_cached_value(obj)
                if related is not None:
                    setattr(obj, f.attname, related.pk)
        for f in stamped:
            setattr(obj, f.attname, now)
        rows.append([getattr(obj, f.attname) for f in fields])
    new_ids = insert_rows(model, [f.attname for f in fields], rows, ids=True)
    alias = connections[DEFAULT_DB_ALIAS].alias
    for obj, pk in zip(objs, new_ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias


_DERIVED = (
    "name_key",
    "name_initials",
    "id_number_hash",
    "id_last4_hash",
    "phone_hash",
    "phone2_hash",
)


def _households(
    plan: ImportPlan, now: Any, by_key: dict[str, int] | None = None
) -> tuple[list[Household | None], int, int]:
    """The household of each planned household (created or updated), and the counts.

    `by_key` (a streamed import) holds the households its earlier parts wrote, by the
    file's household key; a household whose rows are split between parts is one
    household, and the new ones of this part are added to it."""
    villages = village_names(
        {hh.jurisdiction.pk: hh.jurisdiction for hh in plan.households}.values()
    )
    ids = {
        plan.existing[p.existing].household_id
        for hh in plan.households
        for p in hh.persons
        if p.existing is not None
    } - {None}
    existing: dict[int, Household] = {}
    earlier = {hh.key: by_key[hh.key] for hh in plan.households if by_key and hh.key in by_key}
    ids |= set(earlier.values())
    for part in chunks(sorted(i for i in ids if i is not None)):
        existing.update(Household.objects.in_bulk(list(part)))
    targets: list[Household | None] = []
    new: list[Household] = []
    changed: list[Household] = []
    for hh in plan.households:
        if not hh.real:
            targets.append(None)
            continue
        members = [plan.existing[p.existing] for p in hh.persons if p.existing is not None]
        members.sort(key=lambda m: m.relationship != Relationship.HEAD)
        current = next((existing[m.household_id] for m in members if m.household_id), None)
        if current is None and hh.key in earlier:
            current = existing[earlier[hh.key]]
        village = villages.get(hh.jurisdiction.pk, "")
        if current is None:
            household = Household(
                jurisdiction=hh.jurisdiction, **household_values(hh.fields, village)
            )
            new.append(household)
            targets.append(household)
            continue
        dirty = False
        for f in HOUSEHOLD_FIELDS:
            value = hh.fields.get(f, "")
            # An empty cell says nothing; a household's data is not wiped by a thin file.
            if plan.given(f) and value and getattr(current, f) != value:
                setattr(current, f, value)
                dirty = True
        if current.jurisdiction_id != hh.jurisdiction.pk:
            current.jurisdiction = hh.jurisdiction
            dirty = True
        if dirty:
            current.landlord_phone_hash = (
                blind_index(current.landlord_phone) if current.landlord_phone else ""
            )
            current.address = (
                compose_address(
                    village=village, **{f: getattr(current, f) for f in HOUSEHOLD_FIELDS[:6]}
                )
                or current.address
            )
            current.updated_at = now
            changed.append(current)
        targets.append(current)
    fast_insert(Household, new)
    if by_key is not None:
        for hh, target in zip(plan.households, targets, strict=True):
            if target is not None and hh.key:
                by_key.setdefault(hh.key, target.pk)
    Household.objects.bulk_update(
        changed,
        [*HOUSEHOLD_FIELDS, "landlord_phone_hash", "address", "jurisdiction", "updated_at"],
        batch_size=BATCH,
    )
    return targets, len(new), len(changed)


def _derived(plan: ImportPlan, values: dict[str, Any]) -> dict[str, Any]:
    """`services.derived_columns` with the import's hash memo: the same keys, each
    value hashed once (the last four digits repeat thousands of times in a file)."""
    number, phone, phone2 = values["id_number"], values["phone"], values["phone2"]
    blind = plan.blind
    return {
        "name_key": name_key(values["name"]),
        "name_initials": name_initials(values["name"]),
        "id_number_hash": blind(number) if number else None,
        "id_last4_hash": blind("last4:" + number[-4:]) if len(number) >= 4 else None,
        "phone_hash": blind(phone) if phone else None,
        "phone2_hash": blind(phone2) if phone2 else None,
    }


_NEW_PERSON = (
    "jurisdiction_id",
    "household_id",
    *PERSON_FIELDS,
    *_DERIVED,
    "created_at",
    "updated_at",
)


@contextmanager
def import_pragmas() -> Iterator[None]:
    """SQLite: a large page cache for the import's one transaction, so the ten indexes
    of the person table are updated in memory rather than re-read from disk; restored
    afterwards (the setting belongs to the connection, which serves other requests)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MB, only while it runs
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _set_heads(pairs: Sequence[tuple[int, int]]) -> None:
    """household.head_id = person for each (person, household). bulk_update builds a
    CASE expression per row, which costs seconds at this size; on PostgreSQL one
    UPDATE joins the pairs sent as two arrays (a statement per household was 28,000
    round trips at 100,000 rows), SQLite runs its statement per pair in-process."""
    table = Household._meta.db_table  # a name from the model's meta; values are parameters
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS h SET head_id = v.person "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(person, household) "
                "WHERE h.id = v.household",
                [[p for p, _h in pairs], [h for _p, h in pairs]],
            )
        else:
            cursor.executemany(f"UPDATE {table} SET head_id = %s WHERE id = %s", pairs)  # noqa: S608


def write_plan(
    *,
    plan: ImportPlan,
    actor: User | None,
    source: str,
    progress: Progress | None = None,
    households_by_key: dict[str, int] | None = None,
) -> dict[str, int]:
    now = timezone.now()
    source = source[:100]
    targets, households_created, households_updated = _households(plan, now, households_by_key)
    # (row values for _NEW_PERSON, tags) of each new person: rows, not model instances.
    to_create: list[tuple[list[Any], set[str]]] = []
    to_update: list[Person] = []
    history: list[PersonChange] = []
    tags_add: list[PersonTag] = []
    tags_drop: dict[int, list[str]] = {}
    unchanged = 0
    heads: dict[int, tuple[Household, Person | list[Any]]] = {}
    for hh, household in zip(plan.households, targets, strict=True):
        for p in hh.persons:
            if p.existing is None:
                values = {f: getattr(p.data, f) for f in PERSON_FIELDS}
                derived = _derived(plan, values)
                row = [
                    hh.jurisdiction.pk,
                    household.pk if household is not None else None,
                    *values.values(),
                    *(derived[c] for c in _DERIVED),
                    now,
                    now,
                ]
                to_create.append((row, p.data.tags))
                if household is not None and p.data.relationship == Relationship.HEAD:
                    # The id is known once the row is written; the row list stands in.
                    heads.setdefault(id(household), (household, row))
                continue
            else:
                person = plan.existing[p.existing]
                diff = _person_changes(plan, person, p.data, hh)
                if household is not None and person.household_id != household.pk:
                    diff["household"] = (person.household_id, household.pk)
                    person.household = household
                if diff:
                    for f in diff:
                        if f in PERSON_FIELDS:
                            setattr(person, f, getattr(p.data, f))
                    person.jurisdiction = hh.jurisdiction
                    values = {f: getattr(person, f) for f in PERSON_FIELDS}
                    for column, value in _derived(plan, values).items():
                        setattr(person, column, value)
                    person.updated_at = now
                    to_update.append(person)
                    if "tags" in diff:
                        old, new = set(diff["tags"][0]), set(diff["tags"][1])
                        tags_drop[person.pk] = sorted(old - new)
                        tags_add += [PersonTag(person=person, tag=t) for t in sorted(new - old)]
                    history.append(
                        PersonChange(
                            person=person,
                            actor=actor,
                            source=source,
                            changes={
                                f: [_history_value(f, o), _history_value(f, n)]
                                for f, (o, n) in diff.items()
                            },
                        )
                    )
                else:
                    unchanged += 1
            if household is not None and p.data.relationship == Relationship.HEAD:
                heads.setdefault(id(household), (household, person))
    done = unchanged
    tag_rows: list[tuple[int, str]] = [(t.person_id, t.tag) for t in tags_add]
    history_rows: list[tuple[int, int | None, str, dict[str, Any], Any]] = [
        (c.person_id, c.actor_id, c.source, c.changes, now) for c in history
    ]
    actor_id = actor.pk if actor is not None else None
    changed_fields = [(i, f) for i, f in enumerate(PERSON_FIELDS, start=2)]
    new_ids: dict[int, int] = {}  # id(row) -> the new person's pk, for the heads
    for part in chunks(to_create):
        ids = insert_rows(Person, _NEW_PERSON, [row for row, _t in part], ids=True)
        for (row, tags), pk in zip(part, ids, strict=True):
            new_ids[id(row)] = pk
            tag_rows += [(pk, t) for t in sorted(tags)]
            changes = {
                f: ["", _history_value(f, row[i])]
                for i, f in changed_fields
                if row[i] not in (None, "")
            }
            history_rows.append((pk, actor_id, source, changes, now))
        done += len(part)
        if progress:
            progress(done)
    for upart in chunks(to_update):
        Person.objects.bulk_update(
            upart, [*PERSON_FIELDS, *_DERIVED, "household", "jurisdiction", "updated_at"]
        )
        done += len(upart)
        if progress:
            progress(done)
    for pid, drop in tags_drop.items():
        if drop:
            PersonTag.objects.filter(person_id=pid, tag__in=drop).delete()
    insert_rows(PersonTag, ("person_id", "tag"), tag_rows)
    insert_rows(PersonChange, ("person_id", "actor_id", "source", "changes", "at"), history_rows)
    new_heads = []
    for h, head in heads.values():
        pk = new_ids[id(head)] if isinstance(head, list) else head.pk
        if h.head_id != pk:
            new_heads.append((pk, h.pk))
    if new_heads:
        _set_heads(new_heads)
    return {
        "persons_created": len(to_create),
        "persons_updated": len(to_update),
        "persons_unchanged": unchanged,
        "households_created": households_created,
        "households_updated": households_updated,
        "rows_skipped": len(plan.invalid_rows),
    }
