"""Which account a login identifier names: the one place that reads what was typed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from fangkong.accounts.models import User
from fangkong.core.crypto import blind_index
from fangkong.core.logging import redact
from fangkong.core.masking import mask_phone
from fangkong.core.normalise import fold_width, is_mainland_mobile, normalise_phone

# What people type for a phone: digits with spaces, dashes, dots, brackets and a +86 or
# 0086 prefix. Text with letters in it is a user name, even if it contains a number.
_TYPED_PHONE = re.compile(r"^\+?[\d\s().\-]+$")


@dataclass(frozen=True)
class LoginIdentity:
    """What was typed in the login form, read once."""

    user: User | None
    typed: str  # width-folded and stripped
    mobile: str  # the mainland mobile's 11 digits, when it was typed as one

    @property
    def throttle_key(self) -> str:
        # Per account, so every way of writing it shares one counter; an identifier that
        # names nobody counts under its normalised form, so probing unknown names is
        # throttled the same way (and answered the same way).
        if self.user is not None:
            return account_throttle_key(self.user)
        if self.mobile:
            return blind_index(f"login:phone:{self.mobile}")
        return blind_index("login:name:" + self.typed.lower())

    @property
    def masked(self) -> str:
        """For the audit log: people type ID numbers and phones into the name field too."""
        if self.mobile:
            return mask_phone(self.mobile)
        return redact(self.typed)[:150]


def account_throttle_key(user: User) -> str:
    return blind_index(f"login:user:{user.pk}")


def login_identity(identifier: str) -> LoginIdentity:
    """Resolve a user name, or a mainland mobile in any usual format, to its account."""
    typed = fold_width(identifier).strip()
    digits = normalise_phone(typed) if _TYPED_PHONE.match(typed) else ""
    mobile = digits if is_mainland_mobile(digits) else ""
    user = User.objects.filter(username=typed).first() if typed else None
    if user is None and mobile:
        user = User.objects.filter(staff__phone_hash=blind_index(mobile)).first()
    return LoginIdentity(user=user, typed=typed, mobile=mobile)


def request_user(request: HttpRequest) -> User:
    """The account of a request its route's access check let through (`@signed_in`,
    `@requires`, an API key): typed as one, so services get a `User` rather than a cast.
    An anonymous request that got this far is refused, not passed on."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
