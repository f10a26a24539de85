"""Vaccination API: coverage by village, the mobilisation list and its visits, a
resident's doses (read, entered), a contraindication, transport to the site, and the
vaccination system's rows (all or nothing, errors by row and field; sent again, they
change nothing)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page, referenced
from fangkong.core.bounds import Count, Id
from fangkong.core.masking import mask_name
from fangkong.core.uploads import Refused
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import node_or_top_for_user
from fangkong.people.models import Person
from fangkong.vaccination import selectors, services
from fangkong.vaccination.models import MAX_DOSE

router = ScopedRouter(tags=["vaccination"])
Code = Annotated[str, Field(max_length=40)]


class VaccinationCoverageRowOut(Schema):
    node: str
    name: str
    residents_60: Count
    dosed_60: Count
    full_60: Count
    booster_60: Count
    residents_80: Count
    dosed_80: Count
    full_80: Count
    booster_80: Count


class VaccinationCoverageOut(Schema):
    total: VaccinationCoverageRowOut
    villages: list[VaccinationCoverageRowOut]


def _row(r: selectors.Row) -> VaccinationCoverageRowOut:
    a, b = r.counts[60], r.counts[80]
    return VaccinationCoverageRowOut(
        node=r.node.code,
        name=r.node.name,
        residents_60=a[0],
        dosed_60=a[1],
        full_60=a[2],
        booster_60=a[3],
        residents_80=b[0],
        dosed_80=b[1],
        full_80=b[2],
        booster_80=b[3],
    )


@router.read("/coverage", perm=Perm.VACCINATION_VIEW, response=VaccinationCoverageOut)
def get_coverage(request: HttpRequest, node: Code = "") -> VaccinationCoverageOut:
    """Residents of 60+ and 80+ present, with at least one dose, fully vaccinated (2)
    and boosted (3+), by village of the caller's area (or under `node`)."""
    where = node_or_top_for_user(request.user, node, Perm.VACCINATION_VIEW)
    cov = selectors.coverage(request.user, today=timezone.localdate(), node_path=where.path)
    total = _row(cov.total)
    total.node, total.name = where.code, where.name
    return VaccinationCoverageOut(total=total, villages=[_row(v) for v in cov.villages])


class VaccinationPersonOut(Schema):
    id: Id
    name: str = Field(description="Masked name")
    grid: str
    address: str
    birth_date: date | None


@router.read("/mobilisation", perm=Perm.VACCINATION_VIEW, response=Page[VaccinationPersonOut])
def list_mobilisation(
    request: HttpRequest, node: Code = "", cursor: Cursor = "", limit: Limit = 50
) -> Page[VaccinationPersonOut]:
    """60+ with no dose recorded and no contraindication, in the caller's area."""
    where = node_or_top_for_user(request.user, node, Perm.VACCINATION_VIEW)
    people = selectors.mobilisation(request.user, today=timezone.localdate(), node_path=where.path)
    rows, after = cursor_page(people, cursor=cursor, limit=limit)
    return Page[VaccinationPersonOut](
        items=[
            VaccinationPersonOut(
                id=p.pk,
                name=mask_name(p.name),
                grid=p.jurisdiction.code,
                address=p.household.address if p.household else "",
                birth_date=p.birth_date,
            )
            for p in rows
        ],
        next_cursor=after,
    )


class VaccinationNodeIn(Schema):
    node: Code = Field(description="Code of the node whose list is mobilised")


class VaccinationOrdersOut(Schema):
    orders: list[Id]


@router.write("/mobilisation", perm=Perm.VACCINATION_MANAGE, response=VaccinationOrdersOut)
def mobilise(request: HttpRequest, body: VaccinationNodeIn) -> VaccinationOrdersOut:
    """Visit work orders for the list under the node (one open order per resident)."""
    where = referenced(
        "node", lambda: node_or_top_for_user(request.user, body.node, Perm.VACCINATION_MANAGE)
    )
    made = services.mobilise(node=where, actor=request_user(request))
    return VaccinationOrdersOut(orders=[o.pk for o in made])


class VaccinationDoseOut(Schema):
    number: Annotated[int, Field(ge=1, le=MAX_DOSE)]
    given_on: date
    product: str
    source: str


class VaccinationDosesOut(Schema):
    person_id: Id
    doses: list[VaccinationDoseOut]
    contraindication: str


def _out(person_id: int, person: Person) -> VaccinationDosesOut:
    contra = selectors.contraindication_of(person)
    return VaccinationDosesOut(
        person_id=person_id,
        doses=[
            VaccinationDoseOut(
                number=d.number, given_on=d.given_on, product=d.product, source=d.source
            )
            for d in selectors.doses_of(person)
        ],
        contraindication=contra.reason if contra else "",
    )


