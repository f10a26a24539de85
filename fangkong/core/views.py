from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fangkong.org.access import public, signed_in
from fangkong.org.selectors import home_cards


@require_GET
@signed_in
def home(request: HttpRequest) -> HttpResponse:
    profile = getattr(request.user, "staff", None)
    return render(
        request, "core/home.html", {"profile": profile, "cards": home_cards(request.user)}
    )


@public
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
