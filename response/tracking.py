"""Tracking (动态跟踪): a named tracker files follow-up reports (续报) at the plan's cadence;
a missed follow-up is a deadline like any other."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from core.moments import happened_at
from core.permissions import can, require
from core.text import require_lengths
from deadlines.models import Deadline
from deadlines.services import deadlines_cancel, deadlines_hand_over, deadlines_meet, deadlines_open
from incidents.choices import State
from incidents.models import Incident, TimelineEntry
from incidents.services import Metrics, incident_record_metrics_in_transaction, incident_save
from incidents.timeline import timeline_record
from organisation.models import User
from plans.models import DeadlineKind

from .announcements import tracker_named
from .models import TEXT_MAX_LENGTH, FollowUp

FOLLOW_UP_FILED = "follow_up_filed"


def _open_next(incident: Incident, *, at: datetime) -> Deadline:
    hours = incident.level_policy().follow_up_hours
    return deadlines_open(
        incident=incident,
        kind=DeadlineKind.FOLLOW_UP,
        level=incident.level,
        fulfilled_by=FOLLOW_UP_FILED,
        starts_at=at,
        due_at=at + timedelta(hours=hours),
        assignee=incident.tracker,
    )


# 续报 are filed throughout the response: from the report until the review starts.
FOLLOW_UP_STATES = frozenset({State.REPORTED, State.RESPONDING, State.TRACKING})


_STAGES = (State.REPORTED, State.RESPONDING, State.TRACKING)


def _cadence_started(incident: Incident) -> bool:
    """Whether the incident has reached the stage its level's follow-ups are due from."""
    start = incident.level_policy().follow_up_from
    return incident.state in _STAGES and _STAGES.index(incident.state) >= _STAGES.index(start)


def _clock_running(incident: Incident) -> bool:
    return incident.deadlines.filter(
        kind=DeadlineKind.FOLLOW_UP, status=Deadline.Status.OPEN
    ).exists()


def start_follow_up_clock(*, incident: Incident, actor: User, at: datetime) -> None:
    """Effect of ``report``, ``respond`` and ``track``: the follow-up cadence starts at the
    stage the level's policy names (``follow_up_from``: Ⅰ/Ⅱ at the report, Ⅲ/Ⅳ at the
    response by default), or at tracking at the latest; the first follow-up is due after
    the level's cadence. At ``track`` the person who starts tracking is the tracker
    unless one is named."""
    if incident.state == State.TRACKING and incident.tracker_id is None:
        incident_save(incident, fields={"tracker": actor}, within_change=True)
        # A follow-up already due (Ⅰ/Ⅱ from the report) passes to the tracker.
        deadlines_hand_over(incident=incident, kind=DeadlineKind.FOLLOW_UP, assignee=actor)
    if _cadence_started(incident) and not _clock_running(incident):
        _open_next(incident, at=at)


def stop_follow_up_clock(*, incident: Incident, actor: User, at: datetime) -> None:
    """Effect of ``review``: the incident has subsided; no more follow-ups are owed."""
    deadlines_cancel(incident=incident, kind=DeadlineKind.FOLLOW_UP)


def _follows(incident: Incident) -> datetime:
    """What a follow-up report follows: the previous report, or the start of tracking
    (when the open follow-up clock started)."""
    clock = (
        incident.deadlines.filter(kind=DeadlineKind.FOLLOW_UP)
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    latest = (
        FollowUp.objects.filter(incident=incident)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return max((t for t in (clock, latest) if t is not None), default=incident.created_at)


def follow_up_file(
    *,
    incident: Incident,
    actor: User,
    what_changed: str,
    actions_taken: str = "",
    metrics: dict[str, Any] | None = None,
    at: datetime | None = None,
    client_ip: str | None = None,
) -> FollowUp:
    """File a follow-up report made ``at`` (default now): it meets the follow-up due at
    that time and starts the next one. The time is no earlier than what the report
    follows (the previous report, or the start of tracking) and no later than now. New
    figures, if given, are a snapshot like any other, taken when they are recorded."""
    if not (incident.tracker_id == actor.pk or can(actor, "file_follow_up")):
        raise PermissionDenied()
    if not (what_changed or "").strip():
        raise InvalidInput(field_errors={"what_changed": [_("Say what changed.")]})
    require_lengths(TEXT_MAX_LENGTH, what_changed=what_changed, actions_taken=actions_taken)
    parsed = Metrics.from_input(metrics) if metrics else None
    with transaction.atomic(durable=True):
        incident = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("plan_version", "latest_metrics")
            .get(pk=incident.pk)
        )
        if incident.state not in FOLLOW_UP_STATES:
            raise TransitionNotAllowed(
                _("Follow-up reports are filed from the report until the review starts.")
            )
        now = timezone.now()
        at = happened_at(
            at,
            field="at",
            now=now,
            after=_follows(incident),
            after_what=_("the report or the tracking it follows"),
        )
        snapshot = (
            incident_record_metrics_in_transaction(
                incident=incident, metrics=parsed, actor=actor, taken_at=now, client_ip=client_ip
            )
            if parsed
            else None
        )
        follow_up = FollowUp.objects.create(
            incident=incident,
            author=actor,
            at=at,
            what_changed=what_changed.strip(),
            actions_taken=actions_taken,
            snapshot=snapshot,
        )
        deadlines_meet(incident=incident, kind=DeadlineKind.FOLLOW_UP, at=at)
        # Before the cadence starts (a Ⅳ being reported, say) a report owes no next one.
        if _cadence_started(incident):
            _open_next(incident, at=at)
        timeline_record(
            incident=incident,
            actor=actor,
            at=now,
            kind=TimelineEntry.Kind.RESPONSE,
            action="follow_up_filed",
            client_ip=client_ip,
            reason=what_changed.strip()[:500],
            data={"follow_up": follow_up.pk, "at": at.isoformat()},
        )
    return follow_up


def incident_name_tracker(
    *, incident: Incident, actor: User, tracker: User, client_ip: str | None = None
) -> Incident:
    """Name the person who follows the incident and files its follow-up reports; the
    open follow-up clock passes to them."""
    require(actor, "assign_task")
    if not tracker.is_active:
        raise InvalidInput(field_errors={"tracker": [_("Choose an active person.")]})
    with transaction.atomic(durable=True):
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if not incident.is_open or incident.level is None:
            raise TransitionNotAllowed(_("A tracker is named for an assessed, open incident."))
        before = incident.tracker_id
        incident_save(incident, fields={"tracker": tracker})
        deadlines_hand_over(incident=incident, kind=DeadlineKind.FOLLOW_UP, assignee=tracker)
        now = timezone.now()
        timeline_record(
            incident=incident,
            actor=actor,
            at=now,
            kind=TimelineEntry.Kind.RESPONSE,
            action="tracker_named",
            client_ip=client_ip,
            data={"tracker": tracker.pk, "before": before},
        )
        if before != tracker.pk:
            tracker_named(incident=incident, tracker=tracker, actor=actor, at=now)
    return incident
