"""Leads from member units (issue 14, item 9): a liaison or unit head logs a lead of their
own unit; it reaches the office as 成员单位报送 and the office is told at once."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from deadlines.models import Deadline, LateReport
from incidents.models import Incident
from notifications.models import Notification
from organisation.models import Unit

INCIDENTS = "/api/v1/incidents/"
FOUND = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def lead(unit: Unit, **overrides):
    return {
        "title": "卫健委报送：医院收费投诉",
        "platform": "weibo",
        "event_type": "user_complaint",
        "unit": unit.pk,
        "description": "本单位发现网友投诉重复收费。",
        "discovered_at": timezone.now().isoformat(),
        **overrides,
    }


def told(kind: str) -> set[str]:
    return set(
        Notification.objects.filter(kind=kind, channel=Notification.Channel.IN_APP).values_list(
            "recipient__username", flat=True
        )
    )


def test_a_liaison_reports_a_lead_of_their_unit_and_the_office_is_told(
    api_for, liaison, office, duty, analyst, health_unit
):
    answer = api_for(liaison).post(INCIDENTS, lead(health_unit), format="json")

    assert answer.status_code == 201, answer.json()
    incident = Incident.objects.get()
    assert (incident.source, incident.unit, incident.created_by) == (
        "member_unit",
        health_unit,
        liaison,
    )
    assert api_for(office).get(f"{INCIDENTS}{incident.pk}/").json()["source"] == "member_unit"
    recipients = told(Notification.Kind.LEAD_LOGGED)
    assert {office.username, duty.username, analyst.username} <= recipients
    assert liaison.username not in recipients


def test_the_logging_meets_the_unit_s_two_hour_report_deadline(api_for, liaison, health_unit):
    with time_machine.travel(FOUND + timedelta(minutes=119), tick=False):
        api_for(liaison).post(
            INCIDENTS, lead(health_unit, discovered_at=FOUND.isoformat()), format="json"
        )

    deadline = Deadline.objects.get(kind="unit_report")
    assert (deadline.status, deadline.unit, deadline.met_at) == (
        "met",
        health_unit,
        FOUND + timedelta(minutes=119),
    )
    assert deadline.due_at == FOUND + timedelta(minutes=120)
    assert not LateReport.objects.exists()


def test_a_unit_reporting_after_two_hours_has_a_late_report(api_for, liaison, health_unit):
    with time_machine.travel(FOUND + timedelta(minutes=121), tick=False):
        api_for(liaison).post(
            INCIDENTS, lead(health_unit, discovered_at=FOUND.isoformat()), format="json"
        )

    deadline = Deadline.objects.get(kind="unit_report")
    assert deadline.display_status() == "met_late"
    late = LateReport.objects.get()
    assert (late.deadline, late.unit, late.person) == (deadline, health_unit, liaison)


def test_a_liaison_may_not_report_for_another_unit_and_nothing_is_stored(
    api_for, liaison, health_unit
):
    other = Unit.objects.exclude(pk=health_unit.pk).exclude(kind=Unit.Kind.OFFICE).first()

    answer = api_for(liaison).post(INCIDENTS, lead(other), format="json")

    assert answer.status_code == 403
    assert "本单位" in str(answer.json())  # the API answers in the default language
    assert not Incident.objects.exists()
    assert told(Notification.Kind.LEAD_LOGGED) == set()


@pytest.mark.parametrize("persona", ["spokesperson", "leader"])
def test_roles_outside_the_office_and_the_units_may_not_log(api_for, people, persona, health_unit):
    answer = api_for(people[persona]).post(INCIDENTS, lead(health_unit), format="json")

    assert answer.status_code == 403
    assert not Incident.objects.exists()


def test_a_lead_the_office_logs_is_the_office_s_and_owes_no_unit_report(
    api_for, duty, analyst, health_unit
):
    answer = api_for(duty).post(INCIDENTS, lead(health_unit), format="json")

    assert answer.status_code == 201
    assert Incident.objects.get().source == "office"
    assert not Deadline.objects.filter(kind="unit_report").exists()
    # The analysts are alerted to assess it, as a lead, not as a unit's report.
    alerts = Notification.objects.filter(kind=Notification.Kind.LEAD_LOGGED)
    assert analyst.username in told(Notification.Kind.LEAD_LOGGED)
    assert duty.username not in told(Notification.Kind.LEAD_LOGGED)
    assert {alert.title for alert in alerts} == {"[Ⅳ 蓝色] 新线索待研判：卫健委报送：医院收费投诉"}


def test_the_page_lets_a_liaison_log_a_lead(client, liaison, health_unit):
    client.force_login(liaison)
    assert client.get("/incidents/new/").status_code == 200
