"""Every write to an incident goes through these services: the pages, the API, the
admin and the background tasks all call them. Each is one durable transaction that
checks the actor's role, applies the change and writes the audit trail."""

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from core.errors import InvalidInput, PermissionDenied, StaleVersion, TransitionNotAllowed
from core.limits import MAX_COUNT
from core.moments import happened_at, moment_problem
from core.permissions import can, require
from core.text import require_lengths, too_long
from deadlines.models import Deadline
from deadlines.services import (
    ARRIVED,
    LEVEL_DECIDED,
    deadlines_apply_level,
    deadlines_cancel_open,
    deadlines_follow_discovery,
    deadlines_fulfil,
    deadlines_meet,
    deadlines_open_level_decision,
    deadlines_record_unit_report,
    deadlines_start_anchor,
    deadlines_start_arrival_clocks,
    deadlines_start_lead,
)
from organisation.models import Unit, User
from plans.categories import Category
from plans.grading import suggest_level
from plans.levels import NUMERALS, more_severe
from plans.models import Anchor
from plans.selectors import plan_version_in_force

from . import effects, guards, level_changes, permissions
from .choices import REGRADABLE_STATES, EventType, Platform, Source, State
from .models import (
    DESCRIPTION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Incident,
    LevelChange,
    MetricSnapshot,
    TimelineEntry,
)
from .timeline import timeline_record

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "title",
    "description",
    "links",
    "platform",
    "unit",
    "event_type",
    "discovered_at",
)


# A lead is logged when it is found, so its discovery is never later than now (a minute
# for clocks that differ); the floor is the window of believable moments (core.moments).
DISCOVERY_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True)
class Metrics:
    reads: int = 0
    reposts: int = 0
    comments: int = 0
    negative_share: Decimal = Decimal(0)
    mainstream_media: bool = False
    casualties: bool = False

    @classmethod
    def from_input(cls, data: dict[str, Any] | None) -> "Metrics":
        data = data or {}
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for name in ("reads", "reposts", "comments"):
            raw = data.get(name, 0)
            try:
                value = int(raw if raw not in (None, "") else 0)
            except (TypeError, ValueError):
                errors[name] = [_("Enter a whole number.")]
                continue
            if value < 0:
                errors[name] = [_("Cannot be negative.")]
            elif value > MAX_COUNT:
                errors[name] = [_("This number is too large.")]
            values[name] = value
        raw_share = data.get("negative_share", 0)
        try:
            share = Decimal(str(raw_share if raw_share not in (None, "") else 0))
        except ArithmeticError:
            errors["negative_share"] = [_("Enter a number between 0 and 1.")]
        else:
            if not share.is_finite() or not Decimal(0) <= share <= Decimal(1):
                errors["negative_share"] = [_("Enter a number between 0 and 1.")]
            values["negative_share"] = (
                share.quantize(Decimal("0.001")) if share.is_finite() else Decimal(0)
            )
        for name in ("mainstream_media", "casualties"):
            values[name] = bool(data.get(name, False))
        if errors:
            raise InvalidInput(field_errors=errors)
        return cls(**values)


def _passed(incident: Incident) -> dict[str, datetime]:
    """The transitions the incident has been through, each with when it first happened:
    a deadline created later for one of them is met already."""
    passed: dict[str, datetime] = {}
    for action, at in incident.timeline.filter(kind=TimelineEntry.Kind.TRANSITION).values_list(
        "action", "at"
    ):
        if action not in passed or at < passed[action]:
            passed[action] = at
    return passed


def _colour(incident: Incident, level: int | None) -> str:
    if level is None:
        return ""
    return incident.plan_version.levels.get(level=level).colour


