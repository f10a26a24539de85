"""View access declarations and object access.

Every view is wrapped by exactly one of `public`, `signed_in` or `requires(perm)`. The
wrapper enforces it and records it on the view (`view.fk_access`), which the
permission-matrix test reads to check every route against every persona. Object access
goes through one accessor per entity (`<entity>_for_user(user, id, write=...)`), built on
`object_for_user`: it answers the same 404 for "missing" and "not yours", so nobody can
probe for rows outside their scope, and 403 when the object is visible but the user may
not change it *at the object's node*. A route-level `requires(perm)` only says the user
holds the permission somewhere; it never protects an object. `tests/test_object_access.py`
checks that every route taking an object loads it through such an accessor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth
from pydantic import ValidationError as PydanticValidationError

from fangkong.core.bounds import id_adapter
from fangkong.org.roles import Perm
from fangkong.org.scoping import ScopedQuerySet, has_perm, holds_at_a_root

View = Callable[..., HttpResponseBase]
Op = Callable[..., Any]
_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class ViewAccess:
    kind: str  # "public" | "signed_in" | "perm" | "assignee"
    perm: Perm | None = None
    # Methods that change data; the matrix test posts to them and checks nothing changed.
    writes: tuple[str, ...] = ()
    # Where those writes land, which the matrix checks them against: "object" (the node of
    # the object the URL names, or the user's own area), "top" (what serves every town:
    # only a manager of the top of the tree), "own" (a copy made in the user's own area
    # from an object they may read), or "within" (anyone holding the permission at, above
    # or below the object's node: a grid worker hands out the village store's packages to
    # the households of their own grid, which the service checks one by one).
    writes_at: str = "object"
    # Every method needs the permission at a top node (pages that only change what serves
    # every town, such as the risk-area import).
    top: bool = False


def _mark(view: View, access: ViewAccess) -> View:
    view.fk_access = access  # type: ignore[attr-defined]
    return view


def public(view: View) -> View:
    return _mark(view, ViewAccess("public"))


def signed_in(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return _mark(wrapper, ViewAccess("signed_in"))


def requires(
    perm: Perm, *, writes: tuple[str, ...] = (), writes_at: str = "object", top: bool = False
) -> Callable[[View], View]:
    """The user must hold `perm` somewhere (with `top`, at a top node of the tree); object
    views then load their object through its accessor, which checks the permission at
    the object's node."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_perm(request.user, perm):
                raise PermissionDenied
            if top:
                require_top(request.user, perm)
            return view(request, *args, **kwargs)

        at = "top" if top else writes_at
        return _mark(wrapper, ViewAccess("perm", perm, writes, at, top))

    return decorate


def assignee_or(perm: Perm | None, *, writes: tuple[str, ...] = ()) -> Callable[[View], View]:
    """A view of one assigned object (a work order): its assignee, or anyone holding
    `perm` over its node (`None`: the assignee alone). Signed in is checked here; the
    view's object lookup decides the rest (404 for both missing and not yours)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            return view(request, *args, **kwargs)

        return _mark(wrapper, ViewAccess("assignee", perm, writes))

    return decorate


def get_visible_or_404(queryset: ScopedQuerySet[_M], user: Any, perm: Perm, **lookup: Any) -> _M:
    obj = queryset.visible_to(user, perm).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def require_perm_at(user: Any, perm: Perm, path: str) -> None:
    """For writes: the user's role must grant `perm` at a node covering `path`."""
    if not has_perm(user, perm, path):
        raise PermissionDenied


def require_top(user: Any, perm: Perm) -> None:
    """For what serves every town (national editions, the shared risk-area catalogue,
    installation-wide deadlines and templates): only a holder of `perm` at a top node of
    the tree changes it."""
    if not holds_at_a_root(user, perm):
        raise PermissionDenied


def node_path(obj: models.Model) -> str:
    """The jurisdiction path of a scoped object, following its model's `scope_path`."""
    value: Any = obj
    for part in type(obj).scope_path.split("__"):  # type: ignore[attr-defined]
        value = getattr(value, part)
    return str(value)


def object_for_user(
    queryset: ScopedQuerySet[_M], user: Any, read: Perm, *, write: Perm | None = None, **lookup: Any
) -> _M:
    """Load one scoped object for `user`: 404 when it is missing or outside the `read`
    scope (the same answer for both), 403 when `write` is asked and the user does not hold
    it at the object's own node. Entities' `<entity>_for_user` accessors are built on it."""
    obj = get_visible_or_404(queryset, user, read, **lookup)
    if write is not None:
        require_perm_at(user, write, node_path(obj))
    return obj


# API operations ---------------------------------------------------------------------

