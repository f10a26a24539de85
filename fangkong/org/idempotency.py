"""`Idempotency-Key` on API writes: a retried request replays the first answer.

A client on a weak network cannot tell a lost request from a lost answer; it sends the
same write again with the same key. The first request claims (principal, key) before the
operation runs; the answer is stored after it (org.middleware) and replayed to every
retry with the same body. A different body under the same key is a client bug (422); a
retry while the first is still running waits for nothing and gets 409 — unless the claim
is older than any request runs (FANGKONG_IDEMPOTENCY_IN_FLIGHT_SECONDS): its request died
with its process, and the retry takes the claim over and runs the write once.

The body is fingerprinted without reading `request.body` for multipart requests (Django
has already streamed it into `request.FILES`): form fields and each file's content.
A stored answer may hold what an operation shows once (an unmasked phone, a webhook's
secret), so it is kept encrypted like personal data (core.crypto), and an API key's
secret is blanked before that.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from fangkong.core.crypto import decrypt, encrypt
from fangkong.org.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 200


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    if request.content_type == "multipart/form-data":
        for name, values in sorted(request.POST.lists()):
            for value in values:
                digest.update(f"field {name}={value}\n".encode())
        for name, files in sorted(request.FILES.lists()):
            for upload in files:
                digest.update(f"file {name} {upload.name}\n".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _key_of(request: HttpRequest, required: bool) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise ValidationError(
                {HEADER: [_("A write with an API key needs an Idempotency-Key header.")]}
            )
        return None
    if not key or len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise ValidationError(
            {HEADER: [_("An Idempotency-Key is 1 to 200 printable ASCII characters.")]}
        )
    return key


def idempotency_begin(request: HttpRequest) -> HttpResponseBase | None:
    """Claim the request's key, or answer it from the stored record (a replay)."""
    principal = getattr(request, "auth", None)
    key = _key_of(request, required=getattr(request, "fk_client", None) is not None)
    if key is None or principal is None:
        return None
    print_ = fingerprint(request)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                principal=principal, key=key, fingerprint=print_
            )
    except IntegrityError:
        found = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if found is None:  # swept between the insert and the read: rare; ask again
            raise HttpError(409, _("This Idempotency-Key is in use; retry.")) from None
        if found.fingerprint != print_:
            raise ValidationError(
                {HEADER: [_("This Idempotency-Key was used with a different request.")]}
            ) from None
        if found.status is None:
            taken = _take_over(found)
            if taken is None:
                raise HttpError(
                    409, _("A request with this Idempotency-Key is in progress.")
                ) from None
            request.fk_idempotency = taken  # type: ignore[attr-defined]
            return None
        response = HttpResponse(
            _open(bytes(found.body)), status=found.status, content_type=found.content_type or None
        )
        response[REPLAYED_HEADER] = "true"
        return response
    request.fk_idempotency = record  # type: ignore[attr-defined]
    return None


def _take_over(claim: IdempotencyRecord) -> IdempotencyRecord | None:
    """The claim, renewed for this request, if its owner is dead: in flight for longer
    than a request can run. One retry wins: the renewal is a compare-and-set on the claim
    time, so two retries at once cannot both take it."""
    now = timezone.now()
    bound = timedelta(seconds=settings.FANGKONG_IDEMPOTENCY_IN_FLIGHT_SECONDS)
    if claim.created_at > now - bound:
        return None
    renewed = IdempotencyRecord.objects.filter(
        pk=claim.pk, status__isnull=True, created_at=claim.created_at
    ).update(created_at=now)
    if not renewed:
        return None
    claim.created_at = now
    return claim


def _mine(record: IdempotencyRecord) -> Any:
    """The claim while this request still holds it: a request presumed dead that ends
    after all must not overwrite or free the claim a retry has taken over."""
    return IdempotencyRecord.objects.filter(
        pk=record.pk, status__isnull=True, created_at=record.created_at
    )


def idempotency_finish(request: HttpRequest, response: HttpResponseBase) -> None:
    """Store the answer to replay; a server error frees the key for a real retry."""
    record: IdempotencyRecord | None = getattr(request, "fk_idempotency", None)
    if record is None:
        return
    if response.status_code >= 500 or getattr(response, "streaming", False):
        _mine(record).delete()
        return
    body = bytes(response.content)  # type: ignore[attr-defined]
    # A secret shown once (a new API key) is never kept: its replay shows it blank.
    secret: str | None = getattr(request, "fk_secret_in_response", None)
    if secret:
        body = body.replace(secret.encode(), b"")
    _mine(record).update(
        status=response.status_code,
        content_type=response.get("Content-Type", ""),
        body=_seal(body),
    )


def _seal(body: bytes) -> bytes:
    return encrypt(base64.b64encode(body).decode("ascii")).encode("ascii")


def _open(sealed: bytes) -> bytes:
    return base64.b64decode(decrypt(sealed.decode("ascii"))) if sealed else b""


def idempotent(op: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a write operation: runs after authentication and validation, before `op`."""

    @wraps(op)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        answered = idempotency_begin(request)
        if answered is not None:
            return answered
        return op(request, *args, **kwargs)

    # ninja resolves string annotations (`from __future__ import annotations`) in the
    # wrapper's module; hand it the operation's own, already resolved.
    wrapper.__signature__ = inspect.signature(op, eval_str=True)  # type: ignore[attr-defined]
    # Marked, so a test can prove every write operation of the schema is wrapped.
    wrapper.fk_idempotent = True  # type: ignore[attr-defined]
    return wrapper


def sweep_idempotency(*, now: Any = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.FANGKONG_IDEMPOTENCY_KEEP_HOURS)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
