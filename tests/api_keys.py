"""API keys in tests: issue one, and a client that sends it the way a machine would.

`KeyClient` is a Django test client that sends `Authorization: Bearer fk_...` and, on
every write, a fresh `Idempotency-Key` (or the one given), and never a session cookie.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.test import Client

from fangkong.org.clients import IssuedKey, api_client_issue
from fangkong.org.models import ApiClient, Jurisdiction
from fangkong.org.roles import Perm
from tests.world import KEY_PERSONAS, World


def issue_key(
    world: World,
    *,
    node: str,
    by: str = "commander",
    perms: Iterable[Perm | str],
    name: str = "",
    days: int = 30,
) -> IssuedKey:
    target: Jurisdiction = world.nodes[node]
    return api_client_issue(
        issuer=world.users[by],
        name=name or f"test client at {target.code}",
        node=target,
        perms=[str(p) for p in perms],
        days=days,
    )


__all__ = ["KEY_PERSONAS", "KeyClient", "issue_key", "issue_persona_key"]


def issue_persona_key(world: World, persona: str) -> IssuedKey:
    node, by, perms = KEY_PERSONAS[persona]
    return issue_key(world, node=node, by=by, perms=perms, name=f"matrix {persona}")


class KeyClient(Client):
    """Sends the key on every request and a fresh Idempotency-Key on every write; pass
    `headers={"Idempotency-Key": "k1"}` for a chosen one, or set `idempotency = False`
    to send none."""

    def __init__(self, key: str, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.key = key
        self.idempotency = True

    def generic(  # type: ignore[override]
        self,
        method: str,
        path: str,
        data: Any = "",
        content_type: str | None = "application/octet-stream",
        secure: bool = False,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Any:
        sent = {"Authorization": f"Bearer {self.key}", **(headers or {})}
        if self.idempotency and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            sent.setdefault("Idempotency-Key", uuid.uuid4().hex)
        return super().generic(method, path, data, content_type, secure, headers=sent, **extra)

    @property
    def api_client(self) -> ApiClient:
        return ApiClient.objects.get(prefix=self.key.split("_")[1])
