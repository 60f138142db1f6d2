"""REST API v1 for the response: plans, statements and reviews with their approvals,
tasks, follow-ups and the review exported. The rules are tested with the services
(test_response.py); here we pin what travels over HTTP and that the API enforces the same
routing and refusals as the browser."""

from datetime import datetime, timedelta

import pytest

from engine.sweep import sweep
from incidents.models import Incident
from organisation.models import RoleAssignment, User
from response.assignments import task_assign
from response.documents import document_save_draft, document_submit
from response.models import FollowUp, ResponsePlan, Review, Statement, Task
from response.tracking import follow_up_file
from tests.helpers import MONDAY_MORNING, approve_a_response_plan, at

pytestmark = pytest.mark.django_db
FOUND = MONDAY_MORNING
API = "/api/v1"
PLANS = f"{API}/response-plans/"
STATEMENTS = f"{API}/statements/"
REVIEWS = f"{API}/reviews/"
TASKS = f"{API}/tasks/"
FOLLOW_UPS = f"{API}/follow-ups/"

PLAN_FIELDS = {
    "id",
    "incident",
    "version",
    "state",
    "author",
    "author_name",
    "contributors",
    "created_at",
    "submitted_at",
    "decided_at",
    "approval_deadline",
    "decisions",
    "facts",
    "category",
    "measures_online",
    "measures_offline",
    "units",
    "statement_line",
}


def plan_body(incident: Incident, **fields) -> dict:
    return {
        "incident": incident.pk,
        "facts": "经核实，情况属实。",
        "category": "inquiry",
        "measures_online": "官方微博回应",
        "measures_offline": "医院核查退费",
        "units": [incident.unit_id],
        "statement_line": "高度重视，立即核查。",
        **fields,
    }


def submitted_plan(api, author, incident: Incident, **fields) -> dict:
    """Draft and submit a response plan through the API as ``author``."""
    client = api(author)
    drafted = client.post(PLANS, plan_body(incident, **fields), format="json")
    assert drafted.status_code == 201, drafted.json()
    answer = client.post(f"{PLANS}{drafted.json()['id']}/submit/", format="json")
    assert answer.status_code == 200, answer.json()
    return answer.json()


@pytest.fixture
def head(people):
    return people["head"]


# Response plans -----------------------------------------------------------------------------


def test_a_response_plan_is_drafted_edited_in_place_and_read_with_its_fields(
    api_for, office, log_incident, advance, health_unit
):
    incident = advance(log_incident(), "reported")
    client = api_for(office)
    created = client.post(PLANS, plan_body(incident), format="json")
    assert created.status_code == 201
    plan = created.json()
    assert set(plan) == PLAN_FIELDS
    assert (plan["incident"], plan["version"], plan["state"], plan["author"], plan["units"]) == (
        incident.pk,
        1,
        "draft",
        office.pk,
        [health_unit.pk],
    )
    edited = client.post(PLANS, {"incident": incident.pk, "facts": "补充核实情况"}, format="json")
    assert edited.status_code == 200
    assert (edited.json()["id"], edited.json()["facts"], edited.json()["measures_online"]) == (
        plan["id"],
        "补充核实情况",
        "官方微博回应",
    )
    assert client.get(f"{PLANS}{plan['id']}/").json()["facts"] == "补充核实情况"


def test_a_plan_with_an_unknown_incident_or_unit_is_refused_400(
    api_for, office, log_incident, advance
):
    incident = advance(log_incident(), "reported")
    client = api_for(office)
    answer = client.post(
        PLANS, {**plan_body(incident), "incident": 999999, "units": [999999]}, format="json"
    )
    assert answer.status_code == 400
    assert {"incident", "units"} <= set(answer.json())
    assert client.post(PLANS, plan_body(incident, approved=True), format="json").status_code == 400
    assert client.get(f"{PLANS}999999/").status_code == 404


def test_the_leader_may_not_draft_a_plan(api_for, leader, log_incident, advance):
    incident = advance(log_incident(), "reported")
    assert api_for(leader).post(PLANS, plan_body(incident), format="json").status_code == 403


