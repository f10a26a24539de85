"""The stated purpose of an unmasking or an unmasked export.

The purpose is the only account the audit log keeps of why personal data was shown in
clear, so it must say something: four zero-width spaces or "...." are not a purpose.
Every place that accepts one (the unmask forms, an export's `purpose=`, the API, the
export command) goes through `clean_purpose`.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_LENGTH = 300
# Four letters, where a CJK character counts for two: 2 Chinese characters, 4 Latin
# letters, or one character and two letters.
MIN_LETTERS = 4

# CJK unified ideographs (the basic block, extensions A to H) and compatibility ideographs;
# NFKC already maps most compatibility ideographs onto the unified ones.
_CJK = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U000323af]"
)
_SPACES = re.compile(r"\s+")


def normalise_purpose(text: str) -> str:
    """NFKC, without invisible characters (zero-width spaces, direction marks, controls)
    and with each run of whitespace made one space: what the audit log keeps."""
    folded = unicodedata.normalize("NFKC", text or "")
    visible = "".join(
        c for c in folded if c.isspace() or not unicodedata.category(c).startswith("C")
    )
    return _SPACES.sub(" ", visible).strip()[:MAX_LENGTH]


def purpose_is_words(text: str) -> bool:
    """At least 2 CJK characters or 4 letters once punctuation, symbols, digits and
    spaces are set aside."""
    normalised = normalise_purpose(text)
    cjk = len(_CJK.findall(normalised))
    letters = sum(1 for c in normalised if unicodedata.category(c).startswith("L"))
    return cjk + letters >= MIN_LETTERS  # CJK characters are letters too: counted twice


def purpose_error() -> str:
    return _("State the purpose in words: at least 2 Chinese characters or 4 letters.")


def clean_purpose(text: str) -> str:
    """The normalised purpose, or a ValidationError saying what a purpose needs."""
    purpose = normalise_purpose(text)
    if not purpose_is_words(purpose):
        raise ValidationError(purpose_error(), code="purpose")
    return purpose
