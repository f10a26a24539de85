"""API keys of machine clients: list those of your area, issue one, revoke one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status

from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Id
from fangkong.org import selectors
from fangkong.org.access import ScopedRouter
from fangkong.org.clients import MAX_DAYS, api_client_issue, api_client_revoke
from fangkong.org.models import ApiClient
from fangkong.org.roles import Perm

router = ScopedRouter(tags=["clients"])


class ClientOut(Schema):
    id: Id
    name: str
    node_code: str
    perms: list[str]
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    issued_by: str | None

    @staticmethod
    def of(c: ApiClient) -> ClientOut:
        return ClientOut(
            id=c.pk,
            name=c.name,
            node_code=c.jurisdiction.code,
            perms=list(c.perms),
            prefix=c.prefix,
            created_at=c.created_at,
            expires_at=c.expires_at,
            revoked_at=c.revoked_at,
            issued_by=c.issued_by.get_username() if c.issued_by else None,
        )


class ClientIn(Schema):
    name: str = Field(..., max_length=100)
    node_code: str = Field(..., max_length=40)
    perms: list[str] = Field(..., max_length=len(Perm))
    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = 90


class IssuedOut(Schema):
    client: ClientOut
    key: str = Field(description="The key, shown this once: it is stored only as a hash")


@router.read("/clients", perm=Perm.CLIENTS_MANAGE, response=Page[ClientOut])
def list_clients(request: HttpRequest, cursor: Cursor = "", limit: Limit = 50) -> Page[ClientOut]:
    """API clients issued at the nodes where you manage them, newest first."""
    rows, after = cursor_page(selectors.clients_visible(request.user), cursor=cursor, limit=limit)
    return Page[ClientOut](items=[ClientOut.of(c) for c in rows], next_cursor=after)


@router.write("/clients", perm=Perm.CLIENTS_MANAGE, response={201: IssuedOut})
def issue_client(request: HttpRequest, body: ClientIn) -> Status[IssuedOut]:
    """Issue a key bound to one node with permissions you hold there. The key is in this
    answer only; a replay of this request (same Idempotency-Key) shows it blank."""
    try:
        node = selectors.jurisdiction_for_user(request.user, body.node_code, Perm.CLIENTS_MANAGE)
    except Http404:
        # A field of the body, not the resource addressed: a field error, the same for a
        # node that does not exist and one outside the caller's area.
        raise ValidationError({"node_code": [_("No such node in your jurisdiction.")]}) from None
    issued = api_client_issue(
        issuer=request.user, name=body.name, node=node, perms=body.perms, days=body.days
    )
    request.fk_secret_in_response = issued.key  # type: ignore[attr-defined]
    return Status(201, IssuedOut(client=ClientOut.of(issued.client), key=issued.key))


@router.read("/clients/{client_id}", perm=Perm.CLIENTS_MANAGE, response=ClientOut)
def get_client(request: HttpRequest, client_id: Id) -> ClientOut:
    return ClientOut.of(selectors.api_client_for_user(request.user, client_id))


@router.write("/clients/{client_id}/revoke", perm=Perm.CLIENTS_MANAGE, response=ClientOut)
def revoke_client(request: HttpRequest, client_id: Id) -> ClientOut:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    client = selectors.api_client_for_user(request.user, client_id, write=True)
    return ClientOut.of(api_client_revoke(client=client, by=request.user))