@pytest.mark.parametrize("approver", ["leader", "deputy"])
def test_levels_one_and_two_plans_are_approved_by_the_leader_or_a_deputy(
    approver, api_for, office, people, log_incident, advance
):
    incident = advance(
        log_incident(metrics={"casualties": True}), "reported", level=1, category="hype"
    )
    plan = submitted_plan(api_for, office, incident)
    assert (
        api_for(people["head"]).post(f"{PLANS}{plan['id']}/approve/", {}, format="json").status_code
        == 403
    )
    answer = api_for(people[approver]).post(
        f"{PLANS}{plan['id']}/approve/", {"comment": "同意"}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["state"] == "approved"
    decision = answer.json()["decisions"][0]
    assert (decision["approver"], decision["verdict"], decision["comment"]) == (
        people[approver].pk,
        "approve",
        "同意",
    )


def test_levels_three_and_four_plans_are_approved_by_the_involved_units_head_not_the_leader(
    api_for, office, leader, head, log_incident, advance
):
    incident = advance(log_incident(), "reported")  # Ⅳ: 卫生健康委员会 leads
    plan = submitted_plan(api_for, office, incident)
    refused = api_for(leader).post(f"{PLANS}{plan['id']}/approve/", {}, format="json")
    assert refused.status_code == 403
    answer = api_for(head).post(f"{PLANS}{plan['id']}/approve/", {}, format="json")
    assert (answer.status_code, answer.json()["state"]) == (200, "approved")


def test_an_author_who_is_also_an_approver_cannot_approve_their_own_plan_403(
    api_for, head, log_incident, advance, health_unit
):
    RoleAssignment.objects.create(user=head, role="analyst")  # may draft too
    other = User.objects.create(username="head2", unit=health_unit)  # another may approve
    RoleAssignment.objects.create(user=other, role="unit_head")
    incident = advance(log_incident(), "reported")
    plan = submitted_plan(api_for, head, incident)
    answer = api_for(head).post(f"{PLANS}{plan['id']}/approve/", {}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (403, "permission_denied")
    assert ResponsePlan.objects.get(pk=plan["id"]).state == "submitted"


def test_a_decision_on_a_superseded_version_is_refused_409(
    api_for, office, head, log_incident, advance
):
    incident = advance(log_incident(), "reported")
    first = submitted_plan(api_for, office, incident)
    second = api_for(office).post(
        PLANS, plan_body(incident, statement_line="新口径"), format="json"
    )
    assert (second.status_code, second.json()["version"]) == (201, 2)
    assert api_for(office).get(f"{PLANS}{first['id']}/").json()["state"] == "superseded"
    answer = api_for(head).post(f"{PLANS}{first['id']}/approve/", {}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (409, "stale_version")


@pytest.mark.parametrize("action", ["reject", "request-changes"])
def test_rejecting_or_asking_for_changes_needs_a_comment(
    action, api_for, office, head, log_incident, advance
):
    incident = advance(log_incident(), "reported")
    plan = submitted_plan(api_for, office, incident)
    url = f"{PLANS}{plan['id']}/{action}/"
    missing = api_for(head).post(url, {}, format="json")
    assert missing.status_code == 400 and "comment" in missing.json()
    answer = api_for(head).post(url, {"comment": "补充线下措施"}, format="json")
    assert answer.status_code == 200
    assert (
        answer.json()["state"]
        == {"reject": "rejected", "request-changes": "changes_requested"}[action]
    )
    assert answer.json()["decisions"][0]["comment"] == "补充线下措施"


def test_submitting_twice_is_409_and_submit_takes_no_fields(api_for, office, log_incident, advance):
    incident = advance(log_incident(), "reported")
    plan = submitted_plan(api_for, office, incident)
    url = f"{PLANS}{plan['id']}/submit/"
    assert api_for(office).post(url, {}, format="json").status_code == 409
    assert api_for(office).post(url, {"comment": "x"}, format="json").status_code == 400


def test_the_response_starts_only_after_the_plan_is_approved_through_the_api(
    api_for, office, leader, head, log_incident, advance
):
    incident = advance(log_incident(), "reported")
    respond = f"{API}/incidents/{incident.pk}/respond/"
    refused = api_for(leader).post(respond, {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "transition_not_allowed")
    plan = submitted_plan(api_for, office, incident)
    api_for(head).post(f"{PLANS}{plan['id']}/approve/", {}, format="json")
    answer = api_for(leader).post(respond, {}, format="json")
    assert (answer.status_code, answer.json()["state"]) == (200, "responding")


def test_plans_are_listed_by_incident_and_state(api_for, office, log_incident, advance):
    incident = advance(log_incident(), "reported")
    other = advance(log_incident(title="另一事件"), "reported")
    submitted_plan(api_for, office, incident)
    api_for(office).post(PLANS, plan_body(other), format="json")
    client = api_for(office)
    assert client.get(PLANS).json()["count"] == 2
    page = client.get(PLANS, {"incident": incident.pk}).json()
    assert [p["incident"] for p in page["results"]] == [incident.pk]
    assert client.get(PLANS, {"state": "draft"}).json()["results"][0]["incident"] == other.pk
    assert client.get(PLANS, {"state": "nope"}).status_code == 400


# Statements -------------------------------------------------------------------------------


def test_a_statement_is_published_after_approval_by_the_spokesperson_and_meets_deadlines(
    api_for, office, leader, spokesperson, log_incident, advance
):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"mainstream_media": True}),
            "reported",
            level=2,
            category="hype",
        )
        drafted = api_for(office).post(
            STATEMENTS,
            {"incident": incident.pk, "text": "关于网传情况的通报", "channels": ["weibo"]},
            format="json",
        )
        assert drafted.status_code == 201
        statement = drafted.json()
        assert (
            statement["version"],
            statement["state"],
            statement["channels"],
            statement["publications"],
        ) == (1, "draft", ["weibo"], [])
        api_for(office).post(f"{STATEMENTS}{statement['id']}/submit/", format="json")
    publish = f"{STATEMENTS}{statement['id']}/publish/"
    body = {"channel": "weibo", "url": "https://weibo.com/p/1"}
    with at(FOUND + timedelta(minutes=30)):
        early = api_for(spokesperson).post(publish, body, format="json")
        assert (early.status_code, early.json()["code"]) == (409, "transition_not_allowed")
    with at(FOUND + timedelta(minutes=40)):
        approved = api_for(leader).post(
            f"{STATEMENTS}{statement['id']}/approve/", {"comment": "同意发布"}, format="json"
        )
        assert approved.json()["state"] == "approved"
        assert api_for(office).post(publish, body, format="json").status_code == 403
    published = FOUND + timedelta(minutes=50)
    with at(FOUND + timedelta(hours=1)):
        answer = api_for(spokesperson).post(
            publish, {**body, "published_at": published.isoformat()}, format="json"
        )
    assert answer.status_code == 200
    publication = answer.json()["publications"][0]
    assert (publication["channel"], publication["url"], publication["published_by"]) == (
        "weibo",
        "https://weibo.com/p/1",
        spokesperson.pk,
    )
    assert datetime.fromisoformat(publication["published_at"]) == published
    for kind in ("first_response", "official_release"):
        deadline = incident.deadlines.get(kind=kind)
        assert (deadline.status, deadline.met_at) == ("met", published)


def test_a_statement_needs_text_and_known_channels(api_for, office, log_incident, advance):
    incident = advance(log_incident(), "reported")
    answer = api_for(office).post(
        STATEMENTS, {"incident": incident.pk, "text": "", "channels": ["tv"]}, format="json"
    )
    assert answer.status_code == 400
    assert {"text", "channels"} <= set(answer.json())


# Tasks --------------------------------------------------------------------------------------


def test_a_task_for_a_unit_is_seen_by_its_liaison_who_records_progress_and_completes_it(
    api_for, office, liaison, health_unit, log_incident, advance
):
    with at(FOUND):
        incident = advance(log_incident(discovered_at=FOUND), "reported")
        created = api_for(office).post(
            TASKS,
            {
                "incident": incident.pk,
                "title": "核实收费情况",
                "description": "当天答复",
                "unit": health_unit.pk,
                "due_at": (FOUND + timedelta(hours=2)).isoformat(),
            },
            format="json",
        )
    assert created.status_code == 201
    task = created.json()
    assert (task["unit"], task["assignee"], task["state"], task["updates"]) == (
        health_unit.pk,
        None,
        "open",
        [],
    )
    assert task["deadline"]["status"] == "open"
    with at(FOUND + timedelta(minutes=30)):
        mine = api_for(liaison).get(TASKS, {"mine": "true"}).json()
        assert task["id"] in [t["id"] for t in mine["results"]]
        assert "updates" not in mine["results"][0]
        assert api_for(office).get(TASKS, {"mine": "true"}).json()["count"] == 0
        progress = api_for(liaison).post(
            f"{TASKS}{task['id']}/progress/", {"text": "已联系医院"}, format="json"
        )
        assert (progress.status_code, progress.json()["state"]) == (200, "open")
    with at(FOUND + timedelta(minutes=90)):
        done = api_for(liaison).post(
            f"{TASKS}{task['id']}/complete/",
            {"text": "已核实并退费", "link": "https://example.org/r"},
            format="json",
        )
    assert done.status_code == 200
    body = done.json()
    assert (body["state"], body["outcome"]) == ("done", "已核实并退费")
    assert [(u["text"], u["link"], u["is_outcome"]) for u in body["updates"]] == [
        ("已联系医院", None, False),
        ("已核实并退费", "https://example.org/r", True),
    ]
    assert body["deadline"]["status"] == "met"
    assert Task.objects.get(pk=task["id"]).deadline.met_at == FOUND + timedelta(minutes=90)
    again = api_for(liaison).post(f"{TASKS}{task['id']}/complete/", {"text": "再次"}, format="json")
    assert again.status_code == 409


def test_only_those_who_may_work_on_a_task_record_it_and_only_planners_assign(
    api_for, office, duty, health_unit, log_incident, advance
):
    incident = advance(log_incident(), "reported")
    body = {"incident": incident.pk, "title": "核实", "unit": health_unit.pk}
    assert api_for(duty).post(TASKS, body, format="json").status_code == 403
    task = api_for(office).post(TASKS, body, format="json").json()
    assert (
        api_for(duty)
        .post(f"{TASKS}{task['id']}/progress/", {"text": "x"}, format="json")
        .status_code
        == 403
    )
    assert api_for(office).post(TASKS, {**body, "unit": 999999}, format="json").status_code == 400
    assert api_for(office).get(f"{TASKS}999999/").status_code == 404


# Follow-ups -------------------------------------------------------------------------------


def test_a_follow_up_filed_while_tracking_meets_its_due_and_opens_the_next(
    api_for, office, log_incident, advance
):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            "tracking",
            level=1,
            category="hype",
        )
    first = incident.deadlines.get(kind="follow_up", status="open")
    filed = FOUND + timedelta(hours=1)
    with at(filed):
        answer = api_for(office).post(
            FOLLOW_UPS,
            {
                "incident": incident.pk,
                "what_changed": "热度下降",
                "actions_taken": "持续回应",
                "metrics": {"reads": 10, "negative_share": 0.2},
            },
            format="json",
        )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["what_changed"], body["author"], body["metrics"]["reads"]) == (
        "热度下降",
        office.pk,
        10,
    )
    first.refresh_from_db()
    assert (first.status, first.met_at) == ("met", filed)
    nxt = incident.deadlines.get(kind="follow_up", status="open")
    assert nxt.due_at == filed + timedelta(hours=2)
    listed = api_for(office).get(FOLLOW_UPS, {"incident": incident.pk}).json()
    assert [f["id"] for f in listed["results"]] == [body["id"]]


