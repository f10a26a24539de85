"""Pages of tracing (thin): the cases of the user's area and a case opened by hand; a
case's page (its tracing record from the scans, its household, its contacts with their
reasons and what became of them, and the actions: find contacts, put them under
control, add a declared one); the chain view, drawn as SVG, downloadable as the image
and as a table (both audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record, export_audited
from fangkong.core.crypto import blind_index
from fangkong.core.forms import add_validation_errors
from fangkong.core.masking import mask_name
from fangkong.core.normalise import normalise_phone
from fangkong.org.access import requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.people.models import Person
from fangkong.screening.models import PushedCategory
from fangkong.screening.selectors import pushed_list_for_user, pushed_lists_visible
from fangkong.tracing import cases, chains, companion, interview, selectors
from fangkong.tracing.forms import CaseForm, ChainFilter, DeclareForm, StayForm
from fangkong.tracing.models import Case, Contact, ContactHow, ContactStatus

LIST_LIMIT = 200


@require_GET
@requires(Perm.TRACING_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    return render(
        request,
        "tracing/index.html",
        {
            "cases": list(selectors.cases_visible(user)[:LIST_LIMIT]),
            "may_open": has_perm(user, Perm.TRACING_MANAGE),
        },
    )


def _person_by_phone(user: Any, phone: str) -> Person | None:
    digits = normalise_phone(phone)
    if not digits:
        return None
    key = blind_index(digits)
    found: Person | None = (
        Person.objects.visible_to(user, Perm.TRACING_MANAGE, as_filter=True)
        .filter(phone_hash=key)
        .select_related("jurisdiction", "household")
        .first()
    )
    return found


@require_http_methods(["GET", "POST"])
@requires(Perm.TRACING_MANAGE, writes=("POST",), writes_at="own")
def case_new(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = _person_by_phone(user, data["phone"])
        try:
            if person is None:
                raise ValidationError(
                    {"phone": _("No person in your area's registry has this mobile.")}
                )
            case, new = cases.case_open(
                person=person,
                kind=data["kind"],
                onset_on=data["onset_on"],
                sampled_on=data["sampled_on"],
                source=data["source"],
                actor=user,
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            if new:
                messages.success(request, _("The case is opened."))
            else:
                messages.info(request, _("This person has an open case already."))
            return redirect("tracing:case", case_id=case.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "tracing/new.html", {"form": form}, status=status)


def _case_context(
    user: Any, case: Case, declare: DeclareForm | None = None, stay: StayForm | None = None
) -> dict[str, Any]:
    contacts = list(selectors.contacts_of(case))
    household = (
        [
            mask_name(name)
            for name in Person.objects.filter(household_id=case.person.household_id)
            .exclude(pk=case.person.pk)
            .values_list("name", flat=True)
        ]
        if case.person.household_id
        else []
    )
    return {
        "case": case,
        "visits": selectors.record(case),
        "checked": selectors.checkpoint_record(case),
        "stays": interview.stays_of(case),
        "stay_form": stay or StayForm(),
        "companion_lists": list(
            pushed_lists_visible(user, Perm.TRACING_MANAGE).filter(
                category=PushedCategory.COMPANION
            )[:50]
        ),
        "household": household,
        "contacts": contacts,
        "controlled": sum(c.status == ContactStatus.CONTROLLED for c in contacts),
        "declare": declare or DeclareForm(),
        "may_manage": has_perm(user, Perm.TRACING_MANAGE, case.jurisdiction.path),
        "chain": chains.draw([case], contacts),
    }


@require_GET
@requires(Perm.TRACING_VIEW)
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    user = request_user(request)
    case = selectors.case_for_user(user, case_id)
    return render(request, "tracing/case.html", _case_context(user, case))


@require_POST
@requires(Perm.TRACING_MANAGE, writes=("POST",))
def case_act(request: HttpRequest, case_id: int) -> HttpResponseBase:
    """Find the contacts, put them under control, or add a declared one."""
    user = request_user(request)
    case = selectors.case_for_user(user, case_id, write=True)
    declare: DeclareForm | None = None
    stay: StayForm | None = None
    action = request.POST.get("action", "")
    try:
        if action == "find":
            found = cases.contacts_find(case=case, actor=user)
            messages.success(
                request,
                _("%(n)d new contacts found (%(scans)d scans read).")
                % {"n": found.total, "scans": found.scans},
            )
        elif action == "control":
            done = cases.contacts_control(case=case, actor=user)
            messages.success(
                request,
                _("%(c)d under control, %(f)d to find, %(p)d to place.")
                % {"c": len(done.controlled), "f": len(done.to_find), "p": len(done.not_placed)},
            )
        elif action == "declare":
            declare = DeclareForm(request.POST)
            if not declare.is_valid():
                raise ValidationError(_("Check the contact's fields."))
            data = declare.cleaned_data
            cases.contact_declare(
                case=case,
                actor=user,
                reason=data["reason"],
                last_exposure_on=data["last_exposure_on"],
                name=data["name"],
                phone=data["phone"],
            )
            messages.success(request, _("The contact is on the list."))
        elif action == "companion":
            list_id = request.POST.get("list_id", "")
            if not list_id.isdigit() or not 0 < int(list_id) < 2**31:
                raise ValidationError(_("Choose a list."))
            pushed = pushed_list_for_user(user, int(list_id), Perm.TRACING_MANAGE)
            linked = companion.companion_link(case=case, pushed=pushed, actor=user)
            messages.success(
                request,
                _("%(m)d contacts from the registry, %(u)d to find, %(a)d already listed.")
                % {"m": linked.matched, "u": linked.unmatched, "a": linked.already},
            )
        elif action == "stay":
            stay = StayForm(request.POST)
            if not stay.is_valid():
                raise ValidationError(_("Check the place and times."))
            data = stay.cleaned_data
            _stay, new = interview.stay_record(
                case=case,
                actor=user,
                place=interview.place_of_code(data["place_code"]),
                address=data["address"],
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                note=data["note"],
            )
            if new:
                messages.success(request, _("The place and times are on the record."))
            else:
                messages.info(request, _("These place and times were on the record already."))
        else:
            raise ValidationError(_("Unknown action."))
    except ValidationError as e:
        form = declare or stay
        if form is None:
            messages.error(request, " ".join(e.messages))
        else:
            add_validation_errors(form, e)
        return render(
            request, "tracing/case.html", _case_context(user, case, declare, stay), status=400
        )
    return redirect("tracing:case", case_id=case.pk)


def _chain_parts(request: HttpRequest) -> tuple[list[Case], list[Contact], ChainFilter]:
    """The cases and contacts the filter asks for, within the user's area."""
    user = request_user(request)
    form = ChainFilter(request.GET or None)
    wanted_case, degree = None, ""
    if form.is_valid():
        wanted_case, degree = form.cleaned_data["case"], form.cleaned_data["degree"]
    shown = selectors.cases_visible(user)
    if wanted_case:
        shown = shown.filter(pk=wanted_case)
    case_list = list(shown[:LIST_LIMIT])
    contacts = selectors.contacts_visible(user).filter(case__in=case_list)
    if degree:
        contacts = contacts.filter(degree=int(degree))
    return case_list, list(contacts[:2000]), form


