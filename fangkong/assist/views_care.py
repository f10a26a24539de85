"""Pages of the vulnerable-people register (thin): the register of the area village by
village (masked names, groups, contact person, needs, today's check), a person's entry
(contact person, needs, the meal list), and the meal list of a store's area with a
meal recorded at the door."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.accounts.selectors import request_user
from fangkong.assist import selectors
from fangkong.assist.care import care_set, meal_issue
from fangkong.assist.forms import CareForm, MealForm
from fangkong.core.forms import add_validation_errors
from fangkong.core.masking import mask_name
from fangkong.org.access import requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import jurisdiction_for_user


@require_GET
@requires(Perm.ASSIST_VIEW)
def care_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    today = timezone.localdate()
    node = None
    code = request.GET.get("node", "")
    if code:
        try:
            node = jurisdiction_for_user(user, code[:40], Perm.ASSIST_VIEW)
        except Http404:
            node = None
    people = selectors.register_people(user, today=today, node=node)
    return render(
        request,
        "assist/care_list.html",
        {
            "rows": selectors.register_rows(people, today=today),
            "node": node,
            "capped": len(people) >= selectors.REGISTER_CAP,
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",))
def care_edit(request: HttpRequest, person_id: int) -> HttpResponseBase:
    user = request_user(request)
    person = selectors.care_person_for_user(user, person_id, write=request.method == "POST")
    entry = selectors.care_entry_of(person)
    contacts = {u.pk: u for u in selectors.contact_choices(person, user)}
    if entry is not None and entry.contact is not None:
        # The contact set by someone above stays unless changed.
        contacts.setdefault(entry.contact.pk, entry.contact)
    initial = (
        {"contact": entry.contact_id, "needs": entry.needs, "meals": entry.meals} if entry else {}
    )
    form = CareForm(request.POST or None, initial=initial)
    cast(forms.ChoiceField, form.fields["contact"]).choices = [
        ("", "—"),
        *((pk, selectors.staff_name(u)) for pk, u in contacts.items()),
    ]
    if request.method == "POST" and form.is_valid():
        try:
            care_set(
                actor=user,
                person=person,
                contact=contacts.get(form.cleaned_data["contact"] or 0),
                needs=form.cleaned_data["needs"],
                meals=form.cleaned_data["meals"],
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("The register entry is saved."))
            return redirect("assist:care")
    return render(
        request,
        "assist/care_form.html",
        {
            "form": form,
            "name": mask_name(person.name),
            "node": person.jurisdiction,
            "may_enter": has_perm(user, Perm.ASSIST_ENTER, person.jurisdiction.path),
            "checks": list(entry.checks.all()[:14]) if entry else [],
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSIST_ENTER, writes=("POST",), writes_at="within")
def store_meals(request: HttpRequest, store_id: int) -> HttpResponseBase:
    """The meal list of the store's area: who has had today's meal, and one recorded."""
    user = request_user(request)
    store = (
        selectors.handing_store_for_user(user, store_id)
        if request.method == "POST"
        else selectors.store_for_user(user, store_id)
    )
    today = timezone.localdate()
    rows = selectors.meal_list(user, store, today=today)
    form = MealForm(request.POST or None)
    cast(forms.ChoiceField, form.fields["person"]).choices = [
        (r.entry.person_id, f"{r.village} · {r.name}") for r in rows
    ]
    if request.method == "POST" and form.is_valid():
        try:
            entry = selectors.meal_entry_for_user(user, form.cleaned_data["person"])
            meal_issue(
                actor=user, store=store, entry=entry, client_id=form.cleaned_data["client_id"]
            )
        except ValidationError as e:
            add_validation_errors(form, e, rename={"store": "person"})
        else:
            messages.success(request, _("The meal is recorded."))
            return redirect("assist:meals", store_id=store.pk)
    return render(
        request,
        "assist/meals.html",
        {
            "store": store,
            "rows": rows,
            "form": form,
            "given": sum(r.given for r in rows),
            "may_enter": has_perm(user, Perm.ASSIST_ENTER, store.jurisdiction.path),
        },
    )