def test_a_follow_up_is_refused_before_the_report(api_for, office, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    answer = api_for(office).post(
        FOLLOW_UPS, {"incident": incident.pk, "what_changed": "x"}, format="json"
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "transition_not_allowed")


# Reviews ------------------------------------------------------------------------------------


def test_the_review_draft_mentions_late_deadlines_and_its_approval_closes_the_incident(
    api_for, office, leader, log_incident, advance
):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            "assessed",
            level=1,
            category="hype",
        )
    with at(FOUND + timedelta(minutes=45)):
        sweep()  # the report to the leadership goes in late
        incident = advance(incident, "reviewing")
    listed = api_for(office).get(REVIEWS, {"incident": incident.pk}).json()["results"]
    assert [(r["version"], r["state"], r["author"]) for r in listed] == [(1, "draft", office.pk)]
    review = listed[0]
    assert "Late or missed deadlines" in review["summary"]
    assert "Report to the leadership group" in review["summary"]
    edited = api_for(office).post(
        REVIEWS, {"incident": incident.pk, "lessons": "首报需提速"}, format="json"
    )
    assert edited.status_code == 200
    assert edited.json()["summary"] == review["summary"]  # only the fields sent change
    api_for(office).post(f"{REVIEWS}{review['id']}/submit/", format="json")
    answer = api_for(leader).post(f"{REVIEWS}{review['id']}/approve/", {}, format="json")
    assert (answer.status_code, answer.json()["state"]) == (200, "approved")
    assert Incident.objects.get(pk=incident.pk).state == "closed"


