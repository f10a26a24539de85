"""Login lockout (per account and per client address) and setting passwords."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import password_validation
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from fangkong.accounts.models import AddressThrottle, FailureCounter, LoginThrottle, User
from fangkong.accounts.selectors import LoginIdentity, account_throttle_key
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record, client_ip
from fangkong.core.crypto import blind_index


class Lock(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


def address_key(request: HttpRequest) -> str:
    # client_ip follows FANGKONG_BEHIND_PROXY, as the public pages' limits do.
    return blind_index("login:address:" + (client_ip(request) or "unknown"))


def _window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def lock_of(*, identity: LoginIdentity, request: HttpRequest) -> Lock | None:
    """Why this attempt is refused before its password is even checked, if it is."""
    now = timezone.now()
    if AddressThrottle.objects.filter(key=address_key(request), locked_until__gt=now).exists():
        return Lock.ADDRESS
    if LoginThrottle.objects.filter(key=identity.throttle_key, locked_until__gt=now).exists():
        return Lock.ACCOUNT
    return None


def _count_failure(model: type[FailureCounter], key: str, *, limit: int, now: datetime) -> bool:
    """Count one failure under `key`; True when this one reaches the limit and locks."""
    row, _created = model._default_manager.select_for_update().get_or_create(key=key)
    if row.first_failure_at is None or now - row.first_failure_at > _window():
        row.failures = 0
        row.first_failure_at = now
    row.failures += 1
    locked = row.failures == limit
    if row.failures >= limit:
        row.locked_until = now + _window()
    row.save()
    return locked


@transaction.atomic
def login_failed(*, identity: LoginIdentity, request: HttpRequest) -> Lock | None:
    """Count a failed login for the account and for the client address; audit it.

    Returns the lock this failure set, if any; the lockout is audited once, when it
    begins, under the masked identifier.
    """
    now = timezone.now()
    account = _count_failure(
        LoginThrottle, identity.throttle_key, limit=settings.LOGIN_MAX_FAILURES, now=now
    )
    address = _count_failure(
        AddressThrottle,
        address_key(request),
        limit=settings.LOGIN_MAX_FAILURES_PER_ADDRESS,
        now=now,
    )
    locks = [lock for lock, hit in ((Lock.ACCOUNT, account), (Lock.ADDRESS, address)) if hit]
    audit_record(
        action=AuditAction.LOCKOUT if locks else AuditAction.LOGIN_FAILED,
        request=request,
        actor_name=identity.masked,
        detail={"locked": [str(lock) for lock in locks]} if locks else None,
    )
    # The address lock is the wider one: it is what the person will meet next.
    return Lock.ADDRESS if address else Lock.ACCOUNT if account else None


@transaction.atomic
def login_succeeded(*, user: User, request: HttpRequest) -> None:
    """Clear the account's failures (not the address's: one good account must not wipe
    the count of guesses at the others) and audit the login."""
    LoginThrottle.objects.filter(key=account_throttle_key(user)).delete()
    audit_record(action=AuditAction.LOGIN, request=request, actor=user)


def prune_throttles(now: datetime | None = None) -> int:
    """Forget counters whose window and lock have both ended (run daily)."""
    now = now or timezone.now()
    start = now - _window()
    deleted = 0
    for model in (LoginThrottle, AddressThrottle):
        stale = model._default_manager.filter(first_failure_at__lt=start).exclude(
            locked_until__gt=now
        )
        deleted += stale.delete()[0]
    return deleted


@transaction.atomic
def password_set(*, user: User, password: str, request: HttpRequest | None = None) -> None:
    """The person's own new password: the configured rules apply, the one-time flag
    clears, and the change is audited (without the password, of course)."""
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=user,
        obj=user,
        object_repr=user.get_username(),
        detail={"field": "password"},
    )
