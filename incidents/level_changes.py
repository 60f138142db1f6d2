"""Level changes that wait for the leadership (issue 14, plan data of the plan version).

Raising a level is the safer direction: the plan's ``level_raisers`` (and its deciders)
raise at once. Lowering a level, a change to a reported level whose policy says so
(Ⅰ/Ⅱ by default), and a raise by anyone else who may change levels, are proposals: a
``LevelChange`` with its decision deadline, which a person holding one of the plan's
``level_deciders`` roles approves or rejects; never its proposer (four eyes, as for the
approvals of documents). Until then the incident keeps its level and its stricter
deadlines. This module holds those rules, the proposals and their withdrawal; the two
writes that change the incident, ``incident_change_level`` (which chooses between the
paths) and ``level_change_decide``, are in ``incidents.services`` with the others."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import PermissionDenied, TransitionNotAllowed
from deadlines.services import deadlines_cancel, deadlines_open
from organisation.models import User
from organisation.roles import Role
from plans.levels import NUMERALS
from plans.models import DeadlineKind

from . import effects
from .choices import State
from .models import Incident, LevelChange, TimelineEntry
from .timeline import timeline_record

# The event that meets a level change's decision deadline (the figures' upgrade proposal
# has its own, ``deadlines.services.LEVEL_DECIDED``).
LEVEL_CHANGE_DECIDED = "level_change"

# Regradable states the incident reaches once it has been reported to the leadership.
REPORTED_STATES = frozenset({State.REPORTED, State.RESPONDING, State.TRACKING})


def _roles_label(roles: list[str]) -> str:
    return " / ".join(str(Role(r).label) if r in Role.values else r for r in roles)


def may_decide(user: Any, incident: Incident) -> bool:
    """Whether ``user`` holds a role the incident's plan names to decide level changes."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_role(*incident.plan_version.level_deciders)


def deciders(*, incident: Incident, besides: Any = None) -> list[User]:
    """The active people who may decide a level change of ``incident`` (but ``besides``,
    its proposer)."""
    people = User.objects.filter(
        is_active=True, role_assignments__role__in=incident.plan_version.level_deciders
    )
    if besides is not None:
        people = people.exclude(pk=besides.pk)
    return list(people.distinct().order_by("pk"))


def needs_decision(*, incident: Incident, actor: Any, level: int) -> bool:
    """Whether changing ``incident`` to ``level`` waits for a decision: a lowering, a
    change to a reported level whose policy says so, or a raise by someone the plan does
    not let raise at once."""
    version = incident.plan_version
    if incident.level is None or level > incident.level:
        return True
    if not actor.has_role(*version.level_raisers, *version.level_deciders):
        return True
    policy = incident.level_policy()
    return bool(
        incident.state in REPORTED_STATES
        and policy is not None
        and policy.change_needs_decision_once_reported
    )


def pending_level_change(incident: Incident) -> LevelChange | None:
    return (
        LevelChange.objects.filter(incident=incident, status=LevelChange.Status.PENDING)
        .select_related("proposed_by", "deadline")
        .first()
    )


def level_change_list(*, filters: dict[str, Any] | None = None) -> QuerySet[LevelChange]:
    """Level changes, newest first, filtered by incident and status."""
    filters = filters or {}
    found = LevelChange.objects.select_related("proposed_by", "decided_by", "deadline").order_by(
        "-proposed_at", "-id"
    )
    for name in ("incident", "status"):
        if filters.get(name) is not None:
            found = found.filter(**{name: filters[name]})
    return found


def lock(incident: Incident) -> None:
    """Take the incident's row lock, so proposals and decisions of one incident queue."""
    list(Incident.objects.select_for_update().filter(pk=incident.pk).values_list("pk"))