@require_GET
@requires(Perm.TRACING_VIEW)
def chain(request: HttpRequest) -> HttpResponse:
    case_list, contacts, form = _chain_parts(request)
    return render(
        request,
        "tracing/chain.html",
        {
            "chain": chains.draw(case_list, contacts),
            "form": form,
            "query": request.GET.urlencode(),
            "may_export": has_perm(request_user(request), Perm.DATA_EXPORT),
        },
    )


@require_GET
@requires(Perm.TRACING_VIEW)
def chain_svg(request: HttpRequest) -> HttpResponse:
    """The chain as an SVG file (masked labels); the download is audited."""
    case_list, contacts, _form = _chain_parts(request)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_repr="chain view (svg)",
        detail={"format": "svg", "cases": len(case_list), "contacts": len(contacts)},
    )
    svg = render_to_string(
        "tracing/_chain_svg.html", {"chain": chains.draw(case_list, contacts), "standalone": True}
    )
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chain.svg"'
    return response


def table_rows(contacts: list[Contact]) -> list[list[Any]]:
    return [
        [
            c.case_id,
            c.shown_name,
            c.shown_phone,
            c.degree,
            c.via.shown_name if c.via else "",
            str(ContactHow(c.how).label),
            c.place.name if c.place else "",
            c.last_exposure_on.isoformat(),
            c.reason,
            str(ContactStatus(c.status).label),
        ]
        for c in contacts
    ]


@require_GET
@requires(Perm.DATA_EXPORT)
def chain_table(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The chain as a table (masked) through the one spreadsheet writer, audited; its
    rows are the cases the user sees with tracing.view (none without it)."""
    case_list, contacts, _form = _chain_parts(request)
    return export_audited(
        request,
        fmt=fmt,
        basename="chain",
        header=[
            _("Case"),
            _("Contact"),
            _("Phone"),
            _("Degree"),
            _("Via"),
            _("How"),
            _("Place"),
            _("Last exposure"),
            _("Reason"),
            _("Status"),
        ],
        body=table_rows(contacts),
        what=f"chain view: {len(case_list)} cases",
    )
