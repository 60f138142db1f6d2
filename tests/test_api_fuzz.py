"""Schema fuzzing of API v1: every operation of the published schema (/api/schema/), as
four roles (duty officer, office head, a unit's liaison, system administrator), must never
answer a server error (`not_a_server_error`) and must answer what the schema documents for
the status code (`response_schema_conformance`).

schemathesis generates requests from the schema the application serves and sends them
in-process to Django's WSGI handler. A world (the demo organisation, an incident in each
state, documents, a task, a follow-up, posts, a topic and its proposal, a level change to
decide, a notification) is built once per module; each test case (one operation as one
role) runs in a savepoint inside it and rolls back, so the cases do not depend on their
order. Within a case the examples share the database, as one client's requests would.
Generated ids are mostly pointed at objects of the world (see ``aim_at_the_world``), so the
actions act rather than answer 404.

Budget: ``EXAMPLES`` (15) fuzzed examples per operation and role, with a fixed seed and
Hypothesis derandomised (the same requests on every run); the coverage and stateful phases
are off: the run must fit in the suite's time (the README's "Measured" has what it takes).
``FUZZ_EXAMPLES=200`` digs deeper by hand.
"""

import os
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents.models import Incident, LevelChange
from incidents.services import incident_change_level, incident_create, incident_transition
from monitoring.intake.batches import posts_ingest
from monitoring.models import Proposal, SensitiveTermList, Topic, WatchRule
from monitoring.text.matching import rule_create, rule_set_forget
from monitoring.text.sensitive import sensitive_set_forget
from monitoring.topics.refresh import topics_refresh
from notifications.models import Notification
from notifications.services import notifications_write
from organisation.demo import demo_organisation_load
from organisation.models import Unit, User
from response.assignments import task_assign, task_record
from response.documents import document_save_draft, document_submit
from response.models import ResponsePlan, Review, Statement, Task, TaskUpdate
from response.tracking import follow_up_file
from tests.helpers import approve_a_response_plan, approve_the_review
from tests.schema_check import assert_documented

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 15))
SEED = 20261205
ROLES = ["duty", "office", "liaison", "admin"]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
        },
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), config=CONFIG)


