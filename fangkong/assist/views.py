"""Pages of households' requests (thin): the resident's own page by their personal link
(a phone, no sign-in), staff entering one for a resident, the requests of the area, one
request with its hand-over, and the response times by village and kind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.accounts.selectors import request_user
from fangkong.assist import selectors
from fangkong.assist.forms import AskForm, HandoverForm, StaffRequestForm
from fangkong.assist.models import Channel, RequestStatus
from fangkong.assist.services import request_create, request_handover
from fangkong.control.checks import order_for_token
from fangkong.control.models import OrderStatus
from fangkong.core.forms import add_validation_errors
from fangkong.core.masking import mask_name
from fangkong.org.access import public, requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm


def _kinds(form: forms.Form) -> dict[str, Any]:
    found = {k.code: k for k in selectors.kinds()}
    cast(forms.ChoiceField, form.fields["kind"]).choices = [
        (k.code, k.name) for k in found.values()
    ]
    return found


@require_http_methods(["GET", "POST"])
@public
def ask(request: HttpRequest, token: str) -> HttpResponse:
    """The resident's own request, from the personal link of their control order."""
    order = order_for_token(token)
    if order is None or order.status != OrderStatus.ACTIVE:
        return render(request, "assist/ask.html", {"expired": True}, status=404)
    person = order.person
    form = AskForm(request.POST or None)
    kinds = _kinds(form)
    context: dict[str, Any] = {"form": form, "name": mask_name(person.name)}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                req, _new = request_create(
                    person=person,
                    kind=kinds[form.cleaned_data["kind"]],
                    channel=Channel.LINK,
                    detail=form.cleaned_data["detail"],
                    client_id=form.cleaned_data["client_id"],
                    actor=None,
                )
            except ValidationError as e:
                add_validation_errors(form, e)
                status = 400
            else:
                context["done"] = req
                context["form"] = form = AskForm()
                _kinds(form)
        else:
            status = 400
    context["recent"] = selectors.recent_of(person, timezone.now() - timedelta(days=7))
    return render(request, "assist/ask.html", context, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",))
def request_new(request: HttpRequest, person_id: int) -> HttpResponseBase:
    """A request taken by phone or at the door, entered for the resident."""
    person = selectors.asker_for_user(request.user, person_id)
    form = StaffRequestForm(request.POST or None)
    kinds = _kinds(form)
    if request.method == "POST" and form.is_valid():
        try:
            req, _new = request_create(
                person=person,
                kind=kinds[form.cleaned_data["kind"]],
                channel=form.cleaned_data["channel"],
                detail=form.cleaned_data["detail"],
                client_id=form.cleaned_data["client_id"],
                actor=request_user(request),
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            return redirect("assist:request", request_id=req.pk)
    return render(
        request, "assist/request_form.html", {"form": form, "name": mask_name(person.name)}
    )


@require_GET
@requires(Perm.ASSIST_VIEW)
def request_list(request: HttpRequest) -> HttpResponse:
    found = list(selectors.requests_visible(request.user).order_by("status", "due_at", "id")[:300])
    return render(
        request,
        "assist/requests.html",
        {
            "requests": [(r, mask_name(r.person.name)) for r in found],
            "now": timezone.now(),
            "open": RequestStatus.OPEN,
        },
    )


@require_GET
@requires(Perm.ASSIST_VIEW)
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    req = selectors.request_for_user(request.user, request_id)
    return render(
        request,
        "assist/request.html",
        {
            "req": req,
            "name": mask_name(req.person.name),
            "form": HandoverForm(),
            "may_enter": has_perm(request.user, Perm.ASSIST_ENTER, req.jurisdiction.path),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",))
def request_handover_page(request: HttpRequest, request_id: int) -> HttpResponseBase:
    req = selectors.request_for_user(request.user, request_id, write=True)
    form = HandoverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            request_handover(
                request_id=req.pk,
                to=form.cleaned_data["to"],
                note=form.cleaned_data["note"],
                actor=request_user(request),
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("The hand-over is recorded."))
            return redirect("assist:request", request_id=req.pk)
    return render(
        request,
        "assist/request.html",
        {"req": req, "name": mask_name(req.person.name), "form": form, "may_enter": True},
    )


@require_GET
@requires(Perm.ASSIST_VIEW)
def response_times(request: HttpRequest) -> HttpResponse:
    try:
        days = min(max(int(request.GET.get("days", "7")), 1), 90)
    except ValueError:
        days = 7
    since = timezone.now() - timedelta(days=days)
    return render(
        request,
        "assist/times.html",
        {"rows": selectors.response_times(request.user, since), "days": days},
    )
