"""Colour escalation (new figures suggest a more severe level) and the staff-arrival
clocks of a Ⅰ/Ⅱ alarm, enforced by the same engine."""

from datetime import datetime, timedelta

import pytest

from core.errors import TransitionNotAllowed
from deadlines.models import Deadline
from engine.sweep import sweep
from incidents.services import (
    incident_add_metrics,
    incident_arrive,
    incident_change_level,
    incident_reject_upgrade,
    incident_transition,
)
from notifications.models import Notification
from tests.helpers import MONDAY_MORNING, SHANGHAI, at

pytestmark = pytest.mark.django_db
SATURDAY_NIGHT = datetime(2026, 3, 7, 22, 0, tzinfo=SHANGHAI)


def alerts(incident, **filters):
    return sorted(
        (n.kind, n.step, n.recipient.username)
        for n in Notification.objects.filter(
            incident=incident, channel="in_app", **filters
        ).select_related("recipient")
    )


@pytest.fixture
def level_four(log_incident, analyst):
    with at(MONDAY_MORNING):
        incident = log_incident(discovered_at=MONDAY_MORNING, metrics={"reads": 50})
        return incident_transition(
            incident=incident, action="assess", actor=analyst, level=4, category="inquiry"
        )


def test_figures_suggesting_a_more_severe_level_alert_the_analyst_and_office_head_at_once(
    level_four, duty
):
    with at(MONDAY_MORNING + timedelta(minutes=5)):
        incident_add_metrics(
            incident=level_four, actor=duty, metrics={"reads": 900, "mainstream_media": True}
        )
    assert alerts(level_four, kind="level_upgrade") == [
        ("level_upgrade", 0, "analyst"),
        ("level_upgrade", 0, "office"),
    ]
    decision = level_four.deadlines.get(kind="level_decision")
    assert decision.due_at == MONDAY_MORNING + timedelta(minutes=20)
    assert level_four.timeline.filter(action="upgrade_proposed", to_level=2).exists()


def test_new_figures_at_or_below_the_confirmed_level_propose_nothing(level_four, duty):
    incident_add_metrics(incident=level_four, actor=duty, metrics={"reads": 60})
    assert not level_four.deadlines.filter(kind="level_decision").exists()
    assert alerts(level_four, kind="level_upgrade") == []


def test_an_undecided_upgrade_escalates_like_a_deadline(level_four, duty):
    with at(MONDAY_MORNING + timedelta(minutes=5)):
        incident_add_metrics(incident=level_four, actor=duty, metrics={"casualties": True})
    with at(MONDAY_MORNING + timedelta(minutes=19, seconds=59)):
        sweep()
    assert alerts(level_four, kind__in=["overdue", "escalation"]) == []
    with at(MONDAY_MORNING + timedelta(minutes=20)):
        sweep()
    assert ("overdue", 0, "office") in alerts(level_four, kind="overdue")
    with at(MONDAY_MORNING + timedelta(minutes=30)):
        sweep()
    assert alerts(level_four, kind="escalation") == [("escalation", 1, "deputy")]


def test_confirming_the_upgrade_meets_the_decision_and_tightens_deadlines(level_four, duty, leader):
    with at(MONDAY_MORNING + timedelta(minutes=5)):
        incident_add_metrics(incident=level_four, actor=duty, metrics={"casualties": True})
    with at(MONDAY_MORNING + timedelta(minutes=8)):
        incident_change_level(incident=level_four, actor=leader, level=1, reason="出现伤亡")
    decision = level_four.deadlines.get(kind="level_decision")
    assert (decision.status, decision.met_at) == ("met", MONDAY_MORNING + timedelta(minutes=8))
    report = level_four.deadlines.get(kind="report")
    assert report.due_at == MONDAY_MORNING + timedelta(minutes=30)  # from discovery


def test_rejecting_the_upgrade_keeps_the_level_and_stops_the_escalation(level_four, duty, analyst):
    with at(MONDAY_MORNING + timedelta(minutes=5)):
        incident_add_metrics(incident=level_four, actor=duty, metrics={"mainstream_media": True})
    with at(MONDAY_MORNING + timedelta(minutes=10)):
        incident_reject_upgrade(incident=level_four, actor=analyst, reason="系转载旧闻")
    with at(MONDAY_MORNING + timedelta(minutes=40)):
        sweep()
    level_four.refresh_from_db()
    assert level_four.level == 4
    assert alerts(level_four, kind__in=["overdue", "escalation"]) == []
    entry = level_four.timeline.get(action="reject_upgrade")
    assert (entry.actor, entry.reason) == (analyst, "系转载旧闻")
    with pytest.raises(TransitionNotAllowed):
        incident_reject_upgrade(incident=level_four, actor=analyst, reason="再次")


def test_a_level_one_alarm_in_working_hours_gives_office_staff_ten_minutes(log_incident, analyst):
    with at(MONDAY_MORNING):
        incident = incident_transition(
            incident=log_incident(metrics={"casualties": True}),
            action="assess",
            actor=analyst,
            level=1,
            category="hype",
        )
    clocks = {
        (d.kind, d.assignee.username): d.due_at - MONDAY_MORNING
        for d in incident.deadlines.filter(assignee__isnull=False)
    }
    assert clocks[("staff_arrival", "office")] == timedelta(minutes=10)
    assert clocks[("staff_arrival", "analyst")] == timedelta(minutes=10)
    assert clocks[("meeting_assembly", "leader")] == timedelta(minutes=45)
    assert clocks[("informants_online", "spokesperson")] == timedelta(hours=1)


