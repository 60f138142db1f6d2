"""The engine watches itself: /healthz, and the announcement when it resumes."""

from datetime import timedelta

import pytest

from engine.sweep import sweep
from notifications.models import Notification
from tests import helpers
from tests.helpers import MONDAY_MORNING

pytestmark = pytest.mark.django_db
T0 = MONDAY_MORNING


def at(seconds: float):
    return helpers.at(T0 + timedelta(seconds=seconds))


def test_healthz_is_503_before_the_first_sweep(client):
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "stalled"


def test_healthz_reports_the_age_of_the_last_sweep(client, settings):
    settings.FENGHUO_ENGINE_STALE_AFTER = 60
    with at(0):
        sweep()
    with at(59):
        answer = client.get("/healthz")
    assert (answer.status_code, answer.json()["last_sweep_age_seconds"]) == (200, 59.0)
    with at(61):
        answer = client.get("/healthz")
    assert (answer.status_code, answer.json()["status"]) == (503, "stalled")


def test_a_sweep_after_a_silence_announces_the_stall_once(people, settings):
    settings.FENGHUO_ENGINE_STALE_AFTER = 60
    with at(0):
        sweep()
    with at(30):
        sweep()
    assert not Notification.objects.filter(kind="engine_resumed").exists()
    with at(30 + 600):
        sweep()
    with at(30 + 605):
        sweep()
    told = sorted(
        Notification.objects.filter(kind="engine_resumed", channel="in_app").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == ["admin", "office"]


def test_the_board_warns_when_the_engine_is_silent(client, duty, settings):
    settings.FENGHUO_ENGINE_STALE_AFTER = 60
    client.force_login(duty)
    with at(0):
        sweep()
    with at(10):
        assert b'id="engine-stalled"' not in client.get("/").content
    with at(200):
        assert b'id="engine-stalled"' in client.get("/").content
