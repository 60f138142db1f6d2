"""Between beat's rounds the sweep is woken for the moment a deadline is next owed
something (engine.wakeup): each sweep sends one wake-up for the next moment, a deadline
opened sooner brings it forward, one per moment, never at the expense of the caller. An
idle sweep is one query and writes nothing; the heartbeat is written a few times a stale
threshold, not on every sweep."""

import logging
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Min
from django.test.utils import CaptureQueriesContext

from config import celery_app
from core.models import Heartbeat
from deadlines.models import Deadline
from deadlines.services import deadlines_open
from engine.models import SweepWakeup
from engine.sweep import sweep
from engine.wakeup import SWEEP_TASK, _WakeUp, horizon
from incidents.services import incident_transition
from tests.helpers import MONDAY_MORNING, at, celery_setting

pytestmark = pytest.mark.django_db

FOUND = MONDAY_MORNING


@pytest.fixture
def level_one(log_incident, analyst, django_capture_on_commit_callbacks):
    """A Ⅰ incident found at FOUND and graded at once: its deadlines (report, staff
    arrival, …) are owed reminders and escalations minutes apart. The alarm's first
    summons are due at once: the wake-up the grading asks for is the sweep run here."""
    with at(FOUND), django_capture_on_commit_callbacks() as callbacks:
        incident = log_incident(discovered_at=FOUND, metrics={"casualties": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
        sweep()
    for callback in callbacks:
        if isinstance(callback, _WakeUp):
            callback.done = True
    return incident


@pytest.fixture
def broker(monkeypatch):
    """The wake-ups sent, instead of a broker: the options of each."""
    sent: list[dict] = []

    def send_task(name, *args, **options):
        assert name == SWEEP_TASK
        sent.append(options)

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what is deferred to the commit (the wake-ups), as production would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def sweep_at(moment, committed):
    with at(moment), committed():
        return sweep()


def pending():
    return SweepWakeup.objects.values_list("at", flat=True).first()


def next_moment():
    """What the database says the engine owes next."""
    return Deadline.objects.filter(status="open").aggregate(at=Min("next_check_at"))["at"]


def test_an_idle_sweep_is_one_query_on_the_index_and_writes_nothing(level_one, settings):
    settings.FENGHUO_ENGINE_STALE_AFTER = 60
    with at(FOUND + timedelta(minutes=1)):
        sweep()  # the first records the heartbeat
    with at(FOUND + timedelta(minutes=1, seconds=5)), CaptureQueriesContext(connection) as seen:
        assert sweep().deadlines == 0
    assert len(seen) == 1
    assert "next_check_at" in seen[0]["sql"] and "ORDER BY" in seen[0]["sql"]
    assert Heartbeat.objects.get(name="sweep").at == FOUND + timedelta(minutes=1)


def test_an_idle_sweep_with_a_wake_up_pending_for_the_next_moment_is_one_query(
    level_one, broker, committed
):
    moment = next_moment()
    sweep_at(moment - timedelta(seconds=30), committed)
    assert len(broker) == 1
    with (
        at(moment - timedelta(seconds=25)),
        committed(),
        CaptureQueriesContext(connection) as seen,
    ):
        sweep()
    assert len(seen) == 1
    assert len(broker) == 1


def test_a_sweep_sends_a_wake_up_for_the_next_moment_within_the_horizon(
    level_one, broker, committed
):
    moment = next_moment()
    sweep_at(moment - timedelta(seconds=30), committed)
    assert [b["eta"] for b in broker] == [moment]
    assert broker[0]["expires"] > moment
    assert pending() == moment


def test_a_moment_beyond_the_horizon_is_left_to_beat(level_one, broker, committed):
    sweep_at(next_moment() - horizon() - timedelta(seconds=1), committed)
    assert broker == []
    assert pending() is None


def test_the_sweep_a_wake_up_runs_sends_the_next_one(level_one, broker, committed):
    first = next_moment()
    sweep_at(first - timedelta(seconds=30), committed)
    assert sweep_at(first, committed).notifications > 0  # the sweep woken at ``first``
    second = next_moment()
    assert second > first + horizon()  # too far for that sweep: beat's later one sends it
    sweep_at(second - timedelta(seconds=30), committed)
    assert [b["eta"] for b in broker] == [first, second]
    assert pending() == second


def new_deadline(incident, *, due_in: timedelta) -> Deadline:
    """A one-off deadline (a task's, say) opened now, due in ``due_in``."""
    from django.utils import timezone

    now = timezone.now()
    return deadlines_open(
        incident=incident,
        kind="task",
        level=1,
        fulfilled_by="task_done",
        starts_at=now,
        due_at=now + due_in,
    )


def test_a_deadline_opened_sooner_brings_the_wake_up_forward(level_one, broker, committed):
    moment = next_moment()
    sweep_at(moment - timedelta(seconds=40), committed)
    with at(moment - timedelta(seconds=35)), committed():
        sooner = new_deadline(level_one, due_in=timedelta(seconds=20))
    assert sooner.next_check_at < moment  # its reminder at half the window
    assert [b["eta"] for b in broker] == [moment, sooner.next_check_at]
    assert pending() == sooner.next_check_at


def test_a_deadline_opened_later_than_the_pending_wake_up_sends_none(level_one, broker, committed):
    moment = next_moment()
    sweep_at(moment - timedelta(seconds=40), committed)
    with at(moment - timedelta(seconds=35)), committed():
        later = new_deadline(level_one, due_in=timedelta(seconds=80))
    assert later.next_check_at > moment
    assert [b["eta"] for b in broker] == [moment]


def test_a_transaction_sends_one_wake_up_for_its_earliest_moment(level_one, broker, committed):
    with at(FOUND + timedelta(minutes=1)), committed():
        with transaction.atomic():
            later = new_deadline(level_one, due_in=timedelta(seconds=60))
            sooner = new_deadline(level_one, due_in=timedelta(seconds=20))
            new_deadline(level_one, due_in=timedelta(seconds=40))
        assert broker == []  # nothing before the commit
    assert sooner.next_check_at < later.next_check_at
    assert [b["eta"] for b in broker] == [sooner.next_check_at]


def test_a_deadline_already_due_wakes_the_sweep_at_once(level_one, broker, committed):
    from deadlines.services import deadlines_follow_discovery

    level_one.discovered_at = FOUND - timedelta(hours=1)  # corrected: the report is overdue
    level_one.save(update_fields=["discovered_at"])
    with at(FOUND + timedelta(minutes=1)), committed():
        moved = deadlines_follow_discovery(incident=level_one, now=FOUND + timedelta(minutes=1))
    assert "report" in {m["kind"] for m in moved["moved"]}
    assert len(broker) == 1 and "eta" not in broker[0]


def test_a_broker_that_is_down_does_not_fail_the_service(level_one, broker_down, committed, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="engine.wakeup"),
        at(FOUND + timedelta(minutes=1)),
        committed(),
    ):
        deadline = new_deadline(level_one, due_in=timedelta(seconds=20))
    assert Deadline.objects.filter(pk=deadline.pk, status="open").exists()
    assert "could not send the sweep's wake-up" in caplog.text
    assert pending() <= FOUND + timedelta(minutes=1)  # not pending: the next sweep sends it


def test_tasks_run_in_process_send_no_wake_up(level_one, broker, committed, monkeypatch):
    celery_setting(monkeypatch, "task_always_eager", True)
    sweep_at(next_moment() - timedelta(seconds=30), committed)
    assert broker == []


def test_the_heartbeat_is_written_when_a_quarter_of_the_stale_threshold_old(settings):
    settings.FENGHUO_ENGINE_STALE_AFTER = 60
    for seconds in (0, 10, 14):
        with at(FOUND + timedelta(seconds=seconds)):
            sweep()
    assert Heartbeat.objects.get(name="sweep").at == FOUND
    with at(FOUND + timedelta(seconds=15)):
        sweep()
    assert Heartbeat.objects.get(name="sweep").at == FOUND + timedelta(seconds=15)