@pytest.fixture
def requests_in_the_test_transaction():
    """Django's test client does the same: a request must not close the connection that
    holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


FEES = "市第一医院重复收费事件：家属称缴费单据显示多收两千元。"
POSTS = [
    ("https://weibo.com/f/1", "网友甲", FEES),
    ("https://weibo.com/f/2", "网友乙", "转发 " + FEES),
    ("https://toutiao.com/f/3", "本地新闻", "市第一医院重复收费太过分了，患者投诉无门，强烈不满！"),
]


WALK = [
    ("assess", "analyst"),
    ("report", "office"),
    ("respond", "leader"),
    ("track", "office"),
    ("review", "office"),
]


def an_incident(people: dict[str, User], title: str, steps: int = 0, **fields: Any) -> Incident:
    """An incident logged by the duty officer and taken ``steps`` along the lifecycle by the
    people the plan names (as the suite's ``advance`` does)."""
    incident = incident_create(
        actor=people["duty"],
        title=title,
        platform="weibo",
        event_type="user_complaint",
        unit=Unit.objects.get(name="卫生健康委员会"),
        description="微博网友发帖称被重复收费。",
        links=["https://weibo.com/example/1"],
        discovered_at=timezone.now(),
        metrics=fields.pop("metrics", {"reads": 50}),
        **fields,
    )
    for action, who in WALK[:steps]:
        if action == "respond":
            approve_a_response_plan(incident, author=people["office"])
        extra: dict[str, Any] = {}
        if action == "assess":
            extra = {"level": incident.suggested_level, "category": "inquiry", "reason": ""}
        incident = incident_transition(incident=incident, action=action, actor=people[who], **extra)
    return incident


def world_build() -> tuple[dict[str, User], dict[str, list[int]]]:
    """One of everything the API reads and writes, in the states its actions act on: the
    people, and the ids of each kind by the path segment that names them."""
    people = demo_organisation_load(roster_days=2)
    office, analyst = people["office"], people["analyst"]
    health_unit = Unit.objects.get(name="卫生健康委员会")
    sensitive_set_forget()  # compiled from lists another test may have rolled back
    an_incident(people, "待研判")
    assessed = an_incident(people, "已研判", 1)
    reported = an_incident(people, "已报告", 2, metrics={"mainstream_media": True})
    responding = an_incident(people, "处置中", 3)
    tracking = an_incident(people, "跟踪中", 4)
    approve_the_review(an_incident(people, "已关闭", 5), author=office)
    an_incident(people, "复盘中", 5)

    statement = document_save_draft(
        model=Statement,
        incident=reported,
        actor=office,
        fields={"text": "关于网传情况的通报", "channels": ["weibo"]},
    )
    document_submit(doc=statement, actor=office)
    # A lowering of the reported incident, awaiting the leadership's decision.
    incident_change_level(incident=reported, actor=analyst, level=4, reason="热度回落")
    document_save_draft(
        model=ResponsePlan,
        incident=assessed,
        actor=office,
        fields={"facts": "正在核实。", "category": "inquiry"},
    )
    task = task_assign(incident=responding, actor=office, title="核实收费情况", unit=health_unit)
    task_record(task=task, actor=people["liaison"], text="已联系医院")
    follow_up_file(incident=tracking, actor=office, what_changed="热度下降")
    notifications_write(
        recipients=list(people.values()),
        kind=Notification.Kind.REMINDER,
        title="报告时限将至",
        at=timezone.now(),
        incident_id=reported.pk,
        channels=(Notification.Channel.IN_APP,),
    )

    rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    now = timezone.now()
    posts_ingest(
        items=[
            {
                "platform": "weibo",
                "url": url,
                "author": author,
                "text": text,
                "reads": 5000,
                "published_at": (now - timedelta(hours=3 - n)).isoformat(),
            }
            for n, (url, author, text) in enumerate(POSTS)
        ],
        source="test",
    )
    topics_refresh()
    for person in people.values():
        Token.objects.get_or_create(user=person)
    ids = {
        kind: list(model.objects.order_by("pk").values_list("pk", flat=True))
        for kind, model in KINDS.items()
    }
    return people, ids


KINDS = {
    "incidents": Incident,
    "response-plans": ResponsePlan,
    "statements": Statement,
    "reviews": Review,
    "tasks": Task,
    "notifications": Notification,
    "rules": WatchRule,
    "sensitive-terms": SensitiveTermList,
    "topics": Topic,
    "proposals": Proposal,
    "level-changes": LevelChange,
    "units": Unit,
    "task-updates": TaskUpdate,
}
PATH_KINDS = {"update_id": "task-updates"}


@pytest.fixture(scope="module")
def world_once(django_db_setup, django_db_blocker):
    """The world, built once for the module in a transaction of its own (as Django's
    ``TestCase.setUpTestData`` does); each test's ``db`` transaction nests in it as a
    savepoint and rolls back to it."""
    with django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            yield world_build()
        finally:
            TestCase._rollback_atomics(atomics)
            rule_set_forget()
            sensitive_set_forget()


@pytest.fixture
def world(world_once, db):
    """The world as built: what the previous test changed was rolled back, and so is what
    this process compiled from it."""
    rule_set_forget()
    sensitive_set_forget()
    return world_once


# Body and query fields that name an object, and the kind they name.
REFERENCES = {
    "incident": "incidents",
    "unit": "units",
    "units": "units",
    "topic": "topics",
    "rule": "rules",
    "recipient": None,
    "assignee": None,
    "tracker": None,
}


def _known(ids: list[int], value: Any) -> Any:
    """Most generated integers become an existing id (chosen by the integer, so the run is
    reproducible); one in four is left as generated, to ask for what does not exist."""
    if not ids or not isinstance(value, int) or isinstance(value, bool) or value % 4 == 3:
        return value
    return ids[value % len(ids)]


def aim_at_the_world(case, world: dict[str, list[int]], people: dict[str, User]) -> None:
    """Point the generated ids at objects that exist, so that the actions act."""
    path_parameters = dict(case.path_parameters or {})
    for name, value in path_parameters.items():
        # /api/v1/<kind>/{id}/..., and the evidence of a task's update.
        kind = case.operation.path.split("/")[3] if name == "id" else PATH_KINDS[name]
        path_parameters[name] = _known(world[kind], value)
    if path_parameters:
        case.path_parameters = path_parameters
    person_ids = sorted(p.pk for p in people.values())
    for container in ("query", "body"):
        values = getattr(case, container)
        if not isinstance(values, dict):
            continue
        aimed = dict(values)
        for name, kind in REFERENCES.items():
            if name not in aimed:
                continue
            ids = world[kind] if kind else person_ids
            value = aimed[name]
            aimed[name] = (
                [_known(ids, v) for v in value] if isinstance(value, list) else _known(ids, value)
            )
        setattr(case, container, aimed)


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_api(case, role, world, requests_in_the_test_transaction):
    people, ids = world
    token = Token.objects.get(user=people[role])
    aim_at_the_world(case, ids, people)
    case.call_and_validate(headers={"Authorization": f"Token {token.key}"})


def test_token_requests_with_real_credentials_answer_the_documented_token(world):
    """The fuzzer cannot guess a password, so the token operation's success is checked here
    with each role's own; past the rate, guessing is slowed down, never a server error."""
    client = APIClient()
    for role in ROLES:
        answer = client.post(
            "/api/v1/auth/token/", {"username": role, "password": "fenghuo"}, format="json"
        )
        assert answer.status_code == 200, answer.content
        assert_documented(answer, "/api/v1/auth/token/", "POST")
    statuses = {
        client.post(
            "/api/v1/auth/token/", {"username": "duty", "password": "x"}, format="json"
        ).status_code
        for _ in range(40)
    }
    assert statuses == {400, 429}
