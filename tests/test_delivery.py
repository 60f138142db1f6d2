"""Delivery of email and webhook notifications: written with the event, sent by
``deliver_pending`` with retries and back-off, never twice, and visible as attempts.
Webhooks go to a real loopback server (``Robot``); email to Django's locmem backend."""

import logging
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from core.models import Heartbeat
from deadlines.models import Deadline
from engine.sweep import sweep
from incidents.services import incident_transition
from notifications.delivery import (
    Outcome,
    backoff,
    deliver_pending,
    lease,
    notification_deliver,
    notifications_claim_due,
)
from notifications.models import DeliveryAttempt, Notification, WebhookEndpoint
from notifications.services import notifications_write
from notifications.tasks import deliver_task
from organisation.demo import demo_organisation_load
from tests import helpers
from tests.helpers import MONDAY_MORNING, celery_setting
from tests.test_webhooks import robot_server

pytestmark = pytest.mark.django_db

T0 = MONDAY_MORNING
ROBOT_OK = (200, {"errcode": 0, "errmsg": "ok"})
TITLE = "[Ⅰ] 网友反映医院收费问题：报告已超时"


def at(seconds: float):
    return helpers.at(T0 + timedelta(seconds=seconds))


def deliver_at(seconds: float):
    with at(seconds):
        return deliver_pending()


@pytest.fixture
def robot():
    yield from robot_server()


@pytest.fixture(autouse=True)
def _delivery_settings(settings):
    """The shipped defaults, pinned so the arithmetic below reads plainly."""
    settings.FENGHUO_DELIVERY_MAX_ATTEMPTS = 8
    settings.FENGHUO_DELIVERY_FIRST_DELAY = 10.0
    settings.FENGHUO_DELIVERY_MAX_DELAY = 1800.0
    settings.FENGHUO_WEBHOOK_TIMEOUT = 5.0


@pytest.fixture
def office_robot(office, robot) -> WebhookEndpoint:
    """The office's WeCom group robot."""
    return WebhookEndpoint.objects.create(
        unit=office.unit,
        name="办公室群",
        format="wecom",
        url=f"{robot.url}/cgi-bin/webhook/send?key=k",
    )


@pytest.fixture
def incident(log_incident):
    with at(0):
        logged = log_incident(discovered_at=T0)
    # Logging alerts the assessors (tests/test_lead_clock.py); these tests deliver rows
    # of their own.
    Notification.objects.all().delete()
    return logged


def notify(recipients, *, kind=Notification.Kind.OVERDUE, step=0, incident=None, **extra):
    with at(0):
        return notifications_write(
            recipients=recipients,
            kind=kind,
            step=step,
            title=TITLE,
            body="请立即报告。",
            at=T0,
            incident_id=incident.pk if incident else None,
            **extra,
        )


def webhook_row() -> Notification:
    return Notification.objects.get(channel="webhook")


# Writing


def test_a_notification_is_written_in_app_by_email_and_once_to_each_robot_of_the_units(
    people, duty, office, leader, robot, office_robot, incident
):
    second = WebhookEndpoint.objects.create(
        unit=office.unit, name="通用", format="generic", url=f"{robot.url}/hook"
    )
    WebhookEndpoint.objects.create(
        unit=office.unit, name="停用", format="wecom", url=f"{robot.url}/off", active=False
    )
    WebhookEndpoint.objects.create(
        unit=people["liaison"].unit, name="卫健委群", format="dingtalk", url=f"{robot.url}/other"
    )

    written = notify([duty, office, leader], incident=incident)

    rows = Notification.objects.all()
    assert sorted(
        (n.channel, n.recipient and n.recipient.username) for n in rows if n.channel != "webhook"
    ) == [
        ("email", "duty"),
        ("email", "leader"),
        ("email", "office"),
        ("in_app", "duty"),
        ("in_app", "leader"),
        ("in_app", "office"),
    ]
    # duty and office share the office's unit: its two active robots get one message each.
    assert sorted(n.endpoint_id for n in rows.filter(channel="webhook")) == sorted(
        [office_robot.pk, second.pk]
    )
    assert written == 8
    assert all(n.recipient_id is None for n in rows.filter(channel="webhook"))
    for n in rows.exclude(channel="in_app"):
        assert (n.delivered_at, n.next_attempt_at, n.attempts) == (None, T0, 0)
    assert all(n.delivered_at == T0 for n in rows.filter(channel="in_app"))


