"""Supplies pages (thin): the stores of the area with their balances and shortages, a
new store, one store with its ledger, a donation or purchase received, and a package
recorded at a household's door."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.accounts.selectors import request_user
from fangkong.assist import selectors
from fangkong.assist.forms import AlertsForm, PackageForm, ReceiveForm, StoreForm
from fangkong.assist.supplies import alerts_set, package_issue, receive, store_create
from fangkong.core.forms import add_validation_errors
from fangkong.core.masking import mask_middle
from fangkong.org.access import requires
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm, scope_paths, subtree_q


@require_GET
@requires(Perm.ASSIST_VIEW)
def store_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    stores = list(selectors.stores_visible(user)[:100])
    return render(
        request,
        "assist/stores.html",
        {
            "stores": [(s, selectors.balances(s)) for s in stores],
            "shortages": list(selectors.shortages(user)[:100]),
            "may_enter": has_perm(user, Perm.ASSIST_ENTER),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",), writes_at="own")
def store_new(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    q = Q(pk__in=[])
    for root in scope_paths(user, Perm.ASSIST_ENTER):
        q |= subtree_q("path", root)
    nodes = list(
        Jurisdiction.objects.filter(q, level__in=(Level.TOWN, Level.VILLAGE)).order_by("path")
    )
    form = StoreForm(request.POST or None)
    cast(forms.ChoiceField, form.fields["node"]).choices = [(n.code, n.name) for n in nodes]
    if request.method == "POST" and form.is_valid():
        node = next(n for n in nodes if n.code == form.cleaned_data["node"])
        try:
            store = store_create(actor=user, jurisdiction=node, name=form.cleaned_data["name"])
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            return redirect("assist:store", store_id=store.pk)
    return render(request, "assist/store_form.html", {"form": form})


def _store_page(request: HttpRequest, store: Any, **extra: Any) -> HttpResponse:
    return render(
        request,
        "assist/store.html",
        {
            "store": store,
            "balances": selectors.balances(store),
            "moves": list(store.moves.select_related("item").order_by("-id")[:50]),
            "may_enter": has_perm(request.user, Perm.ASSIST_ENTER, store.jurisdiction.path),
            "may_hand_out": selectors.may_hand_out(request.user, store),
            **extra,
        },
    )


@require_GET
@requires(Perm.ASSIST_VIEW)
def store_detail(request: HttpRequest, store_id: int) -> HttpResponse:
    return _store_page(request, selectors.store_for_user(request.user, store_id))


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",))
def store_receive(request: HttpRequest, store_id: int) -> HttpResponseBase:
    # The form is shown to whoever sees the store; receiving needs the permission there.
    store = selectors.store_for_user(request.user, store_id, write=request.method == "POST")
    items = list(selectors.items())
    form = ReceiveForm(request.POST or None, items=items)
    if request.method == "POST" and form.is_valid():
        lines = [(i, form.cleaned_data.get(f"q_{i.code}") or 0) for i in items]
        try:
            receive(
                actor=request_user(request),
                store=store,
                kind=form.cleaned_data["kind"],
                lines=[(i, n) for i, n in lines if n],
                client_id=form.cleaned_data["client_id"],
                donor=form.cleaned_data["donor"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("Received."))
            return redirect("assist:store", store_id=store.pk)
    return render(request, "assist/store_form.html", {"form": form, "store": store})


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",), writes_at="within")
def store_package(request: HttpRequest, store_id: int) -> HttpResponseBase:
    """A package recorded at the door: the household, once a day."""
    user = request_user(request)
    store = (
        selectors.handing_store_for_user(user, store_id)
        if request.method == "POST"
        else selectors.store_for_user(user, store_id)
    )
    households = {h.pk: h for h in selectors.households_to_serve(user, store)}
    form = PackageForm(request.POST or None)
    cast(forms.ChoiceField, form.fields["household"]).choices = [
        (h.pk, h.address) for h in households.values()
    ]
    if request.method == "POST" and form.is_valid():
        try:
            _package, _new = package_issue(
                actor=user,
                store=store,
                household=households[form.cleaned_data["household"]],
                client_id=form.cleaned_data["client_id"],
            )
        except ValidationError as e:
            add_validation_errors(form, e, rename={"store": "household"})
        else:
            messages.success(request, _("The package is recorded."))
            return redirect("assist:store", store_id=store.pk)
    # With a script, the form goes through the phone's offline queue (offline.js); the
    # label it keeps while queued is masked.
    return render(
        request,
        "assist/package.html",
        {
            "form": form,
            "store": store,
            "labels": {h.pk: mask_middle(h.address, 4, 4) for h in households.values()},
            "csrf": get_token(request),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",))
def store_alerts(request: HttpRequest, store_id: int) -> HttpResponseBase:
    """The store's shortage thresholds: below them the item is short (0: never)."""
    user = request_user(request)
    store = selectors.store_for_user(user, store_id, write=request.method == "POST")
    items = list(selectors.items())
    below = selectors.alert_thresholds(store)
    form = AlertsForm(request.POST or None, items=items, initial_below=below)
    if request.method == "POST" and form.is_valid():
        try:
            alerts_set(
                actor=user,
                store=store,
                thresholds=[(i, form.cleaned_data[f"below_{i.code}"]) for i in items],
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("The thresholds are saved."))
            return redirect("assist:store", store_id=store.pk)
    return render(request, "assist/store_form.html", {"form": form, "store": store})
