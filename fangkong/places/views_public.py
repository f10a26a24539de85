"""The public page behind a place code (no account). The first scan on a phone asks a
name and a mobile, which the phone keeps (localStorage) with a signed token; later scans
send the token only. Each scan shows the place, the time and a large green mark the
staff at the door can see. A signed-in inspector is offered the inspection."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from fangkong.core.forms import add_validation_errors
from fangkong.org.access import public
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.places import limits, selectors, services
from fangkong.places.forms import VisitorForm
from fangkong.places.models import Place, PlaceStatus

TEMPLATE = "places/scan.html"


def _wait(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def _too_many(request: HttpRequest, context: dict[str, Any], retry: int) -> HttpResponse:
    context["throttled"] = _("Too many scans just now. Try again in %(wait)s.") % {
        "wait": _wait(retry)
    }
    response = render(request, TEMPLATE, context, status=429)
    response["Retry-After"] = str(retry)
    return response


@require_http_methods(["GET", "POST"])
@public
def scan(request: HttpRequest, place_code: str) -> HttpResponse:
    place = selectors.public_place(place_code)
    if request.method != "POST":
        return _scan(request, place)
    # The counters and the scan in one commit: on PostgreSQL a commit (a WAL flush) is
    # the scan's main cost, and the page would otherwise pay four or five.
    with transaction.atomic():
        return _scan(request, place)


def _scan(request: HttpRequest, place: Place) -> HttpResponse:
    form = VisitorForm(request.POST or None)
    context: dict[str, Any] = {"place": place, "form": form}
    if request.user.is_authenticated and has_perm(
        request.user, Perm.PLACES_PATROL, place.jurisdiction.path
    ):
        context["may_inspect"] = True
    if request.method != "POST":
        return render(request, TEMPLATE, context)
    if place.status == PlaceStatus.CLOSED:
        context["closed"] = True
        return render(request, TEMPLATE, context, status=409)
    retry = limits.place_refusal(place.pk) or limits.network_refusal(request)
    if retry:
        return _too_many(request, context, retry)
    if not form.is_valid():
        return render(request, TEMPLATE, context, status=400)
    token = form.cleaned_data["token"]
    key = services.key_of_token(token) if token else None
    if key is None:
        try:
            name, phone = services.clean_visitor(
                form.cleaned_data["name"], form.cleaned_data["phone"]
            )
        except ValidationError as e:
            add_validation_errors(form, e)
            context["ask"] = True
            return render(request, TEMPLATE, context, status=400)
        retry = limits.visitor_refusal(services.visitor_key(phone))
        if retry:
            return _too_many(request, context, retry)
        key = services.visitor_remember(name=name, phone=phone)
        token = ""
    else:
        retry = limits.visitor_refusal(key)
        if retry:
            return _too_many(request, context, retry)
    context["done"] = services.scan_record(place=place, key=key, token=token)
    return render(request, TEMPLATE, context)
