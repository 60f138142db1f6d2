"""Deadlines as rows: computed from the discovery time by the plan level, met by the
transition that fulfils them, recomputed when the level changes."""

from datetime import timedelta

import pytest
import time_machine

from incidents.services import incident_change_level, incident_transition, incident_update
from tests.helpers import MONDAY_MORNING, approve_the_review

pytestmark = pytest.mark.django_db

FOUND = MONDAY_MORNING


def minutes_after_discovery(incident, kind):
    deadline = incident.deadlines.get(kind=kind)
    return (deadline.due_at - incident.discovered_at) / timedelta(minutes=1)


@pytest.mark.parametrize(("level", "report_minutes"), [(1, 30), (2, 60), (3, 120), (4, 1440)])
def test_grading_turns_the_level_obligations_into_deadlines_from_discovery(
    level, report_minutes, analyst, log_incident
):
    with time_machine.travel(FOUND + timedelta(minutes=20), tick=False):
        incident = log_incident(discovered_at=FOUND)
        # The lead's clocks run at its suggested level until it is graded.
        assert set(incident.deadlines.values_list("kind", flat=True)) == {"assessment", "report"}
        incident = incident_transition(
            incident=incident,
            action="assess",
            actor=analyst,
            level=level,
            category="hype",
            reason="研判",
        )
    assert minutes_after_discovery(incident, "report") == report_minutes
    assert minutes_after_discovery(incident, "first_response") == 180
    assert not incident.deadlines.filter(kind="review").exists()
    # Assessing meets the assessment deadline; the rest stay open.
    assert incident.deadlines.get(kind="assessment").status == "met"
    assert {d.status for d in incident.deadlines.exclude(kind="assessment")} == {"open"}


def test_reporting_meets_the_report_deadline_at_the_moment_of_the_report(
    analyst, office, log_incident
):
    with time_machine.travel(FOUND, tick=False):
        incident = log_incident(discovered_at=FOUND, metrics={"casualties": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
    with time_machine.travel(FOUND + timedelta(minutes=29, seconds=59), tick=False):
        incident = incident_transition(incident=incident, action="report", actor=office)
    report = incident.deadlines.get(kind="report")
    assert report.status == "met"
    assert report.met_at == FOUND + timedelta(minutes=29, seconds=59)
    assert report.display_status() == "met"
    assert incident.deadlines.get(kind="first_response").status == "open"


def test_a_report_one_second_after_due_is_met_late(analyst, office, log_incident):
    with time_machine.travel(FOUND, tick=False):
        incident = log_incident(discovered_at=FOUND, metrics={"casualties": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
    with time_machine.travel(FOUND + timedelta(minutes=30, seconds=1), tick=False):
        incident = incident_transition(incident=incident, action="report", actor=office)
    assert incident.deadlines.get(kind="report").display_status() == "met_late"


def test_an_open_deadline_shows_overdue_from_its_due_time(analyst, log_incident):
    with time_machine.travel(FOUND, tick=False):
        incident = log_incident(discovered_at=FOUND, metrics={"casualties": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
    report = incident.deadlines.get(kind="report")
    due = FOUND + timedelta(minutes=30)
    assert report.display_status(now=due - timedelta(seconds=1)) == "open"
    assert report.display_status(now=due) == "overdue"


def test_a_lead_found_earlier_starts_its_clock_when_it_was_found(analyst, log_incident):
    with time_machine.travel(FOUND + timedelta(hours=2), tick=False):
        incident = log_incident(discovered_at=FOUND, metrics={"mainstream_media": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=2, category="hype"
        )
        report = incident.deadlines.get(kind="report")
        assert report.due_at == FOUND + timedelta(hours=1)
        assert report.display_status() == "overdue"


def test_raising_the_level_tightens_open_deadlines_from_the_original_discovery(
    analyst, leader, log_incident
):
    with time_machine.travel(FOUND + timedelta(minutes=5), tick=False):
        incident = log_incident(discovered_at=FOUND)
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=4, category="inquiry"
        )
        incident = incident_change_level(
            incident=incident, actor=leader, level=1, reason="出现人员伤亡"
        )
    report = incident.deadlines.get(kind="report")
    assert (report.level, report.due_at) == (1, FOUND + timedelta(minutes=30))


def test_a_level_change_after_reporting_keeps_the_met_report_as_it_was(
    analyst, office, leader, log_incident
):
    with time_machine.travel(FOUND, tick=False):
        incident = log_incident(discovered_at=FOUND)
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=4, category="inquiry"
        )
    with time_machine.travel(FOUND + timedelta(minutes=50), tick=False):
        incident = incident_transition(incident=incident, action="report", actor=office)
        incident = incident_change_level(
            incident=incident, actor=leader, level=1, reason="出现人员伤亡"
        )
    report = incident.deadlines.get(kind="report")
    assert (report.status, report.level, report.met_at) == ("met", 4, FOUND + timedelta(minutes=50))


def test_the_review_deadline_starts_when_the_incident_enters_review(log_incident, advance, office):
    with time_machine.travel(FOUND, tick=False):
        incident = advance(log_incident(discovered_at=FOUND), "tracking")
    entered = FOUND + timedelta(days=5)
    with time_machine.travel(entered, tick=False):
        incident = incident_transition(incident=incident, action="review", actor=office)
    review = incident.deadlines.get(kind="review")
    assert (review.status, review.due_at) == ("open", entered + timedelta(days=3))
    with time_machine.travel(entered + timedelta(days=1), tick=False):
        incident = approve_the_review(incident, author=office)  # approval closes it
    assert incident.deadlines.get(kind="review").status == "met"


def test_correcting_the_discovery_time_moves_the_open_deadlines(analyst, office, log_incident):
    with time_machine.travel(FOUND + timedelta(minutes=10), tick=False):
        incident = log_incident(
            discovered_at=FOUND + timedelta(minutes=5), metrics={"casualties": True}
        )
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
        # After assessment, the office head with a reason (tests/test_discovery_and_…).
        incident = incident_update(
            incident=incident,
            actor=office,
            changes={"discovered_at": FOUND},
            reason="原帖更早",
            expected_version=incident.version,
        )
    assert incident.deadlines.get(kind="report").due_at == FOUND + timedelta(minutes=30)
    edit = incident.timeline.get(kind="edited")
    assert edit.actor == office and "discovered_at" in edit.data["before"]
