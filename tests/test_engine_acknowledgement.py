"""Escalation nobody can silence (issue 14, item 6): acknowledging an overdue alert
records who handles the deadline; for the kinds and levels the plan names (the Ⅰ/Ⅱ report
and first response by default) the chain still climbs to the leadership, sparing whoever
acknowledged; for the others the acknowledgement stops it, as before."""

from datetime import timedelta

import pytest

from deadlines.models import Deadline
from engine.sweep import sweep
from incidents.services import incident_transition
from notifications.models import Notification
from notifications.services import notification_acknowledge
from plans.models import DeadlineRule, EscalationStep
from tests import helpers
from tests.helpers import MONDAY_MORNING

pytestmark = pytest.mark.django_db

FOUND = MONDAY_MORNING


def at(minutes: float):
    return helpers.at(FOUND + timedelta(minutes=minutes))


def sweep_at(minutes: float):
    with at(minutes):
        return sweep()


def chain_alerts(deadline: Deadline) -> list[tuple[int, str]]:
    return sorted(
        (n.step, n.recipient.username)
        for n in Notification.objects.filter(
            deadline=deadline, channel="in_app", kind__in=["overdue", "escalation"]
        ).select_related("recipient")
    )


def acknowledge(deadline: Deadline, person, minutes: float) -> None:
    alert = Notification.objects.filter(
        deadline=deadline, recipient=person, channel="in_app", kind__in=["overdue", "escalation"]
    ).latest("step")
    with at(minutes):
        notification_acknowledge(notification=alert, actor=person)


def graded(log_incident, analyst, level: int):
    with at(0):
        incident = log_incident(discovered_at=FOUND, metrics={"casualties": level == 1})
        return incident_transition(
            incident=incident, action="assess", actor=analyst, level=level, category="hype"
        )


def test_the_default_plan_keeps_the_chain_climbing_for_the_level_one_and_two_report_and_response(
    log_incident, analyst
):
    incident = graded(log_incident, analyst, 1)
    climbing = sorted(
        DeadlineRule.objects.filter(
            version=incident.plan_version, escalate_after_acknowledgement=True
        ).values_list("level", "kind")
    )
    assert climbing == [(1, "first_response"), (1, "report"), (2, "first_response"), (2, "report")]


def test_an_acknowledged_overdue_level_one_report_still_reaches_the_deputy_and_the_leader(
    log_incident, analyst, duty, office, deputy, leader
):
    incident = graded(log_incident, analyst, 1)
    report = incident.deadlines.get(kind="report")  # due at +30 minutes
    sweep_at(30)
    assert chain_alerts(report) == [(0, "duty"), (0, "office")]
    acknowledge(report, duty, 32)

    sweep_at(39 + 59 / 60)
    assert len(chain_alerts(report)) == 2
    sweep_at(40)
    assert (1, "deputy") in chain_alerts(report)
    sweep_at(50)
    assert chain_alerts(report) == [(0, "duty"), (0, "office"), (1, "deputy"), (2, "leader")]

    report.refresh_from_db()
    assert (report.status, report.acknowledged_by, report.acknowledged_at) == (
        "open",
        duty,
        FOUND + timedelta(minutes=32),
    )
    assert report.next_check_at is None  # the chain's last step was taken
    to_leader = Notification.objects.get(deadline=report, recipient=leader, channel="in_app")
    assert str(duty) in to_leader.body  # the leader sees who is handling it
    entry = incident.timeline.get(kind="alert", action="acknowledge", actor=duty)
    assert entry.data["chain"] == "climbing"


def test_the_climbing_chain_is_not_repeated_to_whoever_acknowledged(
    log_incident, analyst, office, deputy, leader
):
    incident = graded(log_incident, analyst, 1)
    # A chain whose last step names the office head again, with the leader.
    EscalationStep.objects.filter(version=incident.plan_version, level=1, wait_minutes=20).update(
        roles=["leader", "office_head"]
    )
    report = incident.deadlines.get(kind="report")
    sweep_at(30)
    acknowledge(report, office, 31)
    sweep_at(40)
    acknowledge(report, deputy, 41)  # a second acknowledger: on the timeline, spared too
    sweep_at(50)
    assert chain_alerts(report) == [(0, "duty"), (0, "office"), (1, "deputy"), (2, "leader")]
    report.refresh_from_db()
    assert report.acknowledged_by == office  # the first to acknowledge handles it
    assert incident.timeline.filter(kind="alert", action="acknowledge").count() == 2


def test_meeting_the_acknowledged_report_ends_its_chain(log_incident, analyst, duty, office):
    incident = graded(log_incident, analyst, 1)
    report = incident.deadlines.get(kind="report")
    sweep_at(30)
    acknowledge(report, duty, 32)
    with at(35):
        incident_transition(incident=incident, action="report", actor=office)
    sweep_at(40)
    sweep_at(50)
    assert chain_alerts(report) == [(0, "duty"), (0, "office")]


def test_acknowledging_an_overdue_level_four_report_stops_the_chain_as_before(
    log_incident, analyst, duty
):
    incident = graded(log_incident, analyst, 4)
    report = incident.deadlines.get(kind="report")  # Ⅳ: within a day
    day = 24 * 60
    sweep_at(day)
    assert chain_alerts(report) == [(0, "duty"), (0, "office")]
    acknowledge(report, duty, day + 2)
    sweep_at(day + 10)
    sweep_at(day + 20)
    assert chain_alerts(report) == [(0, "duty"), (0, "office")]
    report.refresh_from_db()
    assert (report.status, report.acknowledged_by, report.next_check_at) == ("open", duty, None)
    entry = incident.timeline.get(kind="alert", action="acknowledge", actor=duty)
    assert entry.data["chain"] == "stopped"


def test_a_plan_may_let_an_acknowledgement_stop_even_a_level_one_report(
    log_incident, analyst, duty
):
    incident = graded(log_incident, analyst, 1)
    DeadlineRule.objects.filter(version=incident.plan_version).update(
        escalate_after_acknowledgement=False
    )
    report = incident.deadlines.get(kind="report")
    sweep_at(30)
    acknowledge(report, duty, 32)
    sweep_at(50)
    assert chain_alerts(report) == [(0, "duty"), (0, "office")]


def test_the_incident_page_and_the_api_show_who_acknowledged(
    client, api_for, log_incident, analyst, duty, office
):
    incident = graded(log_incident, analyst, 1)
    report = incident.deadlines.get(kind="report")
    sweep_at(30)
    acknowledge(report, duty, 32)
    client.force_login(office)
    with at(33):
        page = client.get(f"/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    panel = page.split('id="deadlines-h"')[1].split("</section>")[0]
    assert f"acknowledged by {duty}" in panel
    with at(33):
        answer = api_for(office).get(f"/api/v1/incidents/{incident.pk}/")
    row = next(d for d in answer.data["deadlines"] if d["kind"] == "report")
    assert row["acknowledged_by"] == duty.pk and row["acknowledged_at"] is not None
