"""The response page and the tasks list, as the plan's people use them (Django test
client): who sees which form, approvals through the page, publishing, tasks, follow-ups."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from organisation.models import User
from response.assignments import task_assign
from response.documents import document_decide, document_save_draft, document_submit
from response.models import Decision, DocumentState, FollowUp, ResponsePlan, Statement, Task

pytestmark = pytest.mark.django_db

DRAFT_PLAN_FORM = 'data-draft="plan"'
DECIDE_PLAN_FORM = 'data-decide="plan"'
PUBLISH_FORM = 'class="form publish-form"'
FOLLOW_UP_FORM = 'class="form follow-up-form"'


@pytest.fixture
def reported(log_incident, advance):
    """A Ⅱ incident reported to the leadership: the response plan is drafted now."""
    return advance(log_incident(), "reported", level=2, category="hype")


@pytest.fixture
def page(client):
    def get(user: User, incident) -> str:
        client.force_login(user)
        response = client.get(reverse("response:incident", args=[incident.pk]))
        assert response.status_code == 200
        return response.content.decode()

    return get


def submitted_plan(incident, author: User) -> ResponsePlan:
    plan = document_save_draft(
        model=ResponsePlan,
        incident=incident,
        actor=author,
        fields={"facts": "经核实，网传收费问题属实。", "category": "hype"},
    )
    return document_submit(doc=plan, actor=author)


def approved_statement(incident, author: User, approver: User) -> Statement:
    statement = document_save_draft(
        model=Statement,
        incident=incident,
        actor=author,
        fields={"text": "我委已关注到网民反映的情况。", "channels": ["weibo"]},
    )
    statement = document_submit(doc=statement, actor=author)
    return document_decide(doc=statement, actor=approver, verdict="approve", comment="同意")


def test_the_incident_page_links_to_its_response_page(client, office, reported):
    client.force_login(office)
    content = client.get(reverse("incidents:detail", args=[reported.pk])).content.decode()
    assert reverse("response:incident", args=[reported.pk]) in content


def test_the_response_page_needs_a_login(client, reported):
    response = client.get(reverse("response:incident", args=[reported.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_drafters_see_the_response_plan_draft_form(
    page, reported, office, analyst, leader, duty, liaison
):
    assert DRAFT_PLAN_FORM in page(office, reported)
    assert DRAFT_PLAN_FORM in page(analyst, reported)
    for person in (leader, duty, liaison):
        assert DRAFT_PLAN_FORM not in page(person, reported)


def test_an_approver_sees_the_decision_buttons_on_a_submitted_plan_and_the_author_does_not(
    page, reported, office, leader, deputy, analyst
):
    submitted_plan(reported, office)
    for approver in (leader, deputy):
        content = page(approver, reported)
        assert DECIDE_PLAN_FORM in content
        for verdict in ("approve", "reject", "request_changes"):
            assert f'name="verdict" value="{verdict}"' in content
    assert DECIDE_PLAN_FORM not in page(office, reported)  # the author
    assert DECIDE_PLAN_FORM not in page(analyst, reported)  # not an approver at Ⅱ


def test_the_leader_approves_the_plan_through_the_page(client, page, reported, office, leader):
    plan = submitted_plan(reported, office)
    client.force_login(leader)
    response = client.post(
        reverse("response:decide", args=[reported.pk, "plan", plan.pk]),
        {"verdict": "approve", "comment": "同意，抓紧落实。"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("response:incident", args=[reported.pk]) + "#plan"
    plan.refresh_from_db()
    assert plan.state == DocumentState.APPROVED
    decision = plan.decisions.get()
    assert (decision.approver, decision.verdict) == (leader, Decision.Verdict.APPROVE)

    content = page(leader, reported)
    assert 'data-state="approved"' in content
    assert "同意，抓紧落实。" in content
    assert DECIDE_PLAN_FORM not in content


def test_rejecting_without_a_comment_puts_the_error_on_the_form(client, reported, office, leader):
    plan = submitted_plan(reported, office)
    client.force_login(leader)
    response = client.post(
        reverse("response:decide", args=[reported.pk, "plan", plan.pk]),
        {"verdict": "reject", "comment": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "Say why." in response.content.decode()
    plan.refresh_from_db()
    assert plan.state == DocumentState.SUBMITTED


def test_self_approval_through_the_page_shows_the_error_and_changes_nothing(
    client, reported, office, leader
):
    # The office head may approve at Ⅲ/Ⅳ, but never a version they wrote or edited.
    plan = submitted_plan(reported, office)
    client.force_login(office)
    response = client.post(
        reverse("response:decide", args=[reported.pk, "plan", plan.pk]),
        {"verdict": "approve", "comment": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    assert "You wrote or edited this version" in response.content.decode()
    plan.refresh_from_db()
    assert plan.state == DocumentState.SUBMITTED
    assert not plan.decisions.exists()


def test_drafting_and_submitting_a_plan_through_the_page(client, health_unit, reported, office):
    client.force_login(office)
    response = client.post(
        reverse("response:draft", args=[reported.pk, "plan"]),
        {
            "facts": "经核实，网传收费问题属实。",
            "category": "hype",
            "measures_online": "发布情况说明",
            "measures_offline": "退还多收费用",
            "units": [health_unit.pk],
            "statement_line": "已责成医院整改",
            "then": "submit",
        },
    )
    assert response.status_code == 302
    plan = ResponsePlan.objects.get(incident=reported)
    assert plan.state == DocumentState.SUBMITTED
    assert list(plan.units.all()) == [health_unit]


def test_only_the_spokesperson_sees_the_publish_form_and_only_after_approval(
    client, page, reported, office, leader, spokesperson
):
    statement = document_submit(
        doc=document_save_draft(
            model=Statement,
            incident=reported,
            actor=office,
            fields={"text": "我委已关注到网民反映的情况。", "channels": ["weibo"]},
        ),
        actor=office,
    )
    assert PUBLISH_FORM not in page(spokesperson, reported)

    document_decide(doc=statement, actor=leader, verdict="approve", comment="同意")
    assert PUBLISH_FORM in page(spokesperson, reported)
    assert PUBLISH_FORM not in page(office, reported)
    assert PUBLISH_FORM not in page(leader, reported)

    client.force_login(spokesperson)
    response = client.post(
        reverse("response:publish", args=[reported.pk, statement.pk]),
        {
            "channel": "weibo",
            "url": "https://weibo.com/official/1",
            "published_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    publication = statement.publications.get()
    assert (publication.channel, publication.published_by) == ("weibo", spokesperson)
    assert "https://weibo.com/official/1" in page(spokesperson, reported)


def test_the_liaison_sees_the_units_task_and_completes_it(
    client, page, reported, office, liaison, health_unit
):
    task = task_assign(
        incident=reported,
        actor=office,
        title="核实收费记录并回复网民",
        unit=health_unit,
        due_at=timezone.now() + timedelta(hours=3),
    )
    client.force_login(liaison)
    content = client.get(reverse("response:tasks")).content.decode()
    assert "核实收费记录并回复网民" in content
    assert reverse("response:incident", args=[reported.pk]) in content
    assert f'id="task-{task.pk}"' not in content  # the list links to the task on the page
    assert f'#task-{task.pk}"' in content
    assert 'class="countdown" data-due="' in content

    assert f'action="{reverse("response:record", args=[reported.pk, task.pk])}"' in page(
        liaison, reported
    )
    response = client.post(
        reverse("response:record", args=[reported.pk, task.pk]),
        {"text": "已核实并在微博回复。", "link": "https://weibo.com/r/1", "done": "on"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == Task.State.DONE
    assert task.outcome == "已核实并在微博回复。"
    assert task.updates.get().author == liaison


def test_people_outside_the_unit_cannot_record_on_its_task(
    client, page, reported, office, spokesperson, health_unit
):
    task = task_assign(incident=reported, actor=office, title="核实收费记录", unit=health_unit)
    assert 'class="form record-form"' not in page(spokesperson, reported)
    client.force_login(spokesperson)
    response = client.post(
        reverse("response:record", args=[reported.pk, task.pk]), {"text": "试图记录", "done": "on"}
    )
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.state == Task.State.OPEN


def test_the_office_head_assigns_a_task_through_the_page(
    client, reported, office, health_unit, liaison
):
    client.force_login(office)
    due = timezone.localtime() + timedelta(hours=2)
    response = client.post(
        reverse("response:assign", args=[reported.pk]),
        {
            "title": "联系发帖网民",
            "description": "",
            "unit": health_unit.pk,
            "assignee": liaison.pk,
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    task = Task.objects.get(incident=reported, title="联系发帖网民")
    assert (task.unit, task.assignee) == (health_unit, liaison)


def test_tasks_list_shows_assigned_tasks_to_others_and_all_open_tasks_to_the_office_head(
    client, reported, office, analyst, health_unit, people
):
    edu = health_unit.__class__.objects.get(name="教育局")
    task_assign(incident=reported, actor=office, title="卫健委的任务", unit=health_unit)
    task_assign(
        incident=reported,
        actor=office,
        title="分析员自己的任务",
        unit=analyst.unit,
        assignee=analyst,
    )
    task_assign(incident=reported, actor=office, title="教育局的任务", unit=edu)

    client.force_login(analyst)
    content = client.get(reverse("response:tasks")).content.decode()
    assert "分析员自己的任务" in content
    assert "卫健委的任务" not in content

    client.force_login(office)
    content = client.get(reverse("response:tasks")).content.decode()
    for title in ("卫健委的任务", "分析员自己的任务", "教育局的任务"):
        assert title in content

    client.force_login(people["head"])
    content = client.get(reverse("response:tasks")).content.decode()
    assert "卫健委的任务" in content
    assert "教育局的任务" not in content


def test_the_follow_up_form_appears_only_while_the_incident_is_tracked(
    client, page, log_incident, advance, office, duty
):
    incident = advance(log_incident(), "responding", level=2)
    assert FOLLOW_UP_FORM not in page(office, incident)
    incident = advance(incident, "tracking")
    assert FOLLOW_UP_FORM in page(duty, incident)

    client.force_login(duty)
    response = client.post(
        reverse("response:follow_up", args=[incident.pk]),
        {
            "what_changed": "转发量下降，评论趋于平稳。",
            "actions_taken": "持续监测",
            "reads": "",
            "reposts": "",
            "comments": "",
            "negative_share": "",
        },
    )
    assert response.status_code == 302
    follow_up = FollowUp.objects.get(incident=incident)
    assert follow_up.snapshot is None
    assert "转发量下降，评论趋于平稳。" in page(duty, incident)

    incident = advance(incident, "reviewing")
    assert FOLLOW_UP_FORM not in page(office, incident)


def test_the_review_is_editable_by_drafters_and_links_to_the_exports(
    page, log_incident, advance, office, leader
):
    incident = advance(log_incident(), "reviewing", level=2)
    content = page(office, incident)
    assert 'data-draft="review"' in content
    assert f"/api/v1/incidents/{incident.pk}/review.docx" in content
    assert f"/api/v1/incidents/{incident.pk}/review.pdf" in content
    assert 'data-draft="review"' not in page(leader, incident)


def test_the_tasks_list_takes_the_same_number_of_queries_whatever_the_number_of_tasks(
    client, reported, office, health_unit
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(office)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("response:tasks")).status_code == 200
        return len(queries)

    task_assign(incident=reported, actor=office, title="任务一", unit=health_unit)
    few = count()
    for n in range(4):
        task_assign(
            incident=reported,
            actor=office,
            title=f"任务{n}",
            unit=health_unit,
            due_at=timezone.now() + timedelta(hours=n + 1),
        )
    assert count() == few


# Four eyes on content (issue 12, rows 3 and 7) -----------------------------------------------


def test_an_approver_who_edited_the_draft_gets_no_decision_form_and_is_refused(
    client, page, reported, analyst, people
):
    deputy = people["deputy"]
    deputy.role_assignments.create(role="analyst")  # may draft too
    plan = document_save_draft(
        model=ResponsePlan, incident=reported, actor=analyst, fields={"facts": "经核实属实。"}
    )
    client.force_login(deputy)
    edited = client.post(
        reverse("response:draft", args=[reported.pk, "plan"]),
        {"facts": "副组长改写的事实", "category": "hype"},
    )
    assert edited.status_code == 302
    document_submit(doc=plan, actor=analyst)
    assert DECIDE_PLAN_FORM not in page(deputy, reported)
    assert DECIDE_PLAN_FORM in page(people["leader"], reported)
    client.force_login(deputy)
    response = client.post(
        reverse("response:decide", args=[reported.pk, "plan", plan.pk]),
        {"verdict": "approve", "comment": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    assert "You wrote or edited this version" in response.content.decode()
    assert ResponsePlan.objects.get(pk=plan.pk).state == DocumentState.SUBMITTED


def test_submitting_a_plan_nobody_may_approve_shows_the_missing_approver(
    client, log_incident, advance, office
):
    education = User.objects.get(username="head").unit.__class__.objects.get(name="教育局")
    incident = advance(
        log_incident(unit=education, metrics={"reads": 300, "negative_share": "0.5"}),
        "reported",
        level=3,
        category="hype",
    )
    client.force_login(office)
    response = client.post(
        reverse("response:draft", args=[incident.pk, "plan"]),
        {"facts": "经核实属实。", "category": "hype", "then": "submit"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409
    assert "Nobody may approve this version" in response.content.decode()
    assert "教育局" in response.content.decode()
    assert ResponsePlan.objects.get(incident=incident).state == DocumentState.DRAFT


# Times bounded by what happened (issue 12, row 4) --------------------------------------------


def test_a_publication_dated_before_the_approval_is_a_form_error(
    client, reported, office, leader, spokesperson
):
    statement = approved_statement(reported, office, leader)
    client.force_login(spokesperson)
    for typed in ("2000-01-01T00:00", "0001-01-01T00:00"):
        response = client.post(
            reverse("response:publish", args=[reported.pk, statement.pk]),
            {"channel": "weibo", "url": "", "published_at": typed},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 400
        assert "Cannot be earlier than the statement&#x27;s approval" in (response.content.decode())
    assert not statement.publications.exists()
    assert reported.deadlines.get(kind="first_response").status == "open"


def test_follow_up_and_outcome_times_outside_their_bounds_are_form_errors(
    client, log_incident, advance, office, liaison, health_unit
):
    incident = advance(log_incident(), "tracking", level=2)
    task = task_assign(incident=incident, actor=office, title="核实收费记录", unit=health_unit)
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client.force_login(office)
    for typed in ("2000-01-01T00:00", tomorrow):
        response = client.post(
            reverse("response:follow_up", args=[incident.pk]),
            {
                "what_changed": "热度下降",
                "actions_taken": "",
                "at": typed,
                "reads": "",
                "reposts": "",
                "comments": "",
                "negative_share": "",
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 400
    client.force_login(liaison)
    for typed in ("2000-01-01T00:00", tomorrow):
        response = client.post(
            reverse("response:record", args=[incident.pk, task.pk]),
            {"text": "已退费", "done": "on", "completed_at": typed},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 400
        assert "Cannot be" in response.content.decode()
    assert not FollowUp.objects.filter(incident=incident).exists()
    assert Task.objects.get(pk=task.pk).state == Task.State.OPEN
