"""Posting a notification to a group robot or a generic JSON webhook.

Each format has its payload builder and its idea of success: WeCom (企业微信) and DingTalk
(钉钉) answer HTTP 200 with ``{"errcode": 0}``, Feishu (飞书) with ``{"code": 0}`` (older
robots: ``{"StatusCode": 0}``); a generic webhook succeeds with any 2xx. A robot that
refuses a message (bad token, bad signature, rate limit) still answers 200, so the JSON is
what counts. DingTalk and Feishu robots with a signing secret (加签) need a timestamp and
an HMAC-SHA256 signature; a generic endpoint with a secret gets an ``X-Fenghuo-Signature``
header over the body, so the receiver can check where the request came from.

Plain ``urllib``: no dependency for one POST. Nothing here touches the database.
"""

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .models import Notification, WebhookEndpoint

Format = WebhookEndpoint.Format

# WeCom rejects markdown content over 4096 bytes; the others allow more, but a chat
# message is a pointer to the incident, not the place to read it.
MAX_CONTENT_BYTES = 4000
# How much of an unexpected answer goes into the error we keep.
ANSWER_EXCERPT = 300
USER_AGENT = "Fenghuo-Notifications/1"


@dataclass(frozen=True)
class SendResult:
    """What one attempt at sending came to."""

    ok: bool
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0


def incident_path(notification: Notification) -> str:
    """The incident's address (or the message's own link), absolute (FENGHUO_BASE_URL) so
    chat and email can link it."""
    if notification.incident_id is None:
        return settings.FENGHUO_BASE_URL + notification.link if notification.link else ""
    return settings.FENGHUO_BASE_URL + reverse("incidents:detail", args=[notification.incident_id])


def _truncate_bytes(text: str, limit: int = MAX_CONTENT_BYTES) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "…"


def _markdown(notification: Notification) -> str:
    parts = [f"**{notification.title}**"]
    if notification.body:
        parts.append(notification.body)
    if path := incident_path(notification):
        parts.append(path)
    return _truncate_bytes("\n\n".join(parts))


def _text(notification: Notification) -> str:
    parts = [notification.title]
    if notification.body:
        parts.append(notification.body)
    if path := incident_path(notification):
        parts.append(path)
    return _truncate_bytes("\n".join(parts))


def dingtalk_sign(*, secret: str, timestamp_ms: int) -> str:
    """DingTalk: HMAC-SHA256 of "timestamp\\nsecret" keyed with the secret, base64
    (URL-encoding is done when the query string is built)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(*, secret: str, timestamp_s: int) -> str:
    """Feishu: HMAC-SHA256 keyed with "timestamp\\nsecret" over an empty message, base64."""
    key = f"{timestamp_s}\n{secret}".encode()
    digest = hmac.new(key, b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def generic_signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_payload(
    *, endpoint: WebhookEndpoint, notification: Notification, now: datetime
) -> dict[str, Any]:
    """The JSON body for ``endpoint``'s format."""
    if endpoint.format == Format.WECOM:
        return {"msgtype": "markdown", "markdown": {"content": _markdown(notification)}}
    if endpoint.format == Format.DINGTALK:
        return {
            "msgtype": "markdown",
            "markdown": {"title": notification.title, "text": _markdown(notification)},
        }
    if endpoint.format == Format.FEISHU:
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": _text(notification)}}
        if endpoint.secret:
            timestamp = int(now.timestamp())
            payload["timestamp"] = str(timestamp)
            payload["sign"] = feishu_sign(secret=endpoint.secret, timestamp_s=timestamp)
        return payload
    return {
        "key": notification.key,
        "kind": notification.kind,
        "step": notification.step,
        "incident": notification.incident_id,
        "deadline": notification.deadline_id,
        "title": notification.title,
        "body": notification.body,
        "link": incident_path(notification),
        "created_at": notification.created_at.isoformat(),
    }


def webhook_url(*, endpoint: WebhookEndpoint, now: datetime) -> str:
    """The address to post to: DingTalk's signature travels in the query string."""
    if endpoint.format != Format.DINGTALK or not endpoint.secret:
        return endpoint.url
    timestamp = int(now.timestamp() * 1000)
    parts = urlsplit(endpoint.url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [
        ("timestamp", str(timestamp)),
        ("sign", dingtalk_sign(secret=endpoint.secret, timestamp_ms=timestamp)),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _judge(fmt: str, status: int, raw: bytes) -> tuple[bool, str]:
    """Whether a 2xx answer means the message was taken, and if not, why."""
    if fmt == Format.GENERIC:
        return True, ""
    try:
        answer = json.loads(raw.decode() or "null")
    except (UnicodeDecodeError, ValueError):
        return False, f"HTTP {status}: not a JSON answer: {raw[:ANSWER_EXCERPT]!r}"
    if not isinstance(answer, dict):
        return False, f"HTTP {status}: unexpected answer: {raw[:ANSWER_EXCERPT]!r}"
    if fmt == Format.FEISHU:
        code = answer.get("code", answer.get("StatusCode"))
        message = answer.get("msg", answer.get("StatusMessage", ""))
        field = "code"
    else:
        code, message, field = answer.get("errcode"), answer.get("errmsg", ""), "errcode"
    if code == 0:
        return True, ""
    return False, f"{field} {code}: {message}"


def webhook_send(
    *, endpoint: WebhookEndpoint, notification: Notification, now: datetime | None = None
) -> SendResult:
    """POST ``notification`` to ``endpoint``; never raises for the other side's faults.
    Errors name the status and the answer, never the URL (it holds the access token)."""
    now = now or timezone.now()
    url = webhook_url(endpoint=endpoint, now=now)
    if urlsplit(url).scheme not in ("http", "https"):
        return SendResult(ok=False, error="the webhook URL must be http or https")
    body = json.dumps(
        webhook_payload(endpoint=endpoint, notification=notification, now=now), ensure_ascii=False
    ).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if endpoint.format == Format.GENERIC and endpoint.secret:
        headers["X-Fenghuo-Signature"] = generic_signature(secret=endpoint.secret, body=body)
    request = Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked)
    started = time.monotonic()

    def result(ok: bool, status: int | None = None, error: str = "") -> SendResult:
        elapsed = int((time.monotonic() - started) * 1000)
        return SendResult(ok=ok, status_code=status, error=error, duration_ms=elapsed)

    try:
        with urlopen(request, timeout=settings.FENGHUO_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except HTTPError as error:
        raw = error.read() if error.fp else b""
        excerpt = raw[:ANSWER_EXCERPT].decode(errors="replace")
        return result(False, error.code, f"HTTP {error.code}: {excerpt}".strip())
    except TimeoutError:
        return result(False, None, f"timed out after {settings.FENGHUO_WEBHOOK_TIMEOUT:g} s")
    except URLError as error:
        if isinstance(error.reason, TimeoutError):
            return result(False, None, f"timed out after {settings.FENGHUO_WEBHOOK_TIMEOUT:g} s")
        return result(False, None, f"connection failed: {error.reason}")
    except OSError as error:  # reset, refused mid-answer, TLS trouble
        return result(False, None, f"connection failed: {error}")
    if not 200 <= status < 300:
        return result(False, status, f"HTTP {status}")
    ok, error_text = _judge(endpoint.format, status, raw)
    return result(ok, status, error_text)
