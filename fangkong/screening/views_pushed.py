"""Pushed-list pages: upload, the mapping step, the import's progress, progress by
village against the deadline, the rows to locate, one row (its match and why,
candidates, locate, result), and the feedback file."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import uploads
from fangkong.core.exports import export_response
from fangkong.core.masking import mask_id_number, mask_name, mask_personal, mask_phone
from fangkong.core.paging import CappedPaginator
from fangkong.core.tabular import Table, TableError
from fangkong.org.access import requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import top_node
from fangkong.people.import_columns import field_choices, mapping_from_form, read_columns
from fangkong.people.import_jobs import live_rows_done
from fangkong.people.matching import describe
from fangkong.people.models import ImportJob, ImportStatus, Person
from fangkong.people.selectors import import_job_for_user, person_for_user
from fangkong.screening import pushed as svc
from fangkong.screening import selectors
from fangkong.screening.forms import PushedListForm, RowResultForm
from fangkong.screening.models import PushedList, PushedRow


def _lists(user: User) -> Any:
    return selectors.pushed_lists_visible(user)


@require_GET
@requires(Perm.PEOPLE_VIEW)
def list_index(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    lists = list(_lists(user)[:100])
    now = timezone.now()
    summary = []
    for pushed in lists:
        rows = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).filter(pushed=pushed)
        cells = svc.progress(pushed, rows, now, selectors.progress_groups(user, pushed))
        summary.append(
            (
                pushed,
                sum(c.total for c in cells),
                sum(c.done for c in cells),
                sum(c.to_locate for c in cells),
            )
        )
    return render(
        request,
        "screening/lists.html",
        {
            "summary": summary,
            "now": now,
            "can_import": has_perm(user, Perm.PEOPLE_IMPORT),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_IMPORT, writes=("POST",))
def list_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = PushedListForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    if request.method != "POST":
        return render(request, "screening/list_new.html", context)
    if not form.is_valid():
        return render(request, "screening/list_new.html", context, status=400)
    node = top_node(user, Perm.PEOPLE_IMPORT)
    if node is None:
        raise Http404
    try:
        received = uploads.receive(form.cleaned_data["file"], svc.PUSHED_UPLOAD)
        table = uploads.read(received, svc.PUSHED_UPLOAD)
    except TableError as e:
        form.add_error("file", str(e))
        return render(request, "screening/list_new.html", context, status=400)
    existing = svc.imported_before(node, received.sha256)
    if existing is not None:
        messages.info(request, _("This file was imported before; nothing changed."))
        return redirect("screening:list", list_id=existing.pk)
    d = form.cleaned_data
    mapping = svc.saved_mapping(user, d["source"])
    errors = svc.hopeless(table, mapping)
    if errors:
        # Nothing the mapping step could change: say so now and hold nothing.
        context["errors"] = errors
        return render(request, "screening/list_new.html", context, status=400)
    job = svc.pushed_hold(
        actor=user,
        received=received,
        table=table,
        mapping=mapping,
        name=d["name"],
        source=d["source"],
        category=d["category"],
        deadline=d["deadline"],
    )
    return redirect("screening:list_mapping", pushed_job_id=job.pk)


def _mapping_context(job: ImportJob, table: Table | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "job": job,
        "field_choices": field_choices(svc.FIELDS),
        "waiting": table is not None,
    }
    if table is not None:
        readings = read_columns(table, job.mapping, svc.FIELDS)
        context["columns"] = readings
        context["problems"] = svc.mapping_problems(table, job.mapping)
        masks = {r.index: _FIELD_MASKS[r.field] for r in readings if r.field in _FIELD_MASKS}
        context["preview"] = uploads.preview(table, masks=masks)
    return context


_FIELD_MASKS = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "phone2": mask_phone,
}


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_IMPORT, writes=("POST",))
def list_mapping(request: HttpRequest, pushed_job_id: int) -> HttpResponse:
    """The mapping step: how each column of the held list is read; POST applies the
    user's choices (remembered for the source) and, when nothing is left to answer,
    makes the list and queues its import."""
    user = request_user(request)
    job = import_job_for_user(user, pushed_job_id, svc.JOB_KIND)
    template = "screening/list_mapping.html"
    if job.status != ImportStatus.PREVIEW or job.upload is None:
        context = _mapping_context(job, None)
        context["pushed"] = selectors.pushed_list_of_job(user, job)
        if request.method == "POST":
            context["error"] = _("This import is no longer waiting for confirmation.")
            return render(request, template, context, status=400)
        return render(request, template, context)
    try:
        table = uploads.read(job.upload, svc.PUSHED_UPLOAD)
    except TableError as exc:
        context = _mapping_context(job, None)
        context["error"] = str(exc)
        return render(request, template, context, status=400)
    if request.method == "POST":
        mapping = mapping_from_form(table, job.mapping, request.POST, svc.FIELDS)
        svc.pushed_mapping_save(actor=user, job=job, mapping=mapping)
        context = _mapping_context(job, table)
        node = top_node(user, Perm.PEOPLE_IMPORT)
        if node is None:
            raise Http404
        if context["problems"]:
            return render(request, template, context, status=400)
        try:
            pushed, started = svc.pushed_confirm(actor=user, node=node, job=job, table=table)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            return render(request, template, context, status=400)
        if not started:
            messages.info(request, _("This file was imported before; nothing changed."))
        return redirect("screening:list", list_id=pushed.pk)
    return render(request, template, _mapping_context(job, table))


@require_GET
@requires(Perm.PEOPLE_VIEW)
def list_detail(request: HttpRequest, list_id: int) -> HttpResponse:
    user = request_user(request)
    pushed = selectors.pushed_list_for_user(user, list_id)
    job = pushed.import_job
    now = timezone.now()
    context: dict[str, Any] = {
        "pushed": pushed,
        "job": job,
        "importing": job is not None and job.status != ImportStatus.DONE,
        "now": now,
        # The list's size and its tally are the receiving node's figures.
        "sees_totals": has_perm(user, Perm.PEOPLE_IMPORT, pushed.jurisdiction.path),
    }
    if job is not None:
        context["rows_done"] = live_rows_done(job)
        if job.status == ImportStatus.DONE and "matched" in job.counts:
            context["imported"] = _(
                "%(m)d matched and sent to the grids; %(c)d to confirm; "
                "%(u)d not found in the registry."
            ) % {
                "m": job.counts["matched"],
                "c": job.counts["to_confirm"],
                "u": job.counts["unmatched"],
            }
    if getattr(request, "htmx", False):
        # The import's progress, polled while it runs; once done, the whole page.
        response = render(request, "screening/list_detail.html#import", context)
        if not context["importing"]:
            response["HX-Refresh"] = "true"
        return response
    rows = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).filter(pushed=pushed)
    to_locate = rows.filter(person__isnull=True, outcome="").order_by("row_number")
    context.update(
        {
            "progress": svc.progress(pushed, rows, now, selectors.progress_groups(user, pushed)),
            "page": CappedPaginator(to_locate, 50).get_page(request.GET.get("page")),
            "can_export": has_perm(user, Perm.DATA_EXPORT, pushed.jurisdiction.path),
        }
    )
    return render(request, "screening/list_detail.html", context)


@require_GET
@requires(Perm.DATA_EXPORT)
def list_feedback(request: HttpRequest, list_id: int, fmt: str) -> HttpResponseBase:
    """The feedback file for the sender: their own rows and columns, results beside."""
    user = request_user(request)
    pushed = selectors.pushed_list_for_user(user, list_id, Perm.DATA_EXPORT)
    # A village sends back its own rows; the town, all of them.
    mine = PushedRow.objects.visible_to(user, Perm.DATA_EXPORT).filter(pushed=pushed)
    header, rows = svc.feedback_rows(pushed, mine)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=pushed,
        object_repr=f"feedback: {pushed.name}",
        jurisdiction_path=pushed.jurisdiction.path,
        purpose=_("Closed-loop feedback to %(source)s") % {"source": pushed.source},
        detail={"format": fmt, "rows": mine.count()},
    )
    return export_response(fmt, f"feedback-{pushed.pk}", header, rows)


def _masked_cells(pushed: PushedList, row: PushedRow) -> list[tuple[str, str]]:
    """The row as received, with IDs and phones masked: in the columns read as such,
    and wherever else a value looks like one (a column nobody mapped, a note)."""
    columns = pushed.columns or svc.check_columns(Table(headers=pushed.headers))[0]
    masks = {
        int(columns[f]): mask for f, mask in _FIELD_MASKS.items() if f in columns and f != "name"
    }
    cells = json.loads(row.cells)
    out = []
    for i, header in enumerate(pushed.headers):
        value = cells[i] if i < len(cells) else ""
        mask = masks.get(i)
        out.append((header, mask_personal(mask(value) if mask and value else value)))
    return out


@require_GET
@requires(Perm.PEOPLE_VIEW)
def row_detail(request: HttpRequest, row_id: int) -> HttpResponse:
    """A row as received (masked), the registry's candidates, other lists with the same
    person, and the forms to locate it or record a result."""
    user = request_user(request)
    row = selectors.pushed_row_for_user(user, row_id)
    candidates = []
    people = (
        Person.objects.visible_to(user, Perm.PEOPLE_VIEW)
        .select_related("jurisdiction__parent")
        .in_bulk([c[0] for c in row.candidates] + [row.person_id or 0])
    )
    for person_id, score, reasons, *rules in row.candidates:
        if person_id in people:
            words = describe(rules[0]) if rules else reasons
            candidates.append((people[person_id], score, words))
    same = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).exclude(pk=row.pk)
    if row.person_id:
        linked = same.filter(person_id=row.person_id)
    elif row.id_number_hash:
        linked = same.filter(id_number_hash=row.id_number_hash)
    else:
        linked = same.none()
    return render(
        request,
        "screening/row_detail.html",
        {
            "row": row,
            # Whom the row was matched to (masked, with their grid) and why, to check it.
            "matched": people.get(row.person_id or 0),
            "cells": _masked_cells(row.pushed, row),
            "candidates": candidates,
            "linked": linked.select_related("pushed")[:20],
            "form": RowResultForm(),
            "can_act": has_perm(user, Perm.PEOPLE_EDIT, row.jurisdiction.path),
        },
    )


def _chosen_person(user: User, chosen: str) -> Person:
    try:
        return person_for_user(user, int(chosen), write=True)
    except (ValueError, Http404):
        raise ValidationError(_("Choose a resident in your area.")) from None


@require_http_methods(["POST"])
@requires(Perm.PEOPLE_EDIT, writes=("POST",))
def row_act(request: HttpRequest, row_id: int) -> HttpResponse:
    """Locate a row (this resident is the person) or record that nobody can be found."""
    user = request_user(request)
    row = selectors.pushed_row_for_user(user, row_id, write=True)
    try:
        if request.POST.get("action") == "locate":
            person = _chosen_person(user, request.POST.get("person", ""))
            svc.row_locate(actor=user, row=row, person=person)
            messages.success(request, _("Located; the verification order was sent."))
        else:
            form = RowResultForm(request.POST)
            if not form.is_valid():
                raise ValidationError([str(m) for errs in form.errors.values() for m in errs])
            svc.row_result(actor=user, row=row, **form.cleaned_data)
            messages.success(request, _("Saved."))
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    return redirect("screening:row", row_id=row.pk)
