"""After every API call: keep the answer of an idempotent write, and audit a key's call.

Both need the final response (status and body as sent), which only a middleware sees;
the authentication step (org.access) marks the request with what it found.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.idempotency import idempotency_finish
from fangkong.org.models import ApiClient

API_PREFIX = "/api/"


class ApiCallMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return response
        idempotency_finish(request, response)
        client: ApiClient | None = getattr(request, "fk_client", None)
        if client is not None:
            # Like a person's: who (the client), what operation, and how it ended.
            audit_record(
                action=AuditAction.API_CALL,
                request=request,
                actor=client.principal,
                actor_name=f"{client.name} ({client.prefix})"[:150],
                jurisdiction_path=client.jurisdiction.path,
                detail={
                    "method": request.method,
                    "path": request.path[:300],
                    "status": response.status_code,
                    "client": client.pk,
                },
            )
        return response
