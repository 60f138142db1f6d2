"""The deadline sweep: the engine's one mechanism.

Celery beat runs it every ``FENGHUO_SWEEP_INTERVAL`` seconds, and each sweep sends a
wake-up for the next moment a deadline is owed something (``engine.wakeup``), so alerts
go out on time between beat's rounds. It claims the open deadlines whose
``next_check_at`` has come, with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL so that
concurrent sweeps share the work; on SQLite the transaction takes the database's write
lock when it begins (``transaction_mode=IMMEDIATE``), so sweeps run one after another.
For each deadline it advances the reminder count and escalation step with a
compare-and-set update and writes the notifications in the same transaction; the outbox
keys make a repeated write harmless. A sweep costs what is due, not what is open: it
reads only rows whose ``next_check_at`` has passed (an index on status, next_check_at),
and a sweep with nothing due is one query on that index (:func:`_look`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.models import Heartbeat
from deadlines.models import Deadline, LateReport
from deadlines.schedule import (
    escalates_after_acknowledgement,
    escalation_chain,
    next_check,
    reminder_points,
    summons_points,
)
from notifications.models import Notification
from notifications.services import (
    CHAIN_KINDS,
    endpoints_by_unit,
    notification_rows,
    notifications_save,
    notifications_write,
)
from organisation.models import Unit, User
from organisation.roles import Role
from organisation.selectors import roster
from plans.levels import NUMERALS

from .models import SweepWakeup
from .wakeup import wake_up_needed, wake_up_on_commit

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    deadlines: int = 0
    notifications: int = 0
    late_reports: int = 0


class _Batch:
    """What one claimed batch needs to know, loaded once for all its deadlines: the
    roster (who holds each role, who was on duty since the earliest due time), the
    office, the webhook endpoints. The rows it decides to write are collected and
    inserted together when the batch is done."""

    def __init__(self, deadlines: list[Deadline], *, now: datetime):
        self.now = now
        earliest = min((d.due_at for d in deadlines), default=now)
        self.roster = roster(at=now, since=earliest)
        self.endpoints = endpoints_by_unit(
            unit_ids={p.unit_id for p in self.roster.people.values()}
        )
        self._office: Unit | None = None
        self._deadlines = deadlines
        self._acknowledgers: dict[int, set[int]] | None = None
        self.rows: list[Notification] = []
        self.late_reports: list[LateReport] = []

    def people_for_roles(self, roles: list[str]) -> list[User]:
        return self.roster.for_roles(roles, at=self.now)

    def reminder_recipients(self, deadline: Deadline) -> list[User]:
        """Whoever must act: the deadline's named people (approvers, say), else its
        assignee, else the person on duty."""
        if deadline.remind_user_ids:
            people = self.roster.people
            named = [people[pk] for pk in deadline.remind_user_ids if pk in people]
            if named:
                return named
        if deadline.assignee is not None:
            return [deadline.assignee]
        return self.people_for_roles([Role.DUTY_OFFICER])

    def acknowledgers(self, deadline: Deadline) -> set[int]:
        """Who acknowledged an overdue or escalation alert of this deadline: a chain that
        climbs on after acknowledgements spares them (one query per batch, only when a
        deadline of the batch was acknowledged)."""
        if deadline.acknowledged_by_id is None:
            return set()
        if self._acknowledgers is None:
            self._acknowledgers = {}
            acknowledged = [d.pk for d in self._deadlines if d.acknowledged_by_id is not None]
            for deadline_id, person_id in Notification.objects.filter(
                deadline_id__in=acknowledged,
                kind__in=CHAIN_KINDS,
                acknowledged_at__isnull=False,
                recipient__isnull=False,
            ).values_list("deadline_id", "recipient_id"):
                self._acknowledgers.setdefault(deadline_id, set()).add(person_id)
        return self._acknowledgers.get(deadline.pk, set()) | {deadline.acknowledged_by_id}

    def office(self) -> Unit | None:
        if self._office is None:
            self._office = Unit.objects.filter(kind=Unit.Kind.OFFICE).order_by("sort_order").first()
        return self._office

    def notify(self, *, recipients: list[User], **fields: Any) -> None:
        self.rows.extend(
            notification_rows(
                recipients=recipients, at=self.now, endpoints_by_unit=self.endpoints, **fields
            )
        )

    def save(self) -> tuple[int, int]:
        written = notifications_save(self.rows)
        LateReport.objects.bulk_create(self.late_reports, ignore_conflicts=True)
        return written, len(self.late_reports)


def _title(deadline: Deadline, text: str) -> str:
    return f"[{NUMERALS.get(deadline.level, '')}] {deadline.incident.title}：{text}"


def _advance(deadline: Deadline, batch: _Batch) -> bool:
    """Everything owed for one claimed deadline at the batch's ``now``; answers whether
    this sweep advanced it (see the module docstring)."""
    now = batch.now
    incident = deadline.incident
    version = incident.plan_version
    points = reminder_points(deadline=deadline, version=version)
    chain = escalation_chain(version=version, level=deadline.level)
    climbs = escalates_after_acknowledgement(deadline=deadline, version=version)
    before = (deadline.reminders_sent, deadline.escalation_step, deadline.next_check_at)
    reminder_step = None
    passed = [i for i, point in enumerate(points) if point <= now]
    if passed and max(passed) >= deadline.reminders_sent:
        # Only the latest passed point is announced: a sweep that was late does not
        # send a burst of stale reminders, and none at all once the deadline is due.
        if now < deadline.due_at:
            reminder_step = max(passed)
        deadline.reminders_sent = max(passed) + 1
    new_steps: list[int] = []
    if now >= deadline.due_at and (deadline.acknowledged_at is None or climbs):
        reached = [
            i
            for i, step in enumerate(chain)
            if deadline.due_at + timedelta(minutes=step.wait_minutes) <= now
        ]
        if reached and max(reached) > deadline.escalation_step:
            # Every step not yet taken is taken: each names other people to alert.
            new_steps = list(range(deadline.escalation_step + 1, max(reached) + 1))
            deadline.escalation_step = max(reached)
    deadline.next_check_at = next_check(
        deadline=deadline, points=points, chain=chain, climbs_after_acknowledgement=climbs
    )
    claimed = Deadline.objects.filter(
        pk=deadline.pk,
        status=Deadline.Status.OPEN,
        reminders_sent=before[0],
        escalation_step=before[1],
        next_check_at=before[2],
    ).update(
        reminders_sent=deadline.reminders_sent,
        escalation_step=deadline.escalation_step,
        next_check_at=deadline.next_check_at,
    )
    if claimed != 1:
        return False  # someone else advanced it, or it was met meanwhile
    kind_label = deadline.get_kind_display()
    due_local = timezone.localtime(deadline.due_at).strftime("%H:%M")
    common = {"incident_id": incident.pk, "deadline_id": deadline.pk}
    if reminder_step is not None and points[reminder_step] in summons_points(
        deadline=deadline, version=version
    ):
        # An arrival clock's summons: the person, on every channel, until they arrive.
        batch.notify(
            recipients=batch.reminder_recipients(deadline),
            kind=Notification.Kind.ARRIVAL_SUMMONS,
            step=reminder_step,
            **common,
            title=_title(
                deadline,
                _("Alarm: %(what)s by %(time)s. Confirm your arrival on the incident page.")
                % {"what": kind_label, "time": due_local},
            ),
            link=reverse("incidents:detail", args=[incident.pk]),
        )
    elif reminder_step is not None:
        batch.notify(
            recipients=batch.reminder_recipients(deadline),
            kind=Notification.Kind.REMINDER,
            step=reminder_step,
            **common,
            title=_title(
                deadline, _("%(what)s due at %(time)s") % {"what": kind_label, "time": due_local}
            ),
        )
    spared = batch.acknowledgers(deadline) if new_steps else set()
    handled = ""
    if deadline.acknowledged_by is not None:
        handled = _("%(name)s acknowledged it at %(time)s and is handling it.") % {
            "name": deadline.acknowledged_by,
            "time": timezone.localtime(deadline.acknowledged_at).strftime("%H:%M"),
        }
    for step in new_steps:
        batch.notify(
            recipients=[p for p in batch.people_for_roles(chain[step].roles) if p.pk not in spared],
            kind=Notification.Kind.OVERDUE if step == 0 else Notification.Kind.ESCALATION,
            step=step,
            **common,
            title=_title(
                deadline,
                _("%(what)s overdue since %(time)s") % {"what": kind_label, "time": due_local},
            ),
            body=handled,
        )
    if new_steps and new_steps[0] == 0:
        # 迟报: the unit that leads at the level, and the person who had to act.
        batch.late_reports.append(
            LateReport(
                deadline=deadline,
                incident=incident,
                unit=incident.lead_unit(deadline.level, office=batch.office()),
                person=deadline.assignee or next(iter(batch.roster.on_duty(deadline.due_at)), None),
                due_at=deadline.due_at,
                recorded_at=now,
            )
        )
    return True


def _heartbeat(*, now: datetime) -> None:
    """Record that the engine sweeps; after a silence longer than the stale threshold the
    office heads and system administrators are told the engine has resumed (once per
    silence: the key carries when it began)."""
    with transaction.atomic():
        previous = Heartbeat.objects.select_for_update().filter(name="sweep").first()
        Heartbeat.objects.update_or_create(name="sweep", defaults={"at": now})
        if previous is None:
            return
        silent = (now - previous.at).total_seconds()
        if silent <= settings.FENGHUO_ENGINE_STALE_AFTER:
            return
        logger.warning("deadline engine resumed after %.0f s of silence", silent)
        since = timezone.localtime(previous.at)
        notifications_write(
            recipients=_Batch([], now=now).people_for_roles([Role.OFFICE_HEAD, Role.SYSADMIN]),
            kind=Notification.Kind.ENGINE_RESUMED,
            at=now,
            step=int(previous.at.timestamp()) // 60,  # the silence, by the minute it began
            title=_(
                "The deadline engine was silent from %(since)s for %(minutes)d minutes; "
                "it has resumed and caught up."
            )
            % {"since": since.strftime("%Y-%m-%d %H:%M"), "minutes": round(silent / 60)},
        )


@dataclass(frozen=True)
class _Look:
    """What a sweep reads first: the next moment an open deadline is owed something,
    when a sweep was last recorded, and the wake-up pending (its row's moment)."""

    next_check_at: datetime | None
    heartbeat_at: datetime | None
    wake_up_at: datetime | None

    def due(self, now: datetime) -> bool:
        return self.next_check_at is not None and self.next_check_at <= now


def _look() -> _Look:
    """One query: the earliest ``next_check_at`` of the open deadlines (the first entry
    of the index on status, next_check_at) beside the heartbeat and wake-up rows, each
    read by its primary key. Before the first recorded sweep there is no heartbeat row
    to read beside, and it takes three."""
    earliest = (
        Deadline.objects.filter(status=Deadline.Status.OPEN, next_check_at__isnull=False)
        .order_by("next_check_at")
        .values("next_check_at")[:1]
    )
    wake_up = SweepWakeup.objects.filter(pk=1).values("at")
    found = (
        Heartbeat.objects.filter(name="sweep")
        .annotate(next_check=Subquery(earliest), wake_up=Subquery(wake_up))
        .values_list("at", "next_check", "wake_up")
        .first()
    )
    if found is not None:
        return _Look(heartbeat_at=found[0], next_check_at=found[1], wake_up_at=found[2])
    return _Look(
        heartbeat_at=None,
        next_check_at=earliest.values_list("next_check_at", flat=True).first(),
        wake_up_at=wake_up.values_list("at", flat=True).first(),
    )


def _heartbeat_due(at: datetime | None, *, now: datetime) -> bool:
    """The heartbeat is written when it is a quarter of the stale threshold old, not on
    every sweep: /healthz and the board see a silence long before it matters, and an idle
    sweep writes nothing."""
    return at is None or (now - at).total_seconds() >= settings.FENGHUO_ENGINE_STALE_AFTER / 4


def _sweep_due(*, now: datetime, batch: int, total: SweepResult) -> int:
    """Claim and advance what is due at ``now``, batch after batch; answers how many
    deadlines were advanced. Batches are small so that each one's alerts are committed,
    and visible, without waiting for the rest."""
    advanced = 0
    while True:
        with transaction.atomic():
            due = list(
                Deadline.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Deadline.Status.OPEN, next_check_at__lte=now)
                .select_related(
                    "incident__plan_version", "incident__unit", "assignee", "acknowledged_by"
                )
                .prefetch_related(
                    "incident__plan_version__escalation_steps",
                    "incident__plan_version__levels",
                    "incident__plan_version__deadline_rules",
                    "incident__plan_version__arrival_rules",
                )
                .order_by("next_check_at")[:batch]
            )
            if due:
                work = _Batch(due, now=now)
                advanced += sum(_advance(deadline, work) for deadline in due)
                written, late = work.save()
                total.notifications += written
                total.late_reports += late
        if len(due) < batch:
            total.deadlines += advanced
            return advanced


def sweep(*, now: datetime | None = None, batch: int = 100) -> SweepResult:
    """Advance every deadline that is due for a look; answers what it did.

    It looks again after each round, so what fell due meanwhile is swept now, and ends
    when nothing is due, or when what is due is locked by another sweep (which looks again
    once it commits). Then it sends a wake-up for the next moment, unless one at or
    before it is pending."""
    total = SweepResult()
    with translation.override(settings.LANGUAGE_CODE):
        while True:
            now_ = now or timezone.now()
            look = _look()
            advanced = _sweep_due(now=now_, batch=batch, total=total) if look.due(now_) else 0
            if _heartbeat_due(look.heartbeat_at, now=timezone.now()):
                _heartbeat(now=timezone.now())
            if not advanced:
                break
    # Not for a moment already past: what is due then is another sweep's, in hand.
    moment = look.next_check_at
    if (
        moment is not None
        and moment > now_
        and wake_up_needed(moment, pending=look.wake_up_at, now=now_)
    ):
        wake_up_on_commit(moment)
    if total.deadlines:
        logger.info(
            "sweep: %s deadlines, %s notifications, %s late reports",
            total.deadlines,
            total.notifications,
            total.late_reports,
        )
    return total
