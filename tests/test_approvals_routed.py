"""Issue 14, item 2: approvals reach the approver. Each submission tells those who may
decide on it (and nobody else); a level change re-routes pending submissions, moving the
approval deadline; the author hears the decision, the spokesperson an approved statement,
a named tracker and a task's unit and assignee their work."""

from datetime import timedelta

import pytest

from incidents.models import Incident
from incidents.services import incident_change_level
from notifications.models import Notification
from response.assignments import task_assign
from response.documents import document_decide, document_save_draft, document_submit
from response.models import ResponsePlan, Statement
from response.tracking import incident_name_tracker
from tests.helpers import MONDAY_MORNING, at

pytestmark = pytest.mark.django_db
ACT = {
    Notification.Kind.APPROVAL_REQUESTED,
    Notification.Kind.STATEMENT_TO_PUBLISH,
    Notification.Kind.TRACKER_NAMED,
    Notification.Kind.TASK_ASSIGNED,
}


def told(kind: str, *, incident: Incident | None = None) -> set[str]:
    """Who received an in-app notification of ``kind``."""
    rows = Notification.objects.filter(kind=kind, channel=Notification.Channel.IN_APP)
    if incident is not None:
        rows = rows.filter(incident=incident)
    return set(rows.values_list("recipient__username", flat=True))


def told_to_act() -> set[tuple[str, str]]:
    return set(
        Notification.objects.filter(kind__in=ACT, channel=Notification.Channel.IN_APP).values_list(
            "kind", "recipient__username"
        )
    )


def submit_plan(incident: Incident, author) -> ResponsePlan:
    plan = document_save_draft(
        model=ResponsePlan,
        incident=incident,
        actor=author,
        fields={"facts": "经核实属实。", "category": "inquiry"},
    )
    return document_submit(doc=plan, actor=author)


def test_submission_tells_the_approvers_and_only_them(log_incident, advance, office, people):
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=3)
        Notification.objects.all().delete()  # the checklist's tasks, told at assessment
        submit_plan(incident, office)
    assert told(Notification.Kind.APPROVAL_REQUESTED) == {"head"}
    assert told_to_act() == {(Notification.Kind.APPROVAL_REQUESTED, "head")}


def test_decision_tells_the_author_and_an_approved_statement_the_spokesperson(
    log_incident, advance, office, people
):
    head = people["head"]
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=3)
        plan = submit_plan(incident, office)
        document_decide(doc=plan, actor=head, verdict="approve", comment="同意")
        assert told(Notification.Kind.APPROVAL_DECIDED) == {"office"}
        statement = document_save_draft(
            model=Statement,
            incident=incident,
            actor=office,
            fields={"text": "我委已关注到网友反映的问题。", "channels": ["weibo"]},
        )
        statement = document_submit(doc=statement, actor=office)
        assert told(Notification.Kind.STATEMENT_TO_PUBLISH) == set()
        document_decide(doc=statement, actor=head, verdict="approve", comment="同意")
    assert told(Notification.Kind.STATEMENT_TO_PUBLISH) == {"spokesperson"}


def test_a_named_tracker_and_a_task_s_unit_and_assignee_are_told(
    log_incident, advance, office, analyst, liaison, health_unit
):
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=3)
        Notification.objects.all().delete()
        incident_name_tracker(incident=incident, actor=office, tracker=analyst)
        assert told_to_act() == {(Notification.Kind.TRACKER_NAMED, "analyst")}
        task_assign(
            incident=incident,
            actor=office,
            title="核实收费情况",
            unit=health_unit,
            assignee=liaison,
            due_at=MONDAY_MORNING + timedelta(hours=4),
        )
    assert told(Notification.Kind.TASK_ASSIGNED) == {"liaison", "head"}


def test_raising_the_level_reroutes_a_pending_plan(log_incident, advance, office, analyst, people):
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=3)
        plan = submit_plan(incident, office)
    deadline = plan.approval_deadline
    assert deadline.remind_user_ids == [people["head"].pk]
    rules = {r.level: r.minutes for r in incident.plan_version.approval_rules.all()}
    assert deadline.due_at == plan.submitted_at + timedelta(minutes=rules[3])

    with at(MONDAY_MORNING + timedelta(minutes=5)):
        incident_change_level(incident=incident, actor=analyst, level=2, reason="主流媒体介入")

    deadline.refresh_from_db()
    assert deadline.level == 2
    assert deadline.due_at == plan.submitted_at + timedelta(minutes=rules[2])
    assert set(deadline.remind_user_ids) == {people["leader"].pk, people["deputy"].pk}
    assert told(Notification.Kind.APPROVAL_REQUESTED) == {"head", "leader", "deputy"}
    assert told(Notification.Kind.APPROVAL_REROUTED) == {"head"}
    rerouted = Notification.objects.get(
        kind=Notification.Kind.APPROVAL_REROUTED, channel=Notification.Channel.IN_APP
    )
    assert "Ⅱ" in rerouted.title
    # The leader, now told, may decide.
    with at(MONDAY_MORNING + timedelta(minutes=10)):
        document_decide(doc=plan, actor=people["leader"], verdict="approve", comment="同意")
    plan.refresh_from_db()
    assert plan.state == "approved"


def test_a_level_change_without_pending_submissions_tells_nobody(log_incident, advance, analyst):
    with at(MONDAY_MORNING):
        incident = advance(log_incident(), "reported", level=3)
        incident_change_level(incident=incident, actor=analyst, level=2, reason="主流媒体介入")
    assert told(Notification.Kind.APPROVAL_REQUESTED) == set()
    assert told(Notification.Kind.APPROVAL_REROUTED) == set()
