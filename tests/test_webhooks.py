"""Group robots and generic webhooks, over real loopback HTTP: what each format posts,
how DingTalk and Feishu requests are signed, and which answers count as delivered.

``Robot`` is a small HTTP server on 127.0.0.1 that records every request and answers
from a script; ``tests/test_delivery.py`` uses it too."""

import base64
import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from notifications.models import Notification, WebhookEndpoint
from notifications.services import notifications_write
from notifications.webhooks import webhook_send
from tests.helpers import SHANGHAI
from tests.loopback import QuietHandler, loopback_server
from tests.servers import free_port

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)
ROBOT_OK = (200, {"errcode": 0, "errmsg": "ok"})


@dataclass
class Received:
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    raw: bytes


@dataclass
class Robot:
    """Answers each POST with the next scripted (status, JSON) pair, then with
    ``default``; ``delay`` seconds before answering, to make a client time out."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    default: tuple[int, Any] = ROBOT_OK
    delay: float = 0.0
    answered: threading.Event = field(default_factory=threading.Event)

    def answer(self, *answers: tuple[int, Any]) -> None:
        self.script.extend(answers)

    def next_answer(self) -> tuple[int, Any]:
        return self.script.popleft() if self.script else self.default


def robot_server():
    """Start a Robot; yields it, and stops it afterwards."""
    robot = Robot()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            parts = urlsplit(self.path)
            robot.requests.append(
                Received(
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    json=json.loads(raw) if raw else None,
                    headers=dict(self.headers),
                    raw=raw,
                )
            )
            status, answer = robot.next_answer()
            if robot.delay:
                robot.answered.wait(robot.delay)  # released at teardown
            body = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (a timeout test)

    with loopback_server(Handler, on_stop=robot.answered) as url:
        robot.url = url
        yield robot


@pytest.fixture
def robot():
    yield from robot_server()


@pytest.fixture
def alert(log_incident, office) -> Notification:
    """An overdue alert to the office head about an incident: what robots are told."""
    incident = log_incident()
    Notification.objects.all().delete()  # the lead alert of logging: not what robots get here
    notifications_write(
        recipients=[office],
        kind=Notification.Kind.OVERDUE,
        title="[Ⅰ] 网友反映医院收费问题：报告已超时",
        body="请立即报告。",
        at=NOW,
        incident_id=incident.pk,
        channels=["in_app"],
    )
    return Notification.objects.get(recipient=office)


def endpoint(office, robot, fmt, *, secret="", path="/robot/send?access_token=t0k3n"):
    return WebhookEndpoint.objects.create(
        unit=office.unit, name=fmt, format=fmt, url=robot.url + path, secret=secret
    )


def send(hook, alert):
    with time_machine.travel(NOW, tick=False):
        return webhook_send(endpoint=hook, notification=alert)


def test_wecom_robot_gets_markdown_with_the_title_body_and_incident_link(robot, office, alert):
    result = send(endpoint(office, robot, "wecom"), alert)

    assert result.ok and result.status_code == 200 and result.error == ""
    [request] = robot.requests
    assert request.path == "/robot/send" and request.query == {"access_token": "t0k3n"}
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json["msgtype"] == "markdown"
    content = request.json["markdown"]["content"]
    assert alert.title in content and "请立即报告。" in content
    assert f"/incidents/{alert.incident_id}/" in content


def test_dingtalk_robot_with_a_secret_gets_a_timestamp_and_sign_that_verify(robot, office, alert):
    secret = "SECa1b2c3"
    result = send(endpoint(office, robot, "dingtalk", secret=secret), alert)

    assert result.ok
    [request] = robot.requests
    assert request.json == {
        "msgtype": "markdown",
        "markdown": {
            "title": alert.title,
            "text": f"**{alert.title}**\n\n请立即报告。\n\nhttp://127.0.0.1:8000/incidents/{alert.incident_id}/",
        },
    }
    assert request.query["access_token"] == "t0k3n"
    timestamp = request.query["timestamp"]
    assert timestamp == str(int(NOW.timestamp() * 1000))  # milliseconds
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == expected  # parse_qs undid the URL-encoding


def test_dingtalk_robot_without_a_secret_is_not_signed(robot, office, alert):
    send(endpoint(office, robot, "dingtalk"), alert)
    assert robot.requests[0].query == {"access_token": "t0k3n"}


def test_feishu_robot_gets_text_and_a_sign_in_the_body_that_verifies(robot, office, alert):
    robot.default = (200, {"code": 0, "msg": "success", "data": {}})
    secret = "feishu-secret"
    result = send(endpoint(office, robot, "feishu", secret=secret, path="/hook/abc"), alert)

    assert result.ok
    [request] = robot.requests
    assert request.path == "/hook/abc"
    assert request.json["msg_type"] == "text"
    text = request.json["content"]["text"]
    assert alert.title in text and f"/incidents/{alert.incident_id}/" in text
    timestamp = request.json["timestamp"]
    assert timestamp == str(int(NOW.timestamp()))  # seconds, as a string
    key = f"{timestamp}\n{secret}".encode()
    assert (
        request.json["sign"]
        == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    )


def test_feishu_robot_without_a_secret_is_not_signed_and_older_status_code_answers_count(
    robot, office, alert
):
    robot.default = (200, {"StatusCode": 0, "StatusMessage": "success"})
    result = send(endpoint(office, robot, "feishu", path="/hook/abc"), alert)
    assert result.ok
    assert set(robot.requests[0].json) == {"msg_type", "content"}


def test_generic_webhook_gets_the_notification_as_json(robot, office, alert):
    robot.default = (204, b"")
    result = send(endpoint(office, robot, "generic", path="/fenghuo"), alert)

    assert result.ok and result.status_code == 204
    [request] = robot.requests
    assert datetime.fromisoformat(request.json.pop("created_at")) == NOW
    assert request.json == {
        "key": alert.key,
        "kind": "overdue",
        "step": 0,
        "incident": alert.incident_id,
        "deadline": None,
        "title": alert.title,
        "body": "请立即报告。",
        "link": f"http://127.0.0.1:8000/incidents/{alert.incident_id}/",
    }
    assert "X-Fenghuo-Signature" not in request.headers


def test_generic_webhook_with_a_secret_signs_the_body(robot, office, alert):
    send(endpoint(office, robot, "generic", secret="s3", path="/fenghuo"), alert)
    request = robot.requests[0]
    expected = hmac.new(b"s3", request.raw, hashlib.sha256).hexdigest()
    assert request.headers["X-Fenghuo-Signature"] == f"sha256={expected}"


def test_a_robot_answering_errcode_other_than_zero_has_not_taken_the_message(robot, office, alert):
    robot.answer((200, {"errcode": 310000, "errmsg": "sign not match"}))
    result = send(endpoint(office, robot, "dingtalk", secret="x"), alert)
    assert not result.ok
    assert result.status_code == 200
    assert result.error == "errcode 310000: sign not match"


def test_a_feishu_code_other_than_zero_is_a_failure(robot, office, alert):
    robot.answer(
        (
            200,
            {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour from current time",
            },
        )
    )
    result = send(endpoint(office, robot, "feishu", secret="x"), alert)
    assert not result.ok and result.error.startswith("code 19021: sign match fail")


def test_a_robot_answer_that_is_not_json_is_a_failure(robot, office, alert):
    robot.answer((200, b"<html>gateway</html>"))
    result = send(endpoint(office, robot, "wecom"), alert)
    assert not result.ok and "not a JSON answer" in result.error


def test_an_http_error_is_a_failure_with_its_status_and_answer(robot, office, alert):
    robot.answer((500, {"error": "boom"}))
    result = send(endpoint(office, robot, "generic"), alert)
    assert not result.ok
    assert result.status_code == 500
    assert result.error.startswith("HTTP 500") and "boom" in result.error


def test_a_refused_connection_is_a_failure_not_an_exception(office, alert):
    hook = WebhookEndpoint.objects.create(
        unit=office.unit, name="gone", format="wecom", url=f"http://127.0.0.1:{free_port()}/send"
    )
    result = send(hook, alert)
    assert not result.ok and result.status_code is None
    assert result.error.startswith("connection failed")


def test_a_robot_slower_than_the_timeout_is_a_failure(robot, office, alert, settings):
    settings.FENGHUO_WEBHOOK_TIMEOUT = 0.2
    robot.delay = 5
    result = send(endpoint(office, robot, "wecom"), alert)
    assert not result.ok and result.error == "timed out after 0.2 s"


def test_errors_never_show_the_url_with_its_access_token(robot, office, alert):
    robot.answer((404, b"no such robot"))
    result = send(endpoint(office, robot, "wecom", path="/send?key=SECRET-KEY"), alert)
    assert not result.ok and "SECRET-KEY" not in result.error


def test_a_long_message_is_cut_to_what_wecom_accepts(robot, office, alert):
    alert.body = "长" * 3000
    send(endpoint(office, robot, "wecom"), alert)
    assert len(robot.requests[0].json["markdown"]["content"].encode()) <= 4096
