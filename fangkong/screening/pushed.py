"""Lists pushed from above (上级推送): import in whatever layout they come, match each
row to a resident, send verification orders to the right grids, queue the rest for the
village to locate, and write the closed-loop feedback (闭环反馈) in the sender's layout.

The pages import a list the way the registry is imported: the file is held, the
mapping step shows how each column is read (the registry's alias table and its
mapping, remembered per source), and the import (matching, rows, orders, notices) runs
as an import job of kind "pushed" in the jobs worker, with its progress on the list's
page. `pushed_import` does the same in one step for the demo town and the benchmarks.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import uploads
from fangkong.core.crypto import blind_index
from fangkong.core.identity import normalise_id_number
from fangkong.core.tabular import Table, TableError
from fangkong.core.uploads import UploadKind
from fangkong.notify import webhooks
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Role
from fangkong.org.scoping import nearest_in
from fangkong.people.import_columns import (
    FIELD_ALIASES,
    column_problems,
    read_columns,
    resolve_columns,
)
from fangkong.people.import_jobs import Outcome, start_job
from fangkong.people.matching import OutsideRecord, best_match, explain, match_records
from fangkong.people.models import ImportJob, ImportMapping, ImportStatus, Person
from fangkong.screening.kinds import VERIFY_OUTCOMES
from fangkong.screening.models import PushedList, PushedRow, RowMatch
from fangkong.workorders.dispatch import Strategy
from fangkong.workorders.models import Priority, WorkOrder

VERIFY_KIND = "verify_pushed"
JOB_KIND = "pushed"
# Held between the mapping step and the import job, like the registry's files.
PUSHED_UPLOAD = UploadKind("screening.pushed")
# The registry's fields a list is read for (one alias table: people.import_columns).
FIELDS = ("name", "id_number", "phone", "phone2", "street", "birth_date")
# The columns the feedback adds beside the sender's own (in the sender's language).
FEEDBACK_HEADERS = ("核查结果", "现在何处", "管控措施", "核查人", "核查时间", "备注", "匹配情况")


@dataclass
class PushedImport:
    pushed: PushedList | None = None
    created: bool = False
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    matched: int = 0
    to_confirm: int = 0
    unmatched: int = 0


def check_columns(
    table: Table, mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, int], list[tuple[int, str, str]]]:
    """(field -> column index, errors as (row, column, why)) for the list's header, read
    with the registry's aliases and the uploader's mapping."""
    columns, _unmapped = resolve_columns(table.headers, mapping or {}, FIELDS)
    errors = []
    if "name" not in columns:
        errors.append((table.header_row, FIELD_ALIASES["name"][0], _("Column missing.")))
    if not {"id_number", "phone", "phone2"} & set(columns):
        errors.append(
            (
                table.header_row,
                FIELD_ALIASES["id_number"][0],
                _("A list needs an ID number or a phone column to match on."),
            )
        )
    return columns, errors


def mapping_problems(table: Table, mapping: Mapping[str, str]) -> list[str]:
    """What keeps the mapping step from importing the list, in words."""
    columns, _errors = check_columns(table, mapping)
    problems = column_problems(read_columns(table, mapping, FIELDS))
    if "name" not in columns:
        problems.append(_("No column holds the names: map one below."))
    if not {"id_number", "phone", "phone2"} & set(columns):
        problems.append(_("A list needs an ID number or a phone column to match on."))
    return problems


def hopeless(table: Table, mapping: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """The header's errors when no column is left that the mapping step could change
    (every column is read, or known to be read by nothing): the upload is refused."""
    _columns, errors = check_columns(table, mapping)
    open_columns = [
        r for r in read_columns(table, mapping, FIELDS) if r.how == "unknown" or r.personal
    ]
    return [] if open_columns else errors


def _cell(cells: Sequence[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _village_of(address: str, villages: Sequence[Jurisdiction]) -> Jurisdiction | None:
    """The village an address names (the longest name found in it), if any."""
    hits = [v for v in villages if v.name and v.name in address]
    return max(hits, key=lambda v: len(v.name)) if hits else None


def imported_before(node: Jurisdiction, sha256: str) -> PushedList | None:
    """The list this very file already made at `node`, unless its import failed (then
    the same file may come again)."""
    existing = (
        PushedList.objects.filter(jurisdiction=node, sha256=sha256)
        .select_related("import_job")
        .first()
    )
    if existing is None or (
        existing.import_job is not None and existing.import_job.status == ImportStatus.FAILED
    ):
        return None
    return existing


@transaction.atomic
def pushed_import(
    *,
    actor: User | None,
    node: Jurisdiction,
    table: Table,
    filename: str,
    sha256: str,
    name: str,
    source: str,
    category: str,
    deadline: datetime,
    mapping: Mapping[str, str] | None = None,
) -> PushedImport:
    """Import a list received at `node` in one step. The same file again at the same node
    returns the first import and changes nothing."""
    existing = imported_before(node, sha256)
    if existing is not None:
        return PushedImport(pushed=existing)
    columns, errors = check_columns(table, mapping)
    if errors:
        return PushedImport(errors=errors)
    if not table.rows:
        return PushedImport(errors=[(table.header_row, "", _("The file has no data rows."))])
    pushed = PushedList.objects.create(
        jurisdiction=node,
        name=name,
        source=source,
        category=category,
        deadline=deadline,
        filename=filename[:255],
        sha256=sha256,
        headers=table.headers,
        columns=columns,
        uploaded_by=actor,
    )
    return _import_rows(pushed, table, columns, actor)


def saved_mapping(actor: User, source: str) -> dict[str, str]:
    """The mapping the user made for lists from this source before, if any."""
    saved = ImportMapping.objects.filter(owner=actor, kind=JOB_KIND, source=source).first()
    return dict(saved.columns) if saved else {}


@transaction.atomic
def pushed_hold(
    *,
    actor: User,
    received: uploads.Received,
    table: Table,
    mapping: Mapping[str, str],
    name: str,
    source: str,
    category: str,
    deadline: datetime,
) -> ImportJob:
    """Hold a received list for its mapping step: an import job of kind "pushed",
    starting from the mapping remembered for the source."""
    return ImportJob.objects.create(
        kind=JOB_KIND,
        owner=actor,
        filename=received.filename,
        source=source,
        mapping=dict(mapping),
        upload=uploads.stage(owner=actor, received=received),
        rows_total=sum(1 for _n, cells in table.rows if any(c.strip() for c in cells)),
        options={"name": name, "category": category, "deadline": deadline.isoformat()},
    )


def pushed_mapping_save(*, actor: User, job: ImportJob, mapping: dict[str, str]) -> None:
    """The uploader's mapping, on the job and remembered for the list's source."""
    job.mapping = mapping
    job.save(update_fields=["mapping", "updated_at"])
    if job.source:
        ImportMapping.objects.update_or_create(
            owner=actor, kind=JOB_KIND, source=job.source, defaults={"columns": mapping}
        )


@transaction.atomic
def pushed_confirm(
    *, actor: User, node: Jurisdiction, job: ImportJob, table: Table
) -> tuple[PushedList, bool]:
    """The uploader confirmed the mapping: make the list and queue its import job.
    (list, started); a file already imported at the node gives that list, and the job
    ends holding nothing."""
    if job.upload is None:
        raise ValidationError(_("The file is no longer held; upload it again."))
    pushed, created = pushed_list_open(
        actor=actor, node=node, job=job, table=table, sha256=job.upload.sha256
    )
    if not created:
        uploads.discard(job.upload)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.DONE,
            finished_at=timezone.now(),
            message=_("This file was imported before; nothing changed."),
        )
        return pushed, False
    start_job(job)
    return pushed, True


@transaction.atomic
def pushed_list_open(
    *,
    actor: User,
    node: Jurisdiction,
    job: ImportJob,
    table: Table,
    sha256: str,
) -> tuple[PushedList, bool]:
    """The list an import job fills, made when its uploader confirms the mapping:
    (list, created). The same file already imported at the node gives that list and
    False; a list whose import failed is taken over by the new job."""
    existing = imported_before(node, sha256)
    if existing is not None:
        return existing, False
    columns, _errors = check_columns(table, job.mapping)
    options = job.options
    values = {
        "name": options["name"],
        "source": job.source,
        "category": options["category"],
        "deadline": datetime.fromisoformat(options["deadline"]),
        "filename": job.filename[:255],
        "headers": table.headers,
        "columns": columns,
        "uploaded_by": actor,
        "import_job": job,
    }
    pushed, _created = PushedList.objects.update_or_create(
        jurisdiction=node, sha256=sha256, defaults=values
    )
    return pushed, True


def run_pushed_job(job: ImportJob, progress: Callable[[int], None]) -> Outcome:
    """The import job of a list (kind "pushed"), run by the jobs worker: its held file
    is read again, matched, stored and dispatched in one transaction."""
    pushed = PushedList.objects.filter(import_job=job).select_related("jurisdiction").first()
    if pushed is None:
        raise TableError(_("The list this import was for is gone."))
    if PushedRow.objects.filter(pushed=pushed).exists():
        # Imported by an earlier run of this job (its file went with it): nothing to add.
        result = _tally(pushed)
    elif job.upload is None:
        raise TableError(_("The file is no longer held; upload it again."))
    else:
        upload = job.upload

        def apply(table: Table) -> PushedImport:
            return pushed_rows_import(
                pushed=pushed, table=table, actor=job.owner, progress=progress
            )

        result = uploads.commit(upload, PUSHED_UPLOAD, apply)
    return Outcome(
        ImportStatus.DONE,
        counts={
            "rows": result.matched + result.to_confirm + result.unmatched,
            "matched": result.matched,
            "to_confirm": result.to_confirm,
            "unmatched": result.unmatched,
        },
        rows_done=job.rows_total,
    )


@transaction.atomic
def pushed_rows_import(
    *,
    pushed: PushedList,
    table: Table,
    actor: User | None,
    progress: Callable[[int], None] | None = None,
) -> PushedImport:
    """Fill a list made by `pushed_list_open` with its rows. The list's row is locked
    first: a second run of the same job waits, then finds the rows and adds nothing."""
    locked = PushedList.objects.select_for_update().select_related("jurisdiction").get(pk=pushed.pk)
    if PushedRow.objects.filter(pushed=locked).exists():
        return _tally(locked)
    columns = {f: int(i) for f, i in locked.columns.items()}
    return _import_rows(locked, table, columns, actor, progress)


def _tally(pushed: PushedList) -> PushedImport:
    """An imported list's numbers, counted from its rows (a row located by hand since
    counts among those that were to confirm)."""
    by_match: dict[str, int] = defaultdict(int)
    for match in PushedRow.objects.filter(pushed=pushed).values_list("match", flat=True):
        by_match[match] += 1
    return PushedImport(
        pushed=pushed,
        matched=by_match[RowMatch.MATCHED],
        to_confirm=by_match[RowMatch.AMBIGUOUS] + by_match[RowMatch.LOCATED],
        unmatched=by_match[RowMatch.UNMATCHED],
    )


def _import_rows(
    pushed: PushedList,
    table: Table,
    columns: Mapping[str, int],
    actor: User | None,
    progress: Callable[[int], None] | None = None,
) -> PushedImport:
    """Match every row inside the receiving node, store the rows, send the orders and
    tell the villages and the command post."""
    node = pushed.jurisdiction
    rows = [(number, cells) for number, cells in table.rows if any(c.strip() for c in cells)]
    records = [
        OutsideRecord(
            name=_cell(c, columns.get("name")),
            id_number=_cell(c, columns.get("id_number")),
            # The matcher takes one phone: a row's second one stands in when it has no first.
            phone=_cell(c, columns.get("phone")) or _cell(c, columns.get("phone2")),
            address=_cell(c, columns.get("street")),
            birth_date=_cell(c, columns.get("birth_date")),
        )
        for _n, c in rows
    ]
    found = match_records(records, persons=Person.objects.within(node.path), progress=progress)
    best = [best_match(c) for c in found]
    people = Person.objects.select_related("jurisdiction").in_bulk(
        [b.person_id for b in best if b is not None]
    )
    villages = list(Jurisdiction.objects.within(node.path).filter(level=Level.VILLAGE))
    result = PushedImport(pushed=pushed, created=True)
    objs = []
    for (number, cells), record, cands, top in zip(rows, records, found, best, strict=True):
        person = people.get(top.person_id) if top else None
        if person is not None:
            state, where = RowMatch.MATCHED, person.jurisdiction
            result.matched += 1
        else:
            state = RowMatch.AMBIGUOUS if cands else RowMatch.UNMATCHED
            where = _village_of(record.address, villages) or node
            result.to_confirm += bool(cands)
            result.unmatched += not cands
        number_text = normalise_id_number(record.id_number)
        objs.append(
            PushedRow(
                pushed=pushed,
                row_number=number,
                cells=json.dumps(cells, ensure_ascii=False),
                name=record.name[:50],
                id_number_hash=blind_index(number_text) if len(number_text) == 18 else "",
                match=state,
                score=top.score if top else (cands[0].score if cands else 0),
                reasons=explain(top if top else cands[0])[:200] if (top or cands) else "",
                rules=(top or cands[0]).rules if (top or cands) else [],
                candidates=[
                    [c.person_id, round(c.score, 3), explain(c)[:120], c.rules] for c in cands[:5]
                ],
                person=person,
                jurisdiction=where,
            )
        )
    created = PushedRow.objects.bulk_create(objs, batch_size=1000)
    _dispatch(pushed, [r for r in created if r.person_id is not None], actor)
    _tell_villages(pushed, [r for r in created if r.person_id is None])
    _tell_groups(pushed, len(created), result)
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        object_repr=f"pushed list: {pushed.filename}",
        obj=pushed,
        jurisdiction_path=node.path,
        detail={
            "rows": len(created),
            "matched": result.matched,
            "to_confirm": result.to_confirm,
            "unmatched": result.unmatched,
        },
    )
    return result


def _dispatch(pushed: PushedList, rows: Sequence[PushedRow], actor: User | None) -> None:
    """One verification order per matched row, to the resident's grid worker, due at
    the list's deadline. Batched by list, so a retry creates nothing twice."""
    from fangkong.workorders.services import Subject, orders_create

    if not rows:
        return
    ct = ContentType.objects.get_for_model(PushedRow)
    nodes = Jurisdiction.objects.in_bulk({r.jurisdiction_id for r in rows})
    subjects = [Subject(nodes[r.jurisdiction_id], r.name, ct.pk, r.pk) for r in rows]
    batch = uuid.uuid5(uuid.NAMESPACE_URL, f"fangkong:pushed:{pushed.pk}:{min(r.pk for r in rows)}")
    title = _("%(list)s (from %(source)s): verify and report back") % {
        "list": pushed.name,
        "source": pushed.source,
    }
    orders = orders_create(
        kind=VERIFY_KIND,
        subjects=subjects,
        actor=None,
        strategy=Strategy.GRID,
        due_at=pushed.deadline,
        priority=Priority.HIGH,
        title=title[:200],
        source="pushed_list",
        batch=batch,
    )
    for row, order in zip(rows, orders, strict=True):
        row.order = order
    # One statement: each row takes the order made about it.
    PushedRow.objects.filter(pk__in=[r.pk for r in rows]).update(
        order=Subquery(
            WorkOrder.objects.filter(kind=VERIFY_KIND, subject_type=ct, subject_id=OuterRef("pk"))
            .order_by("-id")
            .values("pk")[:1]
        )
    )


