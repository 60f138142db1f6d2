"""Issue 14, item 3: my work (待我处理). What waits on a person, at ``GET /api/v1/me/work/``,
at the top of the board and counted in the bell: approvals routed to them (and re-routed
with the level), tasks of their unit, deadlines they answer for, arrivals to confirm,
follow-ups due; nearest due first, in a fixed number of queries. And the walk from a lead
to approval: before each decision the approver was told and sees it; nobody else is."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from incidents.models import Incident
from incidents.services import incident_change_level, incident_transition
from notifications.models import Notification
from notifications.work import work_list
from response.documents import document_decide, document_save_draft, document_submit
from response.models import DocumentState, ResponsePlan, Statement
from tests.helpers import MONDAY_MORNING, at

pytestmark = pytest.mark.django_db
WORK_URL = "/api/v1/me/work/"
# Told to act on a document: the approvers, the spokesperson.
ACT = (Notification.Kind.APPROVAL_REQUESTED, Notification.Kind.STATEMENT_TO_PUBLISH)


def work(api_for, user, **params) -> list[dict]:
    answer = api_for(user).get(WORK_URL, params)
    assert answer.status_code == 200, answer.data
    assert answer.data["count"] == len(answer.data["results"])
    return answer.data["results"]


def kinds(items: list[dict], kind: str) -> list[dict]:
    return [item for item in items if item["kind"] == kind]


def told(kind: str) -> set[str]:
    return set(
        Notification.objects.filter(kind=kind, channel=Notification.Channel.IN_APP).values_list(
            "recipient__username", flat=True
        )
    )


def submit(model, incident, author, fields):
    doc = document_save_draft(model=model, incident=incident, actor=author, fields=fields)
    return document_submit(doc=doc, actor=author)


def test_from_a_lead_to_approval_each_approver_is_told_and_sees_it(
    log_incident, analyst, office, people, api_for
):
    everyone = list(people.values())
    with at(MONDAY_MORNING):
        incident = log_incident(metrics={"casualties": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
        incident = incident_transition(incident=incident, action="report", actor=office)
        for model, fields in (
            (ResponsePlan, {"facts": "经核实属实。", "category": "hype"}),
            (Statement, {"text": "我们已关注到网友反映的情况。", "channels": ["weibo"]}),
        ):
            Notification.objects.filter(kind__in=ACT).delete()
            doc = submit(model, incident, office, fields)
            approvers = {"leader", "deputy"}
            assert told(Notification.Kind.APPROVAL_REQUESTED) == approvers
            while doc.state == DocumentState.SUBMITTED:
                # Nobody but the approvers who have not decided is asked to act.
                waiting = {
                    p.username
                    for p in everyone
                    if any(i.kind == "approval" for i in work_list(user=p))
                }
                assert waiting and waiting <= approvers
                approver = people[sorted(waiting)[0]]
                [item] = kinds(work(api_for, approver), "approval")
                assert item["incident"] == incident.pk
                assert item["link"] == reverse("response:incident", args=[incident.pk])
                assert item["due_at"] is not None
                document_decide(doc=doc, actor=approver, verdict="approve", comment="同意")
                approvers.discard(approver.username)
                doc.refresh_from_db()
            assert doc.state == DocumentState.APPROVED
            assert not any(kinds(work(api_for, p), "approval") for p in everyone)
    assert told(Notification.Kind.STATEMENT_TO_PUBLISH) == {"spokesperson"}
    assert told(Notification.Kind.APPROVAL_DECIDED) == {"office"}


def test_a_raised_level_moves_the_approval_to_the_leader_s_work_list(
    log_incident, advance, office, analyst, people, api_for
):
    head, leader = people["head"], people["leader"]
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=3)
        plan = submit(ResponsePlan, incident, office, {"facts": "经核实属实。"})
        [item] = kinds(work(api_for, head), "approval")
        assert not kinds(work(api_for, leader), "approval")
    with at(MONDAY_MORNING + timedelta(minutes=5)):
        incident_change_level(incident=incident, actor=analyst, level=2, reason="主流媒体介入")
        [moved] = kinds(work(api_for, leader), "approval")
        assert not kinds(work(api_for, head), "approval")
    plan.refresh_from_db()
    assert datetime.fromisoformat(moved["due_at"]) == plan.approval_deadline.due_at
    assert moved["due_at"] != item["due_at"]
    assert "leader" in told(Notification.Kind.APPROVAL_REQUESTED)
    assert told(Notification.Kind.APPROVAL_REROUTED) == {"head"}


def test_tasks_of_the_unit_arrivals_and_follow_ups_nearest_first(
    log_incident, advance, analyst, office, liaison, api_for
):
    with at(MONDAY_MORNING):
        incident = log_incident(metrics={"casualties": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="inquiry"
        )
        # The checklist of the category: tasks of the involved unit, for its liaison.
        tasks = kinds(work(api_for, liaison), "task")
        assert tasks and {t["incident"] for t in tasks} == {incident.pk}
        # A Ⅰ alarm: the office head's arrival clock.
        mine = work(api_for, office)
        [arrival] = kinds(mine, "arrival")
        assert arrival["incident"] == incident.pk and arrival["due_at"]
        dated = [i["due_at"] for i in mine if i["due_at"]]
        assert dated == sorted(dated)
        assert kinds(work(api_for, office, kind="arrival"), "arrival") == kinds(mine, "arrival")
        assert {i["kind"] for i in work(api_for, office, kind="arrival")} == {"arrival"}
    with at(MONDAY_MORNING + timedelta(minutes=20)):
        incident = advance(Incident.objects.get(pk=incident.pk), "tracking")
        [follow_up] = kinds(work(api_for, office), "follow_up")
        assert follow_up["incident"] == incident.pk


@pytest.mark.parametrize("count", [1, 6])
def test_the_work_list_query_count_does_not_grow_with_its_items(
    log_incident, advance, office, people, api_for, django_assert_num_queries, count
):
    head = people["head"]
    with at(MONDAY_MORNING):
        for number in range(count):
            incident = advance(log_incident(title=f"事件{number}"), "reported", level=3)
            submit(ResponsePlan, incident, office, {"facts": "经核实属实。"})
            submit(Statement, incident, office, {"text": "已关注。", "channels": ["weibo"]})
        client = api_for(head)
        # Token auth, the person's roles; deadlines, three kinds of documents, the
        # approval rules (who may approve at once from the list), tasks.
        with django_assert_num_queries(8):
            answer = client.get(WORK_URL)
    assert len(kinds(answer.data["results"], "approval")) == 2 * count
    assert len(kinds(answer.data["results"], "task")) >= count


def test_bad_input_is_a_400_and_no_login_a_403(api_for, duty, client):
    answer = api_for(duty).get(WORK_URL, {"kind": "nonsense"})
    assert answer.status_code == 400
    assert answer.data["kind"][0].code == "invalid_choice"
    assert APIClient().get(WORK_URL).status_code == 403


def test_the_board_shows_the_panel_and_the_bell_counts_it(
    client, log_incident, advance, office, people
):
    head = people["head"]
    with at(MONDAY_MORNING):
        incident = advance(log_incident(title="待审批的事件"), "reported", level=3)
        submit(ResponsePlan, incident, office, {"facts": "经核实属实。"})
        expected = len(work_list(user=head))
        client.force_login(head)
        content = client.get(reverse("incidents:board")).content.decode()
        bell = client.get(reverse("notifications:bell")).content.decode()
    assert 'id="work-panel"' in content
    assert f'data-work="{expected}"' in content
    assert 'data-kind="approval"' in content
    assert f'data-work="{expected}"' in bell


def test_a_monitoring_proposal_waits_on_those_who_decide_it(
    analyst, duty, liaison, spokesperson, health_unit, api_for
):
    from core.permissions import can
    from monitoring.intake.batches import posts_ingest
    from monitoring.models import Proposal
    from monitoring.text.matching import rule_create
    from monitoring.topics.refresh import topics_refresh

    with at(MONDAY_MORNING):
        rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
        posts_ingest(
            items=[
                {
                    "platform": "weibo",
                    "url": "https://weibo.com/p/1",
                    "author": "网友",
                    "text": "市第一医院被曝重复收费，患者家属晒出缴费单据。",
                    "published_at": (MONDAY_MORNING - timedelta(minutes=30)).isoformat(),
                    "reads": 60,
                    "reposts": 0,
                    "comments": 0,
                    "likes": 0,
                    "source_type": "social_account",
                }
            ],
            source="test",
        )
        topics_refresh()
        proposal = Proposal.objects.get()
        [item] = kinds(work(api_for, duty), "proposal")
        assert item["incident"] is None and item["due_at"] is None
        assert item["link"] == reverse("monitoring:board")
        assert proposal.topic.title in item["title"]
        # Only the roles that decide proposals see them.
        for person in (liaison, spokesperson):
            assert bool(kinds(work(api_for, person), "proposal")) == can(person, "decide_proposal")


def approval_of(user, plan) -> list:
    """The approval items of ``plan`` in ``user``'s work list (a fresh read of the person,
    as a new request would have)."""
    from organisation.models import User

    person = User.objects.get(pk=user.pk)
    return [
        i for i in work_list(user=person) if i.kind == "approval" and i.incident == plan.incident_id
    ]


def test_the_approver_approves_from_the_work_list_and_comes_back_to_the_board(
    client, log_incident, advance, office, leader
):
    with at(MONDAY_MORNING):
        incident = advance(log_incident(title="待批准的事件"), "reported", level=1)
        plan = submit(ResponsePlan, incident, office, {"facts": "经核实属实。"})
        [item] = approval_of(leader, plan)
        action = item.action
        assert action is not None
        assert action.url == reverse("response:decide", args=[incident.pk, "plan", plan.pk])
        assert action.fallback == reverse("response:incident", args=[incident.pk]) + "#plan"
        assert "待批准的事件" in action.confirmation and "Ⅰ" in action.confirmation
        client.force_login(leader)
        board = client.get(reverse("incidents:board")).content.decode()
        # The button, with what the dialog needs; without JavaScript a link to the page.
        assert f'href="{action.fallback}"' in board
        assert f'data-confirm-url="{action.url}"' in board
        assert board.count('id="confirm-dialog"') == 1
        # What the dialog posts: the verdict and the page to come back to.
        answer = client.post(
            action.url, {**dict(action.fields), "next": reverse("incidents:board")}
        )
    assert answer.status_code == 302 and answer.url == reverse("incidents:board")
    plan.refresh_from_db()
    assert plan.state == DocumentState.APPROVED
    assert not approval_of(leader, plan)


def test_a_decision_does_not_go_back_to_another_site(client, log_incident, advance, office, leader):
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=1)
        plan = submit(ResponsePlan, incident, office, {"facts": "经核实属实。"})
        client.force_login(leader)
        answer = client.post(
            reverse("response:decide", args=[incident.pk, "plan", plan.pk]),
            {"verdict": "approve", "next": "https://example.com/"},
        )
    assert answer.status_code == 302
    assert answer.url == reverse("response:incident", args=[incident.pk]) + "#plan"


def test_no_approve_button_for_the_author_or_for_who_may_no_longer_approve(
    client, log_incident, advance, people
):
    from organisation.models import RoleAssignment
    from organisation.roles import Role

    leader, deputy = people["leader"], people["deputy"]
    # The deputy leader, who approves at Ⅰ, also writes: four eyes, not two.
    RoleAssignment.objects.create(user=deputy, role=Role.ANALYST)
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=1)
        plan = submit(ResponsePlan, incident, deputy, {"facts": "经核实属实。"})
        assert not approval_of(deputy, plan)
        for name in ("office", "analyst", "duty", "spokesperson", "head"):
            assert not approval_of(people[name], plan)
        [item] = approval_of(leader, plan)
        assert item.action is not None
        # The leader steps down after the routing: the item still names them, but there
        # is no button, because the service would refuse.
        RoleAssignment.objects.filter(user=leader, role=Role.LEADER).delete()
        [item] = approval_of(leader, plan)
        assert item.action is None
        client.force_login(leader)
        assert "data-confirm-url" not in client.get(reverse("incidents:board")).content.decode()
        refused = client.post(
            reverse("response:decide", args=[incident.pk, "plan", plan.pk]),
            {"verdict": "approve", "next": reverse("incidents:board")},
        )
    assert refused.status_code == 403
    plan.refresh_from_db()
    assert plan.state == DocumentState.SUBMITTED and not plan.decisions.exists()