# Exports ------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(log_incident, advance, office) -> Incident:
    incident = advance(log_incident(), "reviewing")
    document_save_draft(
        model=Review, incident=incident, actor=office, fields={"lessons": "首报时限意识不足。"}
    )
    return incident


@pytest.mark.parametrize(
    ("extension", "content_type", "magic"),
    [
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK"),
        ("pdf", "application/pdf", b"%PDF"),
    ],
)
def test_the_review_is_exported_as_a_file_named_after_the_incident(
    extension, content_type, magic, api_for, duty, reviewed
):
    answer = api_for(duty).get(f"{API}/incidents/{reviewed.pk}/review.{extension}")
    assert answer.status_code == 200
    assert answer["Content-Type"] == content_type
    assert answer["Content-Disposition"] == (
        f'attachment; filename="review-{reviewed.pk}.{extension}"'
    )
    assert answer.content.startswith(magic)
    asked = api_for(duty).get(
        f"{API}/incidents/{reviewed.pk}/review.{extension}", HTTP_ACCEPT=content_type
    )
    assert asked.status_code == 200
    assert api_for(duty).get(f"{API}/incidents/999999/review.{extension}").status_code == 404


# Lists: a fixed number of queries -------------------------------------------------------------


def _incidents(log_incident, advance, n: int) -> list[Incident]:
    return [advance(log_incident(title=f"事件{i}"), "reported") for i in range(n)]


