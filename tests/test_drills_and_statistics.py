"""Drills (演练) run the whole plan, marked as drills, and stay out of statistics."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from engine.sweep import sweep
from incidents.selectors import incident_statistics
from incidents.services import incident_transition
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_a_drill_runs_the_plan_with_every_message_marked(log_incident, analyst):
    drill = log_incident(metrics={"casualties": True}, is_drill=True)
    drill = incident_transition(
        incident=drill, action="assess", actor=analyst, level=1, category="hype"
    )
    assert drill.deadlines.filter(kind="report").exists()  # the clocks run as for real
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        sweep()
    about_drill = Notification.objects.filter(incident=drill)
    assert about_drill.filter(kind="overdue").exists()
    assert all(n.is_drill and n.title.startswith("[DRILL]") for n in about_drill)


def test_statistics_count_real_incidents_and_leave_drills_out(log_incident, advance, analyst):
    advance(log_incident(metrics={"casualties": True}), "assessed", level=1, category="hype")
    advance(log_incident(), "assessed")
    drill = advance(
        log_incident(metrics={"casualties": True}, is_drill=True),
        "assessed",
        level=1,
        category="hype",
    )
    with time_machine.travel(drill.discovered_at + timedelta(minutes=31), tick=False):
        sweep()
    stats = incident_statistics()
    assert stats["total"] == 2
    assert stats["by_level"] == {1: 1, 4: 1}
    assert stats["by_category"] == {"hype": 1, "inquiry": 1}
    # Both Ⅰ incidents ran late (report, arrival clocks), but only the real one counts.
    from deadlines.models import LateReport

    real = LateReport.objects.filter(incident__is_drill=False).count()
    assert real > 0 and LateReport.objects.filter(incident=drill).count() > 0
    assert stats["late_reports"] == real
    assert sum(row["n"] for row in stats["late_by_unit"]) == real


def test_the_statistics_page_shows_counts_without_drills(client, office, log_incident):
    log_incident()
    log_incident(is_drill=True)
    client.force_login(office)
    page = client.get("/statistics/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 incidents; drills are not counted." in page
    assert 'id="chart-levels"' in page


def test_logging_a_drill_through_the_form_marks_it(client, duty, health_unit):
    client.force_login(duty)
    answer = client.post(
        "/incidents/new/",
        {
            "title": "演练：医院网络谣言",
            "description": "",
            "links": "",
            "platform": "weibo",
            "discovered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "unit": health_unit.pk,
            "event_type": "other",
            "reads": "10",
            "reposts": "0",
            "comments": "0",
            "negative_share": "0",
            "is_drill": "on",
        },
    )
    assert answer.status_code == 302
    from incidents.models import Incident

    assert Incident.objects.get(title="演练：医院网络谣言").is_drill


def test_a_drill_is_marked_on_the_board_and_its_page(client, duty, log_incident):
    drill = log_incident(title="演练事件", is_drill=True)
    real = log_incident(title="真实事件")
    client.force_login(duty)
    board = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    drill_card = board.split(f'data-incident="{drill.pk}"')[1].split("</li>")[0]
    real_card = board.split(f'data-incident="{real.pk}"')[1].split("</li>")[0]
    assert "drill-badge" in drill_card and "drill-badge" not in real_card
    assert "drill-badge" in client.get(f"/incidents/{drill.pk}/").content.decode()
