"""Vaccination pages (thin): coverage of the 60+ and 80+ by village, the mobilisation
list and its one-tap visits, the vaccination system's file through the one upload
pipeline (check, preview, record all or nothing), and a resident's doses with staff
entry, a contraindication and transport to the site."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.audit.services import export_audited
from fangkong.core import uploads
from fangkong.core.forms import bootstrap_widgets
from fangkong.core.masking import mask_name
from fangkong.core.tabular import Table, TableError
from fangkong.org.access import requires
from fangkong.org.forms import UploadForm
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import node_or_top_for_user
from fangkong.vaccination import selectors, services
from fangkong.vaccination.models import MAX_DOSE
from fangkong.workorders.dispatch import DispatchError


@require_GET
@requires(Perm.VACCINATION_VIEW)
def coverage_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    node = node_or_top_for_user(user, request.GET.get("node", "")[:40], Perm.VACCINATION_VIEW)
    today = timezone.localdate()
    return render(
        request,
        "vaccination/coverage.html",
        {
            "node": node,
            "cov": selectors.coverage(user, today=today, node_path=node.path),
            "waiting": selectors.mobilisation(user, today=today, node_path=node.path).count(),
            "may_manage": has_perm(user, Perm.VACCINATION_MANAGE),
        },
    )


@require_GET
@requires(Perm.VACCINATION_VIEW)
def mobilisation_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    node = node_or_top_for_user(user, request.GET.get("node", "")[:40], Perm.VACCINATION_VIEW)
    people = selectors.mobilisation(user, today=timezone.localdate(), node_path=node.path)
    return render(
        request,
        "vaccination/mobilisation.html",
        {
            "node": node,
            "total": people.count(),
            "people": [(p, mask_name(p.name)) for p in people[:500]],
            "may_send": has_perm(user, Perm.VACCINATION_MANAGE, node.path)
            and has_perm(user, Perm.ORDERS_DISPATCH, node.path),
            "may_export": has_perm(user, Perm.DATA_EXPORT),
        },
    )


@require_GET
@requires(Perm.DATA_EXPORT)
def mobilisation_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The mobilisation list (masked) through the one spreadsheet writer; audited."""
    user = request.user
    node = node_or_top_for_user(user, request.GET.get("node", "")[:40], Perm.VACCINATION_VIEW)
    people = selectors.mobilisation(user, today=timezone.localdate(), node_path=node.path)
    header = [_("Grid"), _("Name"), _("Address"), _("ID number"), _("Birth date")]
    rows = (
        [
            p.jurisdiction.name,
            mask_name(p.name),
            p.household.address if p.household else "",
            p.id_number_masked,
            p.birth_date.isoformat() if p.birth_date else "",
        ]
        for p in people.iterator(chunk_size=2000)
    )
    return export_audited(
        request,
        fmt=fmt,
        basename="vaccination-mobilisation",
        header=header,
        body=rows,
        what=f"node {node.code}: vaccination mobilisation list",
        jurisdiction_path=node.path,
    )


@require_POST
@requires(Perm.VACCINATION_MANAGE, writes=("POST",))
def mobilise(request: HttpRequest) -> HttpResponse:
    """One tap: the list under the node becomes visit orders (open ones not twice)."""
    user = request_user(request)
    code = request.POST.get("node", "")[:40]
    if not code:
        return HttpResponse(_("Which area? Send it again from the list."), status=400)
    node = node_or_top_for_user(user, code, Perm.VACCINATION_MANAGE)
    try:
        orders = services.mobilise(node=node, actor=user)
    except (ValidationError, DispatchError) as exc:
        return HttpResponse(" ".join(getattr(exc, "messages", [str(exc)])), status=400)
    return render(request, "testing/periodic_sent.html", {"node": node, "count": len(orders)})


def _import_context(form: UploadForm) -> dict[str, object]:
    return {"form": form, "columns": services.COLUMNS}


@require_http_methods(["GET", "POST"])
@requires(Perm.VACCINATION_MANAGE, writes=("POST",))
def import_upload(request: HttpRequest) -> HttpResponse:
    """Phase 1: the vaccination system's export read through the one upload pipeline,
    every row checked and previewed; nothing is written yet."""
    form = UploadForm(request.POST or None, request.FILES or None)
    context = _import_context(form)
    if request.method != "POST":
        return render(request, "vaccination/import.html", context)
    if not form.is_valid():
        return render(request, "vaccination/import.html", context, status=400)
    user = request_user(request)
    try:
        received = uploads.receive(form.cleaned_data["file"], services.DOSES_UPLOAD)
        table = uploads.read(received, services.DOSES_UPLOAD)
        plan = services.plan_rows(services.rows_of(table), actor=user, today=timezone.localdate())
    except TableError as exc:
        form.add_error("file", str(exc))
        return render(request, "vaccination/import.html", context, status=400)
    context["preview"] = uploads.preview(table)
    context["plan"] = plan
    if plan.errors:
        return render(request, "vaccination/import.html", context, status=400)
    context["upload"] = uploads.stage(owner=user, received=received)
    return render(request, "vaccination/import.html", context)