def level_changes_withdraw(
    *, incident: Incident, actor: Any, at: datetime, why: str, **details: Any
) -> int:
    """Withdraw the pending change of ``incident`` (the incident moved on: its level was
    changed, it entered review or was dismissed, or a newer proposal replaces it): its
    deadline is cancelled and the timeline says why. Inside the caller's transaction;
    answers how many were withdrawn. Also the effect of the ``review`` and ``dismiss``
    transitions."""
    withdrawn = 0
    for change in LevelChange.objects.select_for_update().filter(
        incident=incident, status=LevelChange.Status.PENDING
    ):
        LevelChange.objects.filter(pk=change.pk).update(
            status=LevelChange.Status.WITHDRAWN, decided_at=at
        )
        if change.deadline_id:
            deadlines_cancel(pks=[change.deadline_id])
        timeline_record(
            incident=incident,
            actor=actor,
            kind=TimelineEntry.Kind.LEVEL,
            action="withdraw_level_change",
            at=at,
            from_level=change.from_level,
            to_level=change.to_level,
            reason=why,
            data={"level_change": change.pk, "proposed_by": change.proposed_by_id},
        )
        withdrawn += 1
    return withdrawn


def withdraw_when_leaving_regrading(*, incident: Incident, actor: Any, at: datetime) -> None:
    """Effect of the transitions after which a level no longer changes (review,
    dismissal): nothing is left to decide."""
    level_changes_withdraw(
        incident=incident,
        actor=actor,
        at=at,
        why=_("The incident is %(state)s: its level no longer changes.")
        % {"state": incident.get_state_display()},
    )


def level_change_propose_in_transaction(
    *, incident: Incident, actor: User, level: int, reason: str, client_ip: str | None
) -> LevelChange:
    """Record the proposal to change ``incident`` to ``level`` and start its decision
    clock; the deciders but the proposer are reminded and told. The incident, its level
    and its deadlines stay as they are. Inside the caller's transaction, with the
    incident read there (``incident_change_level``). Refused (409) when nobody but the
    proposer may decide."""
    lock(incident)
    version = incident.plan_version
    people = deciders(incident=incident, besides=actor)
    if not people:
        raise TransitionNotAllowed(
            _(
                "Nobody may decide this level change: the plan has it decided by a "
                "%(roles)s other than its proposer, and there is none."
            )
            % {"roles": _roles_label(version.level_deciders)}
        )
    now = timezone.now()
    level_changes_withdraw(
        incident=incident,
        actor=actor,
        at=now,
        why=_("A newer proposal replaces it."),
    )
    deadline = deadlines_open(
        incident=incident,
        kind=DeadlineKind.LEVEL_CHANGE,
        level=incident.level,
        fulfilled_by=LEVEL_CHANGE_DECIDED,
        starts_at=now,
        due_at=now + timedelta(minutes=version.level_change_decision_minutes),
        remind_user_ids=[p.pk for p in people],
    )
    change = LevelChange.objects.create(
        incident=incident,
        from_level=incident.level,
        to_level=level,
        reason=reason,
        proposed_by=actor,
        proposed_at=now,
        deadline=deadline,
    )
    timeline_record(
        incident=incident,
        actor=actor,
        kind=TimelineEntry.Kind.LEVEL,
        action="propose_level_change",
        client_ip=client_ip,
        at=now,
        from_level=change.from_level,
        to_level=level,
        reason=reason,
        data={"level_change": change.pk, "due_at": deadline.due_at.isoformat()},
    )
    effects.run(
        "level_change_proposed",
        incident=incident,
        actor=actor,
        at=now,
        change=change,
        deciders=people,
        deadline=deadline,
    )
    return change


def require_decider(change: LevelChange, actor: Any) -> None:
    """Four eyes: a decider of the plan, never the proposer (403 otherwise)."""
    if actor.pk is not None and actor.pk == change.proposed_by_id:
        raise PermissionDenied(
            _("You proposed this level change: another of the leadership decides on it.")
        )
    if not may_decide(actor, change.incident):
        raise PermissionDenied(
            _("The plan has level changes decided by a %(roles)s.")
            % {"roles": _roles_label(change.incident.plan_version.level_deciders)}
        )


def describe(change: LevelChange) -> str:
    """Ⅰ→Ⅳ, for titles and messages."""
    return f"{NUMERALS.get(change.from_level, change.from_level)}→" + str(
        NUMERALS.get(change.to_level, change.to_level)
    )
