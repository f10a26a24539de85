"""Pushed-list pages: upload, progress by village against the deadline, the rows to
locate, one row (candidates, locate, result), and the feedback file."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.exports import export_response
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.core.paging import CappedPaginator
from fangkong.core.tabular import Table, TableError, read_table
from fangkong.org.access import get_visible_or_404, requires
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import at_or_above_q, has_perm
from fangkong.org.selectors import top_node
from fangkong.people.models import Person
from fangkong.screening import pushed as svc
from fangkong.screening.forms import PushedListForm, RowResultForm
from fangkong.screening.models import PushedList, PushedRow


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _lists(user: User) -> Any:
    """Lists received at a node the user sees, or above it (a village sees the town's
    lists, with only its own rows)."""
    return PushedList.objects.filter(
        at_or_above_q(user, Perm.PEOPLE_VIEW, "jurisdiction__path")
    ).select_related("jurisdiction")


def _groups(user: User, pushed: PushedList) -> list[Jurisdiction]:
    """The rows of the progress table: villages, or for someone whose area is smaller
    than a village, their own grids."""
    mine = Jurisdiction.objects.visible_to(user, Perm.PEOPLE_VIEW).within(pushed.jurisdiction.path)
    villages = list(mine.filter(level=Level.VILLAGE))
    return villages or list(mine.filter(level=Level.GRID))


@require_GET
@requires(Perm.PEOPLE_VIEW)
def list_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    lists = list(_lists(user)[:100])
    now = timezone.now()
    summary = []
    for pushed in lists:
        rows = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).filter(pushed=pushed)
        cells = svc.progress(pushed, rows, now, _groups(user, pushed))
        summary.append((pushed, sum(c.total for c in cells), sum(c.done for c in cells),
                        sum(c.to_locate for c in cells)))  # fmt: skip
    return render(request, "screening/lists.html", {
        "summary": summary, "now": now, "can_import": has_perm(user, Perm.PEOPLE_IMPORT),
    })  # fmt: skip


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_IMPORT, writes=("POST",))
def list_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PushedListForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    if request.method != "POST":
        return render(request, "screening/list_new.html", context)
    if not form.is_valid():
        return render(request, "screening/list_new.html", context, status=400)
    node = top_node(user, Perm.PEOPLE_IMPORT)
    if node is None:
        raise Http404
    upload = form.cleaned_data["file"]
    data = upload.read()
    try:
        table = read_table(data, upload.name, skip_title=True)
    except TableError as e:
        form.add_error("file", str(e))
        return render(request, "screening/list_new.html", context, status=400)
    d = form.cleaned_data
    result = svc.pushed_import(actor=user, node=node, table=table, filename=upload.name,
                               sha256=hashlib.sha256(data).hexdigest(), name=d["name"],
                               source=d["source"], category=d["category"],
                               deadline=d["deadline"])  # fmt: skip
    if result.errors:
        context["errors"] = result.errors
        return render(request, "screening/list_new.html", context, status=400)
    assert result.pushed is not None  # noqa: S101 - no errors means a list
    if result.created:
        messages.success(request, _("%(m)d matched and sent to the grids; %(c)d to confirm; "
                                    "%(u)d not found in the registry.")
                         % {"m": result.matched, "c": result.to_confirm, "u": result.unmatched})  # fmt: skip
    else:
        messages.info(request, _("This file was imported before; nothing changed."))
    return redirect("screening:list", list_id=result.pushed.pk)


@require_GET
@requires(Perm.PEOPLE_VIEW)
def list_detail(request: HttpRequest, list_id: int) -> HttpResponse:
    user = _user(request)
    pushed = _lists(user).filter(pk=list_id).first()
    if pushed is None:
        raise Http404
    rows = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).filter(pushed=pushed)
    now = timezone.now()
    to_locate = rows.filter(person__isnull=True, outcome="").order_by("row_number")
    page = CappedPaginator(to_locate, 50).get_page(request.GET.get("page"))
    return render(request, "screening/list_detail.html", {
        "pushed": pushed, "progress": svc.progress(pushed, rows, now, _groups(user, pushed)),
        "page": page, "now": now,
        "can_export": has_perm(user, Perm.DATA_EXPORT, pushed.jurisdiction.path),
    })  # fmt: skip


@require_GET
@requires(Perm.DATA_EXPORT)
def list_feedback(request: HttpRequest, list_id: int, fmt: str) -> HttpResponseBase:
    """The feedback file for the sender: their own rows and columns, results beside."""
    user = _user(request)
    pushed = _lists(user).filter(pk=list_id).first()
    if pushed is None:
        raise Http404
    # A village sends back its own rows; the town, all of them.
    mine = PushedRow.objects.visible_to(user, Perm.DATA_EXPORT).filter(pushed=pushed)
    header, rows = svc.feedback_rows(pushed, mine)
    audit_record(action=AuditAction.EXPORT, request=request, obj=pushed,
                 object_repr=f"feedback: {pushed.name}", jurisdiction_path=pushed.jurisdiction.path,
                 purpose=_("Closed-loop feedback to %(source)s") % {"source": pushed.source},
                 detail={"format": fmt, "rows": mine.count()})  # fmt: skip
    return export_response(fmt, f"feedback-{pushed.pk}", header, rows)


def _masked_cells(pushed: PushedList, row: PushedRow) -> list[tuple[str, str]]:
    """The row as received, with IDs and phones masked."""
    columns, _errors = svc.check_columns(Table(headers=pushed.headers))
    cells = json.loads(row.cells)
    masks = {columns.get("id_number"): mask_id_number, columns.get("phone"): mask_phone}
    out = []
    for i, header in enumerate(pushed.headers):
        value = cells[i] if i < len(cells) else ""
        mask = masks.get(i)
        out.append((header, mask(value) if mask and value else value))
    return out


def _row(user: User, row_id: int, perm: Perm) -> PushedRow:
    return get_visible_or_404(
        PushedRow.objects.select_related("pushed", "person", "jurisdiction"), user, perm,
        pk=row_id,
    )  # fmt: skip


@require_GET
@requires(Perm.PEOPLE_VIEW)
def row_detail(request: HttpRequest, row_id: int) -> HttpResponse:
    """A row as received (masked), the registry's candidates, other lists with the same
    person, and the forms to locate it or record a result."""
    user = _user(request)
    row = _row(user, row_id, Perm.PEOPLE_VIEW)
    candidates = []
    people = Person.objects.visible_to(user, Perm.PEOPLE_VIEW).select_related(
        "jurisdiction").in_bulk([c[0] for c in row.candidates])  # fmt: skip
    for person_id, score, reasons in row.candidates:
        if person_id in people:
            candidates.append((people[person_id], score, reasons))
    same = PushedRow.objects.visible_to(user, Perm.PEOPLE_VIEW).exclude(pk=row.pk)
    if row.person_id:
        linked = same.filter(person_id=row.person_id)
    elif row.id_number_hash:
        linked = same.filter(id_number_hash=row.id_number_hash)
    else:
        linked = same.none()
    return render(request, "screening/row_detail.html", {
        "row": row, "cells": _masked_cells(row.pushed, row), "candidates": candidates,
        "linked": linked.select_related("pushed")[:20], "form": RowResultForm(),
        "can_act": has_perm(user, Perm.PEOPLE_EDIT, row.jurisdiction.path),
    })  # fmt: skip


@require_http_methods(["POST"])
@requires(Perm.PEOPLE_EDIT, writes=("POST",))
def row_act(request: HttpRequest, row_id: int) -> HttpResponse:
    """Locate a row (this resident is the person) or record that nobody can be found."""
    user = _user(request)
    row = _row(user, row_id, Perm.PEOPLE_EDIT)
    try:
        if request.POST.get("action") == "locate":
            person = Person.objects.visible_to(user, Perm.PEOPLE_EDIT).filter(
                pk=request.POST.get("person") or 0).first()  # fmt: skip
            if person is None:
                raise ValidationError(_("Choose a resident in your area."))
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
