"""A Ⅰ/Ⅱ alarm summons (issue 14, item 5): everyone on an arrival clock is alerted the
moment it starts, on every channel they have, and again every 5 minutes (plan data) until
they confirm their arrival or the clock passes — through the sweep and ``next_check_at``,
each summons keyed by its step, so repeated sweeps send nothing twice."""

from datetime import datetime, timedelta

import pytest

from deadlines.models import Deadline
from engine.sweep import sweep
from incidents.services import incident_arrive, incident_transition
from notifications.models import Notification, WebhookEndpoint
from plans.models import ArrivalRule, PlanVersion
from tests.helpers import MONDAY_MORNING, SHANGHAI, at

pytestmark = pytest.mark.django_db

ALARM = MONDAY_MORNING  # in working hours: office staff have 10 minutes, leaders 45
SATURDAY_NIGHT = datetime(2026, 3, 7, 22, 0, tzinfo=SHANGHAI)


def sweep_at(minutes: float, start: datetime = ALARM):
    with at(start + timedelta(minutes=minutes)):
        return sweep()


def summons(clock: Deadline, channel: str = "in_app") -> list[int]:
    return sorted(
        Notification.objects.filter(
            deadline=clock, kind="arrival_summons", channel=channel
        ).values_list("step", flat=True)
    )


def alarm(log_incident, analyst, *, level: int = 1, when: datetime = ALARM):
    with at(when):
        return incident_transition(
            incident=log_incident(
                metrics={"casualties": True} if level == 1 else {"mainstream_media": True}
            ),
            action="assess",
            actor=analyst,
            level=level,
            category="hype",
        )


def test_the_default_plan_summons_again_every_five_minutes():
    version = PlanVersion.objects.get(status="published")
    rules = ArrivalRule.objects.filter(version=version)
    assert rules.exists()
    assert set(rules.values_list("summons_every_minutes", flat=True)) == {5}


def test_everyone_on_a_clock_is_summoned_the_moment_it_starts(log_incident, analyst):
    incident = alarm(log_incident, analyst)
    clocks = list(incident.deadlines.filter(assignee__isnull=False))
    assert clocks and all(c.next_check_at == ALARM for c in clocks)
    sweep_at(0)
    summoned = {
        n.recipient.username
        for n in Notification.objects.filter(incident=incident, kind="arrival_summons", step=0)
        .filter(channel="in_app")
        .select_related("recipient")
    }
    assert summoned == {c.assignee.username for c in clocks}
    assert {"office", "analyst", "leader", "deputy", "duty", "spokesperson"} <= summoned


def test_the_summons_goes_out_on_every_channel_the_person_has(log_incident, analyst, office):
    WebhookEndpoint.objects.create(
        unit=office.unit, name="办公室群", format="generic", url="https://robot.example/hook"
    )
    incident = alarm(log_incident, analyst)
    clock = incident.deadlines.get(kind="staff_arrival", assignee=office)
    sweep_at(0)
    assert office.email
    assert summons(clock, "in_app") == summons(clock, "email") == summons(clock, "webhook") == [0]
    row = Notification.objects.get(deadline=clock, kind="arrival_summons", channel="in_app")
    assert row.link == f"/incidents/{incident.pk}/"


def test_summoned_again_every_five_minutes_until_the_clock_passes(log_incident, analyst, office):
    incident = alarm(log_incident, analyst)
    clock = incident.deadlines.get(kind="staff_arrival", assignee=office)  # 10 minutes
    sweep_at(0)
    sweep_at(4 + 59 / 60)
    assert summons(clock) == [0]
    sweep_at(5)
    sweep_at(5)  # a repeated sweep writes nothing twice
    assert summons(clock) == [0, 1]
    sweep_at(9 + 59 / 60)
    assert summons(clock) == [0, 1]
    sweep_at(10)  # the clock passes: no more summons, the chain takes over
    sweep_at(15)
    assert summons(clock) == [0, 1]
    assert Notification.objects.filter(deadline=clock, kind="overdue").exists()
    assert not Notification.objects.filter(deadline=clock, kind="reminder").exists()


def test_a_longer_clock_summons_at_zero_five_ten_and_on(log_incident, analyst, leader):
    incident = alarm(log_incident, analyst)
    clock = incident.deadlines.get(kind="meeting_assembly", assignee=leader)  # 45 minutes
    for minutes in (0, 5, 10):
        sweep_at(minutes)
    assert summons(clock) == [0, 1, 2]
    assert Deadline.objects.get(pk=clock.pk).next_check_at == ALARM + timedelta(minutes=15)


def test_confirming_arrival_stops_the_summons(log_incident, analyst, office, leader):
    incident = alarm(log_incident, analyst)
    mine = incident.deadlines.get(kind="meeting_assembly", assignee=leader)
    theirs = incident.deadlines.get(kind="staff_arrival", assignee=office)
    sweep_at(0)
    sweep_at(5)
    with at(ALARM + timedelta(minutes=7)):
        assert incident_arrive(incident=incident, actor=leader) == 1
    for minutes in (10, 15, 20, 45, 60):
        sweep_at(minutes)
    assert summons(mine) == [0, 1]
    assert not Notification.objects.filter(deadline=mine, kind__in=["overdue", "escalation"])
    assert summons(theirs) == [0, 1]  # the office head did not confirm: overdue at +10


def test_a_sweep_that_was_down_sends_only_the_latest_summons(log_incident, analyst, leader):
    incident = alarm(log_incident, analyst)
    clock = incident.deadlines.get(kind="meeting_assembly", assignee=leader)
    sweep_at(0)
    sweep_at(17)  # silent from +0 to +17
    assert summons(clock) == [0, 3]
    sweep_at(20)
    assert summons(clock) == [0, 3, 4]


def test_off_hours_the_thirty_minute_clock_summons_six_times(log_incident, analyst, office):
    incident = alarm(log_incident, analyst, level=2, when=SATURDAY_NIGHT)
    clock = incident.deadlines.get(kind="staff_arrival", assignee=office)
    for minutes in range(0, 35, 5):
        sweep_at(minutes, start=SATURDAY_NIGHT)
    assert summons(clock) == [0, 1, 2, 3, 4, 5]


def test_a_plan_may_summon_once_and_then_remind(log_incident, analyst, office):
    ArrivalRule.objects.update(summons_every_minutes=0)
    incident = alarm(log_incident, analyst)
    clock = incident.deadlines.get(kind="staff_arrival", assignee=office)
    for minutes in (0, 5, 10):
        sweep_at(minutes)
    assert summons(clock) == [0]
    reminders = Notification.objects.filter(deadline=clock, kind="reminder", channel="in_app")
    assert reminders.count() == 1  # at half the 10-minute window (and 5 before due: the same)
