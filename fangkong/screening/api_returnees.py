"""Returnee reports API: filed by staff (as on the staff registration page), listed and
read in scope with identifiers masked, and verified through the report's verification
order (as on the order's page); and, without an account, a residents' mini-program's
way to file a report for a village and to look up its status.

The public operations are the public form behind a village's QR code in another shape:
the same form class checks the report (honeypot included), the same service files it,
and the same counters limit it (`screening.limits`). They answer with the caller's own
report only: its code, masked ID number, proposed measure and status.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import HttpError

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ACCESS_EXTENSION, ScopedRouter
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.screening import limits, selectors, services
from fangkong.screening.forms import ReportForm, StatusForm
from fangkong.screening.models import ReturneeReport, Source
from fangkong.workorders import services as order_services

router = ScopedRouter(tags=["screening"])

NodeCode = Annotated[str, Field(max_length=40, description="A node's code; empty: your area")]
# The form's pickers (province, city, county, street) are one division code here.
_ORIGIN_FIELDS = ("province", "city", "county", "street")


class PersonMeasureOut(Schema):
    category: str
    place: str
    status: str = Field(description="proposed (by the rules) or verified (in person)")
    starts_on: date | None
    ends_on: date | None
    edition: str
    reason: str
    decided_at: datetime


class ReportOut(Schema):
    id: Id
    code: str
    name: str
    id_number_masked: str
    phone_masked: str
    node_code: str
    node_name: str
    origin_code: str
    origin_label: str
    left_on: date
    arrived_on: date
    mode: str
    vehicle: str
    address: str
    symptoms: bool
    vaccination: Count
    category: str
    proposed_place: str
    reason: str
    source: str
    status: str
    order_id: Id | None
    created_at: datetime

    @staticmethod
    def of(r: ReturneeReport) -> ReportOut:
        return ReportOut(
            id=r.pk,
            code=r.code,
            name=r.name,
            id_number_masked=r.id_number_masked,
            phone_masked=r.phone_masked,
            node_code=r.jurisdiction.code,
            node_name=r.jurisdiction.name,
            origin_code=r.origin_code,
            origin_label=r.origin_label,
            left_on=r.left_on,
            arrived_on=r.arrived_on,
            mode=r.mode,
            vehicle=r.vehicle,
            address=r.address,
            symptoms=r.symptoms,
            vaccination=r.vaccination,
            category=r.category,
            proposed_place=r.proposed_place,
            reason=str(r.decision.get("reason", "")),
            source=r.source,
            status=r.status,
            order_id=r.order_id,
            created_at=r.created_at,
        )


class ReportDetailOut(ReportOut):
    symptoms_note: str
    measures: list[PersonMeasureOut]


def _detail(report: ReturneeReport) -> ReportDetailOut:
    measures = [
        PersonMeasureOut(
            category=m.category,
            place=m.place,
            status=m.status,
            starts_on=m.starts_on,
            ends_on=m.ends_on,
            edition=m.edition,
            reason=m.reason,
            decided_at=m.decided_at,
        )
        for m in report.measures.all()
    ]
    return ReportDetailOut(
        **ReportOut.of(report).dict(), symptoms_note=report.symptoms_note, measures=measures
    )


@router.read("/returnees", perm=Perm.PEOPLE_VIEW, response=Page[ReportOut])
def list_returnees(
    request: HttpRequest,
    village: NodeCode = "",
    status: Annotated[str, Field(max_length=12)] = "",
    category: Annotated[str, Field(max_length=20)] = "",
    arrived_from: date | None = None,
    arrived_to: date | None = None,
    cursor: Cursor = "",
    limit: Limit = 50,
) -> Page[ReportOut]:
    """Returnee reports in your area (under `village` when given; any node's code
    works), newest first, masked; `status` new, verified, not_in_town, wrong or
    duplicate; arrivals between `arrived_from` and `arrived_to`."""
    reports = selectors.reports_visible(request.user)
    if village.strip():
        node = jurisdiction_for_user(request.user, village.strip(), Perm.PEOPLE_VIEW)
        reports = reports.filter(jurisdiction__path__startswith=node.path)
    if status:
        reports = reports.filter(status=status)
    if category:
        reports = reports.filter(category=category)
    if arrived_from is not None:
        reports = reports.filter(arrived_on__gte=arrived_from)
    if arrived_to is not None:
        reports = reports.filter(arrived_on__lte=arrived_to)
    rows, after = cursor_page(reports, cursor=cursor, limit=limit)
    return Page[ReportOut](items=[ReportOut.of(r) for r in rows], next_cursor=after)


@router.read("/returnees/{int:report_id}", perm=Perm.PEOPLE_VIEW, response=ReportDetailOut)
def get_returnee(request: HttpRequest, report_id: Id) -> ReportDetailOut:
    """One report, masked, with the measures proposed and verified for it."""
    return _detail(selectors.returnee_report_for_user(request.user, report_id))


class ReportFieldsIn(Schema):
    """The public form's fields; the origin is one division code (a county's 6 digits or
    a township's 9) instead of the form's four pickers."""

    name: Annotated[str, Field(max_length=30)]
    id_number: Annotated[str, Field(max_length=24)]
    phone: Annotated[str, Field(max_length=20)]
    origin_code: Annotated[str, Field(max_length=12, description="e.g. 310115 or 310115005")]
    place: Annotated[str, Field(max_length=60)] = ""
    left_on: date
    arrived_on: date
    mode: Annotated[str, Field(max_length=8, description="car, train, flight, boat, bus, other")]
    vehicle: Annotated[str, Field(max_length=20)] = ""
    grid: Annotated[str, Field(max_length=40)] = ""
    address: Annotated[str, Field(max_length=120)]
    symptoms: bool = False
    symptoms_note: Annotated[str, Field(max_length=100)] = ""
    vaccination: Annotated[int, Field(ge=0, le=4)]

    def form_data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.dict()
        code = data.pop("origin_code").strip()
        for field_name, length in zip(_ORIGIN_FIELDS, (2, 4, 6, 9), strict=True):
            data[field_name] = code[:length] if len(code) >= length else ""
        data["left_on"] = self.left_on.isoformat()
        data["arrived_on"] = self.arrived_on.isoformat()
        data["symptoms"] = "on" if self.symptoms else ""
        return data


def _form_errors(form: ReportForm) -> ValidationError:
    """The form's errors by the API's field names (the pickers are `origin_code`)."""
    errors: dict[str, list[str]] = {}
    for field_name, messages in form.errors.items():
        name = "origin_code" if field_name in _ORIGIN_FIELDS else field_name
        errors.setdefault(name, []).extend(str(m) for m in messages)
    return ValidationError(errors)


class StaffReportIn(ReportFieldsIn):
    village: Annotated[str, Field(max_length=40, description="The destination village's code")]


class FiledOut(Schema):
    created: bool = Field(description="false: the same ID, phone and arrival day again")
    warnings: list[str]
    report: ReportDetailOut


@router.write("/returnees", perm=Perm.PEOPLE_EDIT, response=FiledOut)
def file_returnee(request: HttpRequest, body: StaffReportIn) -> FiledOut:
    """Register a returnee on their behalf (people.edit), with the checks of the staff
    registration page: someone whose area is smaller than the village names one of
    their grids. The same ID number, phone and arrival day again is the same report,
    corrected (`created: false`), never a second one."""
    user = request_user(request)
    villages, grids = selectors.report_destinations(user)
    village = villages.filter(code=body.village.strip()).first()
    if village is None:
        raise ValidationError({"village": [_("Not found in your area.")]})
    whole_village = has_perm(user, Perm.PEOPLE_EDIT, village.path)
    form = ReportForm(
        body.form_data(),
        village=village,
        today=timezone.localdate(),
        grids=None if whole_village else grids,
    )
    if not form.is_valid():
        raise _form_errors(form)
    report, created = services.report_submit(form.report_input(), source=Source.STAFF, actor=user)
    return FiledOut(
        created=created,
        warnings=form.warnings,
        report=_detail(selectors.returnee_report_for_user(user, report.pk)),
    )


class VerifyIn(Schema):
    client_id: Annotated[
        str, Field(max_length=40, description="A UUID chosen by the client; a retry resends it")
    ]
    outcome: Annotated[
        str,
        Field(
            max_length=24,
            description="found_controlled, found_not_applicable, not_in_town or wrong_info",
        ),
    ]
    measure: Annotated[str, Field(max_length=16, description="The measure taken")] = ""
    where: Annotated[str, Field(max_length=100)] = ""
    note: Annotated[str, Field(max_length=300)] = ""


class VerifiedOut(Schema):
    created: bool = Field(description="false: this client_id was recorded before")
    report: ReportDetailOut


@router.write("/returnees/{int:report_id}/verify", perm=Perm.PEOPLE_EDIT, response=VerifiedOut)
def verify_returnee(request: HttpRequest, report_id: Id, body: VerifyIn) -> VerifiedOut:
    """Record the in-person verification: the result of the report's verification order,
    by its assignee, as on the order's page; the measure taken is recorded on the report
    (and on the resident, when known). Resending the same `client_id` records nothing
    again."""
    user = request_user(request)
    report = selectors.returnee_report_for_user(user, report_id, write=True)
    try:
        client_id = uuid.UUID(body.client_id)
    except ValueError:
        raise ValidationError({"client_id": [_("Send a UUID.")]}) from None
    if report.order_id is None:
        raise ValidationError(
            {"report": [_("This report has no verification order (a possible duplicate).")]}
        )
    try:
        _order, created = order_services.order_complete(
            order_id=report.order_id,
            actor=user,
            result=body.dict(exclude={"client_id"}),
            client_id=client_id,
        )
    except order_services.Conflict as e:
        raise HttpError(409, str(e)) from None
    return VerifiedOut(
        created=created, report=_detail(selectors.returnee_report_for_user(user, report.pk))
    )


# Without an account ----------------------------------------------------------------------


class OwnReportOut(Schema):
    """What a resident sees of their own report, as on the public form's receipt."""

    code: str = Field(description="Keep it: with the phone it finds this report again")
    village_name: str
    name: str
    id_number_masked: str
    origin_label: str
    arrived_on: date
    status: str
    proposed_place: str
    reason: str

    @staticmethod
    def of(r: ReturneeReport, village: Jurisdiction | None = None) -> OwnReportOut:
        return OwnReportOut(
            code=r.code,
            village_name=(village or r.jurisdiction).name,
            name=r.name,
            id_number_masked=r.id_number_masked,
            origin_label=r.origin_label,
            arrived_on=r.arrived_on,
            status=r.status,
            proposed_place=r.proposed_place,
            reason=str(r.decision.get("reason", "")),
        )


