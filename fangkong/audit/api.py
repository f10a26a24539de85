"""Audit API for auditors."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Schema

from fangkong.audit.models import AuditEvent
from fangkong.core.bounds import Offset
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm

router = ScopedRouter(tags=["audit"])


class AuditEventOut(Schema):
    at: datetime
    actor_name: str
    ip: str | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    purpose: str


@router.read("/events", perm=Perm.AUDIT_VIEW, response=list[AuditEventOut])
def list_events(request: HttpRequest, action: str = "", offset: Offset = 0) -> list[AuditEvent]:
    events = AuditEvent.objects.visible_to(request.user, Perm.AUDIT_VIEW)
    if action:
        events = events.filter(action=action)
    return list(events[offset : offset + 200])