@pytest.mark.parametrize("n", [1, 10])
def test_document_lists_take_a_fixed_number_of_queries(
    n, api_for, office, people, log_incident, advance, django_assert_num_queries
):
    for incident in _incidents(log_incident, advance, n):
        approve_a_response_plan(incident, author=office)
        statement = document_save_draft(
            model=Statement,
            incident=incident,
            actor=office,
            fields={"text": "通报", "channels": ["weibo"]},
        )
        document_submit(doc=statement, actor=office)
    client = api_for(office)
    # the token with its user 1, page count 1, rows 1, decisions 1, contributors 1, units 1
    with django_assert_num_queries(6):
        assert client.get(PLANS).json()["count"] == n
    # token 1, count 1, rows 1, decisions 1, contributors 1, publications 1
    with django_assert_num_queries(6):
        assert client.get(STATEMENTS).json()["count"] == n


@pytest.mark.parametrize("n", [1, 10])
def test_the_task_list_takes_a_fixed_number_of_queries(
    n, api_for, office, liaison, health_unit, log_incident, advance, django_assert_num_queries
):
    for incident in _incidents(log_incident, advance, n):
        task_assign(
            incident=incident,
            actor=office,
            title="核实",
            unit=health_unit,
            due_at=incident.discovered_at + timedelta(days=1),
        )
    client = api_for(liaison)
    expected = Task.objects.count()  # the category's checklist made tasks too
    # token 1, roles (for `mine`) 1, count 1, rows 1
    with django_assert_num_queries(4):
        assert client.get(TASKS, {"mine": "true"}).json()["count"] == expected


