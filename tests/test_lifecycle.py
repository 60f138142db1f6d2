"""The incident's lifecycle: who may take each transition, what is refused, and the
timeline entry every change leaves."""

import pytest

from core.errors import InvalidInput, PermissionDenied, StaleVersion, TransitionNotAllowed
from incidents.models import Incident, TimelineEntry
from incidents.services import incident_change_level, incident_transition, level_change_decide
from tests.conftest import approve_a_response_plan
from tests.helpers import TRANSITION_ROLES

pytestmark = pytest.mark.django_db

PATH = [
    ("assess", "detected", "assessed"),
    ("report", "assessed", "reported"),
    ("respond", "reported", "responding"),
    ("track", "responding", "tracking"),
    ("review", "tracking", "reviewing"),
    ("close", "reviewing", "closed"),
]
# Who may not take each step (who may: tests.helpers.TRANSITION_ROLES).
REFUSED = {
    "assess": ["duty", "spokesperson", "liaison", "leader"],
    "report": ["duty", "liaison"],
    "respond": ["duty", "analyst", "spokesperson"],
    "track": ["duty", "liaison"],
    "review": ["analyst", "leader"],
    "close": ["duty", "analyst"],
}


def _params(action, incident):
    if action == "assess":
        return {"level": incident.suggested_level, "category": "inquiry"}
    return {}


# `close` is taken by approving the review (tests/test_response.py); its roles and
# refusals are checked here all the same.
@pytest.mark.parametrize(("action", "source", "target"), PATH[:-1])
def test_each_step_is_taken_by_the_roles_the_plan_names(
    action, source, target, people, log_incident, advance
):
    for login in TRANSITION_ROLES[action]:
        incident = advance(log_incident(), source)
        if action == "respond":
            approve_a_response_plan(incident, author=people["office"])
        incident = incident_transition(
            incident=incident,
            action=action,
            actor=people[login],
            client_ip="10.0.0.7",
            reason="按预案办理",
            **_params(action, incident),
        )
        assert incident.state == target
        entry = incident.timeline.get(kind="transition", action=action)
        assert (entry.actor, entry.from_state, entry.to_state, entry.client_ip, entry.reason) == (
            people[login],
            source,
            target,
            "10.0.0.7",
            "按预案办理",
        )


@pytest.mark.parametrize(("action", "source", "target"), PATH)
def test_each_step_is_refused_to_other_roles_without_a_trace(
    action, source, target, people, log_incident, advance
):
    incident = advance(log_incident(), source)
    entries = incident.timeline.count()
    for login in REFUSED[action]:
        with pytest.raises(PermissionDenied):
            incident_transition(
                incident=incident, action=action, actor=people[login], **_params(action, incident)
            )
    incident.refresh_from_db()
    assert incident.state == source
    assert incident.timeline.count() == entries


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("detected", "report"),
        ("detected", "close"),
        ("assessed", "assess"),
        ("reported", "dismiss"),
        ("closed", "assess"),
        ("tracking", "respond"),
    ],
)
def test_an_illegal_transition_is_refused_with_a_clear_message(
    state, action, office, log_incident, advance
):
    incident = advance(log_incident(), state)
    with pytest.raises(TransitionNotAllowed) as refused:
        incident_transition(
            incident=incident, action=action, actor=office, reason="x", level=4, category="inquiry"
        )
    assert "Cannot" in str(refused.value.message) or "不能" in str(refused.value.message)
    incident.refresh_from_db()
    assert incident.state == state


def test_dismissing_a_false_lead_needs_a_reason(analyst, log_incident):
    incident = log_incident()
    with pytest.raises(InvalidInput) as refused:
        incident_transition(incident=incident, action="dismiss", actor=analyst, reason="  ")
    assert "reason" in refused.value.field_errors
    incident = incident_transition(
        incident=incident, action="dismiss", actor=analyst, reason="经核实为不实线索"
    )
    assert incident.state == "dismissed"


def test_dismissal_is_possible_after_assessment_too(analyst, log_incident, advance):
    incident = advance(log_incident(), "assessed")
    incident = incident_transition(
        incident=incident, action="dismiss", actor=analyst, reason="重复登记"
    )
    assert incident.state == "dismissed"
    assert incident.deadlines.filter(status="open").count() == 0


