"""Issue 14, item 1: the clock starts at logging. A lead gets its assessment and report
deadlines at once, from its discovery time and its suggested level; the analysts and
office heads are alerted with the suggested colour; the assessment recomputes the clocks
for the confirmed level; unassessed leads head the board, marked 待研判."""

from datetime import timedelta

import pytest
from django.urls import reverse

from deadlines.models import Deadline
from engine.sweep import sweep
from incidents.services import incident_add_metrics, incident_transition, incident_update
from notifications.models import Notification
from notifications.work import work_list
from organisation.models import Unit
from plans.models import DeadlineKind
from tests.helpers import MONDAY_MORNING, at

pytestmark = pytest.mark.django_db
FOUND = MONDAY_MORNING
CASUALTIES = {"casualties": True}  # the default plan suggests Ⅰ


def clocks(incident) -> dict[str, tuple[int, int, str]]:
    """kind → (level, minutes after discovery, status)."""
    return {
        d.kind: (d.level, int((d.due_at - FOUND) / timedelta(minutes=1)), d.status)
        for d in Deadline.objects.filter(incident=incident)
    }


def told(kind: str) -> set[str]:
    return set(
        Notification.objects.filter(kind=kind, channel=Notification.Channel.IN_APP).values_list(
            "recipient__username", flat=True
        )
    )


def test_a_level_one_lead_owes_its_assessment_and_report_from_discovery(log_incident):
    with at(FOUND + timedelta(minutes=5)):
        incident = log_incident(discovered_at=FOUND, metrics=CASUALTIES)

    assert incident.level is None and incident.suggested_level == 1
    assert clocks(incident) == {"assessment": (1, 15, "open"), "report": (1, 30, "open")}


def test_the_assessors_are_alerted_at_once_with_the_suggested_colour(
    log_incident, duty, analyst, office, leader, liaison
):
    with at(FOUND):
        incident = log_incident(discovered_at=FOUND, metrics=CASUALTIES)

    alerts = Notification.objects.filter(
        kind=Notification.Kind.LEAD_LOGGED, channel=Notification.Channel.IN_APP
    )
    assert told(Notification.Kind.LEAD_LOGGED) == {analyst.username, office.username}
    assert {a.title for a in alerts} == {f"[Ⅰ red] A new lead to assess: {incident.title}"}
    # Every channel a person has: their e-mail too.
    assert Notification.objects.filter(
        kind=Notification.Kind.LEAD_LOGGED, channel=Notification.Channel.EMAIL
    ).exists()


def test_the_assessment_and_report_appear_in_the_work_of_those_who_take_them(
    log_incident, analyst, office, leader, duty
):
    with at(FOUND):
        incident = log_incident(discovered_at=FOUND, metrics=CASUALTIES)
        for person in (analyst, office):
            items = [(i.incident, i.title, i.due_at) for i in work_list(user=person)]
            assert items == [
                (incident.pk, DeadlineKind.ASSESSMENT.label, FOUND + timedelta(minutes=15)),
                (incident.pk, DeadlineKind.REPORT.label, FOUND + timedelta(minutes=30)),
            ]
        assert work_list(user=leader) == []
        assert work_list(user=duty) == []


def test_assessment_recomputes_the_clocks_for_the_confirmed_level(log_incident, analyst):
    with at(FOUND + timedelta(minutes=10)):
        incident = log_incident(discovered_at=FOUND, metrics=CASUALTIES)
        incident = incident_transition(
            incident=incident,
            action="assess",
            actor=analyst,
            level=3,
            category="inquiry",
            reason="核实后无人员伤亡",
        )

    found = clocks(incident)
    assert found["assessment"] == (1, 15, "met")  # met as it ran
    assert found["report"] == (3, 120, "open")  # relaxed to Ⅲ, from the same discovery
    assert found["first_response"] == (3, 180, "open")


def test_grading_a_late_lead_lower_leaves_its_overdue_report_late(log_incident, analyst):
    with at(FOUND + timedelta(minutes=40)):
        incident = log_incident(discovered_at=FOUND, metrics=CASUALTIES)
        incident = incident_transition(
            incident=incident,
            action="assess",
            actor=analyst,
            level=3,
            category="inquiry",
            reason="核实后无人员伤亡",
        )

    found = clocks(incident)
    assert found["assessment"][1:] == (15, "met")
    assert incident.deadlines.get(kind="assessment").display_status() == "met_late"
    assert found["report"] == (1, 30, "open")  # overdue at Ⅰ: a late report stands


