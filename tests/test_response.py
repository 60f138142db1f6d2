"""The second half of the plan, through the services: approvals by level, the guards,
statements meeting their deadlines, checklists, tasks and follow-ups enforced by the
engine, and the review with its accountability section."""

from datetime import datetime, timedelta

import pytest

from core.errors import InvalidInput, PermissionDenied, StaleVersion, TransitionNotAllowed
from engine.sweep import sweep
from incidents.models import Incident
from incidents.services import incident_transition
from notifications.models import Notification
from organisation.models import RoleAssignment, User
from response.assignments import task_assign, task_record
from response.documents import (
    approvers,
    document_decide,
    document_save_draft,
    document_submit,
    statement_publish,
)
from response.models import ResponsePlan, Review, Statement, Task
from response.reviews import review_record
from response.tracking import follow_up_file
from tests.helpers import MONDAY_MORNING, SHANGHAI, approve_a_response_plan, approve_the_review, at

pytestmark = pytest.mark.django_db
FOUND = MONDAY_MORNING


def plan_for(incident, author, **fields):
    return document_save_draft(
        model=ResponsePlan,
        incident=incident,
        actor=author,
        fields={"facts": "经核实属实。", **fields},
    )


def test_levels_one_and_two_are_approved_by_the_leader_or_a_deputy(log_incident, advance, people):
    incident = advance(
        log_incident(metrics={"casualties": True}), "reported", level=1, category="hype"
    )
    assert {p.username for p in approvers(incident=incident)} == {"leader", "deputy"}


def test_levels_three_and_four_are_approved_by_the_head_of_the_leading_unit(log_incident, advance):
    incident = advance(log_incident(), "reported")  # Ⅳ: the involved unit leads
    assert [p.username for p in approvers(incident=incident)] == ["head"]


def second_head(unit) -> User:
    """Another head of ``unit``, so that someone else than a contributor may approve."""
    person = User.objects.create(username="head2", display_name="钱副主任", unit=unit)
    RoleAssignment.objects.create(user=person, role="unit_head")
    return person


def test_the_author_can_never_approve_their_own_draft(log_incident, advance, people, health_unit):
    head = people["head"]
    RoleAssignment.objects.create(user=head, role="analyst")  # may draft too
    other = second_head(health_unit)
    incident = advance(log_incident(), "reported")
    plan = document_submit(doc=plan_for(incident, head), actor=head)
    with pytest.raises(PermissionDenied):
        document_decide(doc=plan, actor=head, verdict="approve")
    assert ResponsePlan.objects.get(pk=plan.pk).state == "submitted"
    document_decide(doc=plan, actor=other, verdict="approve")
    assert ResponsePlan.objects.get(pk=plan.pk).state == "approved"


def test_a_decision_on_a_superseded_version_is_refused(log_incident, advance, office, people):
    incident = advance(log_incident(), "reported")
    first = document_submit(doc=plan_for(incident, office), actor=office)
    second = plan_for(incident, office, statement_line="新口径")
    assert (second.version, ResponsePlan.objects.get(pk=first.pk).state) == (2, "superseded")
    with pytest.raises(StaleVersion):
        document_decide(doc=first, actor=people["head"], verdict="approve")


def test_an_approved_plan_is_frozen_and_a_change_needs_a_new_approval(
    log_incident, advance, office, people
):
    incident = advance(log_incident(), "reported")
    approved = approve_a_response_plan(incident, author=office)
    changed = plan_for(incident, office, measures_online="加强回应")
    assert changed.version == approved.version + 1 and changed.state == "draft"
    assert ResponsePlan.objects.get(pk=approved.pk).state == "approved"  # still in force
    document_submit(doc=changed, actor=office)
    document_decide(doc=changed, actor=people["head"], verdict="approve")
    assert ResponsePlan.objects.get(pk=approved.pk).state == "superseded"


def test_a_level_may_require_more_than_one_approval(log_incident, advance, office, people):
    incident = advance(
        log_incident(metrics={"casualties": True}), "reported", level=1, category="hype"
    )
    incident.plan_version.approval_rules.filter(level=1).update(required=2)
    plan = document_submit(doc=plan_for(incident, office), actor=office)
    document_decide(doc=plan, actor=people["leader"], verdict="approve", comment="同意")
    assert ResponsePlan.objects.get(pk=plan.pk).state == "submitted"
    with pytest.raises(StaleVersion):
        document_decide(doc=plan, actor=people["leader"], verdict="approve")
    document_decide(doc=plan, actor=people["deputy"], verdict="approve")
    assert ResponsePlan.objects.get(pk=plan.pk).state == "approved"


