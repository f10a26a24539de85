"""Testing pages (thin: the services decide, the selectors read): the rounds, a round's
coverage by grid with its positives, the sampler's phone page, the lab's upload, the
not-tested list's export, and a resident's personal code."""

from __future__ import annotations

import segno
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.audit.services import export_audited
from fangkong.core import uploads
from fangkong.core.bounds import is_id
from fangkong.core.masking import mask_name
from fangkong.core.tabular import Table, TableError
from fangkong.org.access import public, requires, signed_in
from fangkong.org.forms import UploadForm
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, scope_paths
from fangkong.people.selectors import person_for_user, search_q
from fangkong.testing import coverage, results, selectors
from fangkong.testing.codes import resident_code, results_token
from fangkong.testing.models import Round
from fangkong.testing.rounds import scope_paths as round_paths


@require_GET
@signed_in
def round_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    rounds = list(selectors.rounds_visible(user)[:100])
    return render(
        request,
        "testing/rounds.html",
        {
            "rounds": rounds,
            "may_view": has_perm(user, Perm.TESTING_VIEW),
            "may_sample": has_perm(user, Perm.TESTING_SAMPLE),
            "may_send": has_perm(user, Perm.TESTING_RESULTS),
            "may_create": bool(selectors.manage_towns(user)),
        },
    )


@require_GET
@requires(Perm.TESTING_VIEW)
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    user = request.user
    round_ = selectors.round_for_user(user, round_id, Perm.TESTING_VIEW)
    today = timezone.localdate()
    return render(
        request,
        "testing/round.html",
        {
            "round": round_,
            "cov": coverage.coverage(round_, today=today, user=user),
            "recalls": [
                (r, mask_name(r.person.name)) for r in selectors.recalls_visible(user, round_)[:500]
            ],
            "may_export": has_perm(user, Perm.DATA_EXPORT),
            "may_manage": has_perm(user, Perm.TESTING_MANAGE, round_.jurisdiction.path),
            "chase_nodes": selectors.chase_nodes(user, round_),
        },
    )


@require_GET
@requires(Perm.TESTING_SAMPLE)
def sampler(request: HttpRequest, round_id: int) -> HttpResponse:
    """The sampler's phone page; its records go through the offline queue to the API."""
    round_ = selectors.round_for_user(request.user, round_id, Perm.TESTING_SAMPLE)
    return render(
        request,
        "testing/sampler.html",
        {
            "round": round_,
            "points": list(round_.points.order_by("name")),
            "csrf": get_token(request),
        },
    )


@require_GET
@requires(Perm.TESTING_SAMPLE)
def lookup(request: HttpRequest, round_id: int) -> JsonResponse:
    """Residents for the sampler's search (online only): in the round's scope and the
    sampler's area, at most 8, names masked, the last 4 of the ID to tell them apart."""
    user = request.user
    round_ = selectors.round_for_user(user, round_id, Perm.TESTING_SAMPLE)
    term = search_q(request.GET.get("q", "")[:40])
    if term is None:
        return JsonResponse({"persons": []})
    within = Q(pk__in=[])
    for path in round_paths(round_):
        for mine in scope_paths(user, Perm.TESTING_SAMPLE):
            deeper = path if path.startswith(mine) else mine if mine.startswith(path) else None
            if deeper:
                within |= Q(jurisdiction__path__startswith=deeper)
    found = (
        coverage.residents(round_)
        .filter(term.q)
        .filter(within)
        .select_related("jurisdiction")
        .order_by("name_key", "pk")[:8]
    )
    return JsonResponse(
        {
            "persons": [
                {
                    "pk": p.pk,
                    "name": mask_name(p.name),
                    "grid": p.jurisdiction.name,
                    "id": p.id_number_masked[-4:] if p.id_number_masked else "",
                }
                for p in found
            ]
        }
    )


def _lab_round(request: HttpRequest, round_id: int) -> Round:
    return selectors.round_for_user(request.user, round_id, Perm.TESTING_RESULTS)


