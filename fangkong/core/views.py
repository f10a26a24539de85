from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fangkong.core.duties import duties_for
from fangkong.org.access import public, signed_in
from fangkong.org.selectors import home_cards


@require_GET
@signed_in
def home(request: HttpRequest) -> HttpResponse:
    """Today's duties first (each linking to where it is done), then one's areas."""
    profile = getattr(request.user, "staff", None)
    context = {
        "profile": profile,
        "duties": duties_for(request.user, timezone.now()),
        "cards": home_cards(request.user),
    }
    return render(request, "core/home.html", context)


@public
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
