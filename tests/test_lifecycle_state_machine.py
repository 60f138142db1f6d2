"""Random sequences of actions by random people never reach an illegal state, and every
change leaves exactly one timeline entry (a Hypothesis state machine)."""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from core.errors import (
    DomainError,
    InvalidInput,
    PermissionDenied,
    StaleVersion,
    TransitionNotAllowed,
)
from incidents.models import Incident, LevelChange
from incidents.services import incident_change_level, incident_create, incident_transition
from tests.helpers import PERSONAS, TRANSITION_ROLES, approve_a_response_plan, approve_the_review

# The lifecycle as the plan states it, written independently of the model.
EDGES = {
    ("detected", "assess"): "assessed",
    ("assessed", "report"): "reported",
    ("reported", "respond"): "responding",
    ("responding", "track"): "tracking",
    ("tracking", "review"): "reviewing",
    ("reviewing", "close"): "closed",
    ("detected", "dismiss"): "dismissed",
    ("assessed", "dismiss"): "dismissed",
}
STATES = {
    "detected",
    "assessed",
    "reported",
    "responding",
    "tracking",
    "reviewing",
    "closed",
    "dismissed",
}
REGRADABLE = {"assessed", "reported", "responding", "tracking"}
# Guarded by the plan: no response without an approved response plan, and the incident
# closes when its review is approved.
GUARDED = {("reported", "respond"), ("reviewing", "close")}
ACTIONS = ["assess", "report", "respond", "track", "review", "close", "dismiss", "change_level"]
REACHED: set[str] = set()


@pytest.mark.slow
@pytest.mark.django_db
def test_random_action_sequences_keep_the_lifecycle_legal_and_audited(people, health_unit):
    class Lifecycle(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.incident = incident_create(
                actor=people["duty"],
                title="随机事件",
                platform="weibo",
                event_type="other",
                unit=health_unit,
                metrics={"reads": 120},
            )
            self.state = "detected"
            self.level = None
            self.changes = 0

        @rule(
            action=st.sampled_from(ACTIONS),
            login=st.sampled_from(PERSONAS),
            level=st.integers(0, 5),
            category=st.sampled_from(["inquiry", "hype", "x"]),
            reason=st.sampled_from(["", "按预案处置"]),
            stale=st.booleans(),
        )
        def act_at_random(self, action, login, level, category, reason, stale):
            self.act(action, login, level, category, reason, stale)

        @rule(data=st.data())
        def take_the_next_step_of_the_plan(self, data):
            """Progress as the plan intends, so random abuse is tried in every state."""
            forward = [a for (state, a) in EDGES if state == self.state]
            if forward:
                action = data.draw(st.sampled_from(forward))
                if action == "respond":
                    approve_a_response_plan(self.incident, author=people["office"])
                if action == "close":
                    # The approval of the review is what closes the incident.
                    approve_the_review(self.incident, author=people["office"])
                    self.changes += 1
                    self.state = "closed"
                    REACHED.add("closed")
                    return
                login = data.draw(st.sampled_from(TRANSITION_ROLES[action]))
                self.act(action, login, self.level or 3, "inquiry", "按预案处置", False)

        def act(self, action, login, level, category, reason, stale):
            actor = people[login]
            seen = Incident.objects.get(pk=self.incident.pk).version
            version = seen - 1 if stale else seen
            outcome = None
            try:
                if action == "change_level":
                    outcome = incident_change_level(
                        incident=self.incident,
                        actor=actor,
                        level=level,
                        reason=reason,
                        expected_version=version,
                    )
                else:
                    incident_transition(
                        incident=self.incident,
                        action=action,
                        actor=actor,
                        level=level,
                        category=category,
                        reason=reason,
                        expected_version=version,
                    )
            except DomainError as refused:
                assert isinstance(
                    refused, PermissionDenied | StaleVersion | TransitionNotAllowed | InvalidInput
                )
                if isinstance(refused, TransitionNotAllowed) and action != "change_level":
                    assert (self.state, action) not in EDGES or (self.state, action) in GUARDED
                return
            assert not stale
            if action == "change_level" and isinstance(outcome, LevelChange):
                # A lowering (or a change to a reported Ⅰ/Ⅱ) waits for the leadership:
                # the incident is unchanged until it is decided.
                assert self.state in REGRADABLE and reason
                return
            self.changes += 1
            REACHED.add(self.state if action == "change_level" else EDGES[(self.state, action)])
            if action == "change_level":
                assert self.state in REGRADABLE and level != self.level and reason
                self.level = level
            else:
                self.state = EDGES[(self.state, action)]
                if action == "assess":
                    self.level = level

        @invariant()
        def state_is_legal_and_every_change_is_on_the_timeline(self):
            incident = Incident.objects.get(pk=self.incident.pk)
            assert incident.state in STATES
            assert incident.state == self.state
            assert incident.level == self.level
            assert incident.version == 1 + self.changes
            entries = list(
                incident.timeline.exclude(kind__in=["created", "metrics", "response", "alert"])
                .exclude(action__in=["propose_level_change", "withdraw_level_change"])
                .order_by("at", "id")
            )
            assert len(entries) == self.changes
            state = "detected"
            for entry in entries:
                if entry.kind == "transition":
                    assert (entry.from_state, EDGES[(state, entry.action)]) == (
                        state,
                        entry.to_state,
                    )
                    state = entry.to_state
                assert entry.actor is not None
            assert state == incident.state

    REACHED.clear()
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=40,
            derandomize=True,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # The sequences must explore the lifecycle, not stop at its first step.
    assert {"closed", "dismissed", "reviewing"} <= REACHED, REACHED
