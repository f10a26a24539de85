"""API keys of machine clients: issue, revoke, authenticate, rate-limit.

A key is `fk_<prefix>_<secret>`. The prefix finds the row; the secret is compared by its
keyed hash in constant time, and only that hash is stored. A key acts as a principal
whose grant is exactly its node and its permissions (`Grant` with no role), so the one
scoping mechanism (org.scoping) answers for it as for a person with a membership at
that node holding only those permissions.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.crypto import secret_digest
from fangkong.org.models import ApiClient, ApiRateWindow, Jurisdiction
from fangkong.org.roles import Perm
from fangkong.org.scoping import Grant, has_perm

KEY_PREFIX = "fk"
# The longest a key lives: a forgotten integration stops by itself.
MAX_DAYS = 366


@dataclass(frozen=True)
class IssuedKey:
    client: ApiClient
    key: str  # shown once, never stored


def _digest(secret: str) -> str:
    return secret_digest(secret)


def api_client_issue(
    *,
    issuer: Any,
    name: str,
    node: Jurisdiction,
    perms: Iterable[str],
    days: int,
) -> IssuedKey:
    """Issue a key at `node` with `perms`, each of which `issuer` must hold there."""
    errors: dict[str, list[str]] = {}
    # A key never issues keys, and no key manages keys: a leaked key cannot spread.
    if getattr(issuer, "fk_client", None) is not None:
        errors["node"] = [_("An API key cannot issue API keys.")]
    elif not has_perm(issuer, Perm.CLIENTS_MANAGE, node.path):
        errors["node"] = [_("You may not issue API keys at this node.")]
    chosen: list[Perm] = []
    for value in perms:
        try:
            chosen.append(Perm(value))
        except ValueError:
            errors.setdefault("perms", []).append(_("Unknown permission: %s") % value)
    if Perm.CLIENTS_MANAGE in chosen:
        errors.setdefault("perms", []).append(_("An API key cannot manage API keys."))
    beyond = sorted(p.value for p in chosen if not has_perm(issuer, p, node.path))
    if beyond:
        errors.setdefault("perms", []).append(
            _("You do not hold these permissions at this node: %s") % ", ".join(beyond)
        )
    if not chosen and "perms" not in errors:
        errors["perms"] = [_("Choose at least one permission.")]
    if not name.strip():
        errors["name"] = [_("Name the client.")]
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = [_("A key lives from 1 to %(max)d days.") % {"max": MAX_DAYS}]
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        principal = User(username=f"client-{prefix}", first_name=name.strip()[:150])
        principal.set_unusable_password()
        principal.save()
        client = ApiClient.objects.create(
            name=name.strip(),
            jurisdiction=node,
            perms=sorted({p.value for p in chosen}),
            prefix=prefix,
            secret_hash=_digest(secret),
            principal=principal,
            issued_by=issuer,
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit_record(
            action=AuditAction.CREATE,
            actor=issuer,
            obj=client,
            object_repr=str(client),
            jurisdiction_path=node.path,
            detail={"perms": client.perms, "expires_at": client.expires_at.isoformat()},
        )
    return IssuedKey(client, f"{KEY_PREFIX}_{prefix}_{secret}")


@transaction.atomic
def api_client_revoke(*, client: ApiClient, by: Any) -> ApiClient:
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.revoked_by = by
        client.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            action=AuditAction.UPDATE,
            actor=by,
            obj=client,
            object_repr=str(client),
            jurisdiction_path=client.jurisdiction.path,
            detail={"revoked": True},
        )
    return client


def client_grant(client: ApiClient) -> Grant:
    perms = frozenset(Perm(p) for p in client.perms if p in Perm._value2member_map_)
    return Grant(client.jurisdiction_id, client.jurisdiction.path, "", perms)


def authenticate_key(key: str, *, now: datetime | None = None) -> User | None:
    """The principal of a valid key with its grant loaded, or None (wrong, unknown,
    expired or revoked: one answer for all, so nobody learns which)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    client = (
        ApiClient.objects.select_related("jurisdiction", "principal")
        .filter(prefix=parts[1][:16])
        .first()
    )
    expected = client.secret_hash if client is not None else "0" * 64
    # Hash and compare even for an unknown prefix, so timing tells nothing either.
    matches = hmac.compare_digest(_digest(parts[2]), expected)
    now = now or timezone.now()
    if client is None or not matches or client.revoked_at is not None or client.expires_at <= now:
        return None
    principal = client.principal
    if not principal.is_active:
        return None
    # Set the grant cache that org.scoping reads: the principal has no memberships, so
    # were it ever dropped, the key would see nothing rather than more.
    principal._fk_grants = (client_grant(client),)  # type: ignore[attr-defined]
    principal.fk_client = client  # type: ignore[attr-defined]
    return principal


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


def rate_check(client: ApiClient, *, now: datetime | None = None) -> None:
    """Count one call in the client's fixed window; RateLimited past the limit."""
    now = now or timezone.now()
    seconds = settings.FANGKONG_API_KEY_WINDOW_SECONDS
    start_ts = math.floor(now.timestamp() / seconds) * seconds
    start = datetime.fromtimestamp(start_ts, tz=now.tzinfo)
    rows = ApiRateWindow.objects.filter(client=client, window_start=start)
    if not rows.update(calls=F("calls") + 1):
        try:
            with transaction.atomic():
                ApiRateWindow.objects.create(client=client, window_start=start, calls=1)
        except IntegrityError:
            rows.update(calls=F("calls") + 1)
    calls = rows.values_list("calls", flat=True).first() or 0
    if calls > settings.FANGKONG_API_KEY_RATE:
        raise RateLimited(max(1, math.ceil(start_ts + seconds - now.timestamp())))


def sweep_rate_windows(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.FANGKONG_API_KEY_WINDOW_SECONDS * 2)
    return ApiRateWindow.objects.filter(window_start__lt=cutoff).delete()[0]
