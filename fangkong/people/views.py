"""Registry pages: search and lists, person and household pages, forms, registers, export."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core import search_terms
from fangkong.core.exports import export_response
from fangkong.core.forms import add_validation_errors
from fangkong.core.masking import mask_name
from fangkong.core.paging import CappedPaginator
from fangkong.org.access import requires
from fangkong.org.forms import UnmaskForm, node_from_form
from fangkong.org.pii import export_unmask, refused_export, unmask_view
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people import selectors
from fangkong.people.export import PERSON_EXPORT_HEADER, person_export_rows
from fangkong.people.filters import ADDRESS_FIELDS, filters_for_record, person_filters
from fangkong.people.forms import HouseholdForm, PersonForm
from fangkong.people.panels import panels_for
from fangkong.people.services import household_create, person_register, person_update


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_VIEW, writes=("POST",))
def person_list(request: HttpRequest) -> HttpResponse:
    """The list and its search. The search form posts, so that what was typed never
    enters an address; the answer is the list at an address holding the term as `q=`
    (a name) or a session token (anything with a digit), which pagination, exports and
    dispatch then carry."""
    if request.method == "POST":
        params = search_terms.address_query(request, request.POST, ADDRESS_FIELDS)
        url = f"{reverse('people:person_list')}?{params.urlencode()}"
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect(url)
    else:
        params = request.GET
    form, filters = person_filters(request, params)
    persons = selectors.person_list(request.user, filters, today=timezone.localdate())
    page = CappedPaginator(persons, 50).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "can_export": has_perm(request.user, Perm.DATA_EXPORT),
        "can_dispatch": has_perm(request.user, Perm.ORDERS_DISPATCH),
    }
    template = "people/person_list.html#rows" if request.htmx else "people/person_list.html"  # type: ignore[attr-defined]
    response = render(request, template, context)
    if request.method == "POST":
        response["HX-Push-Url"] = url
    return response


@require_GET
@requires(Perm.PEOPLE_VIEW)
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    person = selectors.person_for_user(request.user, person_id)
    return render(
        request,
        "people/person_detail.html",
        {
            "person": person,
            "tags": person.tags.all(),
            "history": selectors.person_history(person),
            "panels": panels_for(request.user, person),
            "can_unmask": has_perm(request.user, Perm.PII_UNMASK, person.jurisdiction.path),
            "can_edit": has_perm(request.user, Perm.PEOPLE_EDIT, person.jurisdiction.path),
            "form": UnmaskForm(),
        },
    )


@require_POST
@requires(Perm.PII_UNMASK, writes=("POST",))
def person_unmask(request: HttpRequest, person_id: int) -> HttpResponse:
    """ID number and phones of one person in clear, for a stated purpose; audited."""
    person = selectors.person_for_user(request.user, person_id)
    return unmask_view(
        request,
        obj=person,
        name=person.name,
        path=person.jurisdiction.path,
        fields=["id_number", "phone", "phone2"] if person.phone2 else ["id_number", "phone"],
        template="people/person_detail.html",
        context={"person": person},
    )


def _save_person(
    request: HttpRequest, form: PersonForm, *, person: Any = None, household: Any = None
) -> Any:
    assert form.person is not None  # noqa: S101 - form.is_valid() guarantees it
    actor = request_user(request)
    try:
        if person is None:
            person = person_register(data=form.person, household=household, actor=actor)
        else:
            person_update(person=person, data=form.person, actor=actor)
    except ValidationError as exc:
        add_validation_errors(form, exc)
        return None
    # Saved all the same: the next page says what to check.
    for warnings in form.person.warnings.values():
        for warning in warnings:
            messages.warning(request, warning)
    return person


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_EDIT, writes=("POST",))
def person_create(request: HttpRequest, household_id: int) -> HttpResponse:
    household = selectors.household_for_user(request.user, household_id, write=True)
    form = PersonForm(request.POST or None, today=timezone.localdate())
    if request.method == "POST" and form.is_valid():
        person = _save_person(request, form, household=household)
        if person is not None:
            audit_record(
                action=AuditAction.CREATE,
                request=request,
                obj=person,
                object_repr=mask_name(person.name),
                jurisdiction_path=household.jurisdiction.path,
            )
            return redirect("people:person_detail", person_id=person.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "people/person_form.html", {"form": form, "household": household}, status=status
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_EDIT, writes=("POST",))
def person_edit(request: HttpRequest, person_id: int) -> HttpResponse:
    person = selectors.person_for_user(request.user, person_id, write=True)
    form = PersonForm(
        request.POST or None,
        initial=PersonForm.initial_from(person),
        today=timezone.localdate(),
        current=person,
    )
    if request.method == "POST" and form.is_valid() and _save_person(request, form, person=person):
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            obj=person,
            object_repr=mask_name(person.name),
            jurisdiction_path=person.jurisdiction.path,
        )
        return redirect("people:person_detail", person_id=person.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "person": person,
        # The current values in clear only through the audited unmasking, as on the
        # person's page.
        "can_unmask": has_perm(request.user, Perm.PII_UNMASK, person.jurisdiction.path),
        "unmask_form": UnmaskForm(),
    }
    return render(request, "people/person_form.html", context, status=status)


@require_GET
@requires(Perm.PEOPLE_VIEW)
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    household = selectors.household_for_user(request.user, household_id)
    members = household.members.order_by("id")
    return render(
        request,
        "people/household_detail.html",
        {
            "household": household,
            "members": members,
            "can_edit": has_perm(request.user, Perm.PEOPLE_EDIT, household.jurisdiction.path),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_EDIT, writes=("POST",))
def household_new(request: HttpRequest) -> HttpResponse:
    form = HouseholdForm(request.POST or None, initial={"node": request.GET.get("node", "")})
    if request.method == "POST" and form.is_valid():
        node = node_from_form(form, request.user, Perm.PEOPLE_EDIT)
        data = {k: v for k, v in form.cleaned_data.items() if k != "node"}
        if node is not None:
            try:
                household = household_create(jurisdiction=node, **data)
            except ValidationError as exc:
                add_validation_errors(form, exc, rename={"jurisdiction": "node"})
            else:
                audit_record(
                    action=AuditAction.CREATE,
                    request=request,
                    obj=household,
                    object_repr=household.address,
                    jurisdiction_path=node.path,
                )
                return redirect("people:household_detail", household_id=household.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "people/household_form.html", {"form": form}, status=status)


@require_GET
@requires(Perm.PEOPLE_VIEW)
def registers(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    items = [
        (key, spec["label"], selectors.register_list(request.user, key, today=today).count())
        for key, spec in selectors.REGISTERS.items()
    ]
    return render(request, "people/registers.html", {"items": items})


@require_GET
@requires(Perm.PEOPLE_VIEW)
def register(request: HttpRequest, register_key: str) -> HttpResponse:
    key = register_key
    if key not in selectors.REGISTERS:
        raise Http404
    _form, filters = person_filters(request)
    persons = selectors.register_list(
        request.user, key, node=filters.node, today=timezone.localdate()
    )
    page = CappedPaginator(persons, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "people/register.html",
        {
            "key": key,
            "label": selectors.REGISTERS[key]["label"],
            "page": page,
            "can_export": has_perm(request.user, Perm.DATA_EXPORT),
        },
    )


@require_GET
@requires(Perm.DATA_EXPORT)
def person_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """Any list the user may see, streamed; masked unless unmasking with a purpose."""
    form, filters = person_filters(request)
    if filters.refused:
        return HttpResponse(" ".join(str(e) for e in form.errors.get("q", [])), status=400)
    asked = export_unmask(request)
    if asked is None:
        return refused_export()
    today = timezone.localdate()
    key = request.GET.get("register", "")
    persons = (
        selectors.register_list(request.user, key, node=filters.node, today=today)
        if key in selectors.REGISTERS
        else selectors.person_list(request.user, filters, today=today)
    )
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_repr=_("person list"),
        jurisdiction_path=filters.node.path if filters.node else "",
        purpose=asked.purpose,
        detail={
            "format": fmt,
            "filters": filters_for_record(filters) | ({"register": key} if key else {}),
            "unmasked": asked.unmask,
        },
    )
    return export_response(
        fmt,
        "persons",
        PERSON_EXPORT_HEADER,
        person_export_rows(persons, asked.clear_paths, today=today),
    )
