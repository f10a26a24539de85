"""The append-only audit log.

The application never updates or deletes a row: the model and its queryset refuse to,
and on PostgreSQL a trigger refuses it for any client of the application's role. The
one exception is the retention purge taking a purged person's keyed hashes out of the
`detail` of records that hold them (`audit.services.audit_redact`): the record stays,
every other column unchanged, and the trigger lets that through only for a transaction
that declares it (ADR 0013).
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.org.scoping import ScopedQuerySet


class AppendOnlyError(RuntimeError):
    pass


class AuditAction(models.TextChoices):
    VIEW_PII = "view_pii", _("Viewed personal data")
    EXPORT = "export", _("Export")
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    IMPORT = "import", _("Import")
    LOGIN = "login", _("Login")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOCKOUT = "lockout", _("Account locked")
    LOGOUT = "logout", _("Logout")
    # One call of a machine client's API key (org.clients), whatever its answer.
    API_CALL = "api_call", _("API call")


class AuditQuerySet(ScopedQuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("the audit log is append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("the audit log is append-only")

    def _redact_detail(self, detail: dict[str, Any]) -> int:
        """For `audit.services.audit_redact` only: replace `detail`, nothing else."""
        return super().update(detail=detail)


class AuditEvent(models.Model):
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    # No database FK: users may be deactivated or removed, the trail must stay intact.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # Where the object lives, so auditors of a village see their village's trail.
    jurisdiction_path = models.CharField(max_length=255, blank=True, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    scope_path = "jurisdiction_path"
    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("the audit log is append-only")