ACCESS_EXTENSION = "x-fangkong-access"
# Where an operation's writes land when not at the object's node (see ViewAccess.writes_at).
WRITES_AT_EXTENSION = "x-fangkong-writes-at"
# Checks the object named in the path before the body is parsed; raises Http404.
Guard = Callable[[Any, dict[str, Any]], object]


class PermissionSessionAuth(SessionAuth):
    """Session authentication that also requires a permission.

    Running the check as ninja's auth step means it happens before the request body is
    parsed, so a caller without the permission learns nothing from validation errors.
    """

    def __init__(self, perm: Perm | None, guard: Guard | None = None) -> None:
        super().__init__()
        self.perm = perm
        self.guard = guard

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            _check_access(request, user, self.perm, self.guard)
        return user


class PermissionKeyAuth(HttpBearer):
    """`Authorization: Bearer fk_...`: a machine client's key (org.clients), with the
    same permission and guard checks as a session. No CSRF check: a bearer key is not
    sent by a browser on its own, so a cross-site form cannot ride on it."""

    def __init__(self, perm: Perm | None, guard: Guard | None = None) -> None:
        super().__init__()
        self.perm = perm
        self.guard = guard

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from fangkong.org.clients import authenticate_key, rate_check

        principal = authenticate_key(token)
        if principal is None:
            raise AuthenticationError
        client = principal.fk_client  # type: ignore[attr-defined]
        # Before the rate and permission checks, so the call is audited whatever its
        # answer (org.middleware).
        request.fk_client = client  # type: ignore[attr-defined]
        request.user = principal
        rate_check(client)
        _check_access(request, principal, self.perm, self.guard)
        return principal


def _check_access(request: HttpRequest, user: Any, perm: Perm | None, guard: Guard | None) -> None:
    if perm is not None and not has_perm(user, perm):
        raise HttpError(403, "Forbidden")
    if guard is not None:
        match = request.resolver_match
        kwargs = match.kwargs if match else {}
        _check_path_ids(kwargs)
        try:
            guard(user, kwargs)
        except (Http404, ValueError, KeyError):
            raise HttpError(404, "Not Found") from None


def _check_path_ids(kwargs: dict[str, Any]) -> None:
    """The guard runs before ninja validates the path, so an id no row can have (0, 2^64)
    is refused here the way ninja would refuse it: a 422 naming the parameter."""
    for name, value in kwargs.items():
        if isinstance(value, int):
            try:
                id_adapter.validate_python(value)
            except PydanticValidationError as e:
                raise ValidationError(
                    [{**err, "loc": ("path", name)} for err in e.errors(include_url=False)]
                ) from None


class ScopedRouter(Router):
    """A ninja Router whose operations declare and enforce their permission.

    The declaration lands in the OpenAPI schema (`x-fangkong-access`), where the
    permission-matrix test reads it; an operation without one fails that test.
    """

    def read(
        self, path: str, *, perm: Perm | None, assignee: Guard | None = None, **kwargs: Any
    ) -> Callable[[Op], Op]:
        return self._guarded("GET", path, perm, assignee, kwargs)

    def write(
        self,
        path: str,
        *,
        perm: Perm | None,
        method: str = "POST",
        assignee: Guard | None = None,
        writes_at: str = "object",
        **kwargs: Any,
    ) -> Callable[[Op], Op]:
        if writes_at != "object":
            kwargs["openapi_extra"] = {
                WRITES_AT_EXTENSION: writes_at,
                **kwargs.get("openapi_extra", {}),
            }
        return self._guarded(method, path, perm, assignee, kwargs)

    def _guarded(
        self,
        method: str,
        path: str,
        perm: Perm | None,
        assignee: Guard | None,
        kwargs: dict[str, Any],
    ) -> Callable[[Op], Op]:
        """With `assignee` (a guard that finds the object or raises Http404) the operation
        is about one assigned object: its assignee or a holder of `perm` over its node may
        use it. The guard runs in the auth step, before the body is parsed, so nobody
        learns from validation errors about an order that is not theirs."""
        label = perm.value if perm else "signed_in"
        if assignee is not None:
            label, perm = (f"assignee:{perm.value}" if perm else "assignee"), None
        extra = {ACCESS_EXTENSION: label} | kwargs.pop("openapi_extra", {})
        register = self.api_operation(
            [method],
            path,
            auth=[PermissionKeyAuth(perm, assignee), PermissionSessionAuth(perm, assignee)],
            openapi_extra=extra,
            **kwargs,
        )
        if method == "GET":
            return register

        def decorate(op: Op) -> Op:
            from fangkong.org.idempotency import idempotent

            return register(idempotent(op))

        return decorate