def test_outside_working_hours_office_staff_have_thirty_minutes(log_incident, analyst):
    with at(SATURDAY_NIGHT):
        incident = incident_transition(
            incident=log_incident(metrics={"mainstream_media": True}),
            action="assess",
            actor=analyst,
            level=2,
            category="hype",
        )
    office_clock = incident.deadlines.get(kind="staff_arrival", assignee__username="office")
    assert office_clock.due_at - SATURDAY_NIGHT == timedelta(minutes=30)


def test_levels_three_and_four_start_no_arrival_clocks(level_four):
    assert not level_four.deadlines.filter(assignee__isnull=False).exists()


def test_each_person_acknowledges_their_own_arrival(log_incident, analyst, office):
    with at(MONDAY_MORNING):
        incident = incident_transition(
            incident=log_incident(metrics={"casualties": True}),
            action="assess",
            actor=analyst,
            level=1,
            category="hype",
        )
    with at(MONDAY_MORNING + timedelta(minutes=7)):
        assert incident_arrive(incident=incident, actor=office) == 1
    mine = incident.deadlines.get(kind="staff_arrival", assignee=office)
    theirs = incident.deadlines.get(kind="staff_arrival", assignee=analyst)
    assert (mine.status, theirs.status) == ("met", "open")
    with pytest.raises(TransitionNotAllowed):
        incident_arrive(incident=incident, actor=office)
    with at(MONDAY_MORNING + timedelta(minutes=10)):
        sweep()
    overdue = Notification.objects.filter(deadline=theirs, kind="overdue").count()
    assert overdue >= 1 and not Notification.objects.filter(deadline=mine, kind="overdue").exists()
    assert Deadline.objects.get(pk=theirs.pk).late_report.person == analyst


def test_raising_an_incident_to_level_two_starts_the_arrival_clocks(level_four, leader):
    with at(MONDAY_MORNING + timedelta(minutes=12)):
        incident_change_level(incident=level_four, actor=leader, level=2, reason="央视报道")
    clock = level_four.deadlines.get(kind="staff_arrival", assignee__username="analyst")
    assert clock.starts_at == MONDAY_MORNING + timedelta(minutes=12)


def test_the_api_takes_arrival_and_the_rejection_of_an_upgrade(
    api_for, level_four, duty, analyst, office
):
    incident_add_metrics(incident=level_four, actor=duty, metrics={"mainstream_media": True})
    answer = api_for(analyst).post(
        f"/api/v1/incidents/{level_four.pk}/reject-upgrade/", {"reason": ""}, format="json"
    )
    assert answer.status_code == 400 and "reason" in answer.json()
    assert (
        api_for(duty)
        .post(f"/api/v1/incidents/{level_four.pk}/reject-upgrade/", {"reason": "x"}, format="json")
        .status_code
        == 403
    )
    answer = api_for(analyst).post(
        f"/api/v1/incidents/{level_four.pk}/reject-upgrade/", {"reason": "旧闻"}, format="json"
    )
    assert answer.status_code == 200
    decision = next(d for d in answer.json()["deadlines"] if d["kind"] == "level_decision")
    assert decision["status"] == "met"

    incident_change_level(incident=level_four, actor=analyst, level=2, reason="央视报道")
    answer = api_for(office).post(f"/api/v1/incidents/{level_four.pk}/arrive/")
    assert answer.status_code == 200
    mine = [d for d in answer.json()["deadlines"] if d["assignee"] == office.pk]
    assert [d["status"] for d in mine] == ["met"]
    assert api_for(office).post(f"/api/v1/incidents/{level_four.pk}/arrive/").status_code == 409


def test_the_incident_page_offers_arrival_only_to_people_on_a_clock(
    client, log_incident, analyst, office
):
    incident = incident_transition(
        incident=log_incident(metrics={"casualties": True}),
        action="assess",
        actor=analyst,
        level=1,
        category="hype",
    )
    client.force_login(office)
    assert (
        f"/incidents/{incident.pk}/act/arrive/"
        in client.get(f"/incidents/{incident.pk}/").content.decode()
    )
    answer = client.post(f"/incidents/{incident.pk}/act/arrive/", {"version": incident.version})
    assert answer.status_code == 302
    assert incident.deadlines.get(kind="staff_arrival", assignee=office).status == "met"
    assert (
        f"/incidents/{incident.pk}/act/arrive/"
        not in client.get(f"/incidents/{incident.pk}/").content.decode()
    )


def test_the_schema_documents_the_arrival_and_upgrade_decision_the_api_offers(
    api_for, level_four, duty, analyst, office
):
    incident_add_metrics(incident=level_four, actor=duty, metrics={"mainstream_media": True})
    offered = set(api_for(analyst).get(f"/api/v1/incidents/{level_four.pk}/").json()["actions"])
    incident_change_level(incident=level_four, actor=analyst, level=2, reason="央视报道")
    offered |= set(api_for(office).get(f"/api/v1/incidents/{level_four.pk}/").json()["actions"])
    assert {"reject_upgrade", "arrive"} <= offered

    schema = api_for(duty).get("/api/schema/", {"format": "json"}).json()
    incident = schema["components"]["schemas"]["Incident"]["properties"]["actions"]
    enum = incident["items"]["$ref"].rsplit("/", 1)[-1]
    assert offered <= set(schema["components"]["schemas"][enum]["enum"])
