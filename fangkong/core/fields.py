"""Model fields for personal data."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from fangkong.core import crypto


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]  # stub generics vary
    """Stores AES-GCM ciphertext; Python code sees the clear value.

    Never filter on this field (every encryption uses a fresh nonce); look up through
    the companion blind-index column instead.
    """

    description = "Encrypted text"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))
