"""Organisation API: jurisdictions, staff and teams, scoped and masked."""

from django.http import HttpRequest
from ninja import Schema, Status

from fangkong.org import selectors
from fangkong.org.access import ScopedRouter, require_perm_at
from fangkong.org.models import Jurisdiction, StaffProfile, Team
from fangkong.org.pii import MIN_PURPOSE, audit_unmasking
from fangkong.org.roles import Perm

router = ScopedRouter(tags=["org"])


class JurisdictionOut(Schema):
    code: str
    name: str
    level: int
    parent_code: str | None
    party_org_name: str
    household_count: int
    resident_count: int

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
    id: int
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
    id: int
    name: str
    kind: str
    jurisdiction_code: str
    duty: str
    member_count: int


class UnmaskIn(Schema):
    purpose: str


class UnmaskOut(Schema):
    id: int
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


@router.read("/staff", perm=Perm.ORG_VIEW, response=list[StaffOut])
def list_staff(
    request: HttpRequest, node: str = "", q: str = "", offset: int = 0
) -> list[StaffOut]:
    current = selectors.jurisdiction_for_user(request.user, node) if node else None
    qs = selectors.staff_search(request.user, node=current, q=q[:50])
    offset = max(offset, 0)
    return [StaffOut.from_profile(p) for p in qs[offset : offset + 100]]


@router.read("/staff/{staff_id}", perm=Perm.ORG_VIEW, response=StaffOut)
def get_staff(request: HttpRequest, staff_id: int) -> StaffOut:
    return StaffOut.from_profile(selectors.staff_for_user(request.user, staff_id))


@router.write(
    "/staff/{staff_id}/unmask", perm=Perm.PII_UNMASK, response={200: UnmaskOut, 400: dict}
)
def unmask_staff(request: HttpRequest, staff_id: int, body: UnmaskIn) -> Status[object]:
    """The clear phone number of one staff member; the purpose is written to the audit log."""
    profile = selectors.staff_for_user(request.user, staff_id)
    require_perm_at(request.user, Perm.PII_UNMASK, profile.jurisdiction.path)
    purpose = body.purpose.strip()
    if len(purpose) < MIN_PURPOSE:
        return Status(400, {"detail": "purpose: describe the purpose in at least 4 characters"})
    audit_unmasking(request, obj=profile, name=profile.name, path=profile.jurisdiction.path,
                    purpose=purpose, fields=["phone"], via="api")  # fmt: skip
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
def get_team(request: HttpRequest, team_id: int) -> TeamOut:
    return _team_out(selectors.team_for_user(request.user, team_id))