@pytest.mark.parametrize("n", [1, 10])
def test_the_follow_up_list_takes_a_fixed_number_of_queries(
    n, api_for, office, log_incident, advance, django_assert_num_queries
):
    incident = advance(log_incident(), "tracking")
    for i in range(n):
        follow_up_file(
            incident=incident, actor=office, what_changed=f"第{i}次续报", metrics={"reads": i}
        )
    client = api_for(office)
    # token 1, count 1, rows with their figures 1
    with django_assert_num_queries(3):
        assert client.get(FOLLOW_UPS).json()["count"] == n


# Four eyes on content, over HTTP (issue 12, rows 3 and 7) --------------------------------------


def test_the_office_head_cannot_overwrite_submit_and_approve_the_analysts_plan(
    api_for, analyst, office, log_incident, advance
):
    from organisation.models import Unit

    # Ⅳ of the office itself: the office head is the only approver the plan names.
    incident = advance(log_incident(unit=Unit.objects.get(name="领导小组办公室")), "reported")
    drafted = api_for(analyst).post(PLANS, plan_body(incident), format="json")
    assert drafted.status_code == 201
    plan_id = drafted.json()["id"]
    overwritten = api_for(office).post(
        PLANS, {"incident": incident.pk, "facts": "改写的事实"}, format="json"
    )
    assert (overwritten.status_code, overwritten.json()["id"]) == (200, plan_id)
    assert overwritten.json()["contributors"] == sorted([analyst.pk, office.pk])
    submitted = api_for(office).post(f"{PLANS}{plan_id}/submit/", format="json")
    assert (submitted.status_code, submitted.json()["code"]) == (409, "transition_not_allowed")
    assert "领导小组办公室" in submitted.json()["detail"]
    approved = api_for(office).post(f"{PLANS}{plan_id}/approve/", {}, format="json")
    assert approved.status_code == 403
    assert ResponsePlan.objects.get(pk=plan_id).state == "draft"


