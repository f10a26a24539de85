"""The root API under /api/v1/: one router per app, session authentication."""

from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.security import django_auth

from fangkong.audit.api import router as audit_router
from fangkong.org.access import ScopedRouter
from fangkong.org.api import router as org_router
from fangkong.org.selectors import home_cards
from fangkong.workorders.api import router as workorders_router

api = NinjaAPI(
    title="fangkong API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    docs_url="/docs",
)

core_router = ScopedRouter(tags=["me"])


class MembershipOut(Schema):
    code: str
    name: str
    roles: list[str]


class MeOut(Schema):
    username: str
    name: str
    memberships: list[MembershipOut]


@core_router.read("/me", perm=None, response=MeOut)
def me(request: HttpRequest) -> MeOut:
    profile = getattr(request.user, "staff", None)
    return MeOut(
        username=request.user.get_username(),
        name=profile.name if profile else "",
        memberships=[
            MembershipOut(code=c.node.code, name=c.node.name, roles=[str(r) for r in c.roles])
            for c in home_cards(request.user)
        ],
    )


api.add_router("", core_router)
api.add_router("/org", org_router)
api.add_router("/audit", audit_router)
api.add_router("/orders", workorders_router)
