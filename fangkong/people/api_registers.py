"""Registers API (台账): the special-group registers of the registry pages (elderly living
alone, disabled, dialysis, pregnant, infants, floating population, key occupations…),
read in the caller's scope with identifiers masked, and exported (masked, audited) in
the spreadsheet formats of the pages' export."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.core.exports import export_response
from fangkong.org.access import ScopedRouter
from fangkong.org.models import Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import ScopedQuerySet
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.people import selectors
from fangkong.people.export import PERSON_EXPORT_HEADER, person_export_rows
from fangkong.people.models import Person

router = ScopedRouter(tags=["registers"])

NodeCode = Annotated[str, Field(max_length=40, description="A node's code; empty: your area")]


class RegisterOut(Schema):
    key: str
    label: str
    count: Count


@router.read("", perm=Perm.PEOPLE_VIEW, response=list[RegisterOut])
def list_registers(request: HttpRequest) -> list[RegisterOut]:
    """Every register with the number of people in it within your area."""
    today = timezone.localdate()
    return [
        RegisterOut(
            key=key,
            label=str(spec["label"]),
            count=selectors.register_list(request.user, key, today=today).count(),
        )
        for key, spec in selectors.REGISTERS.items()
    ]


class RegisterPersonOut(Schema):
    id: Id
    name: str
    sex: str
    birth_date: date | None
    id_number_masked: str
    phone_masked: str
    residency: str
    status: str
    address: str
    jurisdiction_code: str
    jurisdiction_name: str

    @staticmethod
    def of(p: Person) -> RegisterPersonOut:
        return RegisterPersonOut(
            id=p.pk,
            name=p.name,
            sex=p.sex,
            birth_date=p.birth_date,
            id_number_masked=p.id_number_masked,
            phone_masked=p.phone_masked,
            residency=p.residency,
            status=p.status,
            address=p.household.address if p.household else "",
            jurisdiction_code=p.jurisdiction.code,
            jurisdiction_name=p.jurisdiction.name,
        )


def _register(
    request: HttpRequest, register_key: str, node: str
) -> tuple[ScopedQuerySet[Person], Jurisdiction | None]:
    if register_key not in selectors.REGISTERS:
        raise Http404
    at = jurisdiction_for_user(request.user, node.strip(), Perm.PEOPLE_VIEW) if node else None
    return selectors.register_list(
        request.user, register_key, node=at, today=timezone.localdate()
    ), at


@router.read("/{register_key}", perm=Perm.PEOPLE_VIEW, response=Page[RegisterPersonOut])
def read_register(
    request: HttpRequest,
    register_key: str,
    node: NodeCode = "",
    cursor: Cursor = "",
    limit: Limit = 50,
) -> Page[RegisterPersonOut]:
    """The people of one register in your area (under `node` when given), masked."""
    persons, _at = _register(request, register_key, node)
    rows, after = cursor_page(persons, cursor=cursor, limit=limit)
    return Page[RegisterPersonOut](items=[RegisterPersonOut.of(p) for p in rows], next_cursor=after)


@router.read(
    "/{register_key}/export/{fmt}",
    perm=Perm.DATA_EXPORT,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The register, identifiers masked",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        }
    },
)
def export_register(
    request: HttpRequest,
    register_key: str,
    fmt: Literal["csv", "xlsx"],
    node: NodeCode = "",
) -> HttpResponseBase:
    """The register as CSV or Excel, streamed, ID numbers and phones masked (an unmasked
    export is the pages' business, with a stated purpose). Every export is audited."""
    persons, at = _register(request, register_key, node)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_repr=_("person list"),
        jurisdiction_path=at.path if at else "",
        detail={"format": fmt, "register": register_key, "unmasked": False, "via": "api"},
    )
    return export_response(
        fmt,
        f"register-{register_key}",
        PERSON_EXPORT_HEADER,
        person_export_rows(persons, [], today=timezone.localdate()),
    )
