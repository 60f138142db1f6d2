"""Delivering the outbox's email and webhook rows: claimed, sent, retried, given up.

Beat runs ``deliver_pending`` every ``FENGHUO_SWEEP_INTERVAL`` seconds, and a write of
new rows nudges it on commit; either way it works from the rows, not from the message
that started it, so a lost, duplicated or late task changes nothing but timing.

A run claims due rows (``next_attempt_at`` passed, neither delivered nor given up) in a
short transaction with ``SELECT … FOR UPDATE SKIP LOCKED`` and pushes their
``next_attempt_at`` forward by a lease, so concurrent runs take different rows and a
worker that dies mid-send only delays its rows by the lease. Sending happens outside
that transaction, one row at a time: each row is taken again with a compare-and-set on
its lease just before the send (a lease that ran out while earlier rows were slow may
have been taken by another run), re-read, re-checked, sent, and its outcome written with
another compare-and-set. Every send is a ``DeliveryAttempt`` row. A failure is retried
after ``FENGHUO_DELIVERY_FIRST_DELAY`` seconds, doubling up to
``FENGHUO_DELIVERY_MAX_DELAY``; after ``FENGHUO_DELIVERY_MAX_ATTEMPTS`` the row is given
up (``failed_at``).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.models import Heartbeat
from deadlines.models import Deadline

from .models import DeliveryAttempt, Notification
from .webhooks import SendResult, incident_path, webhook_send

logger = logging.getLogger(__name__)

# Beyond the send's own timeout: time to record the outcome before another run may retry.
LEASE_MARGIN = timedelta(seconds=30)
DELIVERED_BY_WORKER = (Notification.Channel.EMAIL, Notification.Channel.WEBHOOK)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    GAVE_UP = "gave_up"
    SKIPPED = "skipped"  # taken by another run, or delivered or given up meanwhile


@dataclass
class DeliveryResult:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    gave_up: int = 0
    skipped: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


def lease() -> timedelta:
    """How long a claimed row is this run's: the longest a send may take, and a margin."""
    longest = max(settings.FENGHUO_WEBHOOK_TIMEOUT, settings.EMAIL_TIMEOUT or 0)
    return timedelta(seconds=longest) + LEASE_MARGIN


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: the first delay, doubled each time,
    capped."""
    seconds = settings.FENGHUO_DELIVERY_FIRST_DELAY * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.FENGHUO_DELIVERY_MAX_DELAY))


def deliver_pending(*, now: datetime | None = None, batch: int = 100) -> DeliveryResult:
    """Send every email and webhook notification that is due; answers what happened.
    ``now`` pins the clock (tests); otherwise each step reads it afresh."""
    total = DeliveryResult()
    while True:
        claimed, held_until = notifications_claim_due(now=now or timezone.now(), batch=batch)
        total.claimed += len(claimed)
        for notification_id in claimed:
            total.add(
                notification_deliver(
                    notification_id=notification_id, held_until=held_until, now=now
                )
            )
        if len(claimed) < batch:
            break
    Heartbeat.objects.update_or_create(name="delivery", defaults={"at": now or timezone.now()})
    if total.claimed:
        logger.info(
            "delivery: %s claimed, %s delivered, %s to retry, %s given up, %s skipped",
            total.claimed,
            total.delivered,
            total.retrying,
            total.gave_up,
            total.skipped,
        )
    return total


def notifications_claim_due(*, now: datetime, batch: int) -> tuple[list[int], datetime]:
    """Lease up to ``batch`` due rows to this run: answers their ids and the lease's end
    (their new ``next_attempt_at``)."""
    held_until = now + lease()
    due_now = {
        "channel__in": DELIVERED_BY_WORKER,
        "delivered_at__isnull": True,
        "failed_at__isnull": True,
        "next_attempt_at__lte": now,
    }
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(**due_now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not due:
            return [], held_until
        # Conditional as well as locked: on SQLite the lock is the whole database's.
        Notification.objects.filter(pk__in=due, **due_now).update(next_attempt_at=held_until)
        mine = set(
            Notification.objects.filter(pk__in=due, next_attempt_at=held_until).values_list(
                "pk", flat=True
            )
        )
    return [pk for pk in due if pk in mine], held_until


def notification_deliver(
    *, notification_id: int, held_until: datetime, now: datetime | None = None
) -> Outcome:
    """Send one claimed row, unless it was taken, delivered or given up meanwhile."""
    at = now or timezone.now()
    hold = at + lease()
    taken = Notification.objects.filter(
        pk=notification_id,
        next_attempt_at=held_until,
        delivered_at__isnull=True,
        failed_at__isnull=True,
    ).update(next_attempt_at=hold)
    if not taken:
        return Outcome.SKIPPED
    notification = Notification.objects.select_related("recipient", "endpoint", "deadline").get(
        pk=notification_id
    )
    if reason := _not_to_be_sent(notification):
        Notification.objects.filter(pk=notification.pk, next_attempt_at=hold).update(
            failed_at=at, next_attempt_at=None, last_error=reason
        )
        logger.info("notification %s not sent: %s", notification.pk, reason)
        return Outcome.GAVE_UP

    sent = _send(notification, at=at)
    finished = now or timezone.now()
    attempts = notification.attempts + 1
    ours = Notification.objects.filter(
        pk=notification.pk, next_attempt_at=hold, delivered_at__isnull=True, failed_at__isnull=True
    )
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            notification=notification,
            at=at,
            ok=sent.ok,
            status_code=sent.status_code,
            error=sent.error,
            duration_ms=sent.duration_ms,
        )
        if sent.ok:
            ours.update(
                delivered_at=finished,
                next_attempt_at=None,
                attempts=F("attempts") + 1,
                last_error="",
            )
            return Outcome.DELIVERED
        if attempts >= settings.FENGHUO_DELIVERY_MAX_ATTEMPTS:
            ours.update(
                failed_at=finished,
                next_attempt_at=None,
                attempts=F("attempts") + 1,
                last_error=sent.error,
            )
            outcome = Outcome.GAVE_UP
        else:
            ours.update(
                next_attempt_at=finished + backoff(attempts),
                attempts=F("attempts") + 1,
                last_error=sent.error,
            )
            outcome = Outcome.RETRYING
    log = logger.warning if outcome is Outcome.GAVE_UP else logger.info
    log(
        "notification %s (%s) attempt %s failed%s: %s",
        notification.pk,
        notification.channel,
        attempts,
        ", giving up" if outcome is Outcome.GAVE_UP else "",
        sent.error,
    )
    return outcome


def _not_to_be_sent(notification: Notification) -> str:
    """Why a row must not be sent now that it is due, re-checked against the world: the
    address, robot or reason for it is gone. Empty when it should be sent."""
    if notification.channel == Notification.Channel.EMAIL:
        recipient = notification.recipient
        if recipient is None or not recipient.is_active:
            return "the recipient's account is no longer active"
        if not recipient.email:
            return "the recipient has no email address"
    elif notification.endpoint is None or not notification.endpoint.active:
        return "the webhook endpoint was turned off"
    # A reminder is about a deadline still to be met: once met or dropped it is noise.
    # Overdue and escalation alerts stay true after the fact and are still sent.
    if (
        notification.kind == Notification.Kind.REMINDER
        and notification.deadline is not None
        and notification.deadline.status != Deadline.Status.OPEN
    ):
        return "the deadline was no longer open when the reminder was due to go out"
    return ""


def _send(notification: Notification, *, at: datetime) -> SendResult:
    try:
        if notification.channel == Notification.Channel.EMAIL:
            return _send_email(notification)
        assert notification.endpoint is not None  # noqa: S101 (checked by _not_to_be_sent)
        return webhook_send(endpoint=notification.endpoint, notification=notification, now=at)
    except Exception as error:  # a bug or an odd backend must cost one attempt, not the run
        logger.exception("notification %s: sending raised", notification.pk)
        return SendResult(ok=False, error=f"{type(error).__name__}: {error}")


def _send_email(notification: Notification) -> SendResult:
    assert notification.recipient is not None  # noqa: S101 (checked by _not_to_be_sent)
    started = time.monotonic()
    message = "\n\n".join(part for part in (notification.body, incident_path(notification)) if part)
    try:
        # One line: a newline in a subject is a header injection Django refuses.
        send_mail(
            subject=" ".join(notification.title.split()),
            message=message,
            from_email=None,
            recipient_list=[notification.recipient.email],
        )
    except OSError as error:  # smtplib.SMTPException is an OSError, as are socket errors
        return SendResult(ok=False, error=f"email: {error}", duration_ms=_ms_since(started))
    return SendResult(ok=True, duration_ms=_ms_since(started))


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
