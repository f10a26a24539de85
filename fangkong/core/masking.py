"""Display masking of personal data.

GB/T 35273 asks for de-identified display; no national standard fixes the pattern, so
the defaults follow common practice (ID 3+4, phone 3+4, given name masked) and live in
one place so every page, API response and export masks identically.
"""

from __future__ import annotations

MASK = "*"


def mask_middle(value: str, keep_prefix: int, keep_suffix: int) -> str:
    if not value:
        return ""
    if len(value) <= keep_prefix + keep_suffix:
        # Too short to keep both ends: keep at most the last two characters.
        keep = min(2, max(len(value) - 1, 0))
        return MASK * (len(value) - keep) + value[len(value) - keep :]
    middle = len(value) - keep_prefix - keep_suffix
    return value[:keep_prefix] + MASK * middle + value[len(value) - keep_suffix :]


def mask_id_number(value: str | None) -> str:
    """`110105194912310021` -> `110***********0021`."""
    return mask_middle(value or "", 3, 4)


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`; landlines keep the same 3 + 4 shape."""
    return mask_middle(value or "", 3, 4)


def mask_name(value: str | None) -> str:
    """`张三` -> `张*`, `李小明` -> `李*明`, `欧阳娜娜` -> `欧**娜`."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + MASK
    return value[0] + MASK * (len(value) - 2) + value[-1]


class MaskedIdentity:
    """For models holding a person's `id_number` and `phone`: their masked forms."""

    id_number: str
    phone: str

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)
