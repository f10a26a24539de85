"""Phase 2 of the registry import: the plan written with bulk statements.

Called inside the transaction `importer.commit_plan` opens. The history written here
has the shape `services.person_update` writes (field -> [old, new], personal data
masked), one PersonChange per created or changed person; one per row through the
services would cost four queries a row, which 100,000 rows cannot afford.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.core.crypto import blind_index
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
from fangkong.people.services import PERSON_FIELDS, _history_value, compose_address, derived_columns


def fast_insert(model: Any, objs: Sequence[Any]) -> None:
    """INSERT ... RETURNING id of many rows, values prepared by the model's own fields.

    The same statement `bulk_create` sends, without its per-value compiler machinery,
    which costs more than the database does at 100,000 rows (PostgreSQL and SQLite
    3.35+ both return the ids in VALUES order, as `bulk_create` also relies on).
    """
    if not objs:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    # The wrapper itself, not the thread-local proxy: resolved once, not per value.
    conn = connections[DEFAULT_DB_ALIAS]
    qn = conn.ops.quote_name
    now = timezone.now()
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = min(1000, (conn.features.max_query_params or 999_999) // len(fields))
    columns = ", ".join(qn(f.column) for f in fields)
    head = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES "  # noqa: S608 (names from meta)
    stamped = [
        f for f in fields if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
    ]
    if conn.vendor == "postgresql":
        _copy_insert(conn, meta, fields, stamped, objs, now)
        return
    for part in chunks(objs, size):
        params: list[Any] = []
        for obj in part:
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
            for f in stamped:
                setattr(obj, f.attname, now)
            params.extend(f.get_db_prep_save(getattr(obj, f.attname), conn) for f in fields)
        # Only quoted names from the model's meta and placeholders; values are parameters.
        sql = head + ", ".join([row_sql] * len(part)) + f" RETURNING {qn(meta.pk.column)}"
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
        for obj, pk in zip(part, ids, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = conn.alias


def _copy_insert(
    conn: Any, meta: Any, fields: list[Any], stamped: list[Any], objs: Sequence[Any], now: Any
) -> None:
    """PostgreSQL: ids taken from the table's sequence in one query, rows sent by COPY.

    COPY returns no ids, so they are allocated first; the values go through the same
    field preparation as an INSERT (encryption included) and psycopg's adapters.
    """
    qn = conn.ops.quote_name
    pk = meta.pk
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(qn(c) for c in [pk.column, *(f.column for f in fields)])
        with cursor.cursor.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj, new_id in zip(objs, ids, strict=True):
                obj._prepare_related_fields_for_save(operation_name="bulk_create")
                for f in stamped:
                    setattr(obj, f.attname, now)
                obj.pk = new_id
                copy.write_row(
                    [new_id, *(f.get_db_prep_save(getattr(obj, f.attname), conn) for f in fields)]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = conn.alias


_DERIVED = (
    "name_key",
    "name_initials",
    "id_number_hash",
    "id_last4_hash",
    "phone_hash",
    "phone2_hash",
)


def _households(plan: ImportPlan, now: Any) -> tuple[list[Household | None], int, int]:
    """The household of each planned household (created or updated), and the counts."""
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
    Household.objects.bulk_update(
        changed,
        [*HOUSEHOLD_FIELDS, "landlord_phone_hash", "address", "jurisdiction", "updated_at"],
        batch_size=BATCH,
    )
    return targets, len(new), len(changed)


def write_plan(
    *, plan: ImportPlan, actor: User | None, source: str, progress: Progress | None = None
) -> dict[str, int]:
    now = timezone.now()
    source = source[:100]
    targets, households_created, households_updated = _households(plan, now)
    to_create: list[tuple[Person, set[str]]] = []
    to_update: list[Person] = []
    history: list[PersonChange] = []
    tags_add: list[PersonTag] = []
    tags_drop: dict[int, list[str]] = {}
    unchanged = 0
    heads: dict[int, tuple[Household, Person]] = {}
    for hh, household in zip(plan.households, targets, strict=True):
        for p in hh.persons:
            if p.existing is None:
                values = {f: getattr(p.data, f) for f in PERSON_FIELDS}
                person = Person(
                    jurisdiction=hh.jurisdiction,
                    household=household,
                    **values,
                    **derived_columns(values),
                )
                to_create.append((person, p.data.tags))
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
                    for column, value in derived_columns(values).items():
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
    for part in chunks(to_create):
        fast_insert(Person, [person for person, _t in part])
        for person, tags in part:
            tags_add += [PersonTag(person=person, tag=t) for t in sorted(tags)]
            history.append(
                PersonChange(
                    person=person,
                    actor=actor,
                    source=source,
                    changes={
                        f: ["", _history_value(f, getattr(person, f))]
                        for f in PERSON_FIELDS
                        if getattr(person, f) not in (None, "")
                    },
                )
            )
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
    fast_insert(PersonTag, tags_add)
    fast_insert(PersonChange, history)
    new_heads = [(person.pk, h.pk) for h, person in heads.values() if h.head_id != person.pk]
    if new_heads:
        # bulk_update builds a CASE expression per row, which costs seconds at this size.
        with connection.cursor() as cursor:
            cursor.executemany(
                # Table name from the model's meta, values as parameters.
                f"UPDATE {Household._meta.db_table} SET head_id = %s WHERE id = %s",  # noqa: S608
                new_heads,
            )
    return {
        "persons_created": len(to_create),
        "persons_updated": len(to_update),
        "persons_unchanged": unchanged,
        "households_created": households_created,
        "households_updated": households_updated,
        "rows_skipped": len(plan.invalid_rows),
    }
