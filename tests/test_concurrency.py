"""Two people acting on the same incident at the same moment, in two real database
connections: one wins, the other gets a conflict, and the timeline has one entry."""

import threading

import pytest
from django.db import connection

from core.errors import StaleVersion
from incidents.models import Incident, TimelineEntry
from incidents.services import incident_transition
from organisation.demo import demo_organisation_load


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rounds", [8])
def test_concurrent_transitions_one_wins_and_the_other_gets_a_conflict(rounds, health_unit):
    people = demo_organisation_load(roster_days=1)
    from incidents.services import incident_create

    for _ in range(rounds):
        incident = incident_create(
            actor=people["duty"],
            title="并发研判",
            platform="weibo",
            event_type="other",
            unit=health_unit,
        )
        seen = incident.version
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def act(
            login: str,
            action: str,
            incident=incident,
            seen=seen,
            barrier=barrier,
            outcomes=outcomes,
        ) -> None:
            try:
                barrier.wait(timeout=10)
                params = (
                    {"level": 4, "category": "inquiry"}
                    if action == "assess"
                    else {"reason": "不实线索"}
                )
                incident_transition(
                    incident=incident,
                    action=action,
                    actor=people[login],
                    expected_version=seen,
                    **params,
                )
                outcomes[login] = "ok"
            except Exception as conflict:
                outcomes[login] = conflict
            finally:
                connection.close()

        threads = [
            threading.Thread(target=act, args=("analyst", "assess")),
            threading.Thread(target=act, args=("office", "dismiss")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        winners = [login for login, outcome in outcomes.items() if outcome == "ok"]
        losers = [outcome for outcome in outcomes.values() if outcome != "ok"]
        assert len(winners) == 1, outcomes
        assert len(losers) == 1 and isinstance(losers[0], StaleVersion), outcomes
        final = Incident.objects.get(pk=incident.pk)
        assert final.state == {"analyst": "assessed", "office": "dismissed"}[winners[0]]
        assert final.version == seen + 1
        assert TimelineEntry.objects.filter(incident=incident, kind="transition").count() == 1
