"""Issue 14, item 7: level changes by the plan's rules. Analysts and the office raise a
level at once (the safer direction); lowering a level, and any change to a reported Ⅰ/Ⅱ,
is a proposal that the leader or a deputy decides, never its proposer; until then the
incident keeps its level and its stricter deadlines."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from core.errors import PermissionDenied, StaleVersion, TransitionNotAllowed
from deadlines.models import Deadline
from engine.sweep import sweep
from incidents.models import Incident, LevelChange
from incidents.services import (
    incident_change_level,
    incident_create,
    incident_transition,
    level_change_decide,
)
from notifications.models import Notification
from notifications.work import Kind, work_list
from organisation.demo import demo_organisation_load
from tests.helpers import MONDAY_MORNING, at

pytestmark = pytest.mark.django_db
LATER = MONDAY_MORNING + timedelta(minutes=5)


def change_level(api_for, user, incident, level, reason="热度下降", **extra):
    return api_for(user).post(
        f"/api/v1/incidents/{incident.pk}/change-level/",
        {"level": level, "reason": reason, **extra},
        format="json",
    )


def decide(api_for, user, change_id, verdict, reason=""):
    return api_for(user).post(
        f"/api/v1/level-changes/{change_id}/{verdict}/", {"reason": reason}, format="json"
    )


def due_times(incident) -> dict[str, object]:
    return {
        d.kind: (d.level, d.due_at, d.status)
        for d in Deadline.objects.filter(incident=incident, assignee__isnull=True).exclude(
            kind="level_change"
        )
    }


def told(kind: str) -> set[str]:
    return set(
        Notification.objects.filter(kind=kind, channel=Notification.Channel.IN_APP).values_list(
            "recipient__username", flat=True
        )
    )


@pytest.fixture
def level_one(log_incident, analyst):
    """A Ⅰ assessed at Monday 9:00, not yet reported: its report is due at 9:30."""
    with at(MONDAY_MORNING):
        incident = log_incident(discovered_at=MONDAY_MORNING, metrics={"casualties": True})
        return incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )


@pytest.fixture
def proposed(level_one, analyst, api_for):
    """The analyst proposes to lower the Ⅰ to Ⅳ five minutes on."""
    with at(LATER):
        answer = change_level(api_for, analyst, level_one, 4, reason="经核实系谣言")
    assert answer.status_code == 202, answer.data
    return LevelChange.objects.get(pk=answer.data["id"])


def test_an_analyst_raises_a_level_at_once(log_incident, advance, analyst, api_for):
    incident = advance(log_incident(), "assessed", level=3)
    answer = change_level(api_for, analyst, incident, 2, reason="主流媒体跟进")
    assert answer.status_code == 200, answer.data
    assert answer.data["level"] == 2
    assert not LevelChange.objects.exists()


def test_lowering_a_level_one_is_a_proposal_and_changes_nothing_meanwhile(
    level_one, analyst, api_for
):
    before = due_times(level_one)
    version = Incident.objects.get(pk=level_one.pk).version
    with at(LATER):
        answer = change_level(api_for, analyst, level_one, 4, reason="经核实系谣言")
    assert answer.status_code == 202, answer.data
    assert (answer.data["from_level"], answer.data["to_level"]) == (1, 4)
    assert (answer.data["status"], answer.data["proposed_by"]) == ("pending", "analyst")
    incident = Incident.objects.get(pk=level_one.pk)
    assert (incident.level, incident.colour, incident.version) == (1, "red", version)
    assert due_times(level_one) == before
    assert before["report"][1] == MONDAY_MORNING + timedelta(minutes=30)
    decision = Deadline.objects.get(incident=level_one, kind="level_change")
    assert decision.due_at == LATER + timedelta(minutes=30)
    assert answer.data["due_at"] is not None


def test_a_pending_lowering_keeps_the_stricter_report_deadline_escalating(level_one, proposed):
    with at(MONDAY_MORNING + timedelta(minutes=29, seconds=59)):
        sweep()
    overdue = Notification.objects.filter(
        incident=level_one, deadline__kind="report", kind__in=["overdue", "escalation"]
    )
    assert not overdue.exists()
    with at(MONDAY_MORNING + timedelta(minutes=30)):
        sweep()
    assert set(overdue.values_list("kind", flat=True)) == {"overdue"}
    assert Incident.objects.get(pk=level_one.pk).level == 1


def test_the_leader_approves_the_lowering_the_deadlines_relax_and_the_proposer_is_told(
    level_one, proposed, api_for, leader, analyst
):
    with at(LATER + timedelta(minutes=10)):
        answer = decide(api_for, leader, proposed.pk, "approve")
    assert answer.status_code == 200, answer.data
    assert (answer.data["status"], answer.data["decided_by"]) == ("approved", "leader")
    incident = Incident.objects.get(pk=level_one.pk)
    assert (incident.level, incident.colour) == (4, "blue")
    report = incident.deadlines.get(kind="report")
    assert (report.level, report.due_at) == (4, MONDAY_MORNING + timedelta(minutes=1440))
    decision = incident.deadlines.get(kind="level_change")
    assert (decision.status, decision.met_at) == ("met", LATER + timedelta(minutes=10))
    entry = incident.timeline.get(action="change_level")
    assert (entry.actor, entry.from_level, entry.to_level, entry.reason) == (
        leader,
        1,
        4,
        "经核实系谣言",
    )
    assert entry.data["proposed_by"] == analyst.pk
    assert told(Notification.Kind.LEVEL_CHANGE_DECIDED) == {"analyst"}


def test_a_decider_may_not_approve_their_own_proposal(level_one, api_for, leader, deputy):
    answer = change_level(api_for, leader, level_one, 3)
    assert answer.status_code == 202, answer.data
    refused = decide(api_for, leader, answer.data["id"], "approve")
    assert refused.status_code == 403
    assert refused.data["detail"] == "此次等级调整由您提议，须由其他领导决定。"
    assert Incident.objects.get(pk=level_one.pk).level == 1
    assert told(Notification.Kind.LEVEL_CHANGE_PENDING) == {"deputy"}
    assert decide(api_for, deputy, answer.data["id"], "approve").status_code == 200
    assert Incident.objects.get(pk=level_one.pk).level == 3


@pytest.mark.parametrize("who", ["office", "analyst", "duty"])
def test_only_the_leadership_decides(proposed, api_for, people, who):
    for verdict in ("approve", "reject"):
        answer = decide(api_for, people[who], proposed.pk, verdict, reason="不同意")
        assert answer.status_code == 403
    assert LevelChange.objects.get(pk=proposed.pk).status == "pending"


def test_rejecting_needs_a_reason_and_keeps_the_level(
    level_one, proposed, api_for, deputy, analyst
):
    answer = decide(api_for, deputy, proposed.pk, "reject")
    assert answer.status_code == 400
    assert answer.data["reason"]
    assert LevelChange.objects.get(pk=proposed.pk).status == "pending"
    answer = decide(api_for, deputy, proposed.pk, "reject", reason="仍有伤亡报道")
    assert answer.status_code == 200, answer.data
    assert (answer.data["status"], answer.data["decision_reason"]) == ("rejected", "仍有伤亡报道")
    assert Incident.objects.get(pk=level_one.pk).level == 1
    assert level_one.deadlines.get(kind="level_change").status == "met"
    assert level_one.timeline.filter(action="reject_level_change", actor=deputy).exists()
    assert told(Notification.Kind.LEVEL_CHANGE_DECIDED) == {"analyst"}
    again = decide(api_for, deputy, proposed.pk, "approve")
    assert again.status_code == 409


def test_lowering_without_a_reason_is_refused_and_changes_nothing(level_one, api_for, analyst):
    timeline = level_one.timeline.count()
    for reason in ("", "   "):
        answer = change_level(api_for, analyst, level_one, 4, reason=reason)
        assert answer.status_code == 400
        assert answer.data["reason"] == ["请说明调整等级的理由。"]  # the API answers in Chinese
    assert not LevelChange.objects.exists()
    assert not Deadline.objects.filter(kind="level_change").exists()
    assert level_one.timeline.count() == timeline
    assert Incident.objects.get(pk=level_one.pk).level == 1


def test_any_change_to_a_reported_level_two_needs_a_decision(
    log_incident, advance, analyst, office, api_for
):
    incident = advance(log_incident(), "reported", level=2)
    answer = change_level(api_for, office, incident, 1, reason="出现伤亡")
    assert answer.status_code == 202, answer.data
    assert Incident.objects.get(pk=incident.pk).level == 2


def test_a_reported_level_three_is_still_raised_at_once(log_incident, advance, analyst, api_for):
    incident = advance(log_incident(), "reported", level=3)
    answer = change_level(api_for, analyst, incident, 2, reason="主流媒体跟进")
    assert answer.status_code == 200, answer.data
    assert answer.data["level"] == 2


def test_the_work_list_shows_the_proposal_to_the_deciders_only(proposed, people, leader, deputy):
    for person in people.values():
        items = [i for i in work_list(user=person) if i.kind == Kind.PROPOSAL]
        if person in (leader, deputy):
            assert len(items) == 1
            assert items[0].due_at == LATER + timedelta(minutes=30)
            assert items[0].incident == proposed.incident_id
        else:
            assert items == [], person.username
    # Not listed twice, as a bare deadline too (the leader's arrival clock is another item).
    assert [
        i.kind
        for i in work_list(user=leader)
        if i.incident == proposed.incident_id and i.kind != Kind.ARRIVAL
    ] == [Kind.PROPOSAL]
    level_change_decide(change=proposed, actor=leader, approve=True)
    assert [i for i in work_list(user=deputy) if i.kind == Kind.PROPOSAL] == []


def test_the_deciders_are_told_and_nobody_else(proposed):
    assert told(Notification.Kind.LEVEL_CHANGE_PENDING) == {"leader", "deputy"}
    note = Notification.objects.filter(kind=Notification.Kind.LEVEL_CHANGE_PENDING).first()
    assert note.deadline_id == proposed.deadline_id


def test_a_newer_proposal_replaces_the_pending_one(level_one, proposed, api_for, office, leader):
    answer = change_level(api_for, office, level_one, 2, reason="热度回落")
    assert answer.status_code == 202
    assert LevelChange.objects.get(pk=proposed.pk).status == "withdrawn"
    assert Deadline.objects.get(pk=proposed.deadline_id).status == "cancelled"
    assert decide(api_for, leader, proposed.pk, "approve").status_code == 409
    assert LevelChange.objects.filter(status="pending").count() == 1


def test_a_raise_meanwhile_withdraws_the_pending_lowering(log_incident, advance, analyst, leader):
    incident = advance(log_incident(), "assessed", level=2)
    change = incident_change_level(incident=incident, actor=analyst, level=3, reason="热度回落")
    assert isinstance(change, LevelChange)
    incident = incident_change_level(incident=incident, actor=analyst, level=1, reason="出现伤亡")
    assert isinstance(incident, Incident) and incident.level == 1
    change.refresh_from_db()
    assert change.status == "withdrawn"
    assert incident.timeline.filter(action="withdraw_level_change").exists()
    with pytest.raises(StaleVersion):
        level_change_decide(change=change, actor=leader, approve=True)
    assert Incident.objects.get(pk=incident.pk).level == 1


def test_entering_the_review_withdraws_the_pending_change(
    log_incident, advance, office, analyst, leader
):
    incident = advance(log_incident(), "tracking", level=3)
    change = incident_change_level(incident=incident, actor=analyst, level=4, reason="平息")
    assert isinstance(change, LevelChange)
    incident_transition(incident=incident, action="review", actor=office)
    change.refresh_from_db()
    assert change.status == "withdrawn"
    assert Deadline.objects.get(pk=change.deadline_id).status == "cancelled"


def test_nobody_but_the_proposer_to_decide_is_refused(level_one, leader, deputy):
    deputy.is_active = False
    deputy.save(update_fields=["is_active"])
    with pytest.raises(TransitionNotAllowed):
        incident_change_level(incident=level_one, actor=leader, level=4, reason="谣言")
    assert not LevelChange.objects.exists()


def test_the_plan_says_who_raises_at_once(level_one, log_incident, advance, analyst):
    version = level_one.plan_version
    version.level_raisers = ["office_head"]
    version.save(update_fields=["level_raisers"])
    incident = advance(log_incident(), "assessed", level=3)
    outcome = incident_change_level(incident=incident, actor=analyst, level=2, reason="升级")
    assert isinstance(outcome, LevelChange)
    with pytest.raises(PermissionDenied):
        level_change_decide(change=outcome, actor=analyst, approve=True)


def test_the_list_filters_by_incident_and_status(proposed, level_one, api_for, duty, leader):
    answer = api_for(duty).get("/api/v1/level-changes/", {"incident": level_one.pk})
    assert answer.status_code == 200
    assert [c["id"] for c in answer.data["results"]] == [proposed.pk]
    assert api_for(duty).get("/api/v1/level-changes/", {"status": "approved"}).data["count"] == 0
    decide(api_for, leader, proposed.pk, "approve")
    answer = api_for(duty).get("/api/v1/level-changes/", {"status": "approved"})
    assert [c["id"] for c in answer.data["results"]] == [proposed.pk]


def test_the_incident_page_shows_the_pending_change_and_lets_a_decider_decide(
    client, level_one, proposed, analyst, leader
):
    page = reverse("incidents:detail", args=[level_one.pk])
    client.force_login(analyst)
    content = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You proposed this change" in content
    assert "lowering will need the leadership&#x27;s decision" not in content  # Ⅰ: only lowering
    assert "This change will need the leadership&#x27;s decision." in content
    assert "Approve the change" not in content
    client.force_login(leader)
    content = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Approve the change" in content and "Reject: keep the level" in content
    reject = reverse("incidents:decide_level_change", args=[level_one.pk, proposed.pk, "reject"])
    answer = client.post(reject, {"reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 400
    assert LevelChange.objects.get(pk=proposed.pk).status == "pending"
    approve = reverse("incidents:decide_level_change", args=[level_one.pk, proposed.pk, "approve"])
    answer = client.post(approve, {"reason": ""})
    assert answer.status_code == 302
    assert Incident.objects.get(pk=level_one.pk).level == 4


def test_the_level_form_says_a_lowering_waits_for_the_leadership(
    client, log_incident, advance, analyst
):
    incident = advance(log_incident(), "assessed", level=3)
    client.force_login(analyst)
    content = client.get(
        reverse("incidents:detail", args=[incident.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Raising applies at once; lowering will need the leadership&#x27;s decision." in content
    answer = client.post(
        reverse("incidents:act", args=[incident.pk, "change_level"]),
        {"level": 4, "reason": "热度回落", "version": incident.version},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "The level change waits for the leadership" in answer.content.decode()
    assert Incident.objects.get(pk=incident.pk).level == 3


@pytest.mark.django_db(transaction=True)
def test_two_deciders_at_the_same_moment_one_decides_the_other_gets_a_conflict(health_unit):
    people = demo_organisation_load(roster_days=1)
    incident = incident_create(
        actor=people["duty"],
        title="并发决定",
        platform="weibo",
        event_type="other",
        unit=health_unit,
        metrics={"casualties": True},
    )
    incident = incident_transition(
        incident=incident, action="assess", actor=people["analyst"], level=1, category="hype"
    )
    change = incident_change_level(
        incident=incident, actor=people["analyst"], level=4, reason="谣言"
    )
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def act(login: str, approve: bool) -> None:
        try:
            barrier.wait(timeout=10)
            level_change_decide(change=change, actor=people[login], approve=approve, reason="意见")
            outcomes[login] = "ok"
        except Exception as conflict:
            outcomes[login] = conflict
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=("leader", True)),
        threading.Thread(target=act, args=("deputy", False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [login for login, outcome in outcomes.items() if outcome == "ok"]
    losers = [outcome for outcome in outcomes.values() if outcome != "ok"]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], StaleVersion), outcomes
    change.refresh_from_db()
    expected = {"leader": ("approved", 4), "deputy": ("rejected", 1)}[winners[0]]
    assert (change.status, Incident.objects.get(pk=incident.pk).level) == expected