def test_rising_figures_tighten_a_lead_s_clocks_and_falling_ones_do_not_relax_them(
    log_incident, analyst
):
    with at(FOUND + timedelta(minutes=1)):
        incident = log_incident(discovered_at=FOUND, metrics={"reads": 50})
    assert clocks(incident) == {"assessment": (4, 720, "open"), "report": (4, 1440, "open")}

    with at(FOUND + timedelta(minutes=5)):
        incident_add_metrics(incident=incident, actor=analyst, metrics=CASUALTIES)
    assert clocks(incident) == {"assessment": (1, 15, "open"), "report": (1, 30, "open")}

    with at(FOUND + timedelta(minutes=6)):
        incident_add_metrics(incident=incident, actor=analyst, metrics={"reads": 60})
    assert clocks(incident) == {"assessment": (1, 15, "open"), "report": (1, 30, "open")}


def test_an_unassessed_lead_escalates_when_its_assessment_is_late(log_incident, office):
    with at(FOUND):
        incident = log_incident(discovered_at=FOUND, metrics=CASUALTIES)
    overdue = Notification.Kind.OVERDUE
    sweep(now=FOUND + timedelta(minutes=15) - timedelta(seconds=1))
    assert not Notification.objects.filter(kind=overdue, incident=incident).exists()

    sweep(now=FOUND + timedelta(minutes=15))
    assessment = incident.deadlines.get(kind="assessment")
    assert office.username in set(
        Notification.objects.filter(
            kind=overdue, deadline=assessment, channel=Notification.Channel.IN_APP
        ).values_list("recipient__username", flat=True)
    )
    # The office, which assesses a Ⅰ lead, answers for its lateness (迟报).
    assert assessment.late_report.unit.kind == Unit.Kind.OFFICE


def test_correcting_the_discovery_of_a_lead_moves_its_clocks(log_incident, duty):
    with at(FOUND + timedelta(minutes=20)):
        incident = log_incident(discovered_at=FOUND + timedelta(minutes=10), metrics=CASUALTIES)
        incident_update(incident=incident, actor=duty, changes={"discovered_at": FOUND})

    # The assessment moves to 15 minutes after the corrected time, overdue at once.
    assert clocks(incident) == {"assessment": (1, 15, "open"), "report": (1, 30, "open")}
    entry = incident.timeline.get(kind="edited")
    assert [moved["kind"] for moved in entry.data["deadlines"]["moved"]] == [
        "assessment",
        "report",
    ]


def test_dismissing_a_lead_cancels_its_clocks(log_incident, analyst):
    with at(FOUND):
        incident = log_incident(discovered_at=FOUND, metrics=CASUALTIES)
        incident_transition(incident=incident, action="dismiss", actor=analyst, reason="核实为误报")

    assert {status for _l, _m, status in clocks(incident).values()} == {"cancelled"}


def test_unassessed_leads_head_the_board_by_suggested_level_marked_to_assess(
    client, log_incident, analyst, office
):
    with at(FOUND):
        graded = log_incident(title="已定级事件", discovered_at=FOUND, metrics=CASUALTIES)
        incident_transition(
            incident=graded, action="assess", actor=analyst, level=1, category="hype"
        )
        blue = log_incident(title="蓝色线索", discovered_at=FOUND, metrics={"reads": 50})
        red = log_incident(title="红色线索", discovered_at=FOUND, metrics=CASUALTIES)
        client.force_login(office)
        page = client.get(reverse("incidents:board")).content.decode()

    cards = page[page.index('class="board-list"') :]
    order = [cards.index(f'data-incident="{card.pk}"') for card in (red, blue, graded)]
    assert order == sorted(order)
    red_card = cards[cards.index(f'data-incident="{red.pk}"') :][:1500]
    assert "level-red is-lead" in red_card and "待研判" in red_card
    blue_card = cards[cards.index(f'data-incident="{blue.pk}"') :][:1500]
    assert "level-blue is-lead" in blue_card