def _tell_villages(pushed: PushedList, rows: Sequence[PushedRow]) -> None:
    """The village's inbox: its cadres hear how many rows they must locate."""
    from fangkong.notify.services import notice_send

    by_node: dict[int, int] = defaultdict(int)
    for row in rows:
        by_node[row.jurisdiction_id] += 1
    for node_id, n in by_node.items():
        users = list(
            Membership.objects.filter(
                jurisdiction_id=node_id,
                role__in=(Role.VILLAGE_CADRE, Role.TOWN_STAFF, Role.TOWN_COMMANDER),
            ).values_list("user_id", flat=True)
        )
        if not users:
            continue
        with override("zh-hans"):
            notice_send(
                user_ids=users,
                title=_("%(n)d people of “%(list)s” to locate") % {"n": n, "list": pushed.name},
                body=_(
                    "The registry has no sure match for them. Find each one, or report "
                    "them not in town, before %(deadline)s."
                )
                % {"deadline": timezone.localtime(pushed.deadline).strftime("%m-%d %H:%M")},
                url=f"/screening/lists/{pushed.pk}/?locate=1",
                key=f"pushed:{pushed.pk}:{node_id}",
            )


def _tell_groups(pushed: PushedList, rows: int, result: PushedImport) -> None:
    """The command post's group robots hear that a list arrived."""
    from fangkong.notify.services import deliver, render_or, routes, template_for_event

    channels = routes("pushed_list", pushed.jurisdiction.path)
    if not channels:
        return
    deadline = timezone.localtime(pushed.deadline).strftime("%m-%d %H:%M")
    to_locate = result.to_confirm + result.unmatched
    with override("zh-hans"):
        title, body = render_or(
            template_for_event("pushed_list"),
            {
                "source": pushed.source,
                "name": pushed.name,
                "rows": rows,
                "matched": result.matched,
                "to_locate": to_locate,
                "deadline": deadline,
            },
            (
                _("New list from %(source)s: %(name)s")
                % {"source": pushed.source, "name": pushed.name},
                _(
                    "%(rows)d people; %(m)d sent to the grids, %(u)d to locate; feedback due "
                    "%(deadline)s."
                )
                % {"rows": rows, "m": result.matched, "u": to_locate, "deadline": deadline},
            ),
        )
        deliver(
            channels=channels,
            title=title,
            body=body,
            event="pushed_list",
            key=f"pushed:{pushed.pk}",
        )


