"""Security headers beyond Django's defaults."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# All scripts and styles are vendored and served from our own origin; no inline script.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"
        )
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Pages with personal data must not be kept by shared or back-button caches.
            response.headers.setdefault("Cache-Control", "no-store, private")
        return response
