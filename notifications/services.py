"""Writes to notifications: the outbox rows and what people do with them."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.errors import PermissionDenied
from incidents.models import Deadline, TimelineEntry
from organisation.models import User

from .models import Notification

# Alerts about a passed deadline: acknowledging one stops that deadline's chain.
CHAIN_KINDS = frozenset({Notification.Kind.OVERDUE, Notification.Kind.ESCALATION})


def notifications_write(
    *, recipients: Iterable[User], kind: str, title: str, body: str = "", at: datetime,
    incident_id: int | None = None, deadline_id: int | None = None, step: int = 0,
    channels: Iterable[str] = (Notification.Channel.IN_APP,),
) -> int:
    """Write outbox rows, one per recipient and channel; rows already written (same key)
    are left as they are. Call inside the transaction of the event that causes them.
    In-app notifications are delivered by being written."""
    rows = []
    for recipient in {r.pk: r for r in recipients}.values():
        for channel in channels:
            rows.append(Notification(
                key=Notification.make_key(kind=kind, recipient_id=recipient.pk,
                                          channel=channel, incident_id=incident_id,
                                          deadline_id=deadline_id, step=step),
                incident_id=incident_id, deadline_id=deadline_id, kind=kind, step=step,
                recipient=recipient, channel=channel, title=title[:300], body=body,
                created_at=at,
                delivered_at=at if channel == Notification.Channel.IN_APP else None,
            ))
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def notification_mark_read(*, notification: Notification, actor: User) -> Notification:
    if notification.recipient_id != actor.pk:
        raise PermissionDenied()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notification_acknowledge(
    *, notification: Notification, actor: User, client_ip: str | None = None
) -> Notification:
    """The recipient confirms they have the alert. For an overdue or escalation alert
    this stops the deadline's escalation chain at the step it reached (the deadline
    stays open until it is met); the acknowledgement is on the incident's timeline."""
    if notification.recipient_id != actor.pk:
        raise PermissionDenied()
    with transaction.atomic(durable=True):
        now = timezone.now()
        updated = Notification.objects.filter(
            pk=notification.pk, acknowledged_at__isnull=True
        ).update(acknowledged_at=now, read_at=now)
        notification.refresh_from_db()
        if not updated:
            return notification  # already acknowledged: nothing more to do
        if notification.kind in CHAIN_KINDS and notification.deadline_id:
            stopped = Deadline.objects.filter(
                pk=notification.deadline_id, acknowledged_at__isnull=True
            ).update(acknowledged_at=now, acknowledged_by=actor, next_check_at=None)
            if stopped and notification.incident_id:
                TimelineEntry.objects.create(
                    incident_id=notification.incident_id, actor=actor, at=now,
                    kind=TimelineEntry.Kind.ALERT, action="acknowledge", client_ip=client_ip,
                    data={"notification": notification.pk, "deadline": notification.deadline_id,
                          "step": notification.step},
                )
    return notification