def test_writing_the_same_notification_twice_writes_nothing_new(duty, office_robot, incident):
    assert notify([duty], incident=incident) == 3
    assert notify([duty], incident=incident) == 0
    assert Notification.objects.count() == 3


def test_a_person_without_an_email_address_gets_no_email_row(duty):
    duty.email = ""
    duty.save()
    notify([duty])
    assert list(Notification.objects.values_list("channel", flat=True)) == ["in_app"]


def test_asking_for_in_app_only_writes_in_app_only(duty, office_robot):
    notify([duty], channels=["in_app"])
    assert list(Notification.objects.values_list("channel", flat=True)) == ["in_app"]


def test_new_email_and_webhook_rows_nudge_delivery_once_after_the_transaction_commits(
    duty, office, office_robot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        notify([duty])
        notify([office], kind=Notification.Kind.ESCALATION, step=1)
    assert len(callbacks) == 1


def test_in_app_rows_alone_do_not_nudge_delivery(duty, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        notify([duty], channels=["in_app"])
    assert callbacks == []


def test_the_nudge_delivers_at_once_when_tasks_run_in_process(
    duty, robot, office_robot, monkeypatch, django_capture_on_commit_callbacks
):
    celery_setting(monkeypatch, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        notify([duty])
    assert len(robot.requests) == 1
    assert len(mail.outbox) == 1


def test_a_broker_that_is_down_only_logs_and_the_rows_stay_for_beat(
    duty, office_robot, broker_down, django_capture_on_commit_callbacks, caplog
):
    with (
        caplog.at_level(logging.WARNING, logger="notifications.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        written = notify([duty])
    assert written == 3
    assert "could not enqueue notification delivery" in caplog.text
    assert Notification.objects.filter(delivered_at__isnull=True).count() == 2


# Sending


def test_an_email_row_is_sent_through_the_mail_backend_with_the_title_as_subject(duty, incident):
    notify([duty], incident=incident)

    result = deliver_at(0)

    assert result.delivered == 1
    [message] = mail.outbox
    assert message.to == ["duty@fenghuo.invalid"]
    assert message.subject == TITLE
    assert "请立即报告。" in message.body and f"/incidents/{incident.pk}/" in message.body
    email = Notification.objects.get(channel="email")
    assert (email.delivered_at, email.attempts, email.next_attempt_at) == (T0, 1, None)
    assert email.delivery_attempts.get().ok


def test_a_robot_answering_500_is_retried_after_the_back_off_and_then_delivered(
    duty, robot, office_robot, incident
):
    robot.answer((500, {"error": "busy"}), ROBOT_OK)
    notify([duty], incident=incident)

    deliver_at(0)
    row = webhook_row()
    assert (row.delivered_at, row.attempts, row.next_attempt_at) == (
        None,
        1,
        T0 + timedelta(seconds=10),
    )
    assert row.last_error.startswith("HTTP 500")

    deliver_at(9)
    assert len(robot.requests) == 1  # not before the delay
    deliver_at(10)
    assert len(robot.requests) == 2

    row.refresh_from_db()
    assert row.delivered_at == T0 + timedelta(seconds=10)
    assert (row.attempts, row.next_attempt_at, row.last_error) == (2, None, "")
    first, second = row.delivery_attempts.all()
    assert (first.ok, first.status_code, first.at) == (False, 500, T0)
    assert "busy" in first.error
    assert (second.ok, second.status_code, second.at) == (True, 200, T0 + timedelta(seconds=10))


def test_the_back_off_doubles_after_each_failure_up_to_the_maximum(settings):
    settings.FENGHUO_DELIVERY_MAX_DELAY = 60.0
    assert [backoff(n).total_seconds() for n in range(1, 7)] == [10, 20, 40, 60, 60, 60]


def test_a_robot_answering_errcode_other_than_zero_has_not_been_delivered_to(
    duty, robot, office_robot
):
    robot.answer((200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    notify([duty])

    result = deliver_at(0)

    assert result.retrying == 1
    row = webhook_row()
    assert row.delivered_at is None and row.attempts == 1
    assert row.last_error == "errcode 45009: api freq out of limit"
    assert row.delivery_attempts.get().status_code == 200


def test_delivery_gives_up_after_the_last_attempt_and_keeps_the_error(
    duty, robot, office_robot, settings
):
    settings.FENGHUO_DELIVERY_MAX_ATTEMPTS = 3
    robot.default = (502, {"error": "bad gateway"})
    notify([duty], channels=["webhook"])

    deliver_at(0)
    deliver_at(10)
    result = deliver_at(30)  # 10 s, then 20 s later

    assert result.gave_up == 1
    row = webhook_row()
    assert row.failed_at == T0 + timedelta(seconds=30)
    assert (row.attempts, row.next_attempt_at, row.delivered_at) == (3, None, None)
    assert row.last_error.startswith("HTTP 502")
    deliver_at(3600)
    assert len(robot.requests) == 3
    assert [a.ok for a in row.delivery_attempts.all()] == [False, False, False]


def test_a_second_run_sends_nothing_again(duty, office, robot, office_robot, incident):
    notify([duty, office], incident=incident)

    first = deliver_at(0)
    second = deliver_at(1)
    later = deliver_at(3600)

    assert first.delivered == 3  # two emails, one robot message
    assert second.claimed == later.claimed == 0
    assert len(robot.requests) == 1
    assert len(mail.outbox) == 2
    assert DeliveryAttempt.objects.count() == 3


def test_a_notification_delivered_meanwhile_is_not_sent_again(duty, robot, office_robot):
    notify([duty], channels=["webhook"])
    with at(0):
        [claimed], held_until = notifications_claim_due(now=T0, batch=10)
        # e.g. a run whose lease had run out finished it after all
        Notification.objects.filter(pk=claimed).update(delivered_at=T0)
        assert (
            notification_deliver(notification_id=claimed, held_until=held_until) == Outcome.SKIPPED
        )
    assert robot.requests == []
    assert not DeliveryAttempt.objects.exists()


def test_a_row_claimed_by_one_run_is_not_claimed_by_another(duty, office_robot):
    notify([duty])
    first, _ = notifications_claim_due(now=T0, batch=10)
    second, _ = notifications_claim_due(now=T0 + timedelta(seconds=1), batch=10)
    assert len(first) == 2 and second == []


def test_a_row_taken_over_after_its_lease_ran_out_is_not_sent_by_the_first_run(
    duty, robot, office_robot
):
    notify([duty], channels=["webhook"])
    [row], slow_lease = notifications_claim_due(now=T0, batch=10)
    with at(60):  # the first run stalled past its lease (5 s timeout + 30 s)
        [same], fresh_lease = notifications_claim_due(now=T0 + timedelta(seconds=60), batch=10)
        assert notification_deliver(notification_id=row, held_until=slow_lease) == Outcome.SKIPPED
        assert (
            notification_deliver(notification_id=same, held_until=fresh_lease) == Outcome.DELIVERED
        )
    assert len(robot.requests) == 1


def test_a_row_whose_worker_died_after_claiming_it_is_sent_once_the_lease_runs_out(
    duty, robot, office_robot
):
    notify([duty], channels=["webhook"])
    notifications_claim_due(now=T0, batch=10)  # and then nothing: the worker was killed

    held = lease().total_seconds()
    deliver_at(held - 1)
    assert robot.requests == []
    deliver_at(held)
    assert len(robot.requests) == 1
    assert webhook_row().delivered_at == T0 + lease()


def test_a_turned_off_robot_is_not_posted_to(duty, robot, office_robot):
    notify([duty], channels=["webhook"])
    office_robot.active = False
    office_robot.save()

    result = deliver_at(0)

    assert result.gave_up == 1 and robot.requests == []
    row = webhook_row()
    assert row.failed_at == T0 and row.last_error == "the webhook endpoint was turned off"


def test_a_reminder_whose_deadline_was_met_before_delivery_is_not_sent(duty, analyst, log_incident):
    with at(0):
        incident = log_incident(discovered_at=T0, metrics={"casualties": True})
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
        deadline = incident.deadlines.get(kind="report")
        notifications_write(
            recipients=[duty],
            kind=Notification.Kind.REMINDER,
            title="报告时限将至",
            at=T0,
            incident_id=incident.pk,
            deadline_id=deadline.pk,
        )
        Deadline.objects.filter(pk=deadline.pk).update(status=Deadline.Status.MET)

    Notification.objects.exclude(kind=Notification.Kind.REMINDER).delete()  # checklist tasks

    deliver_at(1)

    assert mail.outbox == []
    email = Notification.objects.get(channel="email")
    assert email.failed_at is not None and "no longer open" in email.last_error


def test_many_due_rows_are_delivered_in_batches_in_one_run(duty, people):
    recipients = list(people.values())
    notify(recipients, channels=["email"])

    with at(0):
        result = deliver_pending(batch=3)

    assert result.delivered == len(recipients) == len(mail.outbox)


def test_each_run_records_the_delivery_heartbeat(db):
    deliver_at(5)
    assert Heartbeat.objects.get(name="delivery").at == T0 + timedelta(seconds=5)


def test_the_task_delivers(duty):
    notify([duty])
    with at(0):
        deliver_task.apply()
    assert len(mail.outbox) == 1


def test_an_overdue_deadline_reaches_the_office_robot_and_the_inboxes_by_email(
    log_incident, analyst, robot, office_robot
):
    with at(0):
        incident = log_incident(discovered_at=T0, metrics={"casualties": True})
        incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
    with at(30 * 60):
        sweep()
        deliver_pending()

    overdue = Notification.objects.filter(kind="overdue", deadline__kind="report")
    assert sorted(overdue.values_list("channel", flat=True)) == [
        "email",
        "email",
        "in_app",
        "in_app",
        "webhook",
    ]  # duty and office; one robot
    assert overdue.filter(delivered_at__isnull=True).count() == 0
    robot_row = overdue.get(channel="webhook")
    assert [r.json["markdown"]["content"] for r in robot.requests].count(
        f"**{robot_row.title}**\n\nhttp://127.0.0.1:8000/incidents/{incident.pk}/"
    ) == 1
    assert sorted(m.to[0] for m in mail.outbox if m.subject == robot_row.title) == [
        "duty@fenghuo.invalid",
        "office@fenghuo.invalid",
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_in_separate_connections_send_each_notification_once(robot):
    people = demo_organisation_load(roster_days=1)
    office = people["office"]
    for number in range(12):
        WebhookEndpoint.objects.create(
            unit=office.unit, name=f"群{number}", format="wecom", url=f"{robot.url}/send/{number}"
        )
    notifications_write(
        recipients=list(people.values()),
        kind=Notification.Kind.OVERDUE,
        title=TITLE,
        at=timezone.now(),
    )
    due = Notification.objects.exclude(channel="in_app").count()
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            deliver_pending(batch=2)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(r.path for r in robot.requests) == sorted(f"/send/{n}" for n in range(12))
    assert len(mail.outbox) == due - 12 == len(people)
    assert DeliveryAttempt.objects.count() == due
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()
