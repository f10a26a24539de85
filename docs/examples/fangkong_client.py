"""A small fangkong API client for machine integrations (standard library only).

    from fangkong_client import FangkongClient

    api = FangkongClient("https://fangkong.example", key=os.environ["FANGKONG_KEY"])
    for team in api.get("/org/teams"):
        print(team["name"])
    for row in api.pages("/org/clients"):  # follows next_cursor
        print(row["prefix"])
    api.post("/reports/daily/330411102201", {"values": {}})  # retried safely

    # A pushed list (上级推送): upload the file as received, wait for its import, read
    # each row's result, and save the feedback file (the sender's layout, results beside).
    pushed = api.push_list(Path("第38批.xlsx"), name="红码核查第38批", source="县指挥部",
                           category="red_code", deadline="2022-07-04T12:00:00+08:00")
    pushed = api.wait_for_list(pushed["id"])
    for row in api.pages(f"/screening/lists/{pushed['id']}/rows"):
        print(row["row_number"], row["name"], row["match"], row["outcome"])
    api.download(f"/screening/lists/{pushed['id']}/feedback/xlsx", Path("反馈.xlsx"))

Or from a shell, the same steps (the key in FANGKONG_KEY):

    python fangkong_client.py push-list https://fangkong.example 第38批.xlsx \
        --name 红码核查第38批 --source 县指挥部 --category red_code \
        --deadline 2022-07-04T12:00:00+08:00 --feedback 反馈.xlsx

It sends the key as `Authorization: Bearer fk_...`, asks for messages in `language`,
gives every write an `Idempotency-Key` and resends the same request with the same key
after a timeout, a 409 (still in progress), a 429 (waiting `Retry-After`) or a 5xx, so
a write happens once however often the network fails. See docs/api.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RETRY_STATUSES = {409, 429, 500, 502, 503, 504}
# Content types of the files a pushed list may be sent as.
LIST_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".csv": "text/csv",
}
# An import job's states that no longer change.
FINISHED = {"done", "failed"}


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

    def download(self, path: str, to: Path, **params: Any) -> Path:
        """Save a file the API answers (an export, a feedback file) at `to`."""
        to.write_bytes(self.request("GET", path, params=params).body)
        return to

    # Pushed lists (上级推送) -------------------------------------------------------------

    def push_list(
        self,
        file: Path,
        *,
        name: str,
        source: str,
        category: str,
        deadline: str,
        node: str = "",
        mapping: dict[str, str] | None = None,
    ) -> Any:
        """Upload a list as the file received (xlsx, xls or csv); returns the list. The
        Idempotency-Key is made from the file and the fields, so running this again after
        a crash replays the first answer instead of uploading twice."""
        content = file.read_bytes()
        fields = {
            "name": name,
            "source": source,
            "category": category,
            "deadline": deadline,
            "node": node,
            "mapping": json.dumps(mapping or {}, ensure_ascii=False),
        }
        kind = LIST_TYPES.get(file.suffix.lower(), "application/octet-stream")
        intent = hashlib.sha256(content + json.dumps(fields, sort_keys=True).encode())
        answer = self.upload(
            "/screening/lists",
            files={"file": (file.name, content, kind)},
            fields=fields,
            idempotency_key=f"push-list-{intent.hexdigest()}",
        )
        return answer["list"]

    def push_rows(
        self,
        headers: list[str],
        rows: list[list[str]],
        *,
        name: str,
        source: str,
        category: str,
        deadline: str,
        node: str = "",
        mapping: dict[str, str] | None = None,
    ) -> Any:
        """Upload a list held as data: the sender's `headers` and `rows` of text."""
        body = {
            "name": name,
            "source": source,
            "category": category,
            "deadline": deadline,
            "node": node,
            "mapping": mapping or {},
            "headers": headers,
            "rows": rows,
        }
        intent = hashlib.sha256(json.dumps(body, sort_keys=True).encode())
        answer = self.post(
            "/screening/lists/rows", body, idempotency_key=f"push-rows-{intent.hexdigest()}"
        )
        return answer["list"]

    def wait_for_list(self, list_id: int, *, every: float = 2.0, patience: float = 600.0) -> Any:
        """Poll a list until its import has finished; returns it with its progress by
        village. Raises TimeoutError after `patience` seconds, RuntimeError if it failed."""
        give_up = time.monotonic() + patience
        while True:
            pushed = self.get(f"/screening/lists/{list_id}")
            job = pushed.get("job") or {}
            if job.get("status") == "failed":
                raise RuntimeError(f"list {list_id}: {job.get('message', '')}")
            if job.get("status") in FINISHED:
                return pushed
            if time.monotonic() > give_up:
                raise TimeoutError(f"list {list_id} still {job.get('status')}")
            time.sleep(every)

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


# The command line: push a list and fetch its feedback --------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Push a list to fangkong, fetch its feedback.")
    commands = parser.add_subparsers(dest="command", required=True)
    push = commands.add_parser("push-list", help="upload a list, wait, save the feedback file")
    push.add_argument("base_url", help="e.g. https://fangkong.example")
    push.add_argument("file", type=Path, help="the list as received: .xlsx, .xls or .csv")
    push.add_argument("--name", required=True)
    push.add_argument("--source", required=True, help="who pushed it, e.g. 县指挥部")
    push.add_argument("--category", required=True, help="red_code, yellow_code, ...")
    push.add_argument("--deadline", required=True, help="ISO 8601 with its offset")
    push.add_argument("--node", default="", help="the receiving node's code; empty: yours")
    push.add_argument("--feedback", type=Path, required=True, help="where to save it")
    push.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    push.add_argument("--language", default="zh-Hans")
    args = parser.parse_args(argv)
    key = os.environ.get("FANGKONG_KEY", "")
    if not key:
        print("Set FANGKONG_KEY to the API key (fk_...).", file=sys.stderr)
        return 2
    api = FangkongClient(args.base_url, key=key, language=args.language)
    try:
        pushed = api.push_list(
            args.file,
            name=args.name,
            source=args.source,
            category=args.category,
            deadline=args.deadline,
            node=args.node,
        )
        pushed = api.wait_for_list(pushed["id"])
        for area in pushed["progress"]:
            print(
                f"{area['node_name']}: {area['total']} rows, {area['done']} done, "
                f"{area['pending']} pending, {area['to_locate']} to locate"
            )
        for row in api.pages(f"/screening/lists/{pushed['id']}/rows"):
            print(f"  row {row['row_number']}: {row['name']} {row['match']} {row['outcome']}")
        api.download(f"/screening/lists/{pushed['id']}/feedback/{args.format}", args.feedback)
    except ApiError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"list {pushed['id']}: feedback saved to {args.feedback}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
