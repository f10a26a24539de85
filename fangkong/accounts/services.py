"""Login lockout."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import LoginThrottle
from fangkong.core.crypto import blind_index
from fangkong.core.normalise import fold_width


def throttle_key(identifier: str) -> str:
    # Hashed so a phone typed as a login name is never stored in clear.
    return blind_index("login:" + fold_width(identifier).strip().lower())


def is_locked(identifier: str) -> bool:
    row = LoginThrottle.objects.filter(key=throttle_key(identifier)).first()
    return bool(row and row.locked_until and row.locked_until > timezone.now())


@transaction.atomic
def login_failed(*, identifier: str) -> bool:
    """Count a failure; return True when this failure locks the identifier."""
    now = timezone.now()
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    row, _ = LoginThrottle.objects.select_for_update().get_or_create(key=throttle_key(identifier))
    if row.first_failure_at is None or now - row.first_failure_at > window:
        row.failures = 0
        row.first_failure_at = now
    row.failures += 1
    locked = row.failures >= settings.LOGIN_MAX_FAILURES
    if locked:
        row.locked_until = now + window
    row.save()
    return locked


def login_succeeded(*, identifier: str) -> None:
    LoginThrottle.objects.filter(key=throttle_key(identifier)).delete()