@transaction.atomic
def row_locate(*, actor: User, row: PushedRow, person: Person) -> PushedRow:
    """A cadre found the row's person: match it and send the verification order."""
    if row.person_id is not None:
        raise ValidationError(_("This row is already matched."))
    row.person, row.match, row.jurisdiction = person, RowMatch.LOCATED, person.jurisdiction
    # What the registry had in common with the row, if the person was a candidate.
    row.rules = next((c[3] for c in row.candidates if c[0] == person.pk and len(c) > 3), [])
    row.save(update_fields=["person", "match", "jurisdiction", "rules"])
    _dispatch(row.pushed, [row], actor)
    return row


OUTCOME_WORDS = dict(VERIFY_OUTCOMES)


@transaction.atomic
def row_result(
    *, actor: User, row: PushedRow, outcome: str, where: str = "", measure: str = "", note: str = ""
) -> PushedRow:
    """Record a row's result (from its order, or directly for a row nobody can find)."""
    if outcome not in OUTCOME_WORDS:
        raise ValidationError({"outcome": _("Choose a result.")})
    row.outcome, row.where, row.measure, row.note = outcome, where[:100], measure, note[:300]
    row.verified_by, row.verified_at = actor, timezone.now()
    row.save(update_fields=["outcome", "where", "measure", "note", "verified_by", "verified_at"])
    webhooks.emit(webhooks.PUSHED_ROW_VERIFIED, **webhooks.pushed_row_event(row))
    return row


