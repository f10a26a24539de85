from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
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


@require_GET
@public
def service_worker(request: HttpRequest) -> HttpResponse:
    """The phone pages' service worker, served from the root so that its scope covers
    every page (a script's scope is its own folder); never cached by the browser, so a
    new version reaches the phones at their next visit."""
    response = render(
        request,
        "core/sw.js",
        {"static_url": settings.STATIC_URL, "login_url": reverse("accounts:login")},
        content_type="text/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    return response
