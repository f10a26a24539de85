"""Hold a session whose password was chosen by someone else at the change of password."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

# What such a session may still do: change the password, leave, switch language.
_ALLOWED = {"accounts:password_change", "accounts:logout", "accounts:set_language"}


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or not getattr(user, "must_change_password", False)
            or request.path.startswith(settings.STATIC_URL)
        ):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.view_name in _ALLOWED:
            return self.get_response(request)
        if "api" in match.namespaces:
            return JsonResponse(
                {"detail": _("You must change your password before using the system.")},
                status=403,
            )
        target = reverse("accounts:password_change")
        if request.headers.get("HX-Request"):
            # A redirect would be swapped into the page's fragment; htmx navigates instead.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
