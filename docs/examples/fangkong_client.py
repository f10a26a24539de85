"""A small fangkong API client for machine integrations (standard library only).

    from fangkong_client import FangkongClient

    api = FangkongClient("https://fangkong.example", key=os.environ["FANGKONG_KEY"])
    for team in api.get("/org/teams"):
        print(team["name"])
    for row in api.pages("/org/clients"):  # follows next_cursor
        print(row["prefix"])
    api.post("/reports/daily/330411102201", {"values": {}})  # retried safely

It sends the key as `Authorization: Bearer fk_...`, asks for messages in `language`,
gives every write an `Idempotency-Key` and resends the same request with the same key
after a timeout, a 409 (still in progress), a 429 (waiting `Retry-After`) or a 5xx, so
a write happens once however often the network fails. See docs/api.md.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

RETRY_STATUSES = {409, 429, 500, 502, 503, 504}


@dataclass
class ApiError(Exception):
    """A refusal in the API's one error shape: `detail`, and `errors` by field."""

    status: int
    detail: str
    errors: dict[str, list[str]]

    def __str__(self) -> str:
        fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items())
        return f"{self.status} {self.detail}" + (f" ({fields})" if fields else "")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FangkongClient:
    def __init__(
        self,
        base_url: str,
        *,
        key: str,
        language: str = "zh-Hans",
        timeout: float = 30.0,
        attempts: int = 5,
    ) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.key = key
        self.language = language
        self.timeout = timeout
        self.attempts = attempts

    # Reads ---------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def pages(self, path: str, *, limit: int = 200, **params: Any) -> Iterator[Any]:
        """Every item of a cursor-paged list, page after page (limit at most 200)."""
        cursor = ""
        while True:
            page = self.get(path, **params, limit=limit, cursor=cursor)
            yield from page["items"]
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return

    # Writes --------------------------------------------------------------------------

    def post(self, path: str, body: Any = None, *, idempotency_key: str = "") -> Any:
        return self.write("POST", path, body, idempotency_key=idempotency_key)

    def write(self, method: str, path: str, body: Any = None, *, idempotency_key: str = "") -> Any:
        """A JSON write; `idempotency_key` names the intent (a new one is made if empty):
        pass the same one to repeat the same request later, e.g. after a restart."""
        data = json.dumps(body if body is not None else {}).encode()
        return self.request(
            method,
            path,
            data=data,
            content_type="application/json",
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        ).json()

    def upload(
        self,
        path: str,
        *,
        files: dict[str, tuple[str, bytes, str]],
        fields: dict[str, str] | None = None,
        idempotency_key: str = "",
    ) -> Any:
        """A multipart write: `files` maps a field to (file name, content, content type)."""
        boundary = uuid.uuid4().hex
        parts: list[bytes] = []
        for name, value in (fields or {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, (filename, content, kind) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST",
            path,
            data=b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        ).json()

    # The one request -----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str = "",
        idempotency_key: str = "",
    ) -> Response:
        url = self.base + path
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        headers = {
            "Authorization": f"Bearer {self.key}",
            "Accept": "application/json",
            "Accept-Language": self.language,
        }
        if content_type:
            headers["Content-Type"] = content_type
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        # Reads and writes with an Idempotency-Key are safe to resend as they are.
        for attempt in range(self.attempts):
            wait = min(2.0**attempt, 30.0)
            try:
                answer = self._send(url, method, headers, data)
            except (urllib.error.URLError, TimeoutError):
                if attempt + 1 == self.attempts:
                    raise
                time.sleep(wait)
                continue
            if answer.status in RETRY_STATUSES and attempt + 1 < self.attempts:
                time.sleep(float(answer.headers.get("retry-after", wait)))
                continue
            if answer.status >= 400:
                shape = _error_shape(answer)
                raise ApiError(answer.status, shape.get("detail", ""), shape.get("errors", {}))
            return answer
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(self, url: str, method: str, headers: dict[str, str], data: bytes | None) -> Response:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as r:  # noqa: S310
                return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def _error_shape(answer: Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {"detail": answer.body.decode(errors="replace")}
