"""The deadline engine: reminders before due, the escalation chain after, late reports
and fulfilment — with the clock moved to each boundary. Acknowledgements:
test_engine_acknowledgement.py."""

from datetime import timedelta

import pytest

from core.models import Heartbeat
from deadlines.models import Deadline, LateReport
from engine.sweep import sweep
from incidents.services import incident_transition
from notifications.models import Notification
from tests import helpers
from tests.helpers import MONDAY_MORNING

pytestmark = pytest.mark.django_db

FOUND = MONDAY_MORNING


def at(minutes: float):
    return helpers.at(FOUND + timedelta(minutes=minutes))


def sent(**filters) -> list[tuple[str, int, str]]:
    """In-app notifications, for the report deadline unless the filters say otherwise."""
    filters.setdefault("deadline__kind", "report")
    if filters["deadline__kind"] is None:
        del filters["deadline__kind"]
    return sorted(
        (n.kind, n.step, n.recipient.username)
        for n in Notification.objects.filter(channel="in_app", **filters).select_related(
            "recipient"
        )
    )


@pytest.fixture
def level_one(log_incident, analyst):
    """A Ⅰ incident found at FOUND and graded at once: report due at +30 min."""
    with at(0):
        incident = log_incident(discovered_at=FOUND, metrics={"casualties": True})
        return incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )


def sweep_at(minutes: float):
    with at(minutes):
        return sweep()


def test_level_one_report_gets_reminders_at_half_window_and_five_minutes_before(level_one):
    sweep_at(14 + 59 / 60)
    assert sent(kind="reminder") == []
    sweep_at(15)
    assert sent(kind="reminder") == [("reminder", 0, "duty")]
    sweep_at(24 + 59 / 60)
    assert len(sent(kind="reminder")) == 1
    sweep_at(25)
    assert sent(kind="reminder") == [("reminder", 0, "duty"), ("reminder", 1, "duty")]


def test_repeated_sweeps_never_notify_twice(level_one):
    for minutes in (15, 15, 15.5, 25, 25, 30, 30, 31, 40, 40, 50, 50, 90):
        sweep_at(minutes)
    keys = list(
        Notification.objects.filter(deadline__kind="report", channel="in_app").values_list(
            "key", flat=True
        )
    )
    assert len(keys) == len(set(keys)) == 2 + 2 + 1 + 1  # reminders, overdue, deputy, leader
    assert LateReport.objects.filter(deadline__kind="report").count() == 1


def test_level_one_report_overdue_escalates_to_deputy_after_ten_and_leader_after_twenty(
    level_one,
):
    sweep_at(29 + 59 / 60)
    assert sent(kind__in=["overdue", "escalation"]) == []
    sweep_at(30)
    assert sent(kind="overdue") == [("overdue", 0, "duty"), ("overdue", 0, "office")]
    sweep_at(39 + 59 / 60)
    assert sent(kind="escalation") == []
    sweep_at(40)
    assert sent(kind="escalation") == [("escalation", 1, "deputy")]
    sweep_at(50)
    assert sent(kind="escalation") == [("escalation", 1, "deputy"), ("escalation", 2, "leader")]
    deadline = level_one.deadlines.get(kind="report")
    assert deadline.next_check_at is None


def test_an_overdue_deadline_is_recorded_as_a_late_report_of_the_leading_unit(level_one):
    sweep_at(30)
    late = LateReport.objects.get(deadline__kind="report")
    assert late.deadline.kind == "report"
    assert late.unit.name == "领导小组办公室"  # Ⅰ: the office leads (004)
    assert late.due_at == FOUND + timedelta(minutes=30)


def test_reporting_in_time_ends_reminders_and_escalation(level_one, office):
    sweep_at(15)
    with at(20):
        incident_transition(incident=level_one, action="report", actor=office)
    for minutes in (25, 30, 40, 50):
        sweep_at(minutes)
    assert sent(deadline__kind="report") == [("reminder", 0, "duty")]
    assert not LateReport.objects.filter(deadline__kind="report").exists()


def test_a_sweep_that_was_down_sends_no_stale_reminders_but_every_missed_step(level_one):
    sweep_at(10)
    sweep_at(45)  # the engine was silent from +10 to +45 minutes
    assert sent(deadline__kind="report", kind="reminder") == []
    assert sent(deadline__kind="report", kind__in=["overdue", "escalation"]) == [
        ("escalation", 1, "deputy"),
        ("overdue", 0, "duty"),
        ("overdue", 0, "office"),
    ]


def test_long_windows_are_reminded_at_half_and_one_hour_before(level_one):
    first_response = level_one.deadlines.get(kind="first_response")  # 180 minutes
    sweep_at(89)
    assert sent(deadline=first_response, deadline__kind=None) == []
    sweep_at(90)
    sweep_at(120)
    assert sent(deadline=first_response, deadline__kind=None) == [
        ("reminder", 0, "duty"),
        ("reminder", 1, "duty"),
    ]


def test_a_reminder_goes_to_the_assignee_when_there_is_one(level_one, analyst):
    Deadline.objects.filter(incident=level_one, kind="report").update(assignee=analyst)
    sweep_at(15)
    assert sent(kind="reminder", deadline__kind="report") == [("reminder", 0, "analyst")]


def test_raising_the_level_moves_the_engine_to_the_tighter_deadline(log_incident, analyst, leader):
    from incidents.services import incident_change_level

    with at(0):
        incident = log_incident(discovered_at=FOUND)
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=4, category="inquiry"
        )
    with at(20):
        incident_change_level(incident=incident, actor=leader, level=1, reason="出现伤亡")
    sweep_at(30)
    assert ("overdue", 0, "office") in sent(deadline__kind="report")


def test_the_sweep_reads_only_what_is_due_whatever_is_open(log_incident, analyst):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def open_incidents(count):
        with at(0):
            for number in range(count):
                incident = log_incident(discovered_at=FOUND, title=f"lead {number}")
                incident_transition(
                    incident=incident, action="assess", actor=analyst, level=4, category="inquiry"
                )

    def sweep_queries():
        with at(1), CaptureQueriesContext(connection) as queries:
            assert sweep().deadlines == 0
        return len(queries)

    open_incidents(1)
    sweep_queries()  # the first sweep also creates the heartbeat row
    with_one = sweep_queries()
    open_incidents(24)
    assert sweep_queries() == with_one


def test_every_sweep_leaves_a_heartbeat():
    with at(0):
        sweep()
    assert Heartbeat.objects.get(name="sweep").at == FOUND


def test_the_incident_page_shows_each_alert_and_its_delivery(client, level_one, office):
    sweep_at(30)
    client.force_login(office)
    page = client.get(f"/incidents/{level_one.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    section = page.split('id="notifications-h"')[1]
    assert "Overdue" in section or "overdue" in section
    assert "张主任" in section and "delivered" in section  # in-app: delivered when written
    assert "pending" in section  # the email copies wait for delivery


def test_a_late_report_at_level_four_is_the_involved_units(log_incident, analyst):
    with at(0):
        incident_transition(
            incident=log_incident(discovered_at=FOUND),
            action="assess",
            actor=analyst,
            level=4,
            category="inquiry",
        )
    sweep_at(24 * 60)  # Ⅳ: report within a day
    late = LateReport.objects.get(deadline__kind="report")
    assert late.unit.name == "卫生健康委员会"  # Ⅲ/Ⅳ: the involved unit leads (004)