@require_POST
@requires(Perm.VACCINATION_MANAGE, writes=("POST",))
def import_confirm(request: HttpRequest, vaccination_upload_id: int) -> HttpResponse:
    """Phase 2: read the held file again and record it all, or nothing."""
    user = request_user(request)
    upload = uploads.upload_for_user(user, services.DOSES_UPLOAD, vaccination_upload_id)
    context = _import_context(UploadForm())

    def apply(table: Table) -> services.Plan:
        return services.doses_import(
            rows=services.rows_of(table), actor=user, filename=upload.filename, sha256=upload.sha256
        )

    try:
        context["done"] = uploads.commit(upload, services.DOSES_UPLOAD, apply)
    except uploads.Refused as exc:
        context["plan"] = exc.payload
        return render(request, "vaccination/import.html", context, status=400)
    except (TableError, ValidationError) as exc:
        context["error"] = str(exc)
        return render(request, "vaccination/import.html", context, status=400)
    return render(request, "vaccination/import.html", context)


class DoseForm(forms.Form):
    number = forms.IntegerField(label=gettext_lazy("Dose"), min_value=1, max_value=MAX_DOSE)
    given_on = forms.DateField(label=gettext_lazy("Date"))
    product = forms.CharField(label=gettext_lazy("Product"), max_length=60)


class ContraindicationForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason (the doctor's word)"), max_length=200)


class TransportForm(forms.Form):
    site = forms.CharField(label=gettext_lazy("Vaccination site"), max_length=100)
    at = forms.DateTimeField(label=gettext_lazy("Appointment"))


bootstrap_widgets(DoseForm, ContraindicationForm, TransportForm)


def _person_page(
    request: HttpRequest, person_id: int, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    person = selectors.person_for_user(request.user, person_id)
    return render(
        request,
        "vaccination/person.html",
        {
            "person": person,
            "name": mask_name(person.name),
            "doses": selectors.doses_of(person),
            "contra": selectors.contraindication_of(person),
            "may_manage": has_perm(request.user, Perm.VACCINATION_MANAGE, person.jurisdiction.path),
            "dose_form": forms_.get("dose_form") or DoseForm(),
            "contra_form": forms_.get("contra_form") or ContraindicationForm(),
            "transport_form": forms_.get("transport_form") or TransportForm(),
        },
        status=status,
    )


@require_GET
@requires(Perm.VACCINATION_VIEW)
def person_page(request: HttpRequest, person_id: int) -> HttpResponse:
    return _person_page(request, person_id)


def _refused(form: forms.Form, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@require_POST
@requires(Perm.VACCINATION_MANAGE, writes=("POST",))
def person_dose(request: HttpRequest, person_id: int) -> HttpResponse:
    user = request_user(request)
    person = selectors.person_for_user(user, person_id, write=True)
    form = DoseForm(request.POST)
    if form.is_valid():
        try:
            services.dose_record(person=person, actor=user, **form.cleaned_data)
            return redirect("vaccination:person", person_id=person.pk)
        except ValidationError as exc:
            _refused(form, exc)
    return _person_page(request, person.pk, 400, dose_form=form)


@require_POST
@requires(Perm.VACCINATION_MANAGE, writes=("POST",))
def person_contraindication(request: HttpRequest, person_id: int) -> HttpResponse:
    user = request_user(request)
    person = selectors.person_for_user(user, person_id, write=True)
    form = ContraindicationForm(request.POST)
    if form.is_valid():
        try:
            services.contraindication_set(person=person, actor=user, **form.cleaned_data)
            return redirect("vaccination:person", person_id=person.pk)
        except ValidationError as exc:
            _refused(form, exc)
    return _person_page(request, person.pk, 400, contra_form=form)


@require_POST
@requires(Perm.VACCINATION_MANAGE, writes=("POST",))
def person_transport(request: HttpRequest, person_id: int) -> HttpResponse:
    user = request_user(request)
    person = selectors.person_for_user(user, person_id, write=True)
    form = TransportForm(request.POST)
    if form.is_valid():
        at: datetime = form.cleaned_data["at"]
        try:
            services.transport_arrange(
                person=person, site=form.cleaned_data["site"], at=at, actor=user
            )
            return redirect("vaccination:person", person_id=person.pk)
        except (ValidationError, DispatchError) as exc:
            if isinstance(exc, ValidationError):
                _refused(form, exc)
            else:
                form.add_error(None, str(exc))
    return _person_page(request, person.pk, 400, transport_form=form)
