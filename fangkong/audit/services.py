"""Writing audit records: the one function every audited action calls."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from fangkong.audit.models import AuditAction, AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: AuditAction,
    request: HttpRequest | None = None,
    actor: Any = None,
    actor_name: str = "",
    obj: models.Model | None = None,
    object_repr: str = "",
    jurisdiction_path: str = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one record. `object_repr` must already be masked: the log is not a leak."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if actor is not None and not jurisdiction_path:
        from fangkong.org.scoping import grants_of

        grants = grants_of(actor)
        jurisdiction_path = grants[0].path if grants else ""
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        ip=client_ip(request),
        action=action,
        object_type=(f"{obj._meta.app_label}.{obj._meta.model_name}" if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=object_repr[:200],
        jurisdiction_path=jurisdiction_path,
        purpose=purpose[:300],
        detail=detail or {},
    )