def pushed_verified(order: Any, result: dict[str, Any], actor: User) -> None:
    """on_done of verify_pushed orders."""
    row = PushedRow.objects.filter(pk=order.subject_id or 0).first()
    if row is not None:
        row_result(
            actor=actor,
            row=row,
            outcome=str(result.get("outcome", "")),
            where=str(result.get("where", "")),
            measure=str(result.get("measure", "")),
            note=str(result.get("note", "")),
        )


# Reading back --------------------------------------------------------------------------


@dataclass
class VillageProgress:
    node: Jurisdiction
    total: int = 0
    done: int = 0
    overdue: int = 0
    to_locate: int = 0

    @property
    def pending(self) -> int:
        return self.total - self.done


def progress(
    pushed: PushedList, rows: Any, now: datetime, groups: Sequence[Jurisdiction] | None = None
) -> list[VillageProgress]:
    """Done / pending / overdue / to locate by village, or by the `groups` given (a grid
    worker's grids). Rows not yet placed in a group count under the list's own node."""
    if groups is None:
        groups = list(
            Jurisdiction.objects.within(pushed.jurisdiction.path).filter(level=Level.VILLAGE)
        )
    villages = {v.path: v for v in groups}
    out: dict[str, VillageProgress] = {}
    late = now > pushed.deadline
    for path, has_outcome, has_person in rows.values_list(
        "jurisdiction__path", "outcome", "person_id"
    ):
        node = nearest_in(path, villages) or pushed.jurisdiction
        cell = out.setdefault(node.path, VillageProgress(node))
        cell.total += 1
        cell.done += bool(has_outcome)
        cell.overdue += late and not has_outcome
        cell.to_locate += has_person is None and not has_outcome
    return [out[k] for k in sorted(out)]