@router.read("/persons/{person_id}/doses", perm=Perm.VACCINATION_VIEW, response=VaccinationDosesOut)
def get_doses(request: HttpRequest, person_id: Id) -> VaccinationDosesOut:
    return _out(person_id, selectors.person_for_user(request.user, person_id))


def _guard(user: object, kwargs: dict[str, object]) -> object:
    try:
        return selectors.person_for_user(user, int(str(kwargs["person_id"])), write=True)
    except PermissionDenied:
        raise Http404 from None


class VaccinationDoseIn(Schema):
    number: Annotated[int, Field(ge=1, le=MAX_DOSE)]
    given_on: date
    product: Annotated[str, Field(min_length=1, max_length=60)]


@router.write(
    "/persons/{person_id}/doses",
    perm=Perm.VACCINATION_MANAGE,
    assignee=_guard,
    response={201: VaccinationDosesOut},
)
def add_dose(
    request: HttpRequest, person_id: Id, body: VaccinationDoseIn
) -> tuple[int, VaccinationDosesOut]:
    """A dose entered by staff; the same dose again is answered with what is recorded."""
    person = selectors.person_for_user(request.user, person_id, write=True)
    services.dose_record(
        person=person,
        number=body.number,
        given_on=body.given_on,
        product=body.product,
        actor=request_user(request),
    )
    return 201, _out(person_id, person)


class VaccinationContraIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=200)]


@router.write(
    "/persons/{person_id}/contraindication",
    perm=Perm.VACCINATION_MANAGE,
    assignee=_guard,
    response=VaccinationDosesOut,
)
def set_contraindication(
    request: HttpRequest, person_id: Id, body: VaccinationContraIn
) -> VaccinationDosesOut:
    person = selectors.person_for_user(request.user, person_id, write=True)
    services.contraindication_set(person=person, reason=body.reason, actor=request_user(request))
    return _out(person_id, person)


class VaccinationTransportIn(Schema):
    site: Annotated[str, Field(min_length=1, max_length=100)]
    at: datetime = Field(description="The appointment (within 30 days)")


class VaccinationOrderOut(Schema):
    order_id: Id


@router.write(
    "/persons/{person_id}/transport",
    perm=Perm.VACCINATION_MANAGE,
    assignee=_guard,
    response={201: VaccinationOrderOut},
)
def arrange_transport(
    request: HttpRequest, person_id: Id, body: VaccinationTransportIn
) -> tuple[int, VaccinationOrderOut]:
    """A ride to the vaccination site as a work order for the resident's grid worker."""
    person = selectors.person_for_user(request.user, person_id, write=True)
    at = body.at if timezone.is_aware(body.at) else timezone.make_aware(body.at)
    order = services.transport_arrange(
        person=person, site=body.site, at=at, actor=request_user(request)
    )
    return 201, VaccinationOrderOut(order_id=order.pk)


class VaccinationRowIn(Schema):
    id_number: Annotated[str, Field(max_length=40)]
    dose: Annotated[str, Field(max_length=10)]
    date: Annotated[str, Field(max_length=30)]
    product: Annotated[str, Field(max_length=100)]


class VaccinationImportIn(Schema):
    rows: Annotated[list[VaccinationRowIn], Field(min_length=1, max_length=20000)]


# The service's field names as this operation's rows name them.
API_FIELDS = {"number": "dose", "given_on": "date"}


class VaccinationImportOut(Schema):
    rows: Count
    new: Count
    corrected: Count
    unchanged: Count


@router.write("/doses/import", perm=Perm.VACCINATION_MANAGE, response=VaccinationImportOut)
def import_doses(request: HttpRequest, body: VaccinationImportIn) -> VaccinationImportOut:
    """The vaccination system's rows: all recorded, or (with any error) none, each error
    named by row (the item's position from 1) and field."""
    rows = [
        (
            i,
            {"id_number": r.id_number, "number": r.dose, "given_on": r.date, "product": r.product},
        )
        for i, r in enumerate(body.rows, start=1)
    ]
    try:
        plan = services.doses_import(rows=rows, actor=request_user(request))
    except Refused as exc:
        errors: dict[str, list[str]] = {}
        for e in exc.payload.errors[:200]:
            name = API_FIELDS.get(e.field, e.field)
            errors.setdefault(f"rows.{e.row}.{name}", []).append(e.error)
        raise ValidationError(errors) from None
    return VaccinationImportOut(
        rows=plan.rows, new=len(plan.new), corrected=len(plan.changed), unchanged=plan.unchanged
    )
