"""Organisation API: jurisdictions, staff and teams, scoped and masked."""

from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Schema, Status

from fangkong.core.bounds import Count, Id, Offset
from fangkong.core.purpose import clean_purpose
from fangkong.core.search_terms import holds_digits
from fangkong.org import selectors
from fangkong.org.access import ScopedRouter, require_perm_at
from fangkong.org.models import Jurisdiction, Level, StaffProfile, Team
from fangkong.org.pii import audit_unmasking
from fangkong.org.roles import Perm

router = ScopedRouter(tags=["org"])


class JurisdictionOut(Schema):
    code: str
    name: str
    level: Annotated[int, Field(ge=min(Level.values), le=max(Level.values))]
    parent_code: str | None
    party_org_name: str
    household_count: Count
    resident_count: Count

    @staticmethod
    def from_node(node: Jurisdiction) -> "JurisdictionOut":
        codes = node.ancestor_codes()
        return JurisdictionOut(
            code=node.code,
            name=node.name,
            level=node.level,
            parent_code=codes[-2] if len(codes) > 1 else None,
            party_org_name=node.party_org_name,
            household_count=node.household_count,
            resident_count=node.resident_count,
        )


class StaffOut(Schema):
    id: Id
    name: str
    phone_masked: str
    kind: str
    unit: str
    is_party_member: bool
    jurisdiction_code: str

    @staticmethod
    def from_profile(p: StaffProfile) -> "StaffOut":
        return StaffOut(
            id=p.pk,
            name=p.name,
            phone_masked=p.phone_masked,
            kind=p.kind,
            unit=p.unit,
            is_party_member=p.is_party_member,
            jurisdiction_code=p.jurisdiction.code,
        )


class TeamOut(Schema):
    id: Id
    name: str
    kind: str
    jurisdiction_code: str
    duty: str
    member_count: Count


class UnmaskIn(Schema):
    purpose: str


class UnmaskOut(Schema):
    id: Id
    phone: str


@router.read("/jurisdictions", perm=Perm.ORG_VIEW, response=list[JurisdictionOut])
def list_jurisdictions(request: HttpRequest, parent: str = "") -> list[JurisdictionOut]:
    """Children of `parent` (or the viewer's top nodes when omitted)."""
    if parent:
        nodes = list(
            selectors.jurisdiction_for_user(request.user, parent).children.order_by("code")
        )
    else:
        nodes = selectors.scope_roots(request.user)
    return [JurisdictionOut.from_node(n) for n in nodes]


@router.read("/jurisdictions/{code}", perm=Perm.ORG_VIEW, response=JurisdictionOut)
def get_jurisdiction(request: HttpRequest, code: str) -> JurisdictionOut:
    return JurisdictionOut.from_node(selectors.jurisdiction_for_user(request.user, code))


def _staff_page(request: HttpRequest, node: str, q: str, offset: int) -> list[StaffOut]:
    current = selectors.jurisdiction_for_user(request.user, node) if node else None
    qs = selectors.staff_search(request.user, node=current, q=q[:50])
    return [StaffOut.from_profile(p) for p in qs[offset : offset + 100]]


@router.read("/staff", perm=Perm.ORG_VIEW, response={200: list[StaffOut], 400: dict})
def list_staff(
    request: HttpRequest, node: str = "", q: str = "", offset: Offset = 0
) -> Status[object]:
    """Staff by name, user name or unit. A term with digits (a phone, an ID number) is
    refused here, where it would sit in access logs: send it to POST /staff/search."""
    if holds_digits(q):
        return Status(
            400, {"detail": "q: a term with digits goes in the body of POST /org/staff/search"}
        )
    return Status(200, _staff_page(request, node, q, offset))


class StaffSearchIn(Schema):
    q: str = ""
    node: str = ""
    offset: Offset = 0


@router.write("/staff/search", perm=Perm.ORG_VIEW, response=list[StaffOut])
def search_staff(request: HttpRequest, body: StaffSearchIn) -> list[StaffOut]:
    """Staff by name, user name or unit, or by a whole phone or ID number (compared by
    its keyed hash); the term travels in the body, never in an address."""
    return _staff_page(request, body.node, body.q, body.offset)


@router.read("/staff/{staff_id}", perm=Perm.ORG_VIEW, response=StaffOut)
def get_staff(request: HttpRequest, staff_id: Id) -> StaffOut:
    return StaffOut.from_profile(selectors.staff_for_user(request.user, staff_id))


@router.write(
    "/staff/{staff_id}/unmask", perm=Perm.PII_UNMASK, response={200: UnmaskOut, 400: dict}
)
def unmask_staff(request: HttpRequest, staff_id: Id, body: UnmaskIn) -> Status[object]:
    """The clear phone number of one staff member; the purpose is written to the audit log."""
    profile = selectors.staff_for_user(request.user, staff_id)
    require_perm_at(request.user, Perm.PII_UNMASK, profile.jurisdiction.path)
    try:
        purpose = clean_purpose(body.purpose)
    except ValidationError as exc:
        return Status(400, {"detail": f"purpose: {exc.messages[0]}"})
    audit_unmasking(
        request,
        obj=profile,
        name=profile.name,
        path=profile.jurisdiction.path,
        purpose=purpose,
        fields=["phone"],
        via="api",
    )
    return Status(200, UnmaskOut(id=profile.pk, phone=profile.phone))


def _team_out(t: Team) -> TeamOut:
    return TeamOut(
        id=t.pk,
        name=t.name,
        kind=t.kind,
        jurisdiction_code=t.jurisdiction.code,
        duty=t.duty,
        member_count=getattr(t, "member_count", 0) or t.members.count(),
    )


@router.read("/teams", perm=Perm.ORG_VIEW, response=list[TeamOut])
def list_teams(request: HttpRequest, node: str = "") -> list[TeamOut]:
    qs = selectors.teams_visible(request.user)
    if node:
        qs = qs.within(selectors.jurisdiction_for_user(request.user, node).path)
    return [_team_out(t) for t in qs[:500]]


@router.read("/teams/{team_id}", perm=Perm.ORG_VIEW, response=TeamOut)
def get_team(request: HttpRequest, team_id: Id) -> TeamOut:
    return _team_out(selectors.team_for_user(request.user, team_id))
