"""View access declarations and object access.

Every view is wrapped by exactly one of `public`, `signed_in` or `requires(perm)`. The
wrapper enforces it and records it on the view (`view.fk_access`), which the
permission-matrix test reads to check every route against every persona. Object access
goes through `get_visible_or_404`, which answers the same 404 for "missing" and "not
yours" so nobody can probe for rows outside their scope.
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
from ninja.errors import HttpError
from ninja.security import SessionAuth

from fangkong.org.roles import Perm
from fangkong.org.scoping import ScopedQuerySet, has_perm

View = Callable[..., HttpResponseBase]
Op = Callable[..., Any]
_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class ViewAccess:
    kind: str  # "public" | "signed_in" | "perm" | "assignee"
    perm: Perm | None = None
    # Methods that change data; the matrix test posts to them and checks nothing changed.
    writes: tuple[str, ...] = ()


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


def requires(perm: Perm, *, writes: tuple[str, ...] = ()) -> Callable[[View], View]:
    """The user must hold `perm` somewhere; object views then narrow to their scope."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_perm(request.user, perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return _mark(wrapper, ViewAccess("perm", perm, writes))

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


# API operations ---------------------------------------------------------------------

ACCESS_EXTENSION = "x-fangkong-access"
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
        if user is not None and self.perm is not None and not has_perm(user, self.perm):
            raise HttpError(403, "Forbidden")
        if user is not None and self.guard is not None:
            match = request.resolver_match
            try:
                self.guard(user, match.kwargs if match else {})
            except (Http404, ValueError, KeyError):
                raise HttpError(404, "Not Found") from None
        return user


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
        self, path: str, *, perm: Perm | None, method: str = "POST",
        assignee: Guard | None = None, **kwargs: Any,
    ) -> Callable[[Op], Op]:  # fmt: skip
        return self._guarded(method, path, perm, assignee, kwargs)

    def _guarded(
        self, method: str, path: str, perm: Perm | None, assignee: Guard | None,
        kwargs: dict[str, Any],
    ) -> Callable[[Op], Op]:  # fmt: skip
        """With `assignee` (a guard that finds the object or raises Http404) the operation
        is about one assigned object: its assignee or a holder of `perm` over its node may
        use it. The guard runs in the auth step, before the body is parsed, so nobody
        learns from validation errors about an order that is not theirs."""
        label = perm.value if perm else "signed_in"
        if assignee is not None:
            label, perm = (f"assignee:{perm.value}" if perm else "assignee"), None
        extra = {ACCESS_EXTENSION: label} | kwargs.pop("openapi_extra", {})
        return self.api_operation(
            [method], path, auth=PermissionSessionAuth(perm, assignee), openapi_extra=extra,
            **kwargs,
        )  # fmt: skip