def test_rejection_and_requests_for_changes_need_a_comment(log_incident, advance, office, people):
    incident = advance(log_incident(), "reported")
    plan = document_submit(doc=plan_for(incident, office), actor=office)
    with pytest.raises(InvalidInput):
        document_decide(doc=plan, actor=people["head"], verdict="reject")
    document_decide(
        doc=plan, actor=people["head"], verdict="request_changes", comment="补充线下措施"
    )
    assert ResponsePlan.objects.get(pk=plan.pk).state == "changes_requested"
    assert incident.timeline.filter(
        action="response_plan_request_changes", reason="补充线下措施"
    ).exists()


def test_the_response_cannot_start_without_an_approved_plan(log_incident, advance, office, leader):
    incident = advance(log_incident(), "reported")
    with pytest.raises(TransitionNotAllowed, match="approved response plan"):
        incident_transition(incident=incident, action="respond", actor=leader)
    approve_a_response_plan(incident, author=office)
    assert (
        incident_transition(incident=incident, action="respond", actor=leader).state == "responding"
    )


def test_approvers_are_notified_and_an_undecided_approval_escalates(log_incident, advance, office):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            "reported",
            level=1,
            category="hype",
        )
        plan = document_submit(doc=plan_for(incident, office), actor=office)
    asked = Notification.objects.filter(kind="approval_requested", channel="in_app")
    assert sorted(asked.values_list("recipient__username", flat=True)) == ["deputy", "leader"]
    deadline = plan.approval_deadline
    assert deadline.due_at == FOUND + timedelta(minutes=30)
    with at(FOUND + timedelta(minutes=15)):
        sweep()  # half the window: the approvers are reminded
    reminded = Notification.objects.filter(deadline=deadline, kind="reminder", channel="in_app")
    assert sorted(reminded.values_list("recipient__username", flat=True)) == ["deputy", "leader"]
    with at(FOUND + timedelta(minutes=30)):
        sweep()
    assert Notification.objects.filter(deadline=deadline, kind="overdue").exists()


def test_the_first_publication_meets_the_first_response_and_the_official_release(
    log_incident, advance, office, people
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
            fields={"text": "关于网传情况的通报", "channels": ["weibo"]},
        )
        document_submit(doc=statement, actor=office)
    with pytest.raises(TransitionNotAllowed):
        statement_publish(statement=statement, actor=people["spokesperson"], channel="weibo")
    with at(FOUND + timedelta(minutes=40)):
        document_decide(doc=statement, actor=people["leader"], verdict="approve")
    with pytest.raises(PermissionDenied):
        statement_publish(statement=statement, actor=office, channel="weibo")
    published = FOUND + timedelta(minutes=50)
    with at(FOUND + timedelta(hours=1)):
        statement_publish(
            statement=statement,
            actor=people["spokesperson"],
            channel="weibo",
            published_at=published,
            url="https://weibo.com/p/1",
        )
        statement_publish(
            statement=statement,
            actor=people["spokesperson"],
            channel="website",
            published_at=published + timedelta(minutes=5),
        )
    for kind in ("first_response", "official_release"):
        deadline = incident.deadlines.get(kind=kind)
        assert (deadline.status, deadline.met_at) == ("met", published)


def test_choosing_a_category_creates_its_checklist_as_tasks(log_incident, analyst):
    with at(FOUND):
        incident = incident_transition(
            incident=log_incident(discovered_at=FOUND),
            action="assess",
            actor=analyst,
            level=4,
            category="inquiry",
        )
    tasks = list(Task.objects.filter(incident=incident).order_by("id"))
    assert [t.title for t in tasks] == ["答复：当天提出处理意见并回复", "办结后答复处理结果"]
    assert all(t.unit == incident.unit for t in tasks)
    same_day = datetime(2026, 3, 2, 23, 59, 59, tzinfo=SHANGHAI)
    assert (tasks[0].due_at, tasks[1].due_at) == (same_day, None)
    assert tasks[0].deadline.due_at == same_day