@require_http_methods(["GET", "POST"])
@requires(Perm.TESTING_RESULTS, writes=("POST",))
def results_upload(request: HttpRequest, round_id: int) -> HttpResponse:
    """Phase 1: the lab's file read through the one upload pipeline and previewed."""
    round_ = _lab_round(request, round_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"round": round_, "form": form}
    if request.method != "POST":
        return render(request, "testing/results.html", context)
    if not form.is_valid():
        return render(request, "testing/results.html", context, status=400)
    try:
        received = uploads.receive(form.cleaned_data["file"], results.RESULTS_UPLOAD)
        table = uploads.read(received, results.RESULTS_UPLOAD)
        rows = results.rows_of(table)
    except TableError as exc:
        form.add_error("file", str(exc))
        return render(request, "testing/results.html", context, status=400)
    context["preview"] = uploads.preview(table)
    context["row_count"] = len(rows)
    # What confirming would record and which rows it would list, before anything is.
    context["check"] = results.results_check(round_=round_, rows=rows, actor=request_user(request))
    context["upload"] = uploads.stage(owner=request_user(request), received=received)
    return render(request, "testing/results.html", context)


@require_POST
@requires(Perm.TESTING_RESULTS, writes=("POST",))
def results_confirm(request: HttpRequest, results_upload_id: int) -> HttpResponse:
    """Phase 2: record the rows; the report lists every row not recorded and why."""
    upload = uploads.upload_for_user(
        request_user(request), results.RESULTS_UPLOAD, results_upload_id
    )
    text = request.POST.get("round", "")
    round_id = int(text) if text.isdigit() and len(text) < 19 else 0
    if not is_id(round_id):
        return HttpResponse(_("Which round? Send the file again from its page."), status=400)
    round_ = _lab_round(request, round_id)
    context: dict[str, object] = {"round": round_, "form": UploadForm()}

    def apply(table: Table) -> results.Report:
        return results.results_record(
            round_=round_,
            rows=results.rows_of(table),
            actor=request_user(request),
            source="file",
            filename=upload.filename,
            sha256=upload.sha256,
        )

    try:
        context["report"] = uploads.commit(upload, results.RESULTS_UPLOAD, apply)
    except (TableError, ValidationError) as exc:
        context["error"] = [str(exc)]
        return render(request, "testing/results.html", context, status=400)
    return render(request, "testing/results.html", context)


EXPORT_HEADER = ("grid", "name", "address", "ID number")


@require_GET
@requires(Perm.DATA_EXPORT)
def not_tested_export(request: HttpRequest, round_id: str, fmt: str) -> HttpResponseBase:
    """The not-tested list of the user's area (masked), through the one spreadsheet
    writer; the export is audited."""
    user = request.user
    round_ = selectors.round_for_user(user, int(round_id), Perm.TESTING_VIEW)
    people = coverage.not_tested(round_, today=timezone.localdate(), user=user)
    return export_audited(
        request,
        fmt=fmt,
        basename=f"not-tested-{round_.pk}",
        header=[_("Grid"), _("Name"), _("Address"), _("ID number")],
        body=coverage.export_rows(people),
        what=f"round {round_.pk}: not tested",
    )


@require_GET
@requires(Perm.PEOPLE_VIEW)
def resident_code_page(request: HttpRequest, person_id: int) -> HttpResponse:
    """A resident's personal code for sampling, to print or show on a phone: a QR of a
    signed opaque code, with the masked name beside it and nothing else."""
    person = person_for_user(request.user, person_id)
    code = resident_code(person.pk)
    qr = segno.make(code, error="m").svg_inline(scale=6, dark="#000", omitsize=True)
    # The link opens the person's results: shown to those who may see them.
    link = (
        request.build_absolute_uri(reverse("testing:mine", args=[results_token(person.pk)]))
        if has_perm(request.user, Perm.TESTING_VIEW, person.jurisdiction.path)
        else ""
    )
    return render(
        request,
        "testing/code.html",
        {"name": mask_name(person.name), "code": code, "qr": qr, "link": link},
    )


@require_GET
@public
def my_results(request: HttpRequest, token: str) -> HttpResponse:
    """The resident's own link: their code to show at the table and their own latest
    results; nothing of anyone else. A forged or expired link shows nothing."""
    person = selectors.resident_of_link(token)
    if person is None:
        return render(request, "testing/mine.html", {"expired": True}, status=404)
    code = resident_code(person.pk)
    return render(
        request,
        "testing/mine.html",
        {
            "name": mask_name(person.name),
            "qr": segno.make(code, error="m").svg_inline(scale=5, dark="#000", omitsize=True),
            "results": selectors.result_rows(selectors.person_results(person.pk)),
        },
    )
