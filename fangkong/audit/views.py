from __future__ import annotations

from datetime import date

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.org.access import requires
from fangkong.org.roles import Perm


@require_GET
@requires(Perm.AUDIT_VIEW)
def log(request: HttpRequest) -> HttpResponse:
    """The audit trail of the auditor's jurisdiction, newest first, with filters."""
    events = AuditEvent.objects.visible_to(request.user, Perm.AUDIT_VIEW)
    action = request.GET.get("action", "")
    if action in AuditAction.values:
        events = events.filter(action=action)
    actor = request.GET.get("actor", "").strip()[:150]
    if actor:
        events = events.filter(actor_name__icontains=actor)
    day = request.GET.get("date", "")
    try:
        events = events.filter(at__date=date.fromisoformat(day)) if day else events
    except ValueError:
        day = ""
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "actions": AuditAction.choices,
            "action": action,
            "actor": actor,
            "day": day,
        },
    )
