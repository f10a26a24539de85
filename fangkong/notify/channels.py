"""Channel backends behind one interface: `send(channel, delivery)` returns the HTTP
status (or 0) or raises SendError saying whether a retry may help.

DingTalk custom robots sign each request: timestamp in ms, and
base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) url-encoded, both added to the
webhook's query string; the answer is JSON with errcode 0 on success. WeCom group
robots take the same text message without a signature. The SMS gateway is a plain
HTTP API: POST JSON {phone, sign, content} with the key as a bearer token.

Every request goes to an address checked by `addresses.check` just before it (public,
or a gateway the installation names), and redirects are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from fangkong.notify import addresses
from fangkong.notify.addresses import Target
from fangkong.notify.models import Channel, ChannelKind, Delivery

log = logging.getLogger("fangkong.notify")
TIMEOUT = 5  # seconds: a robot that does not answer in 5 s is retried later
# DingTalk's "sent too often" and "system busy": worth another try later.
_DINGTALK_RETRYABLE = {130101, 660026, -1}


class SendError(Exception):
    def __init__(self, message: str, *, retryable: bool, status: int = 0) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def _text(delivery: Delivery) -> str:
    return f"{delivery.title}\n{delivery.body}".strip()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the name resolves to by now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is still checked against the host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _post(
    url: str, payload: dict[str, object] | bytes, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """POST JSON (a dict, or bytes already encoded: a signed body goes out byte for byte
    as it was signed)."""
    try:
        target = addresses.target_for(url)
    except addresses.AddressRefused as e:
        # Stored before the check existed, or the name now resolves elsewhere: never
        # contacted, and no retry will make it allowed.
        raise SendError(str(e), retryable=False) from None
    except addresses.Unresolvable:
        raise SendError("no answer: the host name does not resolve", retryable=True) from None
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, TIMEOUT)
    try:
        connection.request(
            "POST",
            target.path,
            body=payload
            if isinstance(payload, bytes)
            else json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )
        response = connection.getresponse()
        status, body = response.status, response.read()
    except (OSError, http.client.HTTPException) as e:
        raise SendError(f"no answer: {e}", retryable=True) from None
    finally:
        connection.close()
    if 300 <= status < 400:
        # A redirect could lead anywhere, the addresses refused above included.
        raise SendError(
            f"HTTP {status}: redirects are not followed", retryable=False, status=status
        )
    if status >= 400:
        raise SendError(f"HTTP {status}", retryable=status >= 500 or status == 429, status=status)
    return status, body


def _robot_answer(status: int, body: bytes, retryable_codes: set[int]) -> int:
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        raise SendError("the robot's answer is not JSON", retryable=True, status=status) from None
    code = int(answer.get("errcode", -1))
    if code != 0:
        raise SendError(
            f"errcode {code}: {answer.get('errmsg', '')}"[:300],
            retryable=code in retryable_codes,
            status=status,
        )
    return status


def send_dingtalk(channel: Channel, delivery: Delivery) -> int:
    url = channel.url
    if channel.secret:
        ts = int(time.time() * 1000)
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(channel.secret, ts)}"
    status, body = _post(url, {"msgtype": "text", "text": {"content": _text(delivery)}})
    return _robot_answer(status, body, _DINGTALK_RETRYABLE)


def send_wecom(channel: Channel, delivery: Delivery) -> int:
    status, body = _post(channel.url, {"msgtype": "text", "text": {"content": _text(delivery)}})
    # 45009: API frequency exceeded.
    return _robot_answer(status, body, {45009, -1})


def send_sms(channel: Channel, delivery: Delivery) -> int:
    if not delivery.recipient:
        raise SendError("no phone number", retryable=False)
    status, _body = _post(
        channel.url,
        {"phone": delivery.recipient, "sign": channel.sign_name, "content": _text(delivery)},
        {"Authorization": f"Bearer {channel.secret}"},
    )
    return status


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>." + body: the timestamp is signed with the body, so a
    captured delivery replayed later fails the receiver's age check."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def send_webhook(channel: Channel, delivery: Delivery) -> int:
    """The event's JSON (queued whole in `delivery.body`), signed afresh on every attempt
    so a retry carries a current timestamp."""
    body = delivery.body.encode()
    timestamp = int(time.time())
    status, _answer = _post(
        channel.url,
        body,
        {
            "X-Fangkong-Event": delivery.event,
            "X-Fangkong-Delivery": delivery.key,
            "X-Fangkong-Timestamp": str(timestamp),
            "X-Fangkong-Signature": webhook_signature(channel.secret, timestamp, body),
        },
    )
    return status


def send_console(channel: Channel, delivery: Delivery) -> int:
    log.info(
        "notify[%s] %s → %s: %s",
        channel.key,
        delivery.event,
        delivery.recipient_label or "group",
        _text(delivery).replace("\n", " | "),
    )
    return 0


def send_file(channel: Channel, delivery: Delivery) -> int:
    path = Path(channel.url or settings.FANGKONG_NOTIFY_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "channel": channel.key,
        "event": delivery.event,
        "to": delivery.recipient_label,
        "title": delivery.title,
        "body": delivery.body,
        "key": delivery.key,
    }
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0


BACKENDS: dict[str, Callable[[Channel, Delivery], int]] = {
    ChannelKind.CONSOLE: send_console,
    ChannelKind.FILE: send_file,
    ChannelKind.DINGTALK: send_dingtalk,
    ChannelKind.WECOM: send_wecom,
    ChannelKind.SMS: send_sms,
    ChannelKind.WEBHOOK: send_webhook,
}
