"""Times that start or meet deadlines are bounded by what happened (issue 12, rows 5 and 6):
a discovery time is no earlier than the plan's floor and never in the future; moving it
after assessment takes the office head and a reason, moves the open deadlines and leaves
the overdue ones overdue; an arrival after a Ⅰ/Ⅱ alarm lies between the alarm and now."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from core.errors import InvalidInput, PermissionDenied
from deadlines.models import Deadline, LateReport
from engine.sweep import sweep
from incidents.models import Incident
from incidents.services import (
    incident_add_metrics,
    incident_arrive,
    incident_transition,
    incident_update,
)
from notifications.models import Notification
from tests.helpers import MONDAY_MORNING, SHANGHAI, at

pytestmark = pytest.mark.django_db

FOUND = MONDAY_MORNING
INCIDENTS = "/api/v1/incidents/"


def minutes(n: float) -> datetime:
    return FOUND + timedelta(minutes=n)


def report(incident: Incident) -> Deadline:
    return Deadline.objects.get(incident=incident, kind="report")


def escalations(deadline: Deadline) -> list[tuple[str, int]]:
    return sorted(
        {
            (n.kind, n.step)
            for n in Notification.objects.filter(deadline=deadline)
            if n.kind in ("overdue", "escalation")
        }
    )


@pytest.fixture
def level_one(log_incident, analyst):
    """A Ⅰ incident found at FOUND and graded at once: report due at +30 min, first
    public response at +3 h."""
    with at(FOUND):
        incident = log_incident(discovered_at=FOUND, metrics={"casualties": True})
        return incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )


# Row 6: the floor and the ceiling of the discovery time -----------------------------------


@pytest.mark.parametrize(
    "found",
    [
        datetime(1, 1, 1, tzinfo=ZoneInfo("UTC")),
        datetime(1900, 6, 1, 12, 0, tzinfo=SHANGHAI),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=SHANGHAI),
    ],
    ids=["year-1", "1900", "a-second-before-2000"],
)
def test_a_discovery_before_the_earliest_date_is_refused_and_nothing_is_stored(log_incident, found):
    with at(FOUND), pytest.raises(InvalidInput) as error:
        log_incident(discovered_at=found)
    assert "2000-01-01" in error.value.field_errors["discovered_at"][0]
    assert not Incident.objects.exists() and not LateReport.objects.exists()


def test_a_discovery_at_the_earliest_date_is_accepted(log_incident):
    with at(FOUND):
        incident = log_incident(discovered_at=datetime(2000, 1, 1, tzinfo=SHANGHAI))
    assert incident.discovered_at == datetime(2000, 1, 1, tzinfo=SHANGHAI)


def test_discovery_keeps_its_stricter_ceiling_of_one_minute_ahead(log_incident):
    with at(FOUND):
        assert log_incident(discovered_at=minutes(1)).discovered_at == minutes(1)
        with pytest.raises(InvalidInput) as error:
            log_incident(discovered_at=minutes(1) + timedelta(seconds=1))
    assert error.value.field_errors["discovered_at"] == [
        "The discovery time cannot be in the future."
    ]


def test_correcting_the_discovery_time_to_1900_is_refused(log_incident, duty):
    with at(FOUND):
        incident = log_incident(discovered_at=FOUND)
        with pytest.raises(InvalidInput) as error:
            incident_update(
                incident=incident,
                actor=duty,
                changes={"discovered_at": datetime(1900, 1, 1, tzinfo=SHANGHAI)},
            )
    assert "discovered_at" in error.value.field_errors
    assert Incident.objects.get(pk=incident.pk).discovered_at == FOUND


@pytest.mark.parametrize(
    "found",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+08:00",
        "1900-01-01T08:00:00+08:00",
    ],
)
def test_the_api_refuses_an_ancient_discovery_with_400_on_create_and_patch(
    api_for, duty, log_incident, found
):
    lead = {
        "title": "网友反映医院收费问题",
        "platform": "weibo",
        "event_type": "user_complaint",
        "discovered_at": found,
    }
    with at(FOUND):
        answer = api_for(duty).post(INCIDENTS, lead, format="json")
        assert answer.status_code == 400 and "discovered_at" in answer.json()
        assert not Incident.objects.exists()
        incident = log_incident(discovered_at=FOUND)
        answer = api_for(duty).patch(
            f"{INCIDENTS}{incident.pk}/", {"discovered_at": found}, format="json"
        )
    assert answer.status_code == 400 and "discovered_at" in answer.json()
    assert Incident.objects.get(pk=incident.pk).version == 1


def test_the_log_form_refuses_a_discovery_in_1900(client, duty):
    client.force_login(duty)
    with at(FOUND):
        response = client.post(
            reverse("incidents:create"),
            {
                "title": "网友发帖质疑某医院收费",
                "platform": "weibo",
                "discovered_at": "1900-03-02T09:00",
                "unit": duty.unit.pk,
                "event_type": "user_complaint",
                "reads": "120",
            },
        )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"discovered_at"}
    assert not Incident.objects.exists()


@pytest.mark.parametrize("taken_at", ["1900-01-01T00:00:00Z", "0001-01-01T00:00:00"])
def test_figures_seen_before_the_earliest_date_are_refused(api_for, duty, log_incident, taken_at):
    with at(FOUND):
        incident = log_incident(discovered_at=FOUND)
        answer = api_for(duty).post(
            f"{INCIDENTS}{incident.pk}/metrics/", {"reads": 10, "taken_at": taken_at}, format="json"
        )
    assert answer.status_code == 400 and "taken_at" in answer.json()
    with at(FOUND), pytest.raises(InvalidInput):
        incident_add_metrics(
            incident=incident,
            actor=duty,
            metrics={"reads": 10},
            taken_at=datetime(1999, 1, 1, tzinfo=SHANGHAI),
        )


# Row 5: moving the discovery of an assessed incident --------------------------------------


def test_before_assessment_the_duty_officer_corrects_the_discovery_without_a_reason(
    log_incident, duty
):
    with at(minutes(10)):
        incident = log_incident(discovered_at=minutes(5))
        incident = incident_update(incident=incident, actor=duty, changes={"discovered_at": FOUND})
    assert incident.discovered_at == FOUND


@pytest.mark.parametrize("persona", ["duty", "analyst"])
def test_after_assessment_only_the_office_head_moves_the_discovery(level_one, people, persona):
    with at(minutes(10)), pytest.raises(PermissionDenied):
        incident_update(
            incident=level_one,
            actor=people[persona],
            reason="核对原帖时间",
            changes={"discovered_at": minutes(-20)},
        )
    assert (Incident.objects.get(pk=level_one.pk).discovered_at, report(level_one).due_at) == (
        FOUND,
        minutes(30),
    )


def test_after_assessment_moving_the_discovery_needs_a_reason(level_one, office):
    with at(minutes(10)), pytest.raises(InvalidInput) as error:
        incident_update(
            incident=level_one, actor=office, reason="  ", changes={"discovered_at": minutes(-20)}
        )
    assert set(error.value.field_errors) == {"reason"}
    assert report(level_one).due_at == minutes(30)


def test_other_corrections_after_assessment_need_neither_reason_nor_office_head(level_one, duty):
    with at(minutes(10)):
        incident = incident_update(
            incident=level_one, actor=duty, changes={"title": "更正标题", "discovered_at": FOUND}
        )
    assert incident.title == "更正标题" and incident.discovered_at == FOUND


def test_moving_the_discovery_moves_open_deadlines_and_their_next_check(level_one, office):
    with at(minutes(25)):
        incident = incident_update(
            incident=level_one,
            actor=office,
            reason="原帖实为九点二十发布",
            changes={"discovered_at": minutes(20)},
        )
    moved = report(incident)
    assert (moved.starts_at, moved.due_at, moved.status) == (minutes(20), minutes(50), "open")
    assert moved.next_check_at == minutes(35)  # the half-window reminder of the new window
    first = Deadline.objects.get(incident=incident, kind="first_response")
    assert first.due_at == minutes(20 + 180)

    entry = incident.timeline.get(kind="edited")
    assert (entry.actor, entry.reason, entry.at) == (office, "原帖实为九点二十发布", minutes(25))
    assert datetime.fromisoformat(entry.data["before"]["discovered_at"]) == FOUND
    assert datetime.fromisoformat(entry.data["after"]["discovered_at"]) == minutes(20)
    assert [
        (datetime.fromisoformat(m["from"]), datetime.fromisoformat(m["to"]))
        for m in entry.data["deadlines"]["moved"]
        if m["kind"] == "report"
    ] == [(minutes(30), minutes(50))]
    assert entry.data["deadlines"]["kept_overdue"] == []


def test_an_overdue_report_stays_overdue_and_keeps_escalating_when_discovery_moves_later(
    level_one, office
):
    with at(minutes(31)):
        sweep()  # the report is overdue: late report, duty officer and office head alerted
    assert escalations(report(level_one)) == [("overdue", 0)]
    with at(minutes(35)):
        incident = incident_update(
            incident=level_one,
            actor=office,
            reason="原帖发布时间有误",
            changes={"discovered_at": minutes(20)},
        )
        overdue = report(incident)
        assert (overdue.due_at, overdue.display_status()) == (minutes(30), "overdue")
    late = LateReport.objects.get(deadline=overdue)
    assert late.due_at == minutes(30)
    assert incident.timeline.get(kind="edited").data["deadlines"]["kept_overdue"] == ["report"]
    # The first public response, not yet due, follows the new discovery time.
    assert Deadline.objects.get(incident=incident, kind="first_response").due_at == minutes(200)

    with at(minutes(40)):
        sweep()  # the deputy leader, ten minutes after the original due time
    assert escalations(overdue) == [("escalation", 1), ("overdue", 0)]
    assert LateReport.objects.filter(incident=incident, deadline__kind="report").count() == 1


@pytest.mark.parametrize(
    ("now", "due_after"),
    [
        (minutes(30) - timedelta(seconds=1), minutes(40)),  # not yet due: it moves
        (minutes(30), minutes(30)),  # due now: overdue, it stays
    ],
)
def test_a_deadline_moves_until_the_second_it_falls_due(level_one, office, now, due_after):
    with at(now):
        incident = incident_update(
            incident=level_one, actor=office, reason="核对", changes={"discovered_at": minutes(10)}
        )
    assert report(incident).due_at == due_after


def test_a_move_that_puts_an_open_deadline_in_the_past_makes_it_overdue_at_once(level_one, office):
    with at(minutes(25)):
        incident = incident_update(
            incident=level_one,
            actor=office,
            reason="原帖更早",
            changes={"discovered_at": minutes(-10)},
        )
        moved = report(incident)
        assert (moved.due_at, moved.display_status()) == (minutes(20), "overdue")
        assert moved.next_check_at <= minutes(25)
        sweep()
    late = LateReport.objects.get(deadline=moved)
    assert (late.due_at, late.recorded_at) == (minutes(20), minutes(25))
    assert escalations(moved) == [("overdue", 0)]


def test_the_api_moves_the_discovery_only_for_the_office_head_with_a_reason(
    api_for, level_one, duty, office
):
    url = f"{INCIDENTS}{level_one.pk}/"
    moved = {"discovered_at": minutes(20).isoformat()}
    with at(minutes(31)):
        sweep()
    with at(minutes(35)):
        assert (
            api_for(duty).patch(url, {**moved, "reason": "更正"}, format="json").status_code == 403
        )
        answer = api_for(office).patch(url, moved, format="json")
        assert answer.status_code == 400 and "reason" in answer.json()
        answer = api_for(office).patch(url, {**moved, "reason": "原帖发布时间有误"}, format="json")
    assert answer.status_code == 200, answer.json()
    deadlines = {d["kind"]: d for d in answer.json()["deadlines"]}
    assert deadlines["report"]["status"] == "overdue"
    assert datetime.fromisoformat(deadlines["report"]["due_at"]) == minutes(30)
    assert datetime.fromisoformat(deadlines["first_response"]["due_at"]) == minutes(200)


def test_the_page_moves_the_discovery_with_a_reason_and_keeps_seconds_it_cannot_show(
    client, log_incident, analyst, office, health_unit
):
    with at(FOUND + timedelta(seconds=42)):
        incident = log_incident(
            discovered_at=FOUND + timedelta(seconds=42), metrics={"casualties": True}
        )
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
    form = {
        "version": incident.version,
        "title": "更正后的标题",
        "description": "",
        "links": "",
        "platform": "weibo",
        "unit": health_unit.pk,
        "event_type": "user_complaint",
        "discovered_at": "2026-03-02T09:00",
    }
    client.force_login(analyst)
    with at(minutes(5)):
        # The picker shows 09:00 for 09:00:42: sent back as it was, it is no change.
        assert client.post(reverse("incidents:edit", args=[incident.pk]), form).status_code == 302
    incident.refresh_from_db()
    assert incident.discovered_at == FOUND + timedelta(seconds=42)

    client.force_login(office)
    with at(minutes(6)):
        response = client.post(
            reverse("incidents:edit", args=[incident.pk]),
            {**form, "version": incident.version, "discovered_at": "2026-03-02T08:50"},
        )
        assert response.status_code == 400
        assert set(response.context["edit_form"].errors) == {"reason"}
        response = client.post(
            reverse("incidents:edit", args=[incident.pk]),
            {
                **form,
                "version": incident.version,
                "discovered_at": "2026-03-02T08:50",
                "reason": "原帖更早",
            },
        )
    assert response.status_code == 302
    assert report(incident).due_at == minutes(-10 + 30)
    assert (
        "原帖更早" in client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    )


# Monitoring proposals: discovered when the first post was published ---------------------


@pytest.fixture
def proposal(analyst, health_unit):
    from monitoring.intake.batches import posts_ingest
    from monitoring.models import Proposal
    from monitoring.text.matching import rule_create
    from monitoring.topics.refresh import topics_refresh

    with at(FOUND):
        rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
        posts_ingest(
            items=[
                {
                    "platform": "weibo",
                    "url": "https://weibo.com/p/1",
                    "author": "网友",
                    "text": "市第一医院被曝重复收费，患者家属晒出缴费单据。",
                    "published_at": minutes(-30).isoformat(),
                    "reads": 60,
                    "reposts": 0,
                    "comments": 0,
                    "likes": 0,
                    "source_type": "social_account",
                }
            ],
            source="test",
        )
        topics_refresh()
    return Proposal.objects.get()


def test_accepting_a_proposal_whose_first_post_is_ancient_is_a_clear_400(api_for, proposal, duty):
    from monitoring.models import Topic

    Topic.objects.filter(pk=proposal.topic_id).update(
        first_post_at=datetime(1999, 12, 31, 12, 0, tzinfo=SHANGHAI)
    )
    with at(FOUND):
        answer = api_for(duty).post(f"/api/v1/proposals/{proposal.pk}/accept/", {}, format="json")
    assert answer.status_code == 400
    assert "1999-12-31 12:00" in answer.json()["discovered_at"][0]
    assert not Incident.objects.exists()


def test_accepting_a_proposal_whose_first_post_is_dated_ahead_is_discovered_now(proposal, duty):
    from monitoring.models import Topic
    from monitoring.topics.proposals import proposal_accept

    Topic.objects.filter(pk=proposal.topic_id).update(first_post_at=minutes(120))
    with at(FOUND):
        incident = proposal_accept(proposal=proposal, actor=duty)
    assert incident.discovered_at == FOUND


# Arrivals after a Ⅰ/Ⅱ alarm ---------------------------------------------------------------


def arrival(incident: Incident, person) -> Deadline:
    return Deadline.objects.get(incident=incident, kind="staff_arrival", assignee=person)


def test_an_arrival_earlier_than_the_alarm_is_refused(level_one, office):
    with at(minutes(5)), pytest.raises(InvalidInput) as error:
        incident_arrive(incident=level_one, actor=office, arrived_at=minutes(-1))
    assert "2026-03-02 09:00" in error.value.field_errors["arrived_at"][0]
    assert arrival(level_one, office).status == "open"


def test_an_arrival_later_than_now_is_refused(level_one, office):
    with at(minutes(5)), pytest.raises(InvalidInput) as error:
        incident_arrive(
            incident=level_one, actor=office, arrived_at=minutes(5) + timedelta(seconds=1)
        )
    assert set(error.value.field_errors) == {"arrived_at"}
    assert arrival(level_one, office).status == "open"


@pytest.mark.parametrize(
    ("arrived", "met"),
    [
        (minutes(5), minutes(5)),  # now: the upper bound
        (FOUND, FOUND),  # the alarm itself: the lower bound
    ],
)
def test_an_arrival_between_the_alarm_and_now_meets_the_clock_then(level_one, office, arrived, met):
    with at(minutes(5)):
        assert incident_arrive(incident=level_one, actor=office, arrived_at=arrived) == 1
    clock = arrival(level_one, office)
    assert (clock.status, clock.met_at) == ("met", met)
    entry = level_one.timeline.get(action="arrived")
    assert (entry.actor, entry.at, entry.data["arrived_at"]) == (
        office,
        minutes(5),
        met.isoformat(),
    )


def test_an_arrival_typed_in_the_alarms_minute_is_taken_as_the_alarm(log_incident, analyst, office):
    alarm = FOUND + timedelta(seconds=40)
    with at(alarm):
        incident = incident_transition(
            incident=log_incident(discovered_at=FOUND, metrics={"casualties": True}),
            action="assess",
            actor=analyst,
            level=1,
            category="hype",
        )
    with at(minutes(3)):
        incident_arrive(incident=incident, actor=office, arrived_at=FOUND)
    assert arrival(incident, office).met_at == alarm


def test_an_arrival_stated_late_keeps_the_late_report_the_engine_recorded(level_one, office):
    with at(minutes(10)):
        sweep()  # the ten minutes of working hours have passed
    with at(minutes(12)):
        incident_arrive(incident=level_one, actor=office, arrived_at=minutes(8))
    clock = arrival(level_one, office)
    assert (clock.status, clock.met_at) == ("met", minutes(8))
    assert LateReport.objects.filter(deadline=clock).exists()


def test_the_api_refuses_an_arrival_out_of_bounds_with_400_naming_the_field(
    api_for, level_one, office
):
    url = f"{INCIDENTS}{level_one.pk}/arrive/"
    with at(minutes(5)):
        for bad in (minutes(-5).isoformat(), minutes(6).isoformat(), "0001-01-01T00:00:00"):
            answer = api_for(office).post(url, {"arrived_at": bad}, format="json")
            assert answer.status_code == 400 and "arrived_at" in answer.json(), bad
        assert arrival(level_one, office).status == "open"
        answer = api_for(office).post(url, {"arrived_at": minutes(4).isoformat()}, format="json")
    assert answer.status_code == 200
    mine = [d for d in answer.json()["deadlines"] if d["assignee"] == office.pk]
    assert [(d["status"], datetime.fromisoformat(d["met_at"])) for d in mine] == [
        ("met", minutes(4))
    ]


def test_the_page_takes_an_arrival_time_and_refuses_one_before_the_alarm(client, level_one, office):
    client.force_login(office)
    url = reverse("incidents:act", args=[level_one.pk, "arrive"])
    with at(minutes(5)):
        response = client.post(
            url, {"version": level_one.version, "arrived_at": "2026-03-02T08:55"}
        )
        assert response.status_code == 400
        assert "arrived_at" in response.context["action_forms"][-1]["form"].errors
        response = client.post(
            url, {"version": level_one.version, "arrived_at": "2026-03-02T09:03"}
        )
    assert response.status_code == 302
    assert arrival(level_one, office).met_at == minutes(3)
