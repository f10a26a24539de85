"""Log in with the user name or the staff phone number."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from fangkong.accounts.models import User
from fangkong.accounts.selectors import login_identity


class UsernameOrPhoneBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        user = login_identity(username).user
        if user is None:
            # Same work as a real check so response time does not reveal unknown names.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The signed-in user of every request, with their staff name in the same query:
        every page names them in its menu, which cost a query of its own per request
        (one in seven of 我的任务's). The encrypted phone and ID number are left for
        whoever asks (decrypting them on every request would be waste). The relation
        is named, not imported: org sits above accounts."""
        user = (
            User.objects.select_related("staff")
            .defer("staff__phone", "staff__id_number")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
