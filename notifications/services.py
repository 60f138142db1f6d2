"""Writes to notifications: the outbox rows and what people do with them."""

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from core.errors import PermissionDenied
from deadlines.services import deadline_acknowledge
from incidents.models import TimelineEntry
from incidents.timeline import timeline_record
from organisation.models import User

from .models import Notification, WebhookEndpoint
from .tasks import deliver_task

logger = logging.getLogger(__name__)

# Alerts about a passed deadline: acknowledging one stops that deadline's chain (or, where
# the plan says it climbs on, that chain's alerts to the acknowledger).
CHAIN_KINDS = frozenset({Notification.Kind.OVERDUE, Notification.Kind.ESCALATION})
ALL_CHANNELS = tuple(Notification.Channel.values)


def notifications_write(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    at: datetime,
    incident_id: int | None = None,
    deadline_id: int | None = None,
    step: int = 0,
    channels: Iterable[str] = ALL_CHANNELS,
    subject: str = "",
    link: str = "",
) -> int:
    """Write outbox rows for ``channels`` (all of them unless told): an in-app row per
    recipient, an email row per recipient with an address, and one webhook row per active
    endpoint of the recipients' units (a robot shared by several recipients gets one).
    Rows already written (same key) are left as they are; answers how many are new.

    Call inside the transaction of the event that causes them. In-app notifications are
    delivered by being written; email and webhook rows are due at once for
    ``notifications.delivery``, which is nudged when the transaction commits."""
    people = list({r.pk: r for r in recipients}.values())
    rows = notification_rows(
        recipients=people,
        kind=kind,
        title=title,
        body=body,
        at=at,
        incident_id=incident_id,
        deadline_id=deadline_id,
        step=step,
        channels=channels,
        subject=subject,
        link=link,
        endpoints_by_unit=endpoints_by_unit(unit_ids={p.unit_id for p in people}),
    )
    return notifications_save(rows)


def endpoints_by_unit(*, unit_ids: Iterable[int | None]) -> dict[int, list[int]]:
    """The active webhook endpoints of these units, by unit (one query)."""
    found: dict[int, list[int]] = {}
    wanted = {unit_id for unit_id in unit_ids if unit_id is not None}
    if not wanted:
        return found
    for unit_id, endpoint_id in (
        WebhookEndpoint.objects.filter(unit_id__in=wanted, active=True)
        .order_by("pk")
        .values_list("unit_id", "pk")
    ):
        found.setdefault(unit_id, []).append(endpoint_id)
    return found


def notification_rows(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    at: datetime,
    endpoints_by_unit: dict[int, list[int]],
    body: str = "",
    incident_id: int | None = None,
    deadline_id: int | None = None,
    step: int = 0,
    channels: Iterable[str] = ALL_CHANNELS,
    subject: str = "",
    link: str = "",
) -> list[Notification]:
    """The outbox rows of one event, unsaved (no query): see ``notifications_write``."""
    wanted = set(channels)
    people = list({r.pk: r for r in recipients}.values())
    common = {
        "incident_id": incident_id,
        "deadline_id": deadline_id,
        "kind": kind,
        "step": step,
        "title": title[:300],
        "body": body,
        "created_at": at,
        "link": link,
    }
    key = partial(
        Notification.make_key,
        kind=kind,
        incident_id=incident_id,
        deadline_id=deadline_id,
        step=step,
        subject=subject,
    )
    rows = []
    for person in people:
        if Notification.Channel.IN_APP in wanted:
            rows.append(
                Notification(
                    key=key(recipient_id=person.pk, channel=Notification.Channel.IN_APP),
                    recipient=person,
                    channel=Notification.Channel.IN_APP,
                    delivered_at=at,
                    **common,
                )
            )
        if Notification.Channel.EMAIL in wanted and person.email:
            rows.append(
                Notification(
                    key=key(recipient_id=person.pk, channel=Notification.Channel.EMAIL),
                    recipient=person,
                    channel=Notification.Channel.EMAIL,
                    next_attempt_at=at,
                    **common,
                )
            )
    if Notification.Channel.WEBHOOK in wanted:
        endpoint_ids = sorted(
            {
                endpoint_id
                for p in people
                if p.unit_id is not None
                for endpoint_id in endpoints_by_unit.get(p.unit_id, [])
            }
        )
        for endpoint_id in endpoint_ids:
            rows.append(
                Notification(
                    key=key(
                        recipient_id=None,
                        endpoint_id=endpoint_id,
                        channel=Notification.Channel.WEBHOOK,
                    ),
                    endpoint_id=endpoint_id,
                    channel=Notification.Channel.WEBHOOK,
                    next_attempt_at=at,
                    **common,
                )
            )
    return rows


