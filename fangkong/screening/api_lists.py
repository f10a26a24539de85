"""Pushed lists API (上级推送): a county system uploads a list (as the file it has, or as
rows of JSON), polls the import and the verification by village, reads each row's
result, and downloads the feedback file in its own layout, results beside each row.

One way in for both shapes: JSON rows are written as the CSV file they describe and go
through the one upload pipeline (`core.uploads`: limits, sha256, held upload) and the
list import of the pages (`screening.pushed`: mapping, matching, orders, notices), so a
file and the same rows as JSON give the same per-row results. The same file (or the same
rows) again at the same node returns the list it made (`created: false`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Schema
from ninja.files import UploadedFile

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import tabular, uploads
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page, referenced
from fangkong.core.bounds import Count, Id
from fangkong.core.exports import export_response
from fangkong.core.tabular import TableError
from fangkong.org.access import ScopedRouter
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import jurisdiction_for_user, top_node
from fangkong.people.import_jobs import live_rows_done
from fangkong.screening import pushed as svc
from fangkong.screening import selectors
from fangkong.screening.models import PushedCategory, PushedList, PushedRow

router = ScopedRouter(tags=["screening"])

Name = Annotated[str, Field(min_length=1, max_length=120)]
NodeCode = Annotated[
    str, Field(max_length=40, description="Where the list is received; empty: your area's top")
]
Cell = Annotated[str, Field(max_length=2000)]


class ImportOut(Schema):
    status: str = Field(description="preview, queued, running, done or failed")
    rows_total: Count
    rows_done: Count
    counts: dict[str, Count] = Field(description="matched, to_confirm, unmatched once done")
    message: str


class ListOut(Schema):
    id: Id
    name: str
    source: str
    category: str
    deadline: datetime
    node_code: str
    node_name: str
    filename: str
    sha256: str
    created_at: datetime
    headers: list[str]
    job: ImportOut | None = Field(description="The import of the list's rows")

    @staticmethod
    def of(p: PushedList, *, totals: bool) -> ListOut:
        job = p.import_job
        state = None
        if job is not None:
            state = ImportOut(
                status=job.status,
                rows_total=job.rows_total if totals else 0,
                rows_done=live_rows_done(job) if totals else 0,
                counts={k: int(v) for k, v in job.counts.items()} if totals else {},
                message=job.message,
            )
        return ListOut(
            id=p.pk,
            name=p.name,
            source=p.source,
            category=p.category,
            deadline=p.deadline,
            node_code=p.jurisdiction.code,
            node_name=p.jurisdiction.name,
            filename=p.filename,
            sha256=p.sha256,
            created_at=p.created_at,
            headers=list(p.headers),
            job=state,
        )


def _totals(user: User, pushed: PushedList) -> bool:
    """The list's size and tally are the receiving node's figures (as on its page)."""
    return has_perm(user, Perm.PEOPLE_IMPORT, pushed.jurisdiction.path)


@router.read("/lists", perm=Perm.PEOPLE_VIEW, response=Page[ListOut])
def list_lists(request: HttpRequest, cursor: Cursor = "", limit: Limit = 50) -> Page[ListOut]:
    """Lists received at your area or above it (a village sees the town's lists, with
    only its own rows), newest first."""
    user = request_user(request)
    rows, after = cursor_page(selectors.pushed_lists_visible(user), cursor=cursor, limit=limit)
    return Page[ListOut](
        items=[ListOut.of(p, totals=_totals(user, p)) for p in rows], next_cursor=after
    )


class ListWriteOut(Schema):
    created: bool = Field(description="false: this file was imported here before")
    list: ListOut


class ListMeta(Schema):
    name: Name
    source: Annotated[str, Field(min_length=1, max_length=120, description="Who pushed it")]
    category: Annotated[str, Field(max_length=14, description="red_code, yellow_code, ...")]
    deadline: datetime
    node: NodeCode = ""


Mapping = dict[Annotated[str, Field(max_length=200)], Annotated[str, Field(max_length=20)]]
MAPPING_HELP = (
    "{header: field} for headers the registry's aliases do not know (name, id_number, "
    "phone, phone2, street, birth_date; empty: ignore the column); remembered for the source"
)


class ListForm(ListMeta):
    mapping: Annotated[str, Field(max_length=20000, description=MAPPING_HELP + ", as JSON")] = ""

    def columns(self) -> dict[str, str]:
        if not self.mapping.strip():
            return {}
        try:
            value = json.loads(self.mapping)
        except ValueError:
            value = None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and "\x00" not in k + v
            for k, v in value.items()
        ):
            raise ValidationError({"mapping": [_("A JSON object of header: field.")]})
        return value


MAX_DEADLINE_DAYS = 366


def _deadline(value: datetime) -> datetime:
    """A list's deadline is days away, never years: checked on the date alone, so a
    year-1 date (which no time zone can shift) never reaches the arithmetic."""
    if abs((value.date() - timezone.localdate()).days) > MAX_DEADLINE_DAYS:
        raise ValidationError({"deadline": [_("A deadline within a year of today.")]})
    return value if value.tzinfo is not None else timezone.make_aware(value)


def _receive(
    request: HttpRequest, meta: ListMeta, given: dict[str, str], received: uploads.Received
) -> ListWriteOut:
    """The pages' import, without the mapping step's page: the mapping is the one
    remembered for the source with the request's on top; if a column is still unread,
    nothing is held and the problems are the answer."""
    user = request_user(request)
    if meta.node.strip():
        node = referenced(
            "node",
            lambda: jurisdiction_for_user(
                user, meta.node.strip(), Perm.PEOPLE_VIEW, write=Perm.PEOPLE_IMPORT
            ),
        )
    else:
        found = top_node(user, Perm.PEOPLE_IMPORT)
        if found is None:
            raise Http404
        node = found
    try:
        table = uploads.read(received, svc.PUSHED_UPLOAD)
    except TableError as e:
        raise ValidationError({"file": [str(e)]}) from None
    existing = svc.imported_before(node, received.sha256)
    if existing is not None:
        return ListWriteOut(created=False, list=ListOut.of(existing, totals=True))
    if meta.category not in PushedCategory.values:
        raise ValidationError({"category": [_("Choose a category.")]})
    deadline = _deadline(meta.deadline)
    mapping = svc.saved_mapping(user, meta.source) | given
    problems = svc.mapping_problems(table, mapping)
    if problems:
        raise ValidationError({"mapping": problems})
    job = svc.pushed_hold(
        actor=user,
        received=received,
        table=table,
        mapping=mapping,
        name=meta.name,
        source=meta.source,
        category=meta.category,
        deadline=deadline,
    )
    if given:
        svc.pushed_mapping_save(actor=user, job=job, mapping=mapping)
    pushed, created = svc.pushed_confirm(actor=user, node=node, job=job, table=table)
    pushed = selectors.pushed_list_for_user(user, pushed.pk)
    return ListWriteOut(created=created, list=ListOut.of(pushed, totals=True))


@router.write("/lists", perm=Perm.PEOPLE_IMPORT, response=ListWriteOut)
def upload_list(
    request: HttpRequest,
    file: File[UploadedFile],
    meta: Form[ListForm],
) -> ListWriteOut:
    """Upload a list as received (multipart: `file`, xlsx, xls or csv in the sender's
    layout, and the fields of `ListMeta`; people.import at `node`): it is matched to the
    registry, matched rows go to their grid workers as verification orders due at the
    deadline, and the rest wait for their village to locate them. The import runs in the
    background: poll `GET /lists/{list_id}`."""
    try:
        received = uploads.receive(file, svc.PUSHED_UPLOAD)
    except TableError as e:
        raise ValidationError({"file": [str(e)]}) from None
    return _receive(request, meta, meta.columns(), received)


class RowsIn(ListMeta):
    mapping: Mapping = Field(default_factory=dict, max_length=200, description=MAPPING_HELP)
    filename: Annotated[str, Field(max_length=200)] = "rows.csv"
    headers: list[Cell] = Field(min_length=1, max_length=200)
    rows: list[list[Cell]] = Field(max_length=200_000)


def _as_csv(body: RowsIn) -> bytes:
    """The rows as the CSV file they describe: what the pipeline reads. Written by the
    one formula-safe writer; the reader takes its escaping back off."""
    return "".join(tabular.csv_stream(body.headers, body.rows)).encode("utf-8")


@router.write("/lists/rows", perm=Perm.PEOPLE_IMPORT, response=ListWriteOut)
def upload_rows(request: HttpRequest, body: RowsIn) -> ListWriteOut:
    """The same as uploading a file, for a system that holds the list as data: `headers`
    and `rows` as the sender's columns. The same rows again return the same list."""
    name = body.filename.rsplit(".", 1)[0] + ".csv"
    try:
        received = uploads.receive_bytes(_as_csv(body), name, svc.PUSHED_UPLOAD)
    except TableError as e:
        raise ValidationError({"rows": [str(e)]}) from None
    return _receive(request, body, dict(body.mapping), received)


