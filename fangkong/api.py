"""The root API under /api/v1/: one router per app; a session or a machine client's key
(docs/api.md)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import ValidationError as RequestInvalid
from ninja.security import django_auth

from fangkong.assist.api import router as assist_router
from fangkong.assist.api_care import router as care_router
from fangkong.assist.api_supplies import router as supplies_router
from fangkong.audit.api import router as audit_router
from fangkong.checkpoints.api import router as checkpoints_router
from fangkong.control.api import router as control_router
from fangkong.control.api_recheck import router as recheck_router
from fangkong.control.api_sites import router as control_sites_router
from fangkong.core.api_kit import request_error_body, validation_error_body
from fangkong.notify.api import router as notify_router
from fangkong.org.access import ScopedRouter
from fangkong.org.api import router as org_router
from fangkong.org.api_clients import router as clients_router
from fangkong.org.clients import RateLimited
from fangkong.org.selectors import home_cards
from fangkong.people.api import router as people_router
from fangkong.people.api_registers import router as registers_router
from fangkong.places.api import router as places_router
from fangkong.policy.api import router as policy_router
from fangkong.reports.api import router as reports_router
from fangkong.response.api import router as response_router
from fangkong.screening.api_lists import router as lists_router
from fangkong.screening.api_returnees import router as returnees_router
from fangkong.screening.api_sweeps import router as sweeps_router
from fangkong.testing.api import router as testing_router
from fangkong.testing.api_manage import router as testing_manage_router
from fangkong.testing.api_periodic import router as testing_periodic_router
from fangkong.tracing.api import router as tracing_router
from fangkong.vaccination.api import router as vaccination_router
from fangkong.workorders.api import router as workorders_router
from fangkong.zones.api import router as zones_router

api = NinjaAPI(
    title="fangkong API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    docs_url="/docs",
)

core_router = ScopedRouter(tags=["me"])


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """An object the caller sees but may not change (its accessor said so)."""
    return api.create_response(request, {"detail": "Forbidden"}, status=403)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A service refused the input: 422 with the one error shape (`core.api_kit`), so an
    operation lets the service's ValidationError through instead of catching it."""
    return api.create_response(request, validation_error_body(exc), status=422)


@api.exception_handler(RequestInvalid)
def request_invalid(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
    """The request does not fit the schema (a type, a bound, a missing field): 422 in the
    one error shape too, by field and in the caller's language."""
    return api.create_response(request, request_error_body(list(exc.errors)), status=422)


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    """A key past its calls per window: when to try again, in the one error shape."""
    response = api.create_response(
        request, {"detail": _("Too many requests: retry later."), "errors": {}}, status=429
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


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
api.add_router("/org", clients_router)
api.add_router("/audit", audit_router)
api.add_router("/orders", workorders_router)
api.add_router("/policy", policy_router)
api.add_router("/reports", reports_router)
api.add_router("/notify", notify_router)
api.add_router("/registers", registers_router)
api.add_router("/people", people_router)
api.add_router("/screening", returnees_router)
api.add_router("/screening", lists_router)
api.add_router("/screening", sweeps_router)
api.add_router("/control", control_router)
api.add_router("/control", control_sites_router)
api.add_router("/control/recheck", recheck_router)
api.add_router("/testing", testing_router)
api.add_router("/testing", testing_periodic_router)
api.add_router("/vaccination", vaccination_router)
api.add_router("/testing", testing_manage_router)
api.add_router("/zones", zones_router)
api.add_router("/places", places_router)
api.add_router("/assist", assist_router)
api.add_router("/assist/supplies", supplies_router)
api.add_router("/response", response_router)
api.add_router("/tracing", tracing_router)
api.add_router("/assist/care", care_router)
api.add_router("/checkpoints", checkpoints_router)