def test_fabrication_gets_a_clarification_and_a_referral(log_incident, analyst):
    incident = incident_transition(
        incident=log_incident(), action="assess", actor=analyst, level=4, category="fabrication"
    )
    assert sorted(Task.objects.filter(incident=incident).values_list("title", flat=True)) == [
        "澄清事实",
        "移交执法机关依法处理",
    ]


def test_a_task_is_reminded_through_the_engine_and_met_by_its_outcome(
    log_incident, advance, office, liaison, health_unit
):
    with at(FOUND):
        incident = advance(log_incident(discovered_at=FOUND), "reported")
        task = task_assign(
            incident=incident,
            actor=office,
            title="核实收费情况",
            unit=health_unit,
            due_at=FOUND + timedelta(hours=2),
        )
    told = Notification.objects.filter(
        kind="task_assigned", deadline=task.deadline, channel="in_app"
    )
    assert sorted(told.values_list("recipient__username", flat=True)) == ["head", "liaison"]
    with at(FOUND + timedelta(hours=1)):
        sweep()
    reminded = Notification.objects.filter(
        deadline=task.deadline, kind="reminder", channel="in_app"
    )
    assert sorted(reminded.values_list("recipient__username", flat=True)) == ["head", "liaison"]
    with at(FOUND + timedelta(minutes=90)):
        task_record(
            task=task, actor=liaison, text="已核实并退费", link="https://example.org/r", done=True
        )
    task.refresh_from_db()
    assert (task.state, task.deadline.status) == ("done", "met")
    with pytest.raises(TransitionNotAllowed):
        task_record(task=task, actor=liaison, text="再次", done=True)


def test_only_the_assignee_the_units_liaison_or_the_office_head_record_a_task(
    log_incident, advance, office, duty, health_unit
):
    incident = advance(log_incident(), "reported")
    task = task_assign(incident=incident, actor=office, title="核实", unit=health_unit)
    with pytest.raises(PermissionDenied):
        task_record(task=task, actor=duty, text="x")


@pytest.mark.parametrize(("level", "hours"), [(1, 2), (2, 4), (3, 24), (4, 24)])
def test_follow_ups_are_due_at_the_levels_cadence(level, hours, log_incident, advance, office):
    metrics = {
        1: {"casualties": True},
        2: {"mainstream_media": True},
        3: {"reads": 300, "negative_share": "0.5"},
        4: {},
    }[level]
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics=metrics),
            "tracking",
            level=level,
            category="hype",
        )
    first = incident.deadlines.get(kind="follow_up", status="open")
    assert (first.due_at, first.assignee) == (FOUND + timedelta(hours=hours), office)
    filed = FOUND + timedelta(hours=hours / 2)
    with at(filed):
        follow_up_file(
            incident=incident, actor=office, what_changed="热度下降", metrics={"reads": 10}
        )
    first.refresh_from_db()
    assert first.status == "met"
    nxt = incident.deadlines.get(kind="follow_up", status="open")
    assert nxt.due_at == filed + timedelta(hours=hours)


def test_a_missed_follow_up_is_late_like_any_deadline(log_incident, advance):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            "tracking",
            level=1,
            category="hype",
        )
    with at(FOUND + timedelta(hours=2)):
        sweep()
    follow_up = incident.deadlines.get(kind="follow_up")
    assert follow_up.late_report.person.username == "office"


def test_follow_ups_are_filed_from_the_report_until_the_review(log_incident, advance, office):
    incident = advance(log_incident(), "assessed")
    with pytest.raises(TransitionNotAllowed):
        follow_up_file(incident=incident, actor=office, what_changed="x")
    incident = advance(incident, "responding")
    follow_up_file(incident=incident, actor=office, what_changed="处置进展")
    incident = advance(incident, "reviewing")
    with pytest.raises(TransitionNotAllowed):
        follow_up_file(incident=incident, actor=office, what_changed="x")
    assert incident.follow_ups.count() == 1


