"""Sampling records in: what the sampler's phone sends (one by one or a queue kept
offline), the API and a city's bulk feed all come through `samples_sync`.

Each record names a tube by barcode and a person by their resident code, ID number or
registry id, with the phone's client id. The whole batch is checked with a handful of
queries (client ids seen before, the persons, their samples this round, the tubes), each
record gets an answer of its own (recorded, already recorded, or refused with the
reason), and what passes is written in one go: COPY on PostgreSQL. A record sent again
(the phone retrying a sync) is answered "already recorded" and writes nothing, so an
offline queue may be sent any number of times.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.control.models import ControlOrder, OrderStatus, OrderType
from fangkong.core.api_kit import CLOCK_SKEW
from fangkong.core.crypto import blind_index
from fangkong.core.identity import normalise_id_number
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.people.import_commit import insert_rows
from fangkong.people.models import Person
from fangkong.testing.codes import person_id_of
from fangkong.testing.counts import counts_add, present_and_of_age
from fangkong.testing.models import Exclusion, Round, RoundStatus, Sample, Tube, TubeStatus
from fangkong.testing.selectors import rounds_visible

# How a record names its person.
BY_CODE, BY_ID_NUMBER, BY_PERSON = "code", "id_number", "person"
SAMPLE, CLOSE = "sample", "close"
RECORDED, ALREADY, REFUSED = "recorded", "already", "refused"
MAX_BATCH = 200_000
BARCODE_MAX = 40


@dataclass(frozen=True)
class Record:
    client_id: uuid.UUID
    barcode: str
    taken_at: datetime
    action: str = SAMPLE
    how: str = BY_CODE
    person: str = ""
    point_id: int | None = None


@dataclass
class Answer:
    client_id: uuid.UUID
    status: str
    error: str = ""
    barcode: str = ""
    size: int = 0  # samples in the tube after this record
    closed: bool = False


@dataclass
class SyncResult:
    answers: list[Answer] = field(default_factory=list)
    recorded: int = 0


@dataclass
class _TubeState:
    pk: int | None
    round_id: int
    pool_size: int
    size: int
    closed: bool
    recall: bool
    point_id: int | None
    node_id: int
    changed: bool = False
    closed_at: datetime | None = None


def _barcode_error(barcode: str) -> str:
    if not barcode:
        return _("Scan or type the tube's barcode.")
    if len(barcode) > BARCODE_MAX or not barcode.isascii() or not barcode.isalnum():
        return _("A tube barcode is letters and digits only, at most 40.")
    return ""


def _by_id_number(records: Sequence[Record]) -> dict[str, int]:
    """Registry ids of the ID numbers the records name (keyed hash -> id, -1: two)."""
    by_hash: dict[str, int] = {}
    hashes = {
        blind_index(normalise_id_number(r.person))
        for r in records
        if r.action == SAMPLE and r.how == BY_ID_NUMBER and r.person
    }
    if hashes:
        for pk, key in Person.objects.filter(id_number_hash__in=hashes).values_list(
            "pk", "id_number_hash"
        ):
            # Two registry rows with one ID number: ambiguous, never guessed.
            if key is not None:
                by_hash[key] = -1 if key in by_hash else pk
    return by_hash


def _person_key(record: Record, by_hash: dict[str, int]) -> tuple[int | None, str]:
    if record.how == BY_CODE:
        pk = person_id_of(record.person)
        return pk, "" if pk else _("This is not a resident code issued here.")
    if record.how == BY_PERSON:
        text = record.person.strip()
        return (int(text), "") if text.isdigit() and len(text) < 18 else (None, _("Bad id."))
    if record.how == BY_ID_NUMBER:
        pk = by_hash.get(blind_index(normalise_id_number(record.person)))
        if pk == -1:
            return None, _("Two registry entries hold this ID number: ask the village to merge.")
        return pk, "" if pk else _("No resident with this ID number in the registry.")
    return None, _("Unknown way of naming the person.")


def _check_actor(actor: User | None, round_: Round) -> None:
    if actor is None:
        return
    if not rounds_visible(actor, Perm.TESTING_SAMPLE).filter(pk=round_.pk).exists():
        raise PermissionDenied


def samples_sync(
    *,
    round_: Round,
    records: Sequence[Record],
    actor: User | None,
    now: datetime | None = None,
) -> SyncResult:
    """Record a batch of sampling records; see the module's docstring. A batch that
    loses a race for a new barcode (two phones opening one tube) is checked again."""
    if len(records) > MAX_BATCH:
        raise ValidationError(_("At most %(n)d records at a time.") % {"n": MAX_BATCH})
    _check_actor(actor, round_)
    if round_.status != RoundStatus.OPEN:
        raise ValidationError(_("This round is finished: it takes no more samples."))
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _sync(round_, records, actor, now or timezone.now())
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _sync(
    round_: Round, records: Sequence[Record], actor: User | None, now: datetime
) -> SyncResult:
    from fangkong.testing.rounds import scope_paths

    # One batch of a round at a time: its counts are added to, and a recount waits.
    Round.objects.select_for_update().filter(pk=round_.pk).first()
    result = SyncResult()
    sample_t, tube_t = Sample._meta.db_table, Tube._meta.db_table
    client_ids = [r.client_id for r in records if r.action == SAMPLE]
    seen = {
        _uuid(cid): (barcode, pid)
        for cid, barcode, pid in _rows(
            f"SELECT s.client_id, t.barcode, s.person_id FROM {sample_t} s "  # noqa: S608
            f"JOIN {tube_t} t ON t.id = s.tube_id WHERE {_any('s.client_id', 'uuid')}",
            [_uuids(client_ids)],
        )
    }
    by_hash = _by_id_number(records)
    keys: list[tuple[int | None, str]] = [
        _person_key(r, by_hash) if r.action == SAMPLE else (None, "") for r in records
    ]
    wanted = sorted({pk for pk, _e in keys if pk})
    within = Q(pk__in=[])
    for path in scope_paths(round_):
        within |= Q(path__startswith=path)
    nodes = set(Jurisdiction.objects.filter(within).values_list("pk", flat=True))
    persons: dict[int, int] = {}
    # Residents the round does not expect (away, under age, excluded, isolated at a
    # site): their samples count as samples, not towards coverage.
    unexpected: set[int] = set()
    today = timezone.localtime(now).date()
    person_t = Person._meta.db_table
    for found, node_id, status, birth in _rows(
        f"SELECT id, jurisdiction_id, status, birth_date FROM {person_t} "  # noqa: S608
        f"WHERE {_any('id')}",
        [_ints(wanted)],
    ):
        persons[found] = node_id
        if not present_and_of_age(round_, status, _date(birth), today):
            unexpected.add(found)
    if persons:
        unexpected.update(
            pk
            for (pk,) in _rows(
                f"SELECT person_id FROM {Exclusion._meta.db_table} "  # noqa: S608
                f"WHERE round_id = %s AND {_any('person_id')}",
                [round_.pk, _ints(wanted)],
            )
        )
        unexpected.update(_isolated(wanted))
    sampled: dict[int, str] = dict(
        _rows(
            f"SELECT s.person_id, t.barcode FROM {sample_t} s JOIN {tube_t} t "  # noqa: S608
            f"ON t.id = s.tube_id WHERE s.round_id = %s AND NOT s.recall "
            f"AND {_any('s.person_id')}",
            [round_.pk, _ints(list(persons))],
        )
    )
    barcodes = sorted({r.barcode.strip() for r in records})
    tubes: dict[str, _TubeState] = {}
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    for pk, barcode, round_id, pool_size, size, status, recall, point_id, node_id in _rows(
        "SELECT id, barcode, round_id, pool_size, size, status, recall, point_id, "  # noqa: S608
        f"jurisdiction_id FROM {tube_t} WHERE {_any('barcode', 'text')}{lock}",
        [_texts(barcodes)],
    ):
        tubes[barcode] = _TubeState(
            pk,
            round_id,
            pool_size,
            size,
            status == TubeStatus.CLOSED,
            bool(recall),
            point_id,
            node_id,
        )
    in_tube: set[tuple[str, int]] = set()
    if tubes:
        in_tube = {
            (b, p)
            for b, p in _rows(
                f"SELECT t.barcode, s.person_id FROM {sample_t} s JOIN {tube_t} t "  # noqa: S608
                f"ON t.id = s.tube_id WHERE {_any('s.tube_id')}",
                [_ints([t.pk for t in tubes.values() if t.pk])],
            )
        }
    points = dict(round_.points.values_list("pk", "jurisdiction_id"))
    earliest = timezone.make_aware(
        datetime.combine(round_.starts_on - timedelta(days=1), datetime.min.time())
    )
    latest = now + CLOCK_SKEW
    rows: list[tuple[Any, ...]] = []
    sampler_id = actor.pk if actor else None
    for record, (pk, person_error) in zip(records, keys, strict=True):
        barcode = record.barcode.strip()
        if timezone.is_naive(record.taken_at):
            # A phone's clock without its zone: the installation's.
            record = replace(record, taken_at=timezone.make_aware(record.taken_at))
        answer = Answer(record.client_id, REFUSED, barcode=barcode)
        result.answers.append(answer)
        error = _barcode_error(barcode)
        if error:
            answer.error = error
            continue
        tube = tubes.get(barcode)
        if record.action == CLOSE:
            if tube is None or (tube.pk is None and tube.size == 0):
                answer.error = _("No samples in this tube yet: nothing to close.")
            elif tube.round_id != round_.pk:
                answer.error = _("This tube belongs to another round.")
            else:
                if not tube.closed:
                    tube.closed, tube.changed, tube.closed_at = True, True, now
                answer.status, answer.size, answer.closed = RECORDED, tube.size, True
            continue
        if record.action != SAMPLE:
            answer.error = _("Unknown action.")
            continue
        if record.client_id in seen:
            first_barcode, first_person = seen[record.client_id]
            if first_barcode == barcode and (pk is None or first_person == pk):
                answer.status = ALREADY
                continue
            answer.error = _("This record's id was already used for another sample.")
            continue
        if person_error or pk is None:
            answer.error = person_error
            continue
        node = persons.get(pk)
        if node is None:
            answer.error = _("No such resident in the registry.")
            continue
        if node not in nodes:
            answer.error = _("This resident lives outside the round's area.")
            continue
        if not earliest <= record.taken_at <= latest:
            answer.error = _("The sampling time is outside the round.")
            continue
        if record.point_id is not None and record.point_id not in points:
            answer.error = _("This sampling point is not one of the round's.")
            continue
        if tube is None:
            tube = tubes[barcode] = _TubeState(
                None,
                round_.pk,
                round_.pool_size,
                0,
                False,
                False,
                record.point_id,
                points.get(record.point_id or 0, round_.jurisdiction_id),
                closed_at=None,
            )
        if tube.round_id != round_.pk:
            answer.error = _("This tube belongs to another round.")
            continue
        if tube.recall:
            answer.error = _("This tube is a single recall tube.")
            continue
        if (barcode, pk) in in_tube:
            answer.error = _("This person is already in this tube.")
            continue
        if pk in sampled:
            answer.error = _("This person was already sampled this round (tube %(tube)s).") % {
                "tube": sampled[pk]
            }
            continue
        if tube.closed:
            answer.error = _("This tube is closed (%(n)d of %(size)d): take a new tube.") % {
                "n": tube.size,
                "size": tube.pool_size,
            }
            continue
        tube.size += 1
        tube.changed = True
        if tube.size >= tube.pool_size:
            tube.closed, tube.closed_at = True, record.taken_at
        in_tube.add((barcode, pk))
        sampled[pk] = barcode
        seen[record.client_id] = (barcode, pk)
        rows.append(
            (barcode, pk, node, tube.size, tube.pool_size, record.client_id, record.taken_at)
        )
        answer.status, answer.size, answer.closed = RECORDED, tube.size, tube.closed
    _write(round_, tubes, rows, sampler_id, now)
    deltas: dict[int, list[int]] = {}
    for _b, pk, node, *_rest in rows:
        values = deltas.setdefault(node, [0, 0, 0, 0, 0])
        values[1] += pk not in unexpected
        values[2] += 1
    counts_add(round_.pk, deltas)
    result.recorded = len(rows)
    if rows or any(t.changed for t in tubes.values()):
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            actor_name="" if actor else "system",
            object_repr=f"round {round_.pk}: {len(rows)} samples recorded",
            jurisdiction_path=round_.jurisdiction.path,
            detail={"records": len(records), "recorded": len(rows)},
        )
    return result


def _write(
    round_: Round,
    tubes: dict[str, _TubeState],
    rows: list[tuple[Any, ...]],
    sampler_id: int | None,
    now: datetime,
) -> None:
    """New tubes in one insert (their ids back), changed tubes updated, samples copied."""
    fresh = [(b, t) for b, t in tubes.items() if t.pk is None and t.size]
    if fresh:
        ids = insert_rows(
            Tube,
            [
                "barcode",
                "round_id",
                "point_id",
                "jurisdiction_id",
                "pool_size",
                "size",
                "status",
                "recall",
                "sampler_id",
                "opened_at",
                "closed_at",
                "outcome",
            ],
            [
                (
                    b,
                    round_.pk,
                    t.point_id,
                    t.node_id,
                    t.pool_size,
                    t.size,
                    TubeStatus.CLOSED if t.closed else TubeStatus.OPEN,
                    False,
                    sampler_id,
                    now,
                    t.closed_at,
                    "",
                )
                for b, t in fresh
            ],
            ids=True,
        )
        for (_b, t), pk in zip(fresh, ids, strict=True):
            t.pk = pk
    inserted = {t.pk for _b, t in fresh}
    for t in tubes.values():
        if t.changed and t.pk is not None and t.pk not in inserted:
            Tube.objects.filter(pk=t.pk).update(
                size=t.size,
                status=TubeStatus.CLOSED if t.closed else TubeStatus.OPEN,
                closed_at=t.closed_at if t.closed else None,
            )
    if not rows:
        return
    insert_rows(
        Sample,
        [
            "tube_id",
            "round_id",
            "person_id",
            "jurisdiction_id",
            "position",
            "pool_size",
            "recall",
            "client_id",
            "taken_at",
            "sampler_id",
            "received_at",
        ],
        [
            (tubes[b].pk, round_.pk, pk, node, pos, size, False, cid, taken, sampler_id, now)
            for b, pk, node, pos, size, cid, taken in rows
        ],
    )


# Batches name tens of thousands of rows: one array parameter on PostgreSQL (unnested), a
# JSON array on SQLite (json_each), never a list of placeholders per value.


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _any(column: str, kind: str = "bigint") -> str:
    if _pg():
        # A set the planner can hash, not an array scanned for every row (= ANY is
        # quadratic when the table's statistics are stale after a big batch).
        return f"{column} IN (SELECT unnest(%s::{kind}[]))"
    return f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608 - our own column names


def _ints(values: Sequence[int]) -> Any:
    return list(values) if _pg() else json.dumps(list(values))


def _texts(values: Sequence[str]) -> Any:
    return list(values) if _pg() else json.dumps(list(values))


def _uuids(values: Sequence[uuid.UUID]) -> Any:
    # SQLite keeps a UUIDField as 32 hex digits.
    return list(values) if _pg() else json.dumps([v.hex for v in values])


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _isolated(person_ids: Sequence[int]) -> set[int]:
    """Of these residents, those under centralised isolation now (tested at their site,
    not expected in the round)."""
    table = ControlOrder._meta.db_table
    return {
        pk
        for (pk,) in _rows(
            f"SELECT person_id FROM {table} WHERE status = %s AND type = %s "  # noqa: S608
            f"AND {_any('person_id')}",
            [OrderStatus.ACTIVE, OrderType.CENTRAL, _ints(person_ids)],
        )
    }
