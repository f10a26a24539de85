"""User accounts and login throttling."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A login. Personal details of staff live on org.StaffProfile."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class LoginThrottle(models.Model):
    """Failed-login counter per identifier (the hash of what was typed, never the text)."""

    key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True)
    locked_until = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.key[:12]
