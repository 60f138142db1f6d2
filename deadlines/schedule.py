"""When a deadline needs the engine's attention: its reminder points before due and the
steps of its level's escalation chain after due, all from the incident's plan version."""

from datetime import datetime, timedelta

from django.dispatch import Signal

from deadlines.models import Deadline
from plans.models import ARRIVAL_KINDS, EscalationStep, PlanVersion

# Sent with ``at`` when a deadline is opened or recomputed to be first looked at then. The
# engine, above, connects its wake-up to it: a moment sooner than the sweep it has planned
# is then not left for beat's next round.
next_check_set = Signal()


def summons_points(*, deadline: Deadline, version: PlanVersion) -> list[datetime]:
    """An arrival clock's summons (issue 14): the moment it starts, then every
    ``summons_every_minutes`` of its arrival rule, strictly before due. Empty for other
    deadlines. Reads the version's arrival rules, prefetched by the sweep."""
    if deadline.kind not in ARRIVAL_KINDS or deadline.starts_at is None:
        return []
    rule = next(
        (
            r
            for r in version.arrival_rules.all()
            if r.level == deadline.level and r.kind == deadline.kind
        ),
        None,
    )
    if rule is None or deadline.due_at <= deadline.starts_at:
        return []
    points = [deadline.starts_at]
    if rule.summons_every_minutes:
        every = timedelta(minutes=rule.summons_every_minutes)
        while points[-1] + every < deadline.due_at:
            points.append(points[-1] + every)
    return points


def reminder_points(*, deadline: Deadline, version: PlanVersion) -> list[datetime]:
    """Reminder times, strictly before due: half the window (if the plan says so), and a
    fixed time before due, shorter for short windows (default 5 min up to an hour's
    window, else 1 hour). An arrival clock with repeated summons has those instead (its
    first at the start); summoned once, it has that and the reminders."""
    summons = summons_points(deadline=deadline, version=version)
    if len(summons) > 1:
        return summons
    starts = deadline.starts_at or deadline.incident.discovered_at
    window = deadline.due_at - starts
    if window <= timedelta(0):
        return []
    points = set(summons)
    if version.remind_at_half_window:
        points.add(starts + window / 2)
    short = window <= timedelta(minutes=version.short_window_minutes)
    before = timedelta(
        minutes=version.short_reminder_minutes if short else version.long_reminder_minutes
    )
    if timedelta(0) < before < window:
        points.add(deadline.due_at - before)
    return sorted(p for p in points if starts < p < deadline.due_at or p in summons)


def escalation_chain(*, version: PlanVersion, level: int) -> list[EscalationStep]:
    return sorted(
        (s for s in version.escalation_steps.all() if s.level == level),
        key=lambda s: s.wait_minutes,
    )


def escalates_after_acknowledgement(*, deadline: Deadline, version: PlanVersion) -> bool:
    """Whether the plan says this deadline's chain climbs on after an acknowledgement
    (per kind and level; issue 14: Ⅰ/Ⅱ report and first response by default). Reads the
    version's deadline rules, prefetched by the sweep."""
    return any(
        rule.escalate_after_acknowledgement
        for rule in version.deadline_rules.all()
        if rule.level == deadline.level and rule.kind == deadline.kind
    )


def next_check(
    *,
    deadline: Deadline,
    points: list[datetime],
    chain: list[EscalationStep],
    climbs_after_acknowledgement: bool = False,
) -> datetime | None:
    """The next moment something is owed for this deadline, given what was done. An
    acknowledgement stops the chain unless ``climbs_after_acknowledgement``."""
    if deadline.status != Deadline.Status.OPEN:
        return None
    candidates = []
    if deadline.reminders_sent < len(points):
        candidates.append(points[deadline.reminders_sent])
    climbing = deadline.acknowledged_at is None or climbs_after_acknowledgement
    if climbing and deadline.escalation_step + 1 < len(chain):
        wait = chain[deadline.escalation_step + 1].wait_minutes
        candidates.append(deadline.due_at + timedelta(minutes=wait))
    return min(candidates) if candidates else None


def first_check(*, deadline: Deadline) -> datetime | None:
    """When the sweep must first look at a new or recomputed deadline (saved or not)."""
    version = deadline.incident.plan_version
    return next_check(
        deadline=deadline,
        points=reminder_points(deadline=deadline, version=version),
        chain=escalation_chain(version=version, level=deadline.level),
        climbs_after_acknowledgement=escalates_after_acknowledgement(
            deadline=deadline, version=version
        ),
    )


def deadline_schedule(*, deadline: Deadline) -> None:
    """Set when the sweep must first look at a recomputed deadline."""
    deadline.next_check_at = first_check(deadline=deadline)
    Deadline.objects.filter(pk=deadline.pk).update(next_check_at=deadline.next_check_at)
    next_check_announce(deadline)


def next_check_announce(deadline: Deadline) -> None:
    """Tell whoever listens (the engine) when this open deadline is next due a look."""
    if deadline.next_check_at is not None:
        next_check_set.send(sender=Deadline, at=deadline.next_check_at)