@pytest.mark.parametrize("path", [STATEMENTS, REVIEWS])
def test_an_editor_of_a_statement_or_review_may_not_decide_on_it_403(
    path, api_for, analyst, people, log_incident, advance
):
    deputy = people["deputy"]
    RoleAssignment.objects.create(user=deputy, role="analyst")  # may draft too
    incident = advance(
        log_incident(metrics={"casualties": True}),
        "reviewing" if path == REVIEWS else "reported",
        level=1,
        category="hype",
    )
    body = (
        {"incident": incident.pk, "text": "通报", "channels": ["weibo"]}
        if path == STATEMENTS
        else {"incident": incident.pk, "lessons": "经验"}
    )
    first = api_for(analyst).post(path, body, format="json")
    assert first.status_code in (200, 201)
    doc_id = first.json()["id"]
    edit = {**body, ("text" if path == STATEMENTS else "lessons"): "副组长改写"}
    assert api_for(deputy).post(path, edit, format="json").json()["id"] == doc_id
    assert api_for(analyst).post(f"{path}{doc_id}/submit/", format="json").status_code == 200
    refused = api_for(deputy).post(f"{path}{doc_id}/approve/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert Incident.objects.get(pk=incident.pk).state != "closed"
    approved = api_for(people["leader"]).post(f"{path}{doc_id}/approve/", {}, format="json")
    assert (approved.status_code, approved.json()["state"]) == (200, "approved")


def test_a_plan_of_a_unit_without_a_head_is_refused_at_submission_409(
    api_for, office, log_incident, advance
):
    from organisation.models import Unit

    incident = advance(
        log_incident(
            unit=Unit.objects.get(name="教育局"), metrics={"reads": 300, "negative_share": "0.5"}
        ),
        "reported",
        level=3,
        category="hype",
    )
    drafted = api_for(office).post(PLANS, plan_body(incident), format="json")
    answer = api_for(office).post(f"{PLANS}{drafted.json()['id']}/submit/", format="json")
    assert (answer.status_code, answer.json()["code"]) == (409, "transition_not_allowed")
    assert "Ⅲ" in answer.json()["detail"] and "教育局" in answer.json()["detail"]
    assert ResponsePlan.objects.get(pk=drafted.json()["id"]).state == "draft"


# Times bounded by what happened, over HTTP (issue 12, row 4) -----------------------------------


@pytest.mark.parametrize(
    "published_at",
    [
        "2000-01-01T00:00:00+08:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        (FOUND + timedelta(minutes=30)).isoformat(),  # before the approval
    ],
)
def test_a_publication_outside_approval_and_now_is_a_400_on_its_field(
    published_at, api_for, office, leader, spokesperson, log_incident, advance
):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"mainstream_media": True}),
            "reported",
            level=2,
            category="hype",
        )
        statement = document_save_draft(
            model=Statement,
            incident=incident,
            actor=office,
            fields={"text": "通报", "channels": ["weibo"]},
        )
        document_submit(doc=statement, actor=office)
    with at(FOUND + timedelta(minutes=40)):
        assert (
            api_for(leader)
            .post(f"{STATEMENTS}{statement.pk}/approve/", {}, format="json")
            .status_code
            == 200
        )
    with at(FOUND + timedelta(hours=1)):
        answer = api_for(spokesperson).post(
            f"{STATEMENTS}{statement.pk}/publish/",
            {"channel": "weibo", "published_at": published_at},
            format="json",
        )
    assert answer.status_code == 400 and "published_at" in answer.json()
    assert not statement.publications.exists()
    assert incident.deadlines.get(kind="first_response").status == "open"


def test_a_follow_up_or_task_outcome_time_outside_its_bounds_is_a_400(
    api_for, office, liaison, health_unit, log_incident, advance
):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            "tracking",
            level=1,
            category="hype",
        )
        task = task_assign(
            incident=incident,
            actor=office,
            title="核实",
            unit=health_unit,
            due_at=FOUND + timedelta(hours=2),
        )
    with at(FOUND + timedelta(hours=1)):
        for when in (
            "2000-01-01T00:00:00+08:00",
            "0001-01-01T00:00:00Z",
            (FOUND + timedelta(hours=2)).isoformat(),
        ):
            follow_up = api_for(office).post(
                FOLLOW_UPS,
                {"incident": incident.pk, "what_changed": "热度下降", "at": when},
                format="json",
            )
            assert follow_up.status_code == 400 and "at" in follow_up.json()
            done = api_for(liaison).post(
                f"{TASKS}{task.pk}/complete/",
                {"text": "已退费", "completed_at": when},
                format="json",
            )
            assert done.status_code == 400 and "completed_at" in done.json()
        reported = FOUND + timedelta(minutes=20)
        follow_up = api_for(office).post(
            FOLLOW_UPS,
            {"incident": incident.pk, "what_changed": "热度下降", "at": reported.isoformat()},
            format="json",
        )
        assert follow_up.status_code == 201
        assert datetime.fromisoformat(follow_up.json()["at"]) == reported
        finished = FOUND + timedelta(minutes=50)
        done = api_for(liaison).post(
            f"{TASKS}{task.pk}/complete/",
            {"text": "已退费", "completed_at": finished.isoformat()},
            format="json",
        )
        assert done.status_code == 200
        assert datetime.fromisoformat(done.json()["completed_at"]) == finished
    assert FollowUp.objects.filter(incident=incident).count() == 1
    assert Task.objects.get(pk=task.pk).deadline.met_at == finished
