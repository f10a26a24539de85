from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fangkong.core.duties import duties_for
from fangkong.org.access import signed_in
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
