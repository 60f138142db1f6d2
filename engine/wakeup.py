"""Wake-ups: the sweep sent to the broker for the moment a deadline is next owed
something, so that its alert goes out then rather than at beat's next round.

Punctuality only. What must happen is in the database (each open deadline's
``next_check_at``), and beat runs the sweep every ``FENGHUO_SWEEP_INTERVAL`` seconds
whatever happens: a wake-up lost with the broker or a killed worker costs at most one
interval, never an alert, and one that runs twice or early finds nothing to do (the
sweep is idempotent). Sending is best effort: a broker that is down is logged and costs
the caller nothing.

Every sweep ends by sending one for the next moment it found; a service that opens or
recomputes a deadline sends one on commit when its moment is sooner. Only moments within
:func:`horizon` are sent: beat's sweeps see later ones come within it in time, and the
broker never holds a message long (Redis hands an unacknowledged one out again after its
visibility timeout, an hour by default). One row (:class:`~engine.models.SweepWakeup`)
keeps the moment of the earliest one pending, so that sweeps and services send one per
moment, not one each: a moment at or after a pending one is not sent (the sweep that one
runs sends the next), an earlier one is and takes its place.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import SweepWakeup

logger = logging.getLogger(__name__)

SWEEP_TASK = "engine.sweep"


def horizon() -> timedelta:
    """How far ahead a wake-up is sent: a minute, or two of beat's intervals (a moment is
    then seen by a beat sweep before it comes), but never more than half an hour, well
    within Redis's visibility timeout."""
    return timedelta(seconds=max(60.0, min(2 * settings.FENGHUO_SWEEP_INTERVAL, 1800.0)))


def wake_up_needed(at: datetime | None, *, pending: datetime | None, now: datetime) -> bool:
    """Whether a wake-up for ``at`` is worth sending, given the ``pending`` one (the row's
    moment, if any): within the horizon, and no wake-up at or before it still ahead."""
    if at is None or at > now + horizon():
        return False
    return pending is None or pending <= now or pending > at


def wake_up_on_commit(at: datetime) -> None:
    """Send the sweep for ``at`` once the current transaction commits (at once outside
    one): once per transaction, for its earliest moment."""
    connection = transaction.get_connection()
    # Django keeps (savepoint ids, callback, robust) and drops the callbacks of a savepoint
    # that rolls back, so this sees what will run at commit.
    for _sids, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _WakeUp) and not callback.done:
            callback.at = min(callback.at, at)
            return
    transaction.on_commit(_WakeUp(at), robust=True)


class _WakeUp:
    def __init__(self, at: datetime) -> None:
        self.at = at
        self.done = False  # run (a test's capture of on-commit callbacks leaves it listed)

    def __call__(self) -> None:
        self.done = True
        wake_up_send(self.at)


def wake_up_send(at: datetime) -> bool:
    """Claim ``at`` in the row and send the sweep for it; answers whether it was sent.
    Not sent when a wake-up at or before it is pending, or when tasks run in process
    (the sweep would run at once, and send the next, and so on)."""
    if current_app.conf.task_always_eager:
        return False
    now = timezone.now()
    try:
        if not _claim(at, now=now):
            return False
        options: dict[str, Any] = {"expires": max(at, now) + horizon()}
        if at > now:
            options["eta"] = at
        # No publish retries: a broker that is down should cost as little as possible.
        current_app.send_task(SWEEP_TASK, retry=False, **options)
    except Exception:  # the database or the broker: beat's next sweep will do
        logger.warning("could not send the sweep's wake-up; beat sweeps anyway", exc_info=True)
        _release(at, now=now)
        return False
    return True


def _claim(at: datetime, *, now: datetime) -> bool:
    """Compare and set: the row takes ``at`` unless a moment at or before it is ahead."""
    if SweepWakeup.objects.filter(Q(at__lte=now) | Q(at__gt=at), pk=1).update(at=at):
        return True
    _row, created = SweepWakeup.objects.get_or_create(pk=1, defaults={"at": at})
    return created


def _release(at: datetime, *, now: datetime) -> None:
    """A wake-up that could not be sent is not pending."""
    try:
        SweepWakeup.objects.filter(pk=1, at=at).update(at=now)
    except Exception:
        logger.warning("could not clear the unsent wake-up", exc_info=True)


def deadline_next_check_set(sender: Any, *, at: datetime, **_kwargs: Any) -> None:
    """A service opened or recomputed a deadline whose sweep is due at ``at``: bring the
    wake-up forward to it, once the transaction commits, when it is within the horizon.
    Whether one is pending at or before it is read then, not now."""
    if at <= timezone.now() + horizon():
        wake_up_on_commit(at)