@pytest.mark.parametrize(("level", "starts"), [(1, "reported"), (2, "reported"), (4, "responding")])
def test_the_follow_up_cadence_starts_at_the_stage_the_plan_names(
    level, starts, log_incident, advance, office
):
    metrics = {1: {"casualties": True}, 2: {"mainstream_media": True}, 4: {}}[level]
    incident = advance(log_incident(metrics=metrics), "assessed", level=level)
    for state in ("reported", "responding"):
        incident = advance(incident, state)
        due = incident.deadlines.filter(kind="follow_up", status="open")
        assert due.exists() == (
            (state == "reported" and starts == "reported") or state == "responding"
        )


def test_a_report_before_the_cadence_starts_owes_no_next_one(log_incident, advance, office):
    incident = advance(log_incident(), "reported", level=4)
    follow_up_file(incident=incident, actor=office, what_changed="主动续报")
    assert not incident.deadlines.filter(kind="follow_up").exists()
    incident = advance(incident, "tracking")
    clock = incident.deadlines.get(kind="follow_up", status="open")
    assert clock.assignee == office  # the tracker


def test_the_review_is_prefilled_with_the_accountability_section(log_incident, advance, office):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            "assessed",
            level=1,
            category="hype",
        )
    with at(FOUND + timedelta(minutes=45)):
        sweep()
        incident = advance(incident, "reviewing")  # the report went in 15 minutes late
    review = Review.objects.get(incident=incident)
    assert review.state == "draft" and review.author == office
    assert "报告领导小组" in review.summary or "Report to the leadership" in review.summary
    record = review_record(incident=incident)
    late = next(
        r for r in record["accountability"] if r["obligation"].startswith(("Report", "报告"))
    )
    assert (late["status"], late["unit"]) == ("late", "领导小组办公室")


def test_approving_the_review_closes_the_incident(log_incident, advance, office):
    incident = advance(log_incident(), "reviewing")
    incident = approve_the_review(incident, author=office)
    assert incident.state == "closed"
    close = incident.timeline.get(kind="transition", action="close")
    assert close.actor.username == "head" and "Review v1" in close.reason


def test_a_drill_review_needs_its_evaluation(log_incident, advance, office):
    drill = advance(log_incident(is_drill=True), "reviewing")
    review = Review.objects.get(incident=drill)
    with pytest.raises(InvalidInput):
        document_submit(doc=review, actor=office)
    document_save_draft(
        model=Review,
        incident=drill,
        actor=office,
        fields={"drill_evaluation": "响应及时，口径审批需提速。"},
    )
    document_submit(doc=Review.objects.get(incident=drill), actor=office)
    assert Incident.objects.get(pk=drill.pk).state == "reviewing"


def test_a_new_version_starts_from_the_latest_so_only_changes_are_sent(
    log_incident, advance, office, health_unit
):
    incident = advance(log_incident(), "reported")
    first = document_save_draft(
        model=ResponsePlan,
        incident=incident,
        actor=office,
        fields={"facts": "经核实属实。", "measures_online": "网上回应", "units": [health_unit]},
    )
    document_submit(doc=first, actor=office)
    second = document_save_draft(
        model=ResponsePlan, incident=incident, actor=office, fields={"measures_offline": "现场核查"}
    )
    assert (second.version, second.facts, second.measures_online, second.measures_offline) == (
        2,
        "经核实属实。",
        "网上回应",
        "现场核查",
    )
    assert list(second.units.all()) == [health_unit]