class ProgressOut(Schema):
    node_code: str
    node_name: str
    total: Count
    done: Count
    pending: Count
    overdue: Count
    to_locate: Count


class ListDetailOut(ListOut):
    progress: list[ProgressOut]


@router.read("/lists/{int:list_id}", perm=Perm.PEOPLE_VIEW, response=ListDetailOut)
def get_list(request: HttpRequest, list_id: Id) -> ListDetailOut:
    """The list with its import's progress and, by village (by grid for someone whose
    area is a grid), how many of your rows are done, pending, overdue and to locate."""
    user = request_user(request)
    pushed = selectors.pushed_list_for_user(user, list_id)
    rows = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).filter(pushed=pushed)
    cells = svc.progress(pushed, rows, timezone.now(), selectors.progress_groups(user, pushed))
    return ListDetailOut(
        **ListOut.of(pushed, totals=_totals(user, pushed)).dict(),
        progress=[
            ProgressOut(
                node_code=c.node.code,
                node_name=c.node.name,
                total=c.total,
                done=c.done,
                pending=c.pending,
                overdue=c.overdue,
                to_locate=c.to_locate,
            )
            for c in cells
        ],
    )


class RowOut(Schema):
    id: Id
    row_number: Count
    name: str
    match: str = Field(description="matched, ambiguous, unmatched or located")
    score: float
    why: str
    person_id: Id | None
    node_code: str
    order_id: Id | None
    outcome: str
    where: str
    measure: str
    note: str
    verified_at: datetime | None

    @staticmethod
    def of(r: PushedRow, node: Jurisdiction) -> RowOut:
        return RowOut(
            id=r.pk,
            row_number=r.row_number,
            name=r.name,
            match=r.match,
            score=r.score,
            why=r.why,
            person_id=r.person_id,
            node_code=node.code,
            order_id=r.order_id,
            outcome=r.outcome,
            where=r.where,
            measure=r.measure,
            note=r.note,
            verified_at=r.verified_at,
        )