def feedback_rows(pushed: PushedList, rows_qs: Any) -> tuple[list[str], Iterator[list[Any]]]:
    """The sender's columns, then the results, row by row in the sender's order."""
    from fangkong.policy.models import Place

    header = [*pushed.headers, *FEEDBACK_HEADERS]
    width = len(pushed.headers)
    places = dict(Place.choices)
    matches = dict(RowMatch.choices)

    def rows() -> Iterator[list[Any]]:
        with override("zh-hans"):
            for row in (
                rows_qs.select_related("verified_by__staff")
                .order_by("row_number")
                .iterator(chunk_size=2000)
            ):
                cells = json.loads(row.cells)
                cells = (cells + [""] * width)[:width]
                who = ""
                if row.verified_by is not None:
                    staff = getattr(row.verified_by, "staff", None)
                    who = staff.name if staff else row.verified_by.get_username()
                yield [
                    *cells,
                    str(OUTCOME_WORDS.get(row.outcome, "")) if row.outcome else "待核查",
                    row.where,
                    str(places.get(row.measure, "")) if row.measure else "",
                    who,
                    timezone.localtime(row.verified_at).strftime("%Y-%m-%d %H:%M")
                    if row.verified_at
                    else "",
                    row.note,
                    str(matches.get(row.match, "")),
                ]

    return header, rows()