def test_naming_a_tracker_passes_the_follow_up_clock_to_them(
    log_incident, advance, office, duty, api_for
):
    from response.tracking import incident_name_tracker

    incident = advance(log_incident(), "tracking")
    assert Incident.objects.get(pk=incident.pk).tracker == office  # who started tracking
    with pytest.raises(PermissionDenied):
        incident_name_tracker(incident=incident, actor=duty, tracker=duty)
    answer = api_for(office).post(
        f"/api/v1/incidents/{incident.pk}/tracker/", {"tracker": duty.pk}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["tracker"] == duty.pk
    assert incident.deadlines.get(kind="follow_up", status="open").assignee == duty
    assert incident.timeline.filter(action="tracker_named", actor=office).exists()
    follow_up_file(incident=incident, actor=duty, what_changed="已平息")
    assert incident.deadlines.get(kind="follow_up", status="open").assignee == duty


def test_the_tracker_is_named_on_the_response_page(client, log_incident, advance, office, duty):
    incident = advance(log_incident(), "tracking")
    client.force_login(office)
    answer = client.post(f"/incidents/{incident.pk}/response/tracker/", {"tracker": duty.pk})
    assert answer.status_code == 302
    assert Incident.objects.get(pk=incident.pk).tracker == duty


# Four eyes on content (issue 12, rows 3 and 7) -------------------------------------------------


def office_unit():
    from organisation.models import Unit

    return Unit.objects.get(name="领导小组办公室")


def drafted(model, incident, author, **fields):
    defaults = {
        ResponsePlan: {"facts": "经核实属实。"},
        Statement: {"text": "关于网传情况的通报", "channels": ["weibo"]},
        Review: {"lessons": "口径审批需提速。"},
    }[model]
    return document_save_draft(
        model=model, incident=incident, actor=author, fields={**defaults, **fields}
    )


@pytest.mark.parametrize("model", [ResponsePlan, Statement, Review])
def test_whoever_edited_any_part_of_a_version_may_not_decide_on_it(
    model, log_incident, advance, analyst, people
):
    deputy, leader = people["deputy"], people["leader"]
    RoleAssignment.objects.create(user=deputy, role="analyst")  # may draft too
    incident = advance(
        log_incident(metrics={"casualties": True}),
        "reviewing" if model is Review else "reported",
        level=1,
        category="hype",
    )
    doc = drafted(model, incident, analyst)
    edited = drafted(model, incident, deputy, **{KIND_FIELD[model]: "副组长改写的内容"})
    assert edited.pk == doc.pk and edited.author != deputy  # edited in place, not authored
    doc = document_submit(doc=edited, actor=analyst)
    assert set(doc.contributors.values_list("username", flat=True)) >= {"analyst", "deputy"}
    with pytest.raises(PermissionDenied, match="wrote or edited"):
        document_decide(doc=doc, actor=deputy, verdict="approve")
    assert model.objects.get(pk=doc.pk).state == "submitted"
    assert not Incident.objects.filter(pk=incident.pk, state="closed").exists()
    document_decide(doc=doc, actor=leader, verdict="approve")
    assert model.objects.get(pk=doc.pk).state == "approved"


KIND_FIELD = {ResponsePlan: "facts", Statement: "text", Review: "lessons"}


def test_the_office_head_who_overwrote_the_analysts_draft_cannot_have_it_approved_by_himself(
    log_incident, advance, analyst, office
):
    # Ⅳ of the office itself: the office head is the only approver the plan names.
    incident = advance(log_incident(unit=office_unit()), "reported")
    assert [p.username for p in approvers(incident=incident)] == ["office"]
    plan = plan_for(incident, analyst)
    plan = plan_for(incident, office, facts="办公室主任改写的事实")
    with pytest.raises(TransitionNotAllowed, match="Office head of 领导小组办公室"):
        document_submit(doc=plan, actor=office)
    with pytest.raises(PermissionDenied):
        document_decide(doc=plan, actor=office, verdict="approve")
    plan.refresh_from_db()
    assert (plan.state, plan.approval_deadline_id) == ("draft", None)
    assert not plan.decisions.exists()
    assert not incident.deadlines.filter(kind="approval").exists()
    assert not Notification.objects.filter(kind="approval_requested").exists()


def test_an_edit_after_submission_starts_a_new_version_keeping_every_contributor(
    log_incident, advance, analyst, office, people
):
    incident = advance(log_incident(), "reported")  # Ⅳ: the head of 卫生健康委员会 approves
    first = document_submit(doc=plan_for(incident, analyst), actor=analyst)
    second = plan_for(incident, office, measures_online="官方微博回应")
    assert second.pk != first.pk and second.version == 2
    first.refresh_from_db()
    assert (first.state, first.facts, first.measures_online) == ("superseded", "经核实属实。", "")
    assert set(second.contributors.values_list("username", flat=True)) == {"analyst", "office"}
    with pytest.raises(StaleVersion):
        document_decide(doc=first, actor=people["head"], verdict="approve")
    assert incident.timeline.filter(
        action="response_plan_drafted", actor=office, data__version=2
    ).exists()


def test_a_submission_nobody_may_approve_is_refused_naming_the_missing_approver(
    log_incident, advance, office
):
    from organisation.models import Unit

    education = Unit.objects.get(name="教育局")  # no head
    incident = advance(
        log_incident(unit=education, metrics={"reads": 300, "negative_share": "0.5"}),
        "reported",
        level=3,
        category="hype",
    )
    assert incident.level == 3 and approvers(incident=incident) == []
    plan = plan_for(incident, office)
    with pytest.raises(TransitionNotAllowed) as refused:
        document_submit(doc=plan, actor=office)
    assert "Head of a member unit" in str(refused.value.message)
    assert "教育局" in str(refused.value.message)
    assert ResponsePlan.objects.get(pk=plan.pk).state == "draft"
    head = User.objects.create(username="edu_head", display_name="教育局局长", unit=education)
    RoleAssignment.objects.create(user=head, role="unit_head")
    document_submit(doc=plan, actor=office)
    document_decide(doc=plan, actor=head, verdict="approve")
    assert ResponsePlan.objects.get(pk=plan.pk).state == "approved"


def test_too_few_approvers_besides_the_contributors_is_refused_at_submission(
    log_incident, advance, analyst, people
):
    deputy = people["deputy"]
    RoleAssignment.objects.create(user=deputy, role="analyst")
    incident = advance(
        log_incident(metrics={"casualties": True}), "reported", level=1, category="hype"
    )
    incident.plan_version.approval_rules.filter(level=1).update(required=2)
    plan_for(incident, analyst)
    plan = plan_for(incident, deputy, measures_offline="现场核查")
    with pytest.raises(TransitionNotAllowed, match="needs 2"):
        document_submit(doc=plan, actor=analyst)


def test_approvers_who_contributed_are_neither_asked_nor_reminded(
    log_incident, advance, analyst, people
):
    deputy = people["deputy"]
    RoleAssignment.objects.create(user=deputy, role="analyst")
    incident = advance(
        log_incident(metrics={"casualties": True}), "reported", level=1, category="hype"
    )
    plan_for(incident, analyst)
    plan = document_submit(
        doc=plan_for(incident, deputy, measures_offline="现场核查"), actor=analyst
    )
    asked = Notification.objects.filter(kind="approval_requested", channel="in_app")
    assert list(asked.values_list("recipient__username", flat=True)) == ["leader"]
    assert plan.approval_deadline.remind_user_ids == [people["leader"].pk]


# Times bounded by what happened (issue 12, row 4) ---------------------------------------------


def approved_statement_at(incident, author, approver, moment):
    statement = document_save_draft(
        model=Statement,
        incident=incident,
        actor=author,
        fields={"text": "关于网传情况的通报", "channels": ["weibo"]},
    )
    with at(moment - timedelta(minutes=10)):
        document_submit(doc=statement, actor=author)
    with at(moment):
        return document_decide(doc=statement, actor=approver, verdict="approve")


@pytest.mark.parametrize(
    "published",
    [
        datetime(2000, 1, 1, tzinfo=SHANGHAI),  # row 4
        datetime(1, 1, 1, tzinfo=SHANGHAI),
        FOUND + timedelta(minutes=39, seconds=59),  # before the approval's minute
        FOUND + timedelta(hours=1, seconds=1),  # after now
    ],
)
def test_a_publication_outside_approval_and_now_is_refused_and_meets_nothing(
    published, log_incident, advance, office, leader, spokesperson
):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"mainstream_media": True}),
            "reported",
            level=2,
            category="hype",
        )
    statement = approved_statement_at(incident, office, leader, FOUND + timedelta(minutes=40))
    with at(FOUND + timedelta(hours=1)), pytest.raises(InvalidInput) as refused:
        statement_publish(
            statement=statement, actor=spokesperson, channel="weibo", published_at=published
        )
    assert set(refused.value.field_errors) == {"published_at"}
    assert not statement.publications.exists()
    assert incident.deadlines.get(kind="first_response").status == "open"