@router.read("/lists/{int:list_id}/rows", perm=Perm.PEOPLE_VIEW, response=Page[RowOut])
def list_rows(
    request: HttpRequest,
    list_id: Id,
    match: Annotated[str, Field(max_length=10)] = "",
    cursor: Cursor = "",
    limit: Limit = 50,
) -> Page[RowOut]:
    """Your rows of the list with their match and result; no ID number or phone (the
    feedback file carries the sender's own cells back to the sender)."""
    user = request_user(request)
    pushed = selectors.pushed_list_for_user(user, list_id)
    rows = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).filter(pushed=pushed)
    if match:
        rows = rows.filter(match=match)
    page, after = cursor_page(rows.select_related("jurisdiction"), cursor=cursor, limit=limit)
    return Page[RowOut](items=[RowOut.of(r, r.jurisdiction) for r in page], next_cursor=after)


_FEEDBACK_TYPES = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
}


@router.read(
    "/lists/{int:list_id}/feedback/{fmt}",
    perm=Perm.DATA_EXPORT,
    openapi_extra={
        "responses": {"200": {"description": "The feedback file", "content": _FEEDBACK_TYPES}}
    },
)
def download_feedback(
    request: HttpRequest, list_id: Id, fmt: Literal["csv", "xlsx"]
) -> HttpResponseBase:
    """The feedback for the sender: their own columns and rows in their order, the
    results beside (核查结果, 现在何处, 管控措施, 核查人, 核查时间, 备注, 匹配情况). A
    village sends back its own rows; the town, all of them. Every download is audited,
    as on the list's page."""
    user = request_user(request)
    pushed = selectors.pushed_list_for_user(user, list_id, Perm.DATA_EXPORT)
    mine = PushedRow.objects.visible_to(user, Perm.DATA_EXPORT).filter(pushed=pushed)
    header, rows = svc.feedback_rows(pushed, mine)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=pushed,
        object_repr=f"feedback: {pushed.name}",
        jurisdiction_path=pushed.jurisdiction.path,
        purpose=_("Closed-loop feedback to %(source)s") % {"source": pushed.source},
        detail={"format": fmt, "rows": mine.count(), "via": "api"},
    )
    return export_response(fmt, f"feedback-{pushed.pk}", header, rows)
