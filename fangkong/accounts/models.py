"""User accounts and login throttling."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A login. Personal details of staff live on org.StaffProfile."""

    # Set when someone else chose the password (a one-time password for new staff):
    # they know it, so the person replaces it before doing anything else.
    must_change_password = models.BooleanField(_("must change password"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class FailureCounter(models.Model):
    """Failed logins within a window, under a keyed hash (never the text typed)."""

    key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True)
    locked_until = models.DateTimeField(null=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.key[:12]


class LoginThrottle(FailureCounter):
    """Per account, or for an identifier matching no account, per its normalised form:
    a success clears it."""


class AddressThrottle(FailureCounter):
    """Per client address, across every account tried from it: a success does not clear
    it, or one good account would reset the count for guesses at all the others."""
