"""Fixtures shared by the suite: the personas (the demo organisation's people, named
after their roles: tests.helpers.PERSONAS), an incident logged and walked along its
lifecycle, API clients. Plain helpers live in tests/helpers.py."""

from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Incident
from incidents.services import incident_create, incident_transition
from organisation.demo import demo_organisation_load
from organisation.models import Unit, User
from tests.helpers import approve_a_response_plan, approve_the_review, celery_setting
from tests.servers import free_port


@pytest.fixture
def people(db) -> dict[str, User]:
    return demo_organisation_load(roster_days=2)


@pytest.fixture
def duty(people) -> User:
    return people["duty"]


@pytest.fixture
def analyst(people) -> User:
    return people["analyst"]


@pytest.fixture
def office(people) -> User:
    return people["office"]


@pytest.fixture
def leader(people) -> User:
    return people["leader"]


@pytest.fixture
def deputy(people) -> User:
    return people["deputy"]


@pytest.fixture
def liaison(people) -> User:
    return people["liaison"]


@pytest.fixture
def spokesperson(people) -> User:
    return people["spokesperson"]


@pytest.fixture
def health_unit(people) -> Unit:
    return Unit.objects.get(name="卫生健康委员会")


@pytest.fixture
def log_incident(duty, health_unit):
    """Log an incident as the duty officer; keyword arguments override the defaults."""

    def make(**overrides: Any) -> Incident:
        fields: dict[str, Any] = {
            "actor": duty,
            "title": "网友反映医院收费问题",
            "platform": "weibo",
            "event_type": "user_complaint",
            "unit": health_unit,
            "description": "微博网友发帖称被重复收费。",
            "links": ["https://weibo.com/example/1"],
            "discovered_at": timezone.now(),
            "metrics": {"reads": 50},
        }
        fields.update(overrides)
        return incident_create(**fields)

    return make


@pytest.fixture
def advance(analyst, office, leader):
    """Walk an incident along the lifecycle up to ``state`` with the right people."""
    steps = [
        ("assess", analyst),
        ("report", office),
        ("respond", leader),
        ("track", office),
        ("review", office),
        ("close", office),
    ]

    order = ["detected", "assessed", "reported", "responding", "tracking", "reviewing", "closed"]

    def walk(
        incident: Incident, state: str, *, level: int | None = None, category: str = "inquiry"
    ) -> Incident:
        for action, actor in steps[order.index(incident.state) : order.index(state)]:
            if action == "respond":
                approve_a_response_plan(incident, author=office)
            if action == "close":
                incident = approve_the_review(incident, author=office)
                continue  # the approval closes the incident
            extra: dict[str, Any] = {}
            if action == "assess":
                chosen = level or incident.suggested_level
                extra = {
                    "level": chosen,
                    "category": category,
                    "reason": "" if chosen == incident.suggested_level else "研判调整",
                }
            incident = incident_transition(incident=incident, action=action, actor=actor, **extra)
        return incident

    return walk


@pytest.fixture
def api_for():
    """An API client logged in (by token) as the given person."""

    def make(user: User) -> APIClient:
        from rest_framework.authtoken.models import Token

        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _english_messages():
    """Service messages asserted in English; pages still follow each request's language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def broker_down(monkeypatch):
    """The Celery app sends to a Redis nobody listens on, and gives up at once."""
    from config.celery import app

    celery_setting(monkeypatch, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    celery_setting(monkeypatch, "broker_transport_options", {"max_retries": 0})
    monkeypatch.setattr(app, "_pool", None)  # connect with the settings above
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
