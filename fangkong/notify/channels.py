"""Channel backends behind one interface: `send(channel, delivery)` returns the HTTP
status (or 0) or raises SendError saying whether a retry may help.

DingTalk custom robots sign each request: timestamp in ms, and
base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) url-encoded, both added to the
webhook's query string; the answer is JSON with errcode 0 on success. WeCom group
robots take the same text message without a signature. The SMS gateway is a plain
HTTP API: POST JSON {phone, sign, content} with the key as a bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

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


def _post(
    url: str, payload: dict[str, object], headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - the URL is the channel's own https/http webhook
        url, data=json.dumps(payload, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as e:
        retryable = e.code >= 500 or e.code == 429
        raise SendError(f"HTTP {e.code}", retryable=retryable, status=e.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise SendError(f"no answer: {e}", retryable=True) from None


def _robot_answer(status: int, body: bytes, retryable_codes: set[int]) -> int:
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        raise SendError("the robot's answer is not JSON", retryable=True, status=status) from None
    code = int(answer.get("errcode", -1))
    if code != 0:
        raise SendError(f"errcode {code}: {answer.get('errmsg', '')}"[:300],
                        retryable=code in retryable_codes, status=status)  # fmt: skip
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
    )  # fmt: skip
    return status


def send_console(channel: Channel, delivery: Delivery) -> int:
    log.info("notify[%s] %s → %s: %s", channel.key, delivery.event, delivery.recipient_label
             or "group", _text(delivery).replace("\n", " | "))  # fmt: skip
    return 0


def send_file(channel: Channel, delivery: Delivery) -> int:
    path = Path(channel.url or settings.FANGKONG_NOTIFY_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {"channel": channel.key, "event": delivery.event, "to": delivery.recipient_label,
            "title": delivery.title, "body": delivery.body, "key": delivery.key}  # fmt: skip
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0


BACKENDS: dict[str, Callable[[Channel, Delivery], int]] = {
    ChannelKind.CONSOLE: send_console,
    ChannelKind.FILE: send_file,
    ChannelKind.DINGTALK: send_dingtalk,
    ChannelKind.WECOM: send_wecom,
    ChannelKind.SMS: send_sms,
}