def _lock_and_check(*, incident: Incident, expected_version: int | None) -> Incident:
    """Re-read the incident inside the transaction; a stale client version is refused."""
    fresh = Incident.objects.select_related("plan_version", "latest_metrics").get(pk=incident.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise StaleVersion()
    return fresh


def incident_save(
    incident: Incident,
    *,
    fields: dict[str, Any],
    old_version: int | None = None,
    old_state: str | None = None,
    versioned: bool = True,
    within_change: bool = False,
) -> None:
    """The one way to write an incident's fields once it exists, inside the caller's
    transaction, for this app and the apps above it.

    Versioned (the default): a compare-and-set on (version, state) as read in this
    transaction (or as given), and the version moves on; of two concurrent changes only
    one wins, the loser's transaction rolls back with StaleVersion. ``within_change``:
    the write completes a change this transaction already saved (an effect of a
    transition), so it is checked against that version and does not move it again.
    ``versioned=False`` is for the cache of the latest figures (``latest_metrics``,
    ``suggested_level``), which monitoring refreshes every few seconds: moving the version
    for it would turn every person's open form into a conflict."""
    if not versioned:
        Incident.objects.filter(pk=incident.pk).update(**fields)
    else:
        old_version = incident.version if old_version is None else old_version
        old_state = incident.state if old_state is None else old_state
        new_version = old_version if within_change else old_version + 1
        updated = Incident.objects.filter(
            pk=incident.pk, version=old_version, state=old_state
        ).update(version=new_version, updated_at=timezone.now(), **fields)
        if updated != 1:
            raise StaleVersion()
        incident.version = new_version
    for name, value in fields.items():
        setattr(incident, name, value)


def _validate_descriptive(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "title" in data and not str(data["title"] or "").strip():
        errors["title"] = [_("A title is required.")]
    elif "title" in data and len(str(data["title"]).strip()) > TITLE_MAX_LENGTH:
        errors["title"] = [_("At most %(n)d characters.") % {"n": TITLE_MAX_LENGTH}]
    errors.update(too_long(DESCRIPTION_MAX_LENGTH, description=data.get("description")))
    if "platform" in data and data["platform"] not in Platform.values:
        errors["platform"] = [_("Choose a platform from the list.")]
    if "event_type" in data and data["event_type"] not in EventType.values:
        errors["event_type"] = [_("Choose an event type from the list.")]
    if "links" in data:
        links = data["links"]
        if not isinstance(links, list) or not all(
            isinstance(link, str) and link.startswith(("http://", "https://")) for link in links
        ):
            errors["links"] = [_("Each link must be a web address starting with http(s)://.")]
    if "discovered_at" in data:
        value = data["discovered_at"]
        if not isinstance(value, datetime) or timezone.is_naive(value):
            errors["discovered_at"] = [_("Enter a date and time.")]
        elif value > timezone.now() + DISCOVERY_TOLERANCE:
            errors["discovered_at"] = [_("The discovery time cannot be in the future.")]
        elif problem := moment_problem(value):
            errors["discovered_at"] = [problem]
    if "unit" in data and not isinstance(data["unit"], Unit):
        errors["unit"] = [_("Choose a unit.")]
    if errors:
        raise InvalidInput(field_errors=errors)


def _record_snapshot(
    *, incident: Incident, metrics: Metrics, actor: User, taken_at: datetime
) -> MetricSnapshot:
    previous = incident.latest_metrics
    suggestion = suggest_level(version=incident.plan_version, metrics=metrics, previous=previous)
    snapshot = MetricSnapshot.objects.create(
        incident=incident,
        taken_at=taken_at,
        recorded_by=actor,
        suggested_level=suggestion.level,
        **asdict(metrics),
    )
    incident_save(
        incident,
        fields={"latest_metrics": snapshot, "suggested_level": suggestion.level},
        versioned=False,
    )
    return snapshot


def incident_create(*, actor: User, **fields: Any) -> Incident:
    """Log a lead (监测发现). It starts ``detected`` under the plan version in force, with
    the metrics seen and the level they suggest; ``fields`` are those of
    :func:`incident_create_in_transaction`."""
    with transaction.atomic(durable=True):
        incident = incident_create_in_transaction(actor=actor, **fields)
    logger.info("incident %s logged by %s", incident.pk, actor)
    return incident


def incident_create_in_transaction(
    *,
    actor: User,
    title: str,
    platform: str,
    event_type: str,
    unit: Unit | None = None,
    description: str = "",
    links: list[str] | None = None,
    discovered_at: datetime | None = None,
    metrics: dict[str, Any] | None = None,
    client_ip: str | None = None,
    is_drill: bool = False,
    timeline_data: dict | None = None,
    source: str = Source.OFFICE,
) -> Incident:
    """:func:`incident_create` inside a transaction the caller holds (accepting a
    monitoring proposal creates the incident and links it in one). A member unit's
    liaison or head logs a lead of their own unit only: it is a report to the office
    (成员单位报送) that meets the unit's report deadline. The lead's assessment and report
    clocks start at once, at its suggested level, and the ``lead_logged`` effects alert
    the people who must assess it."""
    unit = unit or actor.unit
    if not can(actor, "log"):
        require(actor, "report_lead")
        if unit is None or unit.pk != actor.unit_id:
            raise PermissionDenied(_("A member unit reports leads of its own unit only."))
        source = Source.MEMBER_UNIT
    discovered_at = discovered_at or timezone.now()
    links = links or []
    data = {
        "title": title,
        "platform": platform,
        "event_type": event_type,
        "links": links,
        "discovered_at": discovered_at,
        "description": description,
    }
    if unit is None:
        raise InvalidInput(field_errors={"unit": [_("Choose the involved unit.")]})
    errors: dict[str, list[str]] = {}
    for check in (lambda: _validate_descriptive(data), lambda: Metrics.from_input(metrics)):
        try:
            check()
        except InvalidInput as exc:
            errors.update(exc.field_errors)
    if errors:
        raise InvalidInput(field_errors=errors)
    parsed = Metrics.from_input(metrics)
    incident = Incident.objects.create(
        plan_version=plan_version_in_force(),
        title=title.strip(),
        description=description,
        links=links,
        platform=platform,
        discovered_at=discovered_at,
        unit=unit,
        event_type=event_type,
        created_by=actor,
        is_drill=bool(is_drill),
        source=source,
    )
    snapshot = _record_snapshot(
        incident=incident, metrics=parsed, actor=actor, taken_at=timezone.now()
    )
    # The clock starts at logging: the assessment and the report are owed from discovery
    # at the suggested level, before anyone has graded the lead.
    deadlines_start_lead(incident=incident, level=snapshot.suggested_level)
    if source == Source.MEMBER_UNIT:
        deadlines_record_unit_report(
            incident=incident, unit=unit, person=actor, at=incident.created_at
        )
    timeline_record(
        incident=incident,
        actor=actor,
        kind=TimelineEntry.Kind.CREATED,
        client_ip=client_ip,
        to_state=incident.state,
        to_level=None,
        data={"suggested_level": snapshot.suggested_level, **(timeline_data or {})},
    )
    effects.run("lead_logged", incident=incident, actor=actor, at=incident.created_at)
    return incident


def incident_update(
    *,
    incident: Incident,
    actor: User,
    changes: dict[str, Any],
    expected_version: int | None = None,
    client_ip: str | None = None,
    reason: str = "",
) -> Incident:
    """Correct what was logged.

    The open deadlines run from the discovery time and follow it when it is corrected,
    except those already overdue, which stay overdue (a late report stands). Before
    assessment it is corrected freely; after it, moving it takes the office head and a
    reason.
    """
    require(actor, "edit")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(
            field_errors={name: [_("This field cannot be changed.")] for name in sorted(unknown)}
        )
    _validate_descriptive(changes)
    reason = (reason or "").strip()
    require_lengths(REASON_MAX_LENGTH, reason=reason)
    with transaction.atomic(durable=True):
        incident = _lock_and_check(incident=incident, expected_version=expected_version)
        if not incident.is_open:
            raise TransitionNotAllowed(_("A closed or dismissed incident cannot be edited."))
        changed = {
            name: value for name, value in changes.items() if getattr(incident, name) != value
        }
        if not changed:
            return incident
        moves_clock = "discovered_at" in changed and incident.state != State.DETECTED
        if moves_clock:
            require(actor, "move_discovery")
            if not reason:
                raise InvalidInput(
                    field_errors={
                        "reason": [_("Say why the discovery time of an assessed incident changes.")]
                    }
                )
        before = {name: _audit_value(getattr(incident, name)) for name in changed}
        incident_save(
            incident, old_version=incident.version, old_state=incident.state, fields=changed
        )
        data: dict[str, Any] = {
            "before": before,
            "after": {n: _audit_value(v) for n, v in changed.items()},
        }
        if "discovered_at" in changed:
            data["deadlines"] = deadlines_follow_discovery(incident=incident, now=timezone.now())
        timeline_record(
            incident=incident,
            actor=actor,
            kind=TimelineEntry.Kind.EDITED,
            client_ip=client_ip,
            reason=reason,
            data=data,
        )
    return incident


def _audit_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Unit):
        return value.pk
    return value


def incident_add_metrics(
    *,
    incident: Incident,
    actor: User,
    metrics: dict[str, Any],
    taken_at: datetime | None = None,
    client_ip: str | None = None,
) -> MetricSnapshot:
    """Add a timestamped snapshot of the figures; the suggested level is re-evaluated."""
    require(actor, "add_metrics")
    parsed = Metrics.from_input(metrics)
    taken_at = taken_at or timezone.now()
    if taken_at > timezone.now() + timedelta(minutes=1):
        raise InvalidInput(field_errors={"taken_at": [_("Cannot be in the future.")]})
    if problem := moment_problem(taken_at):
        raise InvalidInput(field_errors={"taken_at": [problem]})
    with transaction.atomic(durable=True):
        incident = _lock_and_check(incident=incident, expected_version=None)
        return incident_record_metrics_in_transaction(
            incident=incident, metrics=parsed, actor=actor, taken_at=taken_at, client_ip=client_ip
        )


def incident_record_metrics_in_transaction(
    *,
    incident: Incident,
    metrics: Metrics,
    actor: User,
    taken_at: datetime,
    client_ip: str | None = None,
) -> MetricSnapshot:
    """The snapshot, its timeline entry and the upgrade proposal it may cause, inside a
    transaction the caller holds (a follow-up report brings figures too)."""
    if not incident.is_open:
        raise TransitionNotAllowed(_("A closed or dismissed incident takes no new figures."))
    before = incident.suggested_level
    snapshot = _record_snapshot(incident=incident, metrics=metrics, actor=actor, taken_at=taken_at)
    timeline_record(
        incident=incident,
        actor=actor,
        kind=TimelineEntry.Kind.METRICS,
        client_ip=client_ip,
        data={
            "snapshot": snapshot.pk,
            "suggested_level_before": before,
            "suggested_level": snapshot.suggested_level,
        },
    )
    if incident.state == State.DETECTED:
        # Before the assessment, a lead's clocks follow its suggestion up, never down.
        deadlines_start_lead(incident=incident, level=snapshot.suggested_level)
    _propose_upgrade_if_metrics_say_so(incident, actor=actor)
    return snapshot


def _propose_upgrade_if_metrics_say_so(incident: Incident, *, actor: User | None) -> None:
    """Colour escalation: when the figures suggest a more severe level than the one
    confirmed, the decision is a deadline of its own that escalates if nobody confirms or
    rejects the upgrade; the effects of ``upgrade_proposed`` alert people at once (the
    notifications app tells the analysts and office heads)."""
    if incident.state not in REGRADABLE_STATES or not more_severe(
        incident.suggested_level, incident.level
    ):
        return
    now = timezone.now()
    decision = deadlines_open_level_decision(incident=incident, at=now)
    if decision is None:
        return  # a proposal is already waiting for its decision
    timeline_record(
        incident=incident,
        actor=actor,
        kind=TimelineEntry.Kind.ALERT,
        action="upgrade_proposed",
        client_ip=None,
        from_level=incident.level,
        to_level=incident.suggested_level,
        data={"deadline": decision.pk},
    )
    effects.run("upgrade_proposed", incident=incident, actor=actor, at=now, deadline=decision)


def _parse_level(level: Any) -> int:
    try:
        value = int(level)
    except (TypeError, ValueError):
        value = 0
    if value not in (1, 2, 3, 4):
        raise InvalidInput(field_errors={"level": [_("Choose a level from Ⅰ to Ⅳ.")]})
    return value


def incident_transition(
    *,
    incident: Incident,
    action: str,
    actor: User,
    reason: str = "",
    expected_version: int | None = None,
    client_ip: str | None = None,
    level: Any = None,
    category: str | None = None,
) -> Incident:
    """Move the incident along the plan's stages.

    ``assess`` confirms or overrides the suggested level (an override needs a written
    reason) and sets the handling category; the level's deadlines become rows. A
    transition that fulfils a deadline marks it met; ``dismiss`` needs a reason.
    """
    if action not in permissions.TRANSITIONS:
        raise InvalidInput(field_errors={"action": [_("Unknown action.")]})
    require(actor, action)
    require_lengths(REASON_MAX_LENGTH, reason=reason)
    with transaction.atomic(durable=True):
        incident = incident_transition_in_transaction(
            incident=incident,
            action=action,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            client_ip=client_ip,
            level=level,
            category=category,
        )
    logger.info("incident %s: %s by %s", incident.pk, action, actor)
    return incident


def incident_transition_in_transaction(
    *,
    incident: Incident,
    action: str,
    actor: User,
    reason: str = "",
    expected_version: int | None = None,
    client_ip: str | None = None,
    level: Any = None,
    category: str | None = None,
) -> Incident:
    """The transition itself, inside a transaction the caller holds: for services that
    must change the incident together with their own rows (approving a review closes
    the incident). Roles are checked by the caller."""
    reason = (reason or "").strip()
    incident = _lock_and_check(incident=incident, expected_version=expected_version)
    method = getattr(incident, action)
    if not can_proceed(method, check_conditions=False):
        raise TransitionNotAllowed(
            _("Cannot %(action)s an incident that is %(state)s.")
            % {"action": _action_label(action), "state": incident.get_state_display()}
        )
    blocked = guards.blocking_reasons(incident, action)
    if blocked:
        raise TransitionNotAllowed(" ".join(blocked))
    fields: dict[str, Any] = {}
    assessed_level: int | None = None
    if action == "assess":
        fields = _assess_fields(incident, level=level, category=category, reason=reason)
        assessed_level = fields["level"]
    if action == "dismiss" and not reason:
        raise InvalidInput(field_errors={"reason": [_("Say why this lead is dismissed.")]})
    old_state, old_version, old_level = incident.state, incident.version, incident.level
    method()
    fields["state"] = incident.state
    now = timezone.now()
    incident_save(incident, old_version=old_version, old_state=old_state, fields=fields)
    timeline_record(
        incident=incident,
        actor=actor,
        kind=TimelineEntry.Kind.TRANSITION,
        action=action,
        client_ip=client_ip,
        from_state=old_state,
        to_state=incident.state,
        to_level=incident.level if action == "assess" else None,
        reason=reason,
        data=(
            {"suggested_level": incident.suggested_level, "category": incident.category}
            if action == "assess"
            else {}
        ),
    )
    if assessed_level is not None:
        # The lead's assessment clock is met as it ran (at its suggested level); then its
        # clocks take the confirmed level, a late one staying late.
        deadlines_fulfil(incident=incident, event=action, at=now)
        deadlines_apply_level(
            incident=incident,
            level=assessed_level,
            passed=_passed(incident),
            overdue_stands_at=now,
        )
        deadlines_start_arrival_clocks(incident=incident, level=assessed_level, at=now)
    deadlines_fulfil(incident=incident, event=action, at=now)
    if assessed_level is not None:
        effects.run(
            "level_changed",
            incident=incident,
            actor=actor,
            at=now,
            old_level=old_level,
            new_level=assessed_level,
        )
    if incident.state == State.REVIEWING:
        deadlines_start_anchor(incident=incident, anchor=Anchor.REVIEWING, at=now)
    effects.run(action, incident=incident, actor=actor, at=now)
    if incident.state in (State.DISMISSED, State.CLOSED):
        deadlines_cancel_open(incident=incident)
    return incident


def _assess_fields(
    incident: Incident, *, level: Any, category: str | None, reason: str
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    try:
        level_value = _parse_level(level)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
        level_value = None
    if category not in Category.values:
        errors["category"] = [_("Choose a handling category.")]
    if level_value is not None and level_value != incident.suggested_level and not reason:
        errors["reason"] = [_("Give a reason for a level other than the suggested one.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    return {"level": level_value, "colour": _colour(incident, level_value), "category": category}


def incident_change_level(
    *,
    incident: Incident,
    actor: User,
    level: Any,
    reason: str,
    expected_version: int | None = None,
    client_ip: str | None = None,
) -> Incident | LevelChange:
    """Raise or lower the level of an assessed incident (004: the level follows the
    incident's development), always with a reason. A raise by the plan's
    ``level_raisers`` applies at once and the deadlines follow the new level; a lowering,
    a change to a reported level whose policy says so, or a raise by anyone else, is a
    proposal for the leadership to decide (``incidents.level_changes``), and the
    incident keeps its level and deadlines meanwhile. Answers the incident when the
    change applied, the pending ``LevelChange`` when it waits for a decision."""
    require(actor, "change_level")
    new_level = _parse_level(level)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(field_errors={"reason": [_("Say why the level changes.")]})
    require_lengths(REASON_MAX_LENGTH, reason=reason)
    with transaction.atomic(durable=True):
        incident = _lock_and_check(incident=incident, expected_version=expected_version)
        if incident.state not in REGRADABLE_STATES:
            raise TransitionNotAllowed(
                _("The level can be changed only after assessment and before review.")
            )
        if new_level == incident.level:
            raise InvalidInput(
                field_errors={"level": [_("The incident is already at this level.")]}
            )
        if level_changes.needs_decision(incident=incident, actor=actor, level=new_level):
            return level_changes.level_change_propose_in_transaction(
                incident=incident, actor=actor, level=new_level, reason=reason, client_ip=client_ip
            )
        incident_apply_level_in_transaction(
            incident=incident, actor=actor, level=new_level, reason=reason, client_ip=client_ip
        )
    return incident


def incident_apply_level_in_transaction(
    *,
    incident: Incident,
    actor: User,
    level: int,
    reason: str,
    client_ip: str | None = None,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """The level changes now, inside the caller's transaction (a raise at once, or an
    approved proposal, whose people ``data`` names for the timeline): the deadlines
    follow the new level, Ⅰ/Ⅱ arrival clocks start, pending approvals follow it to their
    approvers, and a change still pending is withdrawn, as the level has moved on."""
    old_level = incident.level
    now = at or timezone.now()
    incident_save(
        incident,
        old_version=incident.version,
        old_state=incident.state,
        fields={"level": level, "colour": _colour(incident, level)},
    )
    timeline_record(
        incident=incident,
        actor=actor,
        kind=TimelineEntry.Kind.LEVEL,
        action="change_level",
        client_ip=client_ip,
        at=now,
        from_level=old_level,
        to_level=level,
        reason=reason,
        data=data or {},
    )
    level_changes.level_changes_withdraw(
        incident=incident,
        actor=actor,
        at=now,
        why=_("The level was changed to %(level)s meanwhile.") % {"level": NUMERALS[level]},
    )
    deadlines_apply_level(incident=incident, level=level, passed=_passed(incident))
    deadlines_fulfil(incident=incident, event=LEVEL_DECIDED, at=now)
    deadlines_start_arrival_clocks(incident=incident, level=level, at=now)
    # Pending approvals follow the level to its approvers (the response app's effect).
    effects.run(
        "level_changed",
        incident=incident,
        actor=actor,
        at=now,
        old_level=old_level,
        new_level=level,
    )
    # Still short of what the figures suggest: the next proposal starts at once.
    _propose_upgrade_if_metrics_say_so(incident, actor=None)


def level_change_decide(
    *,
    change: LevelChange,
    actor: User,
    approve: bool,
    reason: str = "",
    client_ip: str | None = None,
) -> LevelChange:
    """A leader or deputy (the plan's ``level_deciders``) who did not propose the change
    approves it, and the level changes as an immediate change would, or rejects it (with
    a reason) and the level stays. Either meets the decision deadline and tells the
    proposer. A change no longer pending, or whose incident moved on, is refused."""
    level_changes.require_decider(change, actor)
    reason = (reason or "").strip()
    require_lengths(REASON_MAX_LENGTH, reason=reason)
    if not approve and not reason:
        raise InvalidInput(field_errors={"reason": [_("Say why the level stays.")]})
    with transaction.atomic(durable=True):
        level_changes.lock(change.incident)
        change = (
            LevelChange.objects.select_for_update(of=("self",))
            .select_related("incident__plan_version", "proposed_by")
            .get(pk=change.pk)
        )
        incident = change.incident
        if change.status != LevelChange.Status.PENDING:
            raise StaleVersion(
                _(
                    "This level change is no longer awaiting a decision: it was decided or "
                    "withdrawn."
                )
            )
        if incident.state not in REGRADABLE_STATES or incident.level != change.from_level:
            raise TransitionNotAllowed(
                _(
                    "The incident moved on since this change was proposed (its level or stage "
                    "changed): propose again if a change is still needed."
                )
            )
        now = timezone.now()
        status = LevelChange.Status.APPROVED if approve else LevelChange.Status.REJECTED
        LevelChange.objects.filter(pk=change.pk).update(
            status=status, decided_by=actor, decided_at=now, decision_reason=reason
        )
        change.status, change.decided_by, change.decided_at = status, actor, now
        change.decision_reason = reason
        if change.deadline_id:
            deadlines_meet(pk=change.deadline_id, at=now)
        both = {
            "level_change": change.pk,
            "proposed_by": change.proposed_by_id,
            "proposed_by_name": str(change.proposed_by),
            "decision_reason": reason,
        }
        if approve:
            incident_apply_level_in_transaction(
                incident=incident,
                actor=actor,
                level=change.to_level,
                reason=change.reason,
                client_ip=client_ip,
                at=now,
                data=both,
            )
        else:
            timeline_record(
                incident=incident,
                actor=actor,
                kind=TimelineEntry.Kind.LEVEL,
                action="reject_level_change",
                client_ip=client_ip,
                at=now,
                from_level=change.from_level,
                to_level=change.to_level,
                reason=reason,
                data=both,
            )
        effects.run("level_change_decided", incident=incident, actor=actor, at=now, change=change)
    return change


def incident_reject_upgrade(
    *,
    incident: Incident,
    actor: User,
    reason: str,
    client_ip: str | None = None,
) -> Incident:
    """Keep the confirmed level although the figures suggest a more severe one; the
    decision meets the proposal's deadline and stops its escalation."""
    require(actor, "change_level")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(field_errors={"reason": [_("Say why the level stays.")]})
    require_lengths(REASON_MAX_LENGTH, reason=reason)
    with transaction.atomic(durable=True):
        incident = _lock_and_check(incident=incident, expected_version=None)
        if not deadlines_fulfil(incident=incident, event=LEVEL_DECIDED, at=timezone.now()):
            raise TransitionNotAllowed(_("No level upgrade is waiting for a decision."))
        timeline_record(
            incident=incident,
            actor=actor,
            kind=TimelineEntry.Kind.LEVEL,
            action="reject_upgrade",
            client_ip=client_ip,
            from_level=incident.level,
            to_level=incident.level,
            reason=reason,
            data={"suggested_level": incident.suggested_level},
        )
    return incident


def incident_arrive(
    *,
    incident: Incident,
    actor: User,
    arrived_at: datetime | None = None,
    client_ip: str | None = None,
) -> int:
    """The person acknowledges arrival at their post (or online) after a Ⅰ/Ⅱ alarm,
    now or at ``arrived_at``: their open arrival clocks on the incident are met then.
    The time meets a deadline, so it is no earlier than the alarm and no later than now
    (a time typed in the alarm's minute, as forms give minutes only, is the alarm's).
    Answers how many clocks were met."""
    with transaction.atomic(durable=True):
        now = timezone.now()
        clocks = Deadline.objects.filter(
            incident=incident, assignee=actor, fulfilled_by=ARRIVED, status=Deadline.Status.OPEN
        )
        alarm = max((clock.starts_at or clock.created_at for clock in clocks), default=None)
        if alarm is None:
            raise TransitionNotAllowed(_("You have no arrival to acknowledge on this incident."))
        at = happened_at(
            arrived_at, field="arrived_at", after=alarm, after_what=_("the alarm time"), now=now
        )
        met = clocks.meet(at=at)
        timeline_record(
            incident=incident,
            actor=actor,
            kind=TimelineEntry.Kind.ALERT,
            action="arrived",
            client_ip=client_ip,
            data={"arrived_at": at.isoformat()} if arrived_at is not None else {},
        )
    return met


def _action_label(action: str) -> str:
    from .presentation import ACTION_LABELS

    return str(ACTION_LABELS.get(action, action))
