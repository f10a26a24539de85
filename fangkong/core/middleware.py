"""Security headers beyond Django's defaults; text no database column can hold refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

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


class CompressPagesMiddleware(GZipMiddleware):
    """Gzip HTML pages and fragments only (a 28 KB task list travels as ~5 KB on 3G).

    Downloads are left alone: spreadsheets and photos are compressed already, and an
    export may hold unmasked data beside text a request chose, which is what BREACH
    measures. Pages are safe to compress (docs/adr/0012): Django masks the CSRF token
    afresh in every response and pads the gzip header with random bytes, the session
    cookie is SameSite=Lax (no cross-site request carries it but a top-level GET), and
    personal data appears in clear only in answers to POSTs.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "text/html" or response.has_header("Content-Disposition"):
            return response
        return super().process_response(request, response)


class DefaultLanguageMiddleware:
    """zh-Hans unless the user chose another language with the switcher (a cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language; the command
    posts' machines and phones are often set to English while the work is in Chinese,
    so the browser's preference is not taken as the user's choice. The API (/api/) is
    the exception: a machine client has no switcher and says what it reads in
    Accept-Language, which its messages then follow (docs/api.md).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        if chosen not in self.supported and request.path.startswith("/api/"):
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response


def _nul_in(value: Any, where: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                yield (*where, str(key))
            else:
                yield from _nul_in(item, (*where, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_in(item, (*where, i))


def _nul_fields(request: HttpRequest) -> Iterator[tuple[str | int, ...]]:
    if "\x00" in request.path:
        yield ("path",)
    for key, values in request.GET.lists():
        if any("\x00" in text for text in (key, *values)):
            yield ("query", key)
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body)
        except ValueError:
            return  # not JSON: the API answers that itself
        yield from _nul_in(body, ("body",))
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # Form fields only: uploaded files are binary and may hold any byte.
        for key, values in request.POST.lists():
            if any("\x00" in text for text in (key, *values)):
                yield ("form", key)


class RejectNulMiddleware:
    """Refuse text with a NUL character (0x00) anywhere a client can put it.

    PostgreSQL cannot store or even compare it in a text column (nor `\\u0000` in
    jsonb), so a NUL in a search box, a path or a JSON field would fail in the query
    as a 500. It is never part of real text: answer 400 and name the field.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = next(_nul_fields(request), None)
        if where is None:
            return self.get_response(request)
        field = ".".join(str(part) for part in where[1:]) or where[0]
        message = _("%(field)s: text cannot contain the NUL character (0x00).") % {"field": field}
        if request.path.startswith("/api/"):
            # The API's one error shape (core.api_kit), with the parser's kind of item.
            issues = [{"type": "nul_character", "loc": list(where), "msg": message}]
            body = {"detail": message, "errors": {field: [message]}, "issues": issues}
            return JsonResponse(body, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
