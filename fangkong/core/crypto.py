"""Encryption at rest and keyed hashes for personal data.

Resident ID numbers and phone numbers are stored as AES-256-GCM ciphertext plus an
HMAC-SHA256 "blind index" of the normalised value, so that exact lookups work without
ever storing or comparing the clear value. Both keys are derived with HKDF from the one
FIELD_ENCRYPTION_KEY so a deployment manages a single secret. Ciphertexts carry a
version prefix so the key can be rotated later without ambiguity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PREFIX = "v1:"
_NONCE_BYTES = 12


class DecryptionError(ValueError):
    """Raised when a stored ciphertext cannot be decrypted with the configured key."""


@lru_cache(maxsize=4)
def _keys(master_b64: str) -> tuple[AESGCM, bytes]:
    master = base64.urlsafe_b64decode(master_b64.encode())
    if len(master) != 32:
        raise ValueError("FIELD_ENCRYPTION_KEY must be 32 bytes, URL-safe base64 encoded")

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    return AESGCM(derive(b"fangkong field encryption v1")), derive(b"fangkong blind index v1")


def _current() -> tuple[AESGCM, bytes]:
    return _keys(settings.FIELD_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    aead, _ = _current()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = aead.encrypt(nonce, plaintext.encode("utf-8"), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        raise DecryptionError("unknown ciphertext version")
    aead, _ = _current()
    raw = base64.b64decode(token[len(_PREFIX) :])
    try:
        return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode("utf-8")
    except Exception as exc:  # cryptography raises InvalidTag; never echo the token
        raise DecryptionError("ciphertext does not decrypt with the configured key") from exc


def blind_index(normalised: str) -> str:
    """Keyed hash for exact-match lookup; callers pass an already normalised value."""
    _, mac_key = _current()
    return hmac.new(mac_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def _secret_key(master_b64: str) -> bytes:
    master = base64.urlsafe_b64decode(master_b64.encode())
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"fangkong secrets v1"
    ).derive(master)


def secret_digest(secret: str) -> str:
    """Keyed hash of a credential we issue (an API key's secret): a copy of the table
    alone cannot be replayed or brute-forced offline without the server's key. Its own
    derived key, so it never collides with a blind index of personal data."""
    return hmac.new(
        _secret_key(settings.FIELD_ENCRYPTION_KEY), secret.encode("utf-8"), hashlib.sha256
    ).hexdigest()


class BlindIndexMemo:
    """`blind_index` for one batch of work (an import): each value hashed once.

    An import hashes the same value in several places (matching, the stored keys, the
    last four digits shared by thousands of IDs); the memo keeps the answers for the
    batch, and the keyed HMAC is copied from a prepared one instead of being set up
    per value. Drop it with the batch: it holds the clear values it was given.
    """

    def __init__(self) -> None:
        _, mac_key = _current()
        self._base = hmac.new(mac_key, digestmod=hashlib.sha256)
        self._memo: dict[str, str] = {}

    def __call__(self, normalised: str) -> str:
        found = self._memo.get(normalised)
        if found is None:
            mac = self._base.copy()
            mac.update(normalised.encode("utf-8"))
            found = self._memo[normalised] = mac.hexdigest()
        return found


def key_fingerprint(master_b64: str | None = None) -> str:
    """A short name for the key that reveals nothing of it: a backup carries the
    fingerprint of the key its data was encrypted with, so a restore can refuse to
    bring back data the configured key cannot read, without the key itself travelling
    with the backup."""
    master = base64.urlsafe_b64decode((master_b64 or settings.FIELD_ENCRYPTION_KEY).encode())
    derived = HKDF(
        algorithm=hashes.SHA256(), length=16, salt=None, info=b"fangkong key fingerprint v1"
    ).derive(master)
    return derived.hex()
