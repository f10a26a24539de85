"""The resident's personal code (个人码) for sampling: printed or shown on the phone,
scanned at the table. It is signed and opaque: the registry's row number in base 36 and
a signature, no name, ID number or phone, so a lost slip tells nobody anything and a
made-up code is refused."""

from __future__ import annotations

from django.core import signing

_SALT = "fangkong.testing.resident-code"
PREFIX = "FK"


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def resident_code(person_id: int) -> str:
    """The code of a registry person (by id)."""
    return PREFIX + signing.Signer(salt=_SALT).sign(_b36(person_id))


def person_id_of(code: str) -> int | None:
    """The person a scanned code names, or None for anything not issued by us."""
    text = code.strip()
    if len(text) > 80 or not text.startswith(PREFIX):
        return None
    try:
        return int(signing.Signer(salt=_SALT).unsign(text[len(PREFIX) :]), 36)
    except (signing.BadSignature, ValueError):
        return None


# The resident's own link to their results: another salt than the code, so the code a
# sampler scans at the table never opens the person's results.
_LINK_SALT = "fangkong.testing.my-results"
LINK_DAYS = 60


def results_token(person_id: int) -> str:
    """The token of a resident's own results link, good for LINK_DAYS days."""
    return signing.dumps({"p": person_id}, salt=_LINK_SALT, compress=True)


def person_id_of_token(token: str) -> int | None:
    """The person a results link is for, or None when forged or expired."""
    try:
        data = signing.loads(token[:200], salt=_LINK_SALT, max_age=LINK_DAYS * 86400)
        return int(data["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