class PublicReportIn(ReportFieldsIn):
    village: Annotated[str, Field(max_length=40, description="The village code of the poster")]
    website: Annotated[str, Field(max_length=200, description="Leave empty")] = ""


def _throttled(message: str, retry: int) -> HttpResponse:
    body = {"detail": message % {"wait": limits.wait_words(retry)}, "errors": {}}
    response = JsonResponse(body, status=429)
    response["Retry-After"] = str(retry)
    return response


_PUBLIC = {ACCESS_EXTENSION: "public"}
_PUBLIC_RESPONSES = {
    200: OwnReportOut,
    404: dict[str, Any],
    422: dict[str, Any],
    429: dict[str, Any],
}


@router.api_operation(
    ["POST"], "/returnees/public", auth=None, openapi_extra=_PUBLIC, response=_PUBLIC_RESPONSES
)
def public_report(request: HttpRequest, body: PublicReportIn) -> Any:
    """File a report without an account, for the village on the poster: the public
    form's checks and limits (429 with `Retry-After`), its service, its answer — a
    receipt of this report only. The same ID number, phone and arrival day again
    corrects the same report and keeps its code."""
    village = selectors.public_village(body.village.strip())
    form = ReportForm(body.form_data(), village=village, today=timezone.localdate())
    retry = limits.village_refusal(village)
    if retry:
        return _throttled(limits.village_busy(), retry)
    valid = form.is_valid()
    phone, id_number = form.cleaned_data.get("phone"), form.cleaned_data.get("id_number")
    retry = limits.submitter_refusal(phone, id_number)
    if retry:
        return _throttled(limits.submitter_busy(), retry)
    if not valid:
        raise _form_errors(form)
    retry = limits.network_refusal(request)
    if retry:
        return _throttled(limits.network_busy(), retry)
    report, _created = services.report_submit(form.report_input(), source=Source.SELF)
    return OwnReportOut.of(report, village)


class StatusIn(Schema):
    code: Annotated[str, Field(max_length=12)]
    phone: Annotated[str, Field(max_length=20)]


@router.api_operation(
    ["POST"],
    "/returnees/public/status",
    auth=None,
    openapi_extra=_PUBLIC,
    response=_PUBLIC_RESPONSES,
)
def public_status(request: HttpRequest, body: StatusIn) -> Any:
    """A resident's own report by its code and their phone; a wrong pair answers 404 and
    says nothing more. Limited like the status page."""
    retry = limits.lookup_network_refusal(request)
    if retry:
        return _throttled(limits.lookups_busy(), retry)
    form = StatusForm(body.dict())
    if not form.is_valid():
        raise ValidationError({f: [str(m) for m in ms] for f, ms in form.errors.items()})
    code, phone = form.cleaned_data["code"], form.cleaned_data["phone"]
    retry = limits.lookup_code_refusal(code)
    if retry:
        return _throttled(limits.lookups_busy(), retry)
    report = selectors.report_by_code(code, phone)
    if report is None:
        raise Http404
    return OwnReportOut.of(report)