def notifications_save(rows: list[Notification]) -> int:
    """Insert the rows whose keys are new (two queries whatever their number); answers
    how many. Inside the transaction of the event that causes them."""
    if not rows:
        return 0
    rows = list({r.key: r for r in rows}.values())
    _mark_drills(rows)
    existing = set(
        Notification.objects.filter(key__in=[r.key for r in rows]).values_list("key", flat=True)
    )
    new = [r for r in rows if r.key not in existing]
    # ignore_conflicts still: a concurrent writer may have added a key since we looked.
    Notification.objects.bulk_create(new, ignore_conflicts=True)
    if any(r.channel != Notification.Channel.IN_APP for r in new):
        _nudge_delivery_on_commit()
    return len(new)


def _mark_drills(rows: list[Notification]) -> None:
    """Every message about a drill says so, in its flag and in its title."""
    from django.utils.translation import gettext as _

    from incidents.models import Incident

    incident_ids = {r.incident_id for r in rows if r.incident_id}
    if not incident_ids:
        return
    drills = set(
        Incident.objects.filter(pk__in=incident_ids, is_drill=True).values_list("pk", flat=True)
    )
    for row in rows:
        if row.incident_id in drills:
            row.is_drill = True
            row.title = f"{_('[DRILL]')} {row.title}"[:300]


def _nudge_delivery_on_commit() -> None:
    """Ask a worker to deliver once the rows are committed, so messages go out now rather
    than at delivery's next beat. Punctuality only: beat runs delivery anyway, so a
    broker that is down costs a few seconds, never the write. Once per transaction."""
    connection = transaction.get_connection()
    # Django keeps (savepoint ids, callback, robust) and drops the callbacks of a savepoint
    # that rolls back, so this sees exactly what will run at commit.
    if any(item[1] is _enqueue_delivery for item in connection.run_on_commit):
        return
    transaction.on_commit(_enqueue_delivery, robust=True)


def _enqueue_delivery() -> None:
    try:
        # No publish retries: a broker that is down should cost the caller as little as
        # possible (one connection attempt, bounded by the broker connection settings).
        deliver_task.apply_async(retry=False)
    except Exception:  # any broker or transport error: beat delivers at its next run
        logger.warning("could not enqueue notification delivery; beat will deliver", exc_info=True)


def notifications_mark_all_read(*, actor: User) -> int:
    """Mark every unread in-app notification of ``actor`` read; answers how many."""
    return Notification.objects.filter(
        recipient=actor, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).update(read_at=timezone.now())


def notification_acknowledge(
    *, notification: Notification, actor: User, client_ip: str | None = None
) -> Notification:
    """The recipient confirms they have the alert. For an overdue or escalation alert
    this records who handles the deadline and stops its escalation chain at the step it
    reached (the deadline stays open until it is met), unless the plan says the chain
    climbs on: then only the acknowledger is spared its later steps. The
    acknowledgement is on the incident's timeline."""
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
            chain = deadline_acknowledge(pk=notification.deadline_id, by=actor, at=now)
            if chain is not None and notification.incident_id:
                timeline_record(
                    incident_id=notification.incident_id,
                    actor=actor,
                    at=now,
                    kind=TimelineEntry.Kind.ALERT,
                    action="acknowledge",
                    client_ip=client_ip,
                    data={
                        "notification": notification.pk,
                        "deadline": notification.deadline_id,
                        "step": notification.step,
                        "chain": chain,  # "stopped", or "climbing" without the actor
                    },
                )
    return notification