def test_a_publication_between_approval_and_now_meets_the_deadlines_at_its_time(
    log_incident, advance, office, leader, spokesperson
):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"mainstream_media": True}),
            "reported",
            level=2,
            category="hype",
        )
    approval = FOUND + timedelta(minutes=40, seconds=30)
    statement = approved_statement_at(incident, office, leader, approval)
    with at(FOUND + timedelta(hours=1)):
        # A form gives minutes: 09:40 in the approval's minute stands for the approval.
        first = statement_publish(
            statement=statement,
            actor=spokesperson,
            channel="weibo",
            published_at=FOUND + timedelta(minutes=40),
        )
        now = statement_publish(
            statement=statement,
            actor=spokesperson,
            channel="website",
            published_at=FOUND + timedelta(hours=1),
        )
    assert (first.published_at, now.published_at) == (approval, FOUND + timedelta(hours=1))
    assert incident.deadlines.get(kind="first_response").met_at == approval
    entry = incident.timeline.filter(action="statement_published").first()
    assert (entry.actor, entry.at) == (spokesperson, FOUND + timedelta(hours=1))
    assert datetime.fromisoformat(entry.data["published_at"]) == approval


def test_a_follow_up_time_lies_between_what_it_follows_and_now(log_incident, advance, office):
    with at(FOUND):
        incident = advance(
            log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            "tracking",
            level=1,
            category="hype",
        )  # a report due every 2 h
    with at(FOUND + timedelta(hours=1)):
        for wrong in (
            datetime(2000, 1, 1, tzinfo=SHANGHAI),
            FOUND - timedelta(minutes=1),
            FOUND + timedelta(hours=1, seconds=1),
        ):
            with pytest.raises(InvalidInput) as refused:
                follow_up_file(incident=incident, actor=office, what_changed="热度下降", at=wrong)
            assert set(refused.value.field_errors) == {"at"}
        assert incident.deadlines.get(kind="follow_up", status="open").due_at == (
            FOUND + timedelta(hours=2)
        )
        reported = FOUND + timedelta(minutes=30)  # by phone; recorded half an hour later
        filed = follow_up_file(
            incident=incident, actor=office, what_changed="热度下降", at=reported
        )
        assert filed.at == reported
        with pytest.raises(InvalidInput):  # not before the report it follows
            follow_up_file(
                incident=incident,
                actor=office,
                what_changed="再报",
                at=reported - timedelta(minutes=1),
            )
    assert incident.deadlines.filter(kind="follow_up", status="met", met_at=reported).exists()
    assert incident.deadlines.get(kind="follow_up", status="open").due_at == (
        reported + timedelta(hours=2)
    )
    entry = incident.timeline.get(action="follow_up_filed")
    assert (entry.at, datetime.fromisoformat(entry.data["at"])) == (
        FOUND + timedelta(hours=1),
        reported,
    )


