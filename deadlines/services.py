"""Every write to a deadline but the engine's: open, recompute, meet, cancel, hand over
and acknowledge. Rows are computed from the incident's plan version (domain.md,
"Deadlines the plans set"); each write leaves ``next_check_at`` right for the sweep.

Deadlines sit below incidents: this module knows an incident only by its fields and
related managers, and the incidents services call it inside their transactions."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from organisation.selectors import people_with_role
from plans.calendar import in_working_hours
from plans.levels import Level, more_severe
from plans.models import Anchor, DeadlineKind, DeadlineRule

from .models import Deadline, DeadlineQuerySet, LateReport
from .schedule import (
    deadline_schedule,
    escalates_after_acknowledgement,
    first_check,
    next_check_announce,
    reminder_points,
)

if TYPE_CHECKING:
    from incidents.models import Incident


def _rules(incident: "Incident", level: int, anchor: str) -> list[DeadlineRule]:
    return list(incident.plan_version.deadline_rules.filter(level=level, anchor=anchor))


# The clocks a lead runs before it is graded, at its suggested level: the plan's timing
# runs from discovery ("found → level proposed → reported"), not from the assessment.
LEAD_KINDS = (DeadlineKind.ASSESSMENT, DeadlineKind.REPORT)


def deadlines_apply_level(
    *,
    incident: "Incident",
    level: int,
    passed: Mapping[str, datetime],
    kinds: tuple[str, ...] | None = None,
    overdue_stands_at: datetime | None = None,
) -> None:
    """Create or recompute the discovery-anchored deadlines for ``level`` (only those of
    ``kinds``, when given: a lead's clocks before its assessment).

    Open deadlines take the new level's due time, counted from the discovery time;
    met ones stay as they were met; obligations the new level lacks are cancelled. A new
    obligation whose event the incident has already ``passed`` (event → when) is met then.
    With ``overdue_stands_at`` (the assessment of a lead), a deadline already overdue
    then is not relaxed: grading a lead lower does not undo its late report.
    """
    discovery_rules = [
        rule
        for rule in incident.plan_version.deadline_rules.filter(anchor=Anchor.DISCOVERED)
        if kinds is None or rule.kind in kinds
    ]
    rules = {rule.kind: rule for rule in discovery_rules if rule.level == level}
    discovery_kinds = {rule.kind for rule in discovery_rules}
    existing = {d.kind: d for d in incident.deadlines.all()}
    for kind, dropped in existing.items():
        if kind in discovery_kinds and kind not in rules and dropped.status == "open":
            dropped.status = Deadline.Status.CANCELLED
            dropped.next_check_at = None
            dropped.save(update_fields=["status", "next_check_at"])
    for kind, rule in rules.items():
        due_at = incident.discovered_at + timedelta(minutes=rule.minutes)
        deadline = existing.get(kind)
        if deadline is None:
            met_at = passed.get(rule.fulfilled_by)
            deadline = Deadline.objects.create(
                incident=incident,
                kind=kind,
                level=level,
                fulfilled_by=rule.fulfilled_by,
                starts_at=incident.discovered_at,
                due_at=due_at,
                met_at=met_at,
                status=Deadline.Status.MET if met_at else Deadline.Status.OPEN,
            )
            deadline_schedule(deadline=deadline)
        elif deadline.status != Deadline.Status.MET:
            if (
                overdue_stands_at is not None
                and deadline.status == Deadline.Status.OPEN
                and deadline.due_at <= overdue_stands_at < due_at
            ):
                continue
            deadline.level = level
            deadline.starts_at = incident.discovered_at
            deadline.due_at = due_at
            deadline.fulfilled_by = rule.fulfilled_by
            deadline.status = Deadline.Status.OPEN
            deadline.save(update_fields=["level", "starts_at", "due_at", "fulfilled_by", "status"])
            deadline_schedule(deadline=deadline)


def deadlines_start_lead(*, incident: "Incident", level: int) -> bool:
    """A lead's clocks (``LEAD_KINDS``) at its suggested ``level``, from its discovery
    time: opened when it is logged, tightened when the figures suggest a more severe
    level before the assessment, never relaxed before it (the assessment decides).
    Answers whether they changed."""
    running = incident.deadlines.filter(kind__in=LEAD_KINDS).values_list("level", flat=True)
    if running and not more_severe(level, min(running)):
        return False
    deadlines_apply_level(incident=incident, level=level, passed={}, kinds=LEAD_KINDS)
    return True


def deadlines_follow_discovery(*, incident: "Incident", now: datetime) -> dict[str, list]:
    """The discovery time was corrected: the open discovery-anchored deadlines (a lead's
    clocks at its suggested level, or a graded incident's) follow it, unless already
    overdue at ``now``.

    An overdue deadline keeps its due time and its escalation, whatever the new time
    says: a late report stands. One the move puts in the past is overdue at once and the
    next sweep escalates it. Met and cancelled ones stay as they were. Answers the kinds
    moved (with old and new due times) and kept overdue, for the timeline."""
    moved: list[dict[str, str]] = []
    kept: list[str] = []
    rules = {
        (rule.level, rule.kind): rule
        for rule in incident.plan_version.deadline_rules.filter(anchor=Anchor.DISCOVERED)
    }
    deadlines = (
        incident.deadlines.select_for_update(of=("self",))
        .filter(status=Deadline.Status.OPEN, assignee__isnull=True)
        .order_by("pk")
    )
    for deadline in deadlines:
        rule = rules.get((deadline.level, deadline.kind))
        if rule is None:
            continue
        if deadline.due_at <= now:
            kept.append(deadline.kind)
            continue
        due_at = incident.discovered_at + timedelta(minutes=rule.minutes)
        moved.append(
            {"kind": deadline.kind, "from": deadline.due_at.isoformat(), "to": due_at.isoformat()}
        )
        deadline.starts_at, deadline.due_at = incident.discovered_at, due_at
        deadline.save(update_fields=["starts_at", "due_at"])
        deadline_schedule(deadline=deadline)
    return {"moved": moved, "kept_overdue": kept}


def deadlines_start_anchor(*, incident: "Incident", anchor: str, at: datetime) -> None:
    """Deadlines whose clock starts with a stage (e.g. the review) start at ``at``."""
    if incident.level is None:  # not graded: no level, no deadlines
        return
    for rule in _rules(incident, incident.level, anchor):
        deadline, _created = Deadline.objects.update_or_create(
            incident=incident,
            kind=rule.kind,
            defaults={
                "level": incident.level,
                "fulfilled_by": rule.fulfilled_by,
                "starts_at": at,
                "due_at": at + timedelta(minutes=rule.minutes),
                "met_at": None,
                "status": Deadline.Status.OPEN,
            },
        )
        deadline_schedule(deadline=deadline)


def deadlines_open(**fields: Any) -> Deadline:
    """A new one-off deadline (an approval, a task, a follow-up, a decision), inserted
    with the moment the engine must first look at it."""
    deadline = Deadline(**fields)
    deadline.next_check_at = first_check(deadline=deadline)
    deadline.save()
    next_check_announce(deadline)
    return deadline


def deadlines_fulfil(*, incident: "Incident", event: str, at: datetime) -> int:
    """Mark met every open deadline that ``event`` fulfils; answers how many."""
    return incident.deadlines.filter(fulfilled_by=event).meet(at=at)


def deadlines_cancel_open(*, incident: "Incident") -> int:
    """A dismissed or closed incident owes nothing more."""
    return incident.deadlines.cancel()


ARRIVED = "arrival"  # the event that meets an arrival clock: the person says they are there
LOGGED = "logged"  # the event that meets a member unit's report to the office


def deadlines_record_unit_report(
    *, incident: "Incident", unit: Any, person: Any, at: datetime
) -> Deadline:
    """A member unit reported a lead to the office (001 篇三: within the plan's
    ``unit_report_minutes`` of discovery): the obligation is met by the logging itself,
    so it is written met at ``at``; past the window it is a late report (迟报) of the
    unit and the person who logged it."""
    minutes = incident.plan_version.unit_report_minutes
    deadline = Deadline.objects.create(
        incident=incident,
        kind=DeadlineKind.UNIT_REPORT,
        level=incident.suggested_level or Level.IV,
        unit=unit,
        fulfilled_by=LOGGED,
        starts_at=incident.discovered_at,
        due_at=incident.discovered_at + timedelta(minutes=minutes),
        met_at=at,
        status=Deadline.Status.MET,
    )
    if at > deadline.due_at:
        LateReport.objects.create(
            deadline=deadline, incident=incident, unit=unit, person=person, due_at=deadline.due_at
        )
    return deadline


LEVEL_DECIDED = "level_decision"  # a proposed upgrade confirmed or rejected


def deadlines_start_arrival_clocks(*, incident: "Incident", level: int, at: datetime) -> int:
    """After a Ⅰ/Ⅱ alarm (004), one clock per person the plan's arrival rules name,
    due within the working-hours or off-hours minutes. A person already on a clock of
    the same kind keeps it. Answers how many clocks started."""
    version = incident.plan_version
    working = in_working_hours(version=version, at=at)
    started = 0
    for rule in version.arrival_rules.filter(level=level):
        minutes = rule.minutes_in_hours if working else rule.minutes_off_hours
        people = {p.pk: p for role in rule.roles for p in people_with_role(role=role)}
        for person in people.values():
            deadline, created = Deadline.objects.get_or_create(
                incident=incident,
                kind=rule.kind,
                assignee=person,
                defaults={
                    "level": level,
                    "fulfilled_by": ARRIVED,
                    "starts_at": at,
                    "due_at": at + timedelta(minutes=minutes),
                },
            )
            if created:
                deadline_schedule(deadline=deadline)
                started += 1
    return started


def deadlines_open_level_decision(*, incident: "Incident", at: datetime) -> Deadline | None:
    """A proposed upgrade must be decided within the plan's window; answers the new
    deadline, or None when one is already open."""
    if incident.deadlines.filter(
        kind=DeadlineKind.LEVEL_DECISION, status=Deadline.Status.OPEN
    ).exists():
        return None
    return deadlines_open(
        incident=incident,
        kind=DeadlineKind.LEVEL_DECISION,
        level=incident.level,
        fulfilled_by=LEVEL_DECIDED,
        starts_at=at,
        due_at=at + timedelta(minutes=incident.plan_version.upgrade_decision_minutes),
    )


def _open(
    *, incident: "Incident | None" = None, kind: str | None = None, pk: int | None = None
) -> DeadlineQuerySet:
    """The open deadlines of an incident (of one kind), or the one with ``pk``."""
    found = Deadline.objects.filter(status=Deadline.Status.OPEN)
    if pk is not None:
        found = found.filter(pk=pk)
    if incident is not None:
        found = found.filter(incident=incident)
    if kind is not None:
        found = found.filter(kind=kind)
    return found


def deadlines_meet(
    *,
    at: datetime,
    incident: "Incident | None" = None,
    kind: str | None = None,
    pk: int | None = None,
) -> int:
    """Mark met, at ``at``, the open deadline ``pk`` or the open ones of an incident (of
    one kind); answers how many. A met deadline leaves the engine's sweep."""
    if pk is None and incident is None:
        return 0
    return _open(incident=incident, kind=kind, pk=pk).meet(at=at)


def deadlines_cancel(
    *,
    incident: "Incident | None" = None,
    kind: str | None = None,
    pks: list[int] | None = None,
) -> int:
    """Cancel the open deadlines ``pks``, or those of an incident (of one kind): nothing
    is owed any more. Answers how many."""
    if pks is not None:
        return Deadline.objects.filter(pk__in=pks).cancel()
    if incident is None:
        return 0
    return _open(incident=incident, kind=kind).cancel()


def deadlines_hand_over(*, incident: "Incident", kind: str, assignee: Any) -> int:
    """The open deadlines of ``kind`` pass to ``assignee`` (a new tracker, say)."""
    return _open(incident=incident, kind=kind).update(assignee=assignee)


def deadline_acknowledge(*, pk: int, by: Any, at: datetime) -> str | None:
    """Someone alerted about overdue deadline ``pk`` confirms they have it; the first to
    do so is recorded as who handles it (``acknowledged_by``/``at``). Where the plan says
    the chain climbs on after an acknowledgement (``escalates_after_acknowledgement``),
    it does, sparing whoever acknowledged (the sweep reads their acknowledgements): the
    answer is ``"climbing"``, for every acknowledger. Otherwise the chain stops at the
    step it reached (the deadline stays open until met): ``"stopped"`` for the first
    acknowledgement, None for a later one."""
    deadline = (
        Deadline.objects.select_related("incident__plan_version")
        .filter(pk=pk, status=Deadline.Status.OPEN)
        .first()
    )
    first = Deadline.objects.filter(pk=pk, acknowledged_at__isnull=True)
    if deadline is not None and escalates_after_acknowledgement(
        deadline=deadline, version=deadline.incident.plan_version
    ):
        first.update(acknowledged_at=at, acknowledged_by=by)
        return ACK_CLIMBING
    stopped = first.update(acknowledged_at=at, acknowledged_by=by, next_check_at=None)
    return ACK_STOPPED if stopped else None


ACK_CLIMBING = "climbing"  # acknowledged; the chain climbs on without the acknowledger
ACK_STOPPED = "stopped"  # acknowledged; the chain stops at the step it reached


def deadline_reroute(
    deadline: Deadline, *, incident: "Incident", minutes: int, remind: set[int], now: datetime
) -> None:
    """An approval deadline follows its submission to the approvers of a new level: it
    takes the new level's window from its start and reminds the new approvers; reminders
    whose moment has passed are not owed again."""
    starts = deadline.starts_at or now
    deadline.level = incident.level if incident.level is not None else deadline.level
    deadline.due_at = starts + timedelta(minutes=minutes)
    deadline.remind_user_ids = sorted(remind)
    points = reminder_points(deadline=deadline, version=incident.plan_version)
    deadline.reminders_sent = sum(1 for p in points if p <= now)
    if deadline.due_at > now:
        deadline.escalation_step = -1
    deadline.save(
        update_fields=["level", "due_at", "remind_user_ids", "reminders_sent", "escalation_step"]
    )
    deadline_schedule(deadline=deadline)
