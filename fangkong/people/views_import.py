"""Pages of the registry import: upload -> preview (errors, mapping, matches) -> commit ->
progress. Thin: the importer plans and writes; jobs are visible to their owner only."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.core import uploads
from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.models import Upload
from fangkong.core.tabular import Table, TableError
from fangkong.org.access import requires
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.people import selectors
from fangkong.people.import_columns import (
    field_choices,
    mapping_from_form,
    read_columns,
    resolve_columns,
)
from fangkong.people.import_jobs import (
    PEOPLE_UPLOAD,
    live_rows_done,
    options_of,
    plan_stream,
    start_job,
    store_preview,
)
from fangkong.people.importer import plan_people_import, scope_for_user
from fangkong.people.models import ImportJob, ImportMapping, ImportStatus

# Columns shown masked in the preview of the file, as everywhere on the pages.
PREVIEW_MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "head_name": mask_name,
    "landlord_name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "phone2": mask_phone,
    "landlord_phone": mask_phone,
}


class PeopleUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Spreadsheet (.xlsx, .xls or .csv)"))
    source = forms.CharField(
        label=gettext_lazy("Source (remembers the column mapping)"), max_length=100, required=False
    )
    grid = forms.ChoiceField(label=gettext_lazy("Grid for rows without one"), required=False)

    def __init__(self, *args: object, leaves: list[Jurisdiction], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        cast(forms.ChoiceField, self.fields["grid"]).choices = [("", "—")] + [
            (n.code, f"{n.name} ({n.code})") for n in leaves
        ]


def _leaves(user: User) -> list[Jurisdiction]:
    nodes = Jurisdiction.objects.visible_to(user, Perm.PEOPLE_IMPORT).filter(
        level__in=(Level.GRID, Level.MICROGRID)
    )
    return list(nodes.filter(children__isnull=True).order_by("path"))


def _replan(
    job: ImportJob, table: Table | None = None, received: uploads.Received | None = None
) -> None:
    if job.upload is None:
        return
    if job.upload.chunked:
        plan_stream(job, received)  # part by part; the file is never whole in memory
        return
    table = table or uploads.read(job.upload, PEOPLE_UPLOAD)
    plan = plan_people_import(table, scope_for_user(cast(User, job.owner)), options_of(job))
    store_preview(job, plan)


def _page_table(source: uploads.Received | Upload) -> Table:
    """What the pages read of a file: all of a small one; the first rows of a large one
    (its header, mapping and preview need no more; it is checked part by part)."""
    if uploads.is_streamed(source):
        return uploads.head(source, PEOPLE_UPLOAD, settings.FANGKONG_PREVIEW_ROWS)
    return uploads.read(source, PEOPLE_UPLOAD)


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_IMPORT, writes=("POST",))
def import_upload(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = PeopleUploadForm(request.POST or None, request.FILES or None, leaves=_leaves(user))
    if request.method == "POST" and form.is_valid():
        try:
            received = uploads.receive(form.cleaned_data["file"], PEOPLE_UPLOAD)
            table = _page_table(received)
        except TableError as exc:
            form.add_error("file", str(exc))
            return render(request, "people/import.html", {"form": form}, status=400)
        source = form.cleaned_data["source"].strip()
        saved = (
            ImportMapping.objects.filter(owner=user, kind="people", source=source).first()
            if source
            else None
        )
        job = ImportJob.objects.create(
            owner=user,
            filename=received.filename,
            source=source,
            default_code=form.cleaned_data["grid"],
            mapping=saved.columns if saved else {},
            upload=uploads.stage(owner=user, received=received),
        )
        _replan(job, table, received)
        return HttpResponseRedirect(reverse("people:import_preview", args=[job.pk]))
    status = 400 if request.method == "POST" else 200
    return render(request, "people/import.html", {"form": form}, status=status)


def _preview_context(job: ImportJob) -> dict[str, object]:
    return {
        "job": job,
        "columns": [],
        "field_choices": field_choices(),
        "waiting": job.status == ImportStatus.PREVIEW,
    }


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_IMPORT, writes=("POST",))
def import_preview(request: HttpRequest, job_id: int) -> HttpResponse:
    """The checked file; POST applies a column mapping (saved for the source)."""
    job = selectors.import_job_for_user(request.user, job_id)
    context = _preview_context(job)
    if request.method == "POST":
        if job.status != ImportStatus.PREVIEW or job.upload is None:
            context["error"] = _("This import is no longer waiting for confirmation.")
            return render(request, "people/import_preview.html", context, status=400)
        try:
            table = _page_table(job.upload)
        except TableError as exc:
            context["error"] = str(exc)
            return render(request, "people/import_preview.html", context, status=400)
        mapping = mapping_from_form(table, job.mapping, request.POST)
        job.mapping = mapping
        job.save(update_fields=["mapping", "updated_at"])
        if job.source:
            ImportMapping.objects.update_or_create(
                owner=request_user(request),
                kind="people",
                source=job.source,
                defaults={"columns": mapping},
            )
        _replan(job, table)
        return HttpResponseRedirect(reverse("people:import_preview", args=[job.pk]))
    if job.status == ImportStatus.PREVIEW and job.upload is not None:
        try:
            table = _page_table(job.upload)
        except TableError as exc:
            context["error"] = str(exc)
            return render(request, "people/import_preview.html", context, status=400)
        columns, _unmapped = resolve_columns(table.headers, job.mapping)
        context["columns"] = read_columns(table, job.mapping)
        masks = {columns[f]: mask for f, mask in PREVIEW_MASKS.items() if f in columns}
        context["preview"] = uploads.preview(table, masks=masks)
    return render(request, "people/import_preview.html", context)


@require_POST
@requires(Perm.PEOPLE_IMPORT, writes=("POST",))
def import_commit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.import_job_for_user(request.user, job_id)
    context = _preview_context(job)
    if job.status != ImportStatus.PREVIEW or job.upload is None:
        context["error"] = _("This import is no longer waiting for confirmation.")
        return render(request, "people/import_preview.html", context, status=400)
    job.valid_only = request.POST.get("mode") == "valid_only"
    decisions = dict(job.decisions)
    for c in job.confirmations:
        answer = request.POST.get(f"confirm:{c['row']}", "")
        if answer in ("new", str(c["person_id"])):
            decisions[str(c["row"])] = answer
    job.decisions = decisions
    job.save(update_fields=["valid_only", "decisions", "updated_at"])
    undecided = [c for c in job.confirmations if str(c["row"]) not in decisions]
    if undecided:
        context["error"] = _("Say for every listed row whether it is the registered person.")
        return render(request, "people/import_preview.html", context, status=400)
    if job.error_count and not job.valid_only:
        context["error"] = _(
            "The file has errors. Correct them and upload it again, or import the valid rows only."
        )
        return render(request, "people/import_preview.html", context, status=400)
    start_job(job)
    return HttpResponseRedirect(reverse("people:import_progress", args=[job.pk]))


@require_GET
@requires(Perm.PEOPLE_IMPORT)
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.import_job_for_user(request.user, job_id)
    context = {"job": job, "rows_done": live_rows_done(job)}
    template = "people/import_progress.html"
    if getattr(request, "htmx", False):
        template += "#progress"
    return render(request, template, context)