def test_a_task_outcome_time_lies_between_the_tasks_creation_and_now(
    log_incident, advance, office, liaison, health_unit
):
    with at(FOUND):
        incident = advance(log_incident(discovered_at=FOUND), "reported")
    with at(FOUND + timedelta(minutes=10)):
        task = task_assign(
            incident=incident,
            actor=office,
            title="核实收费情况",
            unit=health_unit,
            due_at=FOUND + timedelta(hours=2),
        )
    with at(FOUND + timedelta(hours=3)):
        for wrong in (
            datetime(2000, 1, 1, tzinfo=SHANGHAI),
            FOUND + timedelta(minutes=9),
            FOUND + timedelta(hours=3, seconds=1),
        ):
            with pytest.raises(InvalidInput) as refused:
                task_record(task=task, actor=liaison, text="已退费", done=True, completed_at=wrong)
            assert set(refused.value.field_errors) == {"completed_at"}
        with pytest.raises(InvalidInput):  # progress carries no completion time
            task_record(
                task=task, actor=liaison, text="进行中", completed_at=FOUND + timedelta(hours=1)
            )
        assert Task.objects.get(pk=task.pk).state == "open"
        done = FOUND + timedelta(hours=1, minutes=30)
        task_record(task=task, actor=liaison, text="已退费", done=True, completed_at=done)
    task.refresh_from_db()
    assert (task.state, task.completed_at, task.deadline.met_at) == ("done", done, done)
    entry = incident.timeline.get(action="task_done")
    assert (entry.actor, entry.at, datetime.fromisoformat(entry.data["completed_at"])) == (
        liaison,
        FOUND + timedelta(hours=3),
        done,
    )
