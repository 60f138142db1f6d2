"""REST API v1: the contract scripts and other systems rely on. The same personas as the
rest of the suite act through tokens (``api_for``); the rules themselves are tested with
the services, here we pin what travels over HTTP."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.pagination import PageNumberPagination
from rest_framework.test import APIClient

from incidents.models import Incident, TimelineEntry
from organisation.demo import DEMO_PASSWORD
from organisation.models import Unit
from tests.helpers import approve_a_response_plan, approve_the_review

INCIDENTS = "/api/v1/incidents/"
FOUND = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.get_fixed_timezone(8 * 60))

INCIDENT_FIELDS = {
    "id",
    "version",
    "title",
    "description",
    "links",
    "platform",
    "event_type",
    "unit",
    "unit_name",
    "state",
    "level",
    "colour",
    "suggested_level",
    "category",
    "discovered_at",
    "is_drill",
    "source",
    "metrics",
    "deadlines",
    "timeline",
    "actions",
}
SNAPSHOT_FIELDS = {
    "reads",
    "reposts",
    "comments",
    "negative_share",
    "mainstream_media",
    "casualties",
    "taken_at",
    "suggested_level",
}
TIMELINE_FIELDS = {
    "at",
    "actor",
    "kind",
    "action",
    "from_state",
    "to_state",
    "from_level",
    "to_level",
    "reason",
    "client_ip",
}


def detail(incident: Incident | int, action: str = "") -> str:
    pk = incident if isinstance(incident, int) else incident.pk
    return f"{INCIDENTS}{pk}/" + (f"{action}/" if action else "")


def lead(**overrides: Any) -> dict[str, Any]:
    """What a duty officer sends to log a lead."""
    data: dict[str, Any] = {
        "title": "网友反映医院收费问题",
        "description": "微博网友发帖称被重复收费。",
        "links": ["https://weibo.com/example/1"],
        "platform": "weibo",
        "event_type": "user_complaint",
        "metrics": {"reads": 50},
    }
    data.update(overrides)
    return data


@pytest.fixture
def as_duty(api_for, duty) -> APIClient:
    return api_for(duty)


@pytest.fixture
def as_analyst(api_for, analyst) -> APIClient:
    return api_for(analyst)


@pytest.fixture
def as_office(api_for, office) -> APIClient:
    return api_for(office)


@pytest.fixture
def as_leader(api_for, leader) -> APIClient:
    return api_for(leader)


# Authentication -----------------------------------------------------------------------------


def test_token_is_issued_for_a_good_username_and_password_and_opens_the_api(duty):
    client = APIClient()
    answer = client.post(
        "/api/v1/auth/token/", {"username": "duty", "password": DEMO_PASSWORD}, format="json"
    )
    assert answer.status_code == 200
    token = answer.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(INCIDENTS).status_code == 200


def test_token_is_refused_with_400_for_a_wrong_password(duty):
    answer = APIClient().post(
        "/api/v1/auth/token/", {"username": "duty", "password": "nope"}, format="json"
    )
    assert answer.status_code == 400
    assert "token" not in answer.json()
    assert answer.json()["non_field_errors"]


def test_token_request_without_password_names_the_missing_field(duty):
    answer = APIClient().post("/api/v1/auth/token/", {"username": "duty"}, format="json")
    assert answer.status_code == 400
    assert "password" in answer.json()


@pytest.mark.parametrize(
    "method,url", [("get", INCIDENTS), ("post", INCIDENTS), ("get", "/api/v1/units/")]
)
def test_unauthenticated_requests_are_refused(db, method, url):
    answer = getattr(APIClient(), method)(url, {}, format="json")
    assert answer.status_code in (401, 403)


def test_wrong_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(INCIDENTS).status_code in (401, 403)


def test_browser_session_reads_the_api(client, liaison, log_incident):
    log_incident()
    client.force_login(liaison)
    answer = client.get(INCIDENTS)
    assert answer.status_code == 200
    assert answer.json()["count"] == 1


# Units ----------------------------------------------------------------------------------------


def test_units_are_listed_with_kind_parent_and_duty_phone(api_for, liaison, health_unit):
    answer = api_for(liaison).get("/api/v1/units/")
    assert answer.status_code == 200
    units = {unit["name"]: unit for unit in answer.json()["results"]}
    assert units["卫生健康委员会"] == {
        "id": health_unit.pk,
        "name": "卫生健康委员会",
        "kind": "member_unit",
        "parent": health_unit.parent_id,
        "duty_phone": "010-60000003",
    }
    assert units["网络舆情应急工作领导小组"]["parent"] is None


def test_units_are_read_only(api_for, office):
    answer = api_for(office).post("/api/v1/units/", {"name": "新单位"}, format="json")
    assert answer.status_code == 405
    assert not Unit.objects.filter(name="新单位").exists()


# Logging an incident --------------------------------------------------------------------------


def test_duty_officer_logs_a_lead_which_starts_detected_in_their_own_unit(as_duty, duty):
    answer = as_duty.post(INCIDENTS, lead(), format="json")
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == INCIDENT_FIELDS
    assert body["state"] == "detected"
    assert body["version"] == 1
    assert body["unit"] == duty.unit_id
    assert body["unit_name"] == duty.unit.name
    assert body["level"] is None and body["colour"] is None and body["category"] is None
    assert body["suggested_level"] == 4
    assert body["metrics"]["reads"] == 50
    incident = Incident.objects.get(pk=body["id"])
    assert incident.created_by == duty
    assert abs(incident.discovered_at - timezone.now()) < timedelta(seconds=10)
    [created] = body["timeline"]
    assert created["kind"] == "created" and created["actor"] == "duty"
    assert created["client_ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    "metrics,level",
    [
        ({"reads": 10, "casualties": True}, 1),
        ({"reads": 10, "mainstream_media": True}, 2),
        ({"reads": 300, "negative_share": 0.4}, 3),
        ({"reads": 300, "negative_share": "0.4"}, 3),
        ({"reads": 50}, 4),
        (None, 4),
    ],
)
def test_logged_lead_gets_the_level_the_default_plan_suggests(as_duty, metrics, level):
    data = lead(metrics=metrics) if metrics is not None else lead()
    if metrics is None:
        del data["metrics"]
    answer = as_duty.post(INCIDENTS, data, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["suggested_level"] == level
    assert answer.json()["metrics"]["suggested_level"] == level


def test_logged_lead_keeps_the_unit_and_discovery_time_it_was_given(as_duty, health_unit):
    found = timezone.now() - timedelta(hours=2)
    answer = as_duty.post(
        INCIDENTS, lead(unit=health_unit.pk, discovered_at=found.isoformat()), format="json"
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["unit"] == health_unit.pk and body["unit_name"] == "卫生健康委员会"
    assert datetime.fromisoformat(body["discovered_at"]) == found


def test_a_lead_may_be_logged_as_a_form_as_well_as_json(as_duty):
    data = {
        "title": "表单提交",
        "platform": "zhihu",
        "event_type": "other",
        "links": ["https://www.zhihu.com/question/1", "https://www.zhihu.com/question/2"],
        "metrics.reads": "300",
        "metrics.negative_share": "0.4",
    }
    answer = as_duty.post(INCIDENTS, data, format="multipart")
    assert answer.status_code == 201, answer.json()
    assert len(answer.json()["links"]) == 2
    assert answer.json()["suggested_level"] == 3


def test_metrics_negative_share_is_answered_as_a_number(as_duty):
    answer = as_duty.post(
        INCIDENTS, lead(metrics={"reads": 300, "negative_share": 0.4}), format="json"
    )
    assert answer.json()["metrics"]["negative_share"] == 0.4


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"title": None}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"metrics": {"reads": -1}}, "metrics"),
        ({"metrics": {"negative_share": 1.5}}, "metrics"),
        ({"metrics": {"reads": "many"}}, "metrics"),
        ({"links": ["not a link"]}, "links"),
        ({"links": ["ftp://example.com/file"]}, "links"),
        ({"links": "https://weibo.com/example/1"}, "links"),
        ({"discovered_at": "2999-01-01T00:00:00+08:00"}, "discovered_at"),
        ({"discovered_at": "yesterday"}, "discovered_at"),
        ({"platform": "myspace"}, "platform"),
        ({"event_type": "alien_invasion"}, "event_type"),
        ({"unit": 999_999}, "unit"),
        ({"unit": 10**30}, "unit"),
        ({"unit": "health"}, "unit"),
        ({"state": "closed"}, "state"),
    ],
)
def test_bad_input_is_refused_with_400_naming_the_field_and_nothing_is_stored(
    as_duty, overrides, field
):
    data = lead(**overrides)
    if overrides.get("title", "") is None:
        del data["title"]
    answer = as_duty.post(INCIDENTS, data, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Incident.objects.exists()


def test_bad_figures_name_the_figure_inside_metrics(as_duty):
    answer = as_duty.post(
        INCIDENTS, lead(metrics={"reads": -1, "negative_share": 1.5}), format="json"
    )
    assert answer.status_code == 400
    assert set(answer.json()["metrics"]) == {"reads", "negative_share"}


@pytest.mark.parametrize(
    "body,content_type",
    [
        ('{"title": "broken', "application/json"),
        ("[1, 2]", "application/json"),
        ("NaN", "application/json"),
        ("title=x", "text/plain"),
    ],
)
def test_malformed_request_bodies_are_a_client_error_not_a_crash(as_duty, body, content_type):
    answer = as_duty.generic("POST", INCIDENTS, body, content_type=content_type)
    assert 400 <= answer.status_code < 500
    assert not Incident.objects.exists()


def test_spokesperson_may_not_log_a_lead_even_with_bad_input(api_for, spokesperson):
    client = api_for(spokesperson)
    assert client.post(INCIDENTS, lead(), format="json").status_code == 403
    assert client.post(INCIDENTS, {}, format="json").status_code == 403
    assert not Incident.objects.exists()


# Reading incidents ----------------------------------------------------------------------------


def test_incident_list_is_paginated_newest_discovery_first(
    api_for, liaison, log_incident, monkeypatch
):
    now = timezone.now()
    for hours in (3, 1, 2):
        log_incident(title=f"{hours}h", discovered_at=now - timedelta(hours=hours))
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    client = api_for(liaison)
    first = client.get(INCIDENTS).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 3 and first["previous"] is None
    assert [item["title"] for item in first["results"]] == ["1h", "2h"]
    second = client.get(first["next"]).json()
    assert [item["title"] for item in second["results"]] == ["3h"]
    assert second["next"] is None and second["previous"]


def test_incident_list_items_carry_metrics_deadlines_and_actions_but_no_timeline(
    as_analyst, log_incident, advance
):
    advance(log_incident(), "assessed")
    [item] = as_analyst.get(INCIDENTS).json()["results"]
    assert set(item) == INCIDENT_FIELDS - {"timeline", "source"}
    assert item["metrics"]["reads"] == 50
    # Ⅲ/Ⅳ: report, first response; and the task the category checklist gave a due time.
    assert {d["kind"] for d in item["deadlines"]} == {
        "assessment",
        "report",
        "first_response",
        "task",
    }
    assert "report" in item["actions"]


def test_incident_list_filters_by_state_level_and_unit(
    api_for, liaison, log_incident, advance, health_unit, people
):
    education = Unit.objects.get(name="教育局")
    detected = log_incident(title="detected")
    assessed = advance(
        log_incident(title="assessed", metrics={"mainstream_media": True}), "assessed"
    )
    elsewhere = log_incident(title="elsewhere", unit=education)
    client = api_for(liaison)

    def titles(**params: Any) -> set[str]:
        answer = client.get(INCIDENTS, params)
        assert answer.status_code == 200
        return {item["title"] for item in answer.json()["results"]}

    assert titles(state="detected") == {detected.title, elsewhere.title}
    assert titles(state="assessed") == {assessed.title}
    assert titles(level=2) == {assessed.title}
    assert titles(level=1) == set()
    assert titles(unit=education.pk) == {elsewhere.title}
    assert titles(unit=health_unit.pk, state="detected") == {detected.title}
    assert titles(state="", level="") == {detected.title, assessed.title, elsewhere.title}


@pytest.mark.parametrize(
    "params,field",
    [
        ({"state": "burning"}, "state"),
        ({"level": 5}, "level"),
        ({"level": "x"}, "level"),
        ({"unit": "x"}, "unit"),
        ({"unit": 10**30}, "unit"),
    ],
)
def test_incident_list_refuses_unknown_filter_values_with_400(api_for, liaison, params, field):
    answer = api_for(liaison).get(INCIDENTS, params)
    assert answer.status_code == 400
    assert field in answer.json()


def test_incident_list_query_count_does_not_grow_with_the_number_of_incidents(
    api_for, office, log_incident, advance, django_assert_num_queries
):
    client = api_for(office)  # the office head may act, so every item's actions are worked out
    advance(log_incident(), "reported")
    # token and person, the person's roles, count, incidents (with unit and figures),
    # their deadlines, their response plans and reviews (for the guards on `respond` and
    # `close`)
    with django_assert_num_queries(7):
        assert len(client.get(INCIDENTS).json()["results"]) == 1
    for number in range(19):
        incident = log_incident(title=f"lead {number}", metrics={"reads": number * 20})
        if number % 2:
            advance(incident, "assessed")
    with django_assert_num_queries(7):
        assert len(client.get(INCIDENTS).json()["results"]) == 20


def test_incident_is_read_with_every_field_the_contract_names(
    api_for, liaison, log_incident, advance
):
    incident = advance(log_incident(), "assessed", level=3, category="hype")
    answer = api_for(liaison).get(detail(incident))
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == INCIDENT_FIELDS
    assert body["id"] == incident.pk
    assert body["links"] == ["https://weibo.com/example/1"]
    assert body["platform"] == "weibo" and body["event_type"] == "user_complaint"
    assert body["level"] == 3 and body["colour"] == "yellow" and body["category"] == "hype"
    assert set(body["metrics"]) >= SNAPSHOT_FIELDS
    assert all(set(d) >= {"kind", "due_at", "met_at", "status"} for d in body["deadlines"])
    kinds = [entry["kind"] for entry in body["timeline"]]
    # Assessing assigns the category's checklist as tasks ("response").
    assert [k for k in kinds if k != "response"] == ["created", "transition"]
    assert "response" in kinds
    assert all(set(entry) == TIMELINE_FIELDS for entry in body["timeline"])
    assessed = next(e for e in body["timeline"] if e["kind"] == "transition")
    assert assessed["action"] == "assess" and assessed["actor"] == "analyst"
    assert assessed["from_state"] == "detected" and assessed["to_state"] == "assessed"
    assert assessed["to_level"] == 3 and assessed["reason"] == "研判调整"
    assert body["actions"] == []  # a liaison only reads


def test_actions_are_what_the_requesting_person_may_do_now(
    api_for, analyst, office, leader, log_incident
):
    incident = log_incident()
    assert api_for(analyst).get(detail(incident)).json()["actions"] == ["assess", "dismiss"]
    assert api_for(office).get(detail(incident)).json()["actions"] == ["assess", "dismiss"]
    assert api_for(leader).get(detail(incident)).json()["actions"] == []


def test_unknown_incident_is_404(as_office):
    assert as_office.get(detail(987654)).status_code == 404
    assert as_office.post(detail(987654, "report"), {}, format="json").status_code == 404
    assert as_office.get(f"{INCIDENTS}{10**30}/").status_code == 404


# Editing ----------------------------------------------------------------------------------


def test_patch_corrects_the_incident_and_moves_the_version_on(as_duty, log_incident, health_unit):
    incident = log_incident()
    education = Unit.objects.get(name="教育局")
    answer = as_duty.patch(
        detail(incident),
        {"title": "更正后的标题", "unit": education.pk, "version": 1},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["title"] == "更正后的标题" and body["unit"] == education.pk
    assert body["version"] == 2
    assert body["description"] == "微博网友发帖称被重复收费。"  # untouched
    assert body["timeline"][-1]["kind"] == "edited"


def test_patch_with_a_stale_version_is_a_409_and_changes_nothing(as_duty, log_incident):
    incident = log_incident()
    as_duty.patch(detail(incident), {"title": "第一次更正"}, format="json")
    answer = as_duty.patch(detail(incident), {"title": "第二次更正", "version": 1}, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "stale_version"
    assert Incident.objects.get(pk=incident.pk).title == "第一次更正"


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"state": "closed"}, "state"),
        ({"level": 1}, "level"),
        ({"platform": "myspace"}, "platform"),
        ({"title": ""}, "title"),
        ({"discovered_at": "2999-01-01T00:00:00Z"}, "discovered_at"),
    ],
)
def test_patch_refuses_fields_it_cannot_change_or_bad_values(as_duty, log_incident, changes, field):
    incident = log_incident()
    answer = as_duty.patch(detail(incident), changes, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert Incident.objects.get(pk=incident.pk).version == 1


def test_spokesperson_may_not_edit(api_for, spokesperson, log_incident):
    incident = log_incident()
    answer = api_for(spokesperson).patch(detail(incident), {"title": ""}, format="json")
    assert answer.status_code == 403


def test_put_is_not_offered(as_duty, log_incident):
    incident = log_incident()
    assert as_duty.put(detail(incident), lead(), format="json").status_code == 405


# The stages -------------------------------------------------------------------------------


def test_an_incident_walks_every_stage_through_the_api(
    api_for, analyst, office, leader, log_incident
):
    incident = log_incident(metrics={"reads": 300, "negative_share": 0.4})
    steps = [
        (analyst, "assess", {"level": 3, "category": "inquiry"}, "assessed"),
        (office, "report", {}, "reported"),
        (leader, "respond", {"reason": "组长批准"}, "responding"),
        (office, "track", {}, "tracking"),
        (office, "review", {}, "reviewing"),
    ]
    for version, (person, action, data, state) in enumerate(steps, start=1):
        if action == "respond":
            approve_a_response_plan(Incident.objects.get(pk=incident.pk), author=office)
        answer = api_for(person).post(
            detail(incident, action), {**data, "version": version}, format="json"
        )
        assert answer.status_code == 200, (action, answer.json())
        assert answer.json()["state"] == state
        assert answer.json()["version"] == version + 1
    # Closing comes with the approval of the review, not with a bare transition.
    answer = api_for(leader).post(
        detail(incident, "close"), {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.status_code == 409 and "review" in answer.json()["detail"]
    assert approve_the_review(Incident.objects.get(pk=incident.pk), author=office).state == "closed"
    assert api_for(office).get(detail(incident)).json()["actions"] == []


# `close` comes with the approval of the review: see tests/test_response.py.
@pytest.mark.parametrize("action", ["assess", "report", "respond", "track", "review"])
def test_each_transition_is_on_the_timeline_with_actor_and_client_ip(
    api_for, analyst, office, leader, log_incident, advance, action
):
    before = {
        "assess": "detected",
        "report": "assessed",
        "respond": "reported",
        "track": "responding",
        "review": "tracking",
        "close": "reviewing",
    }[action]
    person = {"assess": analyst, "respond": leader}.get(action, office)
    incident = advance(log_incident(), before)
    if action == "respond":
        approve_a_response_plan(incident, author=office)
    data = {"level": 4, "category": "inquiry"} if action == "assess" else {}
    answer = api_for(person).post(
        detail(incident, action), data, format="json", REMOTE_ADDR="10.1.2.3"
    )
    assert answer.status_code == 200
    last = [e for e in answer.json()["timeline"] if e["kind"] == "transition"][-1]
    assert last["action"] == action and last["actor"] == person.username
    assert last["from_state"] == before and last["client_ip"] == "10.1.2.3"


def test_assess_sets_level_colour_and_category(as_analyst, log_incident):
    incident = log_incident(metrics={"reads": 10, "mainstream_media": True})
    answer = as_analyst.post(
        detail(incident, "assess"), {"level": 2, "category": "constructive"}, format="json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["state"], body["level"], body["colour"], body["category"]) == (
        "assessed",
        2,
        "orange",
        "constructive",
    )


def test_assess_overriding_the_suggested_level_without_a_reason_is_a_400_on_reason(
    as_analyst, log_incident
):
    incident = log_incident()  # suggested Ⅳ
    answer = as_analyst.post(
        detail(incident, "assess"), {"level": 2, "category": "hype"}, format="json"
    )
    assert answer.status_code == 400
    assert "reason" in answer.json()
    assert Incident.objects.get(pk=incident.pk).state == "detected"
    answer = as_analyst.post(
        detail(incident, "assess"),
        {"level": 2, "category": "hype", "reason": "涉及重点人物"},
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json()["timeline"][-1]["reason"] == "涉及重点人物"


@pytest.mark.parametrize(
    "data,fields",
    [
        ({}, {"level", "category"}),
        ({"level": 5, "category": "hype"}, {"level"}),
        ({"level": 4, "category": "rumour"}, {"category"}),
    ],
)
def test_assess_needs_a_level_and_a_category(as_analyst, log_incident, data, fields):
    answer = as_analyst.post(detail(log_incident(), "assess"), data, format="json")
    assert answer.status_code == 400
    assert fields <= set(answer.json())


def test_duty_officer_may_not_assess_even_with_bad_input(as_duty, log_incident):
    incident = log_incident()
    for data in ({"level": 4, "category": "inquiry"}, {"level": "x"}):
        answer = as_duty.post(detail(incident, "assess"), data, format="json")
        assert answer.status_code == 403
        assert answer.json()["code"] == "permission_denied"
    assert Incident.objects.get(pk=incident.pk).state == "detected"


def test_leader_may_not_report(as_leader, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    assert as_leader.post(detail(incident, "report"), {}, format="json").status_code == 403


def test_transition_not_allowed_from_the_current_state_is_a_409(as_office, log_incident):
    incident = log_incident()
    answer = as_office.post(detail(incident, "report"), {}, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "transition_not_allowed"


def test_transition_with_a_stale_version_is_a_409(as_analyst, as_duty, log_incident):
    incident = log_incident()
    as_duty.patch(detail(incident), {"title": "有人先改了"}, format="json")
    answer = as_analyst.post(
        detail(incident, "assess"), {"level": 4, "category": "inquiry", "version": 1}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "stale_version"
    assert Incident.objects.get(pk=incident.pk).state == "detected"


def test_dismiss_needs_a_reason(as_analyst, log_incident):
    incident = log_incident()
    answer = as_analyst.post(detail(incident, "dismiss"), {}, format="json")
    assert answer.status_code == 400
    assert "reason" in answer.json()
    answer = as_analyst.post(detail(incident, "dismiss"), {"reason": "重复线索"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["state"] == "dismissed"


def test_dismiss_after_the_report_is_a_409(as_analyst, log_incident, advance):
    incident = advance(log_incident(), "reported")
    answer = as_analyst.post(detail(incident, "dismiss"), {"reason": "误报"}, format="json")
    assert answer.status_code == 409


def test_transition_refuses_bad_version_values(as_office, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    for version in ("two", 0, 10**30):
        answer = as_office.post(detail(incident, "report"), {"version": version}, format="json")
        assert answer.status_code == 400
        assert "version" in answer.json()


# Deadlines --------------------------------------------------------------------------------


def _deadlines(body: dict) -> dict[str, dict]:
    return {deadline["kind"]: deadline for deadline in body["deadlines"]}


def test_level_one_assessment_sets_the_report_and_first_response_deadlines(
    as_duty, as_analyst, as_office
):
    with time_machine.travel(FOUND + timedelta(minutes=5), tick=False):
        created = as_duty.post(
            INCIDENTS,
            lead(discovered_at=FOUND.isoformat(), metrics={"casualties": True}),
            format="json",
        )
        assert created.json()["suggested_level"] == 1
        # The clock starts at logging, at the suggested level, from discovery.
        lead_clocks = _deadlines(created.json())
        assert {kind: d["due_at"] for kind, d in lead_clocks.items()} == {
            "assessment": (FOUND + timedelta(minutes=15)).isoformat(),
            "report": (FOUND + timedelta(minutes=30)).isoformat(),
        }
        pk = created.json()["id"]
        assessed = as_analyst.post(
            detail(pk, "assess"), {"level": 1, "category": "hype"}, format="json"
        ).json()
    deadlines = _deadlines(assessed)
    assert datetime.fromisoformat(deadlines["report"]["due_at"]) == FOUND + timedelta(minutes=30)
    assert datetime.fromisoformat(deadlines["first_response"]["due_at"]) == FOUND + timedelta(
        minutes=180
    )
    assert deadlines.pop("assessment")["status"] == "met"
    assert {d["status"] for d in deadlines.values()} == {"open"}
    assert deadlines["report"]["met_at"] is None

    with time_machine.travel(FOUND + timedelta(minutes=20), tick=False):
        reported = as_office.post(detail(pk, "report"), {}, format="json").json()
    assert _deadlines(reported)["report"]["status"] == "met"
    assert datetime.fromisoformat(_deadlines(reported)["report"]["met_at"]) == FOUND + timedelta(
        minutes=20
    )

    with time_machine.travel(FOUND + timedelta(minutes=180), tick=False):
        late = as_office.get(detail(pk)).json()
    assert _deadlines(late)["first_response"]["status"] == "overdue"


def test_report_after_the_due_time_is_met_late(as_duty, as_analyst, as_office):
    with time_machine.travel(FOUND + timedelta(minutes=1), tick=False):
        pk = as_duty.post(
            INCIDENTS,
            lead(discovered_at=FOUND.isoformat(), metrics={"casualties": True}),
            format="json",
        ).json()["id"]
        as_analyst.post(detail(pk, "assess"), {"level": 1, "category": "hype"}, format="json")
    with time_machine.travel(FOUND + timedelta(minutes=31), tick=False):
        reported = as_office.post(detail(pk, "report"), {}, format="json").json()
    assert _deadlines(reported)["report"]["status"] == "met_late"


def test_dismissed_incident_owes_no_deadline(as_analyst, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    answer = as_analyst.post(detail(incident, "dismiss"), {"reason": "核实为误报"}, format="json")
    owed = [d for d in answer.json()["deadlines"] if d["kind"] != "assessment"]
    assert owed and {d["status"] for d in owed} == {"cancelled"}


# Figures ------------------------------------------------------------------------------------


def test_new_figures_are_added_and_re_evaluate_the_suggested_level(as_duty, log_incident):
    incident = log_incident()
    assert incident.suggested_level == 4
    answer = as_duty.post(
        detail(incident, "metrics"),
        {"reads": 800, "comments": 120, "negative_share": 0.35, "casualties": True},
        format="json",
    )
    assert answer.status_code == 201
    snapshot = answer.json()
    assert set(snapshot) >= SNAPSHOT_FIELDS
    assert snapshot["suggested_level"] == 1 and snapshot["reads"] == 800
    assert snapshot["negative_share"] == 0.35
    body = as_duty.get(detail(incident)).json()
    assert body["suggested_level"] == 1
    assert body["metrics"]["reads"] == 800
    assert body["timeline"][-1]["kind"] == "metrics"
    stored = Incident.objects.get(pk=incident.pk).latest_metrics
    assert stored.negative_share == Decimal("0.350")


def test_figures_can_be_dated_in_the_past_but_not_the_future(as_duty, log_incident):
    incident = log_incident()
    seen = timezone.now() - timedelta(hours=1)
    answer = as_duty.post(
        detail(incident, "metrics"), {"reads": 10, "taken_at": seen.isoformat()}, format="json"
    )
    assert answer.status_code == 201
    assert abs(datetime.fromisoformat(answer.json()["taken_at"]) - seen) < timedelta(seconds=1)
    future = timezone.now() + timedelta(hours=1)
    answer = as_duty.post(
        detail(incident, "metrics"), {"reads": 10, "taken_at": future.isoformat()}, format="json"
    )
    assert answer.status_code == 400
    assert "taken_at" in answer.json()


@pytest.mark.parametrize(
    "data,field",
    [
        ({"reads": -5}, "reads"),
        ({"negative_share": 1.5}, "negative_share"),
        ({"casualties": "perhaps"}, "casualties"),
        ({"likes": 3}, "likes"),
    ],
)
def test_bad_figures_are_a_400(as_duty, log_incident, data, field):
    incident = log_incident()
    answer = as_duty.post(detail(incident, "metrics"), data, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert incident.snapshots.count() == 1


def test_spokesperson_may_not_add_figures(api_for, spokesperson, log_incident):
    incident = log_incident()
    answer = api_for(spokesperson).post(detail(incident, "metrics"), {"reads": 1}, format="json")
    assert answer.status_code == 403


def test_a_dismissed_incident_takes_no_new_figures(as_analyst, log_incident):
    incident = log_incident()
    as_analyst.post(detail(incident, "dismiss"), {"reason": "重复"}, format="json")
    answer = as_analyst.post(detail(incident, "metrics"), {"reads": 1}, format="json")
    assert answer.status_code == 409


# Level changes ----------------------------------------------------------------------------


def test_leader_raises_the_level_with_a_reason_and_the_deadlines_follow(
    as_leader, log_incident, advance
):
    incident = advance(log_incident(), "assessed")  # Ⅳ: report due within a day
    answer = as_leader.post(
        detail(incident, "change-level"),
        {"level": 2, "reason": "主流媒体跟进", "version": incident.version},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["level"], body["colour"]) == (2, "orange")
    report = _deadlines(body)["report"]
    assert datetime.fromisoformat(report["due_at"]) == incident.discovered_at + timedelta(
        minutes=60
    )
    change = body["timeline"][-1]
    assert change["kind"] == "level" and change["action"] == "change_level"
    assert (change["from_level"], change["to_level"]) == (4, 2)
    assert change["reason"] == "主流媒体跟进" and change["actor"] == "leader"


def test_level_change_needs_a_reason(as_leader, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    for data in ({"level": 2}, {"level": 2, "reason": "  "}):
        answer = as_leader.post(detail(incident, "change-level"), data, format="json")
        assert answer.status_code == 400
        assert "reason" in answer.json()


def test_level_change_before_assessment_is_a_409(as_leader, log_incident):
    answer = as_leader.post(
        detail(log_incident(), "change-level"), {"level": 2, "reason": "升级"}, format="json"
    )
    assert answer.status_code == 409


def test_level_change_with_a_stale_version_is_a_409(as_leader, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    answer = as_leader.post(
        detail(incident, "change-level"),
        {"level": 2, "reason": "升级", "version": 1},
        format="json",
    )
    assert answer.status_code == 409


def test_duty_officer_may_not_change_the_level(as_duty, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    answer = as_duty.post(detail(incident, "change-level"), {}, format="json")
    assert answer.status_code == 403
    assert Incident.objects.get(pk=incident.pk).level == 4


def test_audit_trail_keeps_the_api_client_ip(as_duty, log_incident):
    incident = log_incident()
    as_duty.post(detail(incident, "metrics"), {"reads": 5}, format="json", REMOTE_ADDR="192.0.2.7")
    entry = TimelineEntry.objects.filter(incident=incident).latest("id")
    assert entry.kind == "metrics" and entry.client_ip == "192.0.2.7"


def test_password_guessing_on_the_token_endpoint_is_slowed_down(people):
    client = APIClient()
    answers = [
        client.post(
            "/api/v1/auth/token/", {"username": "duty", "password": f"guess{n}"}, format="json"
        ).status_code
        for n in range(31)
    ]
    assert answers[:30] == [400] * 30
    assert answers[30] == 429