def test_assessing_at_the_suggested_level_needs_no_reason(analyst, log_incident):
    incident = log_incident(metrics={"mainstream_media": True})
    assert incident.suggested_level == 2
    incident = incident_transition(
        incident=incident, action="assess", actor=analyst, level=2, category="hype"
    )
    assert (incident.level, incident.colour, incident.category) == (2, "orange", "hype")


def test_overriding_the_suggested_level_needs_a_written_reason(analyst, log_incident):
    incident = log_incident(metrics={"reads": 50})
    with pytest.raises(InvalidInput) as refused:
        incident_transition(
            incident=incident, action="assess", actor=analyst, level=2, category="hype"
        )
    assert set(refused.value.field_errors) == {"reason"}
    incident = incident_transition(
        incident=incident,
        action="assess",
        actor=analyst,
        level=2,
        category="hype",
        reason="涉及重点人物",
    )
    entry = incident.timeline.get(action="assess")
    assert (entry.to_level, entry.reason, entry.data["suggested_level"]) == (2, "涉及重点人物", 4)


def test_assessment_needs_a_level_and_a_category(analyst, log_incident):
    incident = log_incident()
    with pytest.raises(InvalidInput) as refused:
        incident_transition(
            incident=incident, action="assess", actor=analyst, level=7, category="gossip"
        )
    assert set(refused.value.field_errors) == {"level", "category"}


def test_a_stale_version_is_refused_and_nothing_changes(analyst, office, log_incident):
    incident = log_incident()
    seen = incident.version
    incident_transition(
        incident=incident, action="assess", actor=analyst, level=4, category="inquiry"
    )
    with pytest.raises(StaleVersion):
        incident_transition(
            incident=incident, action="dismiss", actor=office, reason="重复", expected_version=seen
        )
    incident.refresh_from_db()
    assert incident.state == "assessed"


def test_two_officers_acting_on_the_same_view_one_wins_one_gets_a_conflict(
    analyst, office, log_incident
):
    incident = log_incident()
    seen_by_analyst = Incident.objects.get(pk=incident.pk)
    seen_by_office = Incident.objects.get(pk=incident.pk)
    incident_transition(
        incident=seen_by_analyst,
        action="assess",
        actor=analyst,
        level=4,
        category="inquiry",
        expected_version=seen_by_analyst.version,
    )
    with pytest.raises(StaleVersion):
        incident_transition(
            incident=seen_by_office,
            action="dismiss",
            actor=office,
            reason="不实",
            expected_version=seen_by_office.version,
        )
    assert Incident.objects.get(pk=incident.pk).state == "assessed"
    assert TimelineEntry.objects.filter(incident=incident, kind="transition").count() == 1


def test_level_changes_are_recorded_with_reason_and_actor(leader, deputy, log_incident, advance):
    incident = advance(log_incident(), "reported")
    incident = incident_change_level(
        incident=incident, actor=leader, level=2, reason="央视已报道", client_ip="10.1.1.1"
    )
    assert (incident.level, incident.colour) == (2, "orange")
    entry = incident.timeline.get(kind="level")
    assert (entry.actor, entry.from_level, entry.to_level, entry.reason, entry.client_ip) == (
        leader,
        4,
        2,
        "央视已报道",
        "10.1.1.1",
    )
    # A lowering of a reported Ⅱ is a proposal, decided by another of the leadership.
    change = incident_change_level(incident=incident, actor=leader, level=3, reason="热度下降")
    level_change_decide(change=change, actor=deputy, approve=True)
    assert incident.timeline.filter(kind="level", action="change_level").count() == 2
    lowered = incident.timeline.filter(action="change_level").last()
    assert (lowered.actor, lowered.to_level, lowered.data["proposed_by"]) == (deputy, 3, leader.pk)


def test_a_level_change_needs_a_reason_and_an_assessed_incident(leader, duty, log_incident):
    incident = log_incident()
    with pytest.raises(TransitionNotAllowed):
        incident_change_level(incident=incident, actor=leader, level=2, reason="x")
    with pytest.raises(PermissionDenied):
        incident_change_level(incident=incident, actor=duty, level=2, reason="x")
    with pytest.raises(InvalidInput):
        incident_change_level(incident=incident, actor=leader, level=2, reason="")
