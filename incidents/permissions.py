"""Who may do what to an incident: the incidents app's table of actions and roles,
declared to ``core.permissions`` (services, the API and the pages ask there), and the
actions open to a person on one incident right now."""

from typing import Any

from core.permissions import can, declare
from organisation.roles import Role

from .choices import REGRADABLE_STATES

ACTION_ROLES: dict[str, frozenset[str]] = {
    "log": frozenset({Role.DUTY_OFFICER, Role.ANALYST, Role.OFFICE_HEAD}),
    "edit": frozenset({Role.DUTY_OFFICER, Role.ANALYST, Role.OFFICE_HEAD}),
    # Once assessed, the deadlines run from the discovery time: moving it moves them.
    "move_discovery": frozenset({Role.OFFICE_HEAD}),
    "add_metrics": frozenset({Role.DUTY_OFFICER, Role.ANALYST, Role.OFFICE_HEAD}),
    "assess": frozenset({Role.ANALYST, Role.OFFICE_HEAD}),
    "change_level": frozenset({Role.ANALYST, Role.OFFICE_HEAD, Role.LEADER, Role.DEPUTY_LEADER}),
    "report": frozenset({Role.ANALYST, Role.OFFICE_HEAD}),
    "respond": frozenset({Role.OFFICE_HEAD, Role.LEADER, Role.DEPUTY_LEADER}),
    "track": frozenset({Role.OFFICE_HEAD}),
    "review": frozenset({Role.OFFICE_HEAD}),
    "close": frozenset({Role.OFFICE_HEAD, Role.LEADER, Role.DEPUTY_LEADER}),
    "dismiss": frozenset({Role.ANALYST, Role.OFFICE_HEAD}),
    # 责任追究: findings of late, omitted, false or concealed reports, and commendations.
    "record_finding": frozenset({Role.OFFICE_HEAD, Role.LEADER, Role.DEPUTY_LEADER}),
    # A member unit's 舆情信息员 and head report a lead of their own unit to the office
    # (001 篇三); the office's roles log any ("log").
    "report_lead": frozenset({Role.LIAISON, Role.UNIT_HEAD}),
}
# Deciding on a proposed upgrade is deciding on the level.
ACTION_ROLES["reject_upgrade"] = ACTION_ROLES["change_level"]

declare(ACTION_ROLES)


def may_log_a_lead(user: Any) -> bool:
    """Whoever may log a lead: the office's roles for any unit, a member unit's liaison
    or head for their own (the service checks the unit)."""
    return can(user, "log") or can(user, "report_lead")


TRANSITIONS = ("assess", "report", "respond", "track", "review", "close", "dismiss")


def available_actions(user: Any, incident: Any) -> list[str]:
    """The transitions (and level change) this user may take on the incident right now:
    their role allows it, the state permits it and no guard of the plan blocks it."""
    from django_fsm import can_proceed

    from deadlines.models import Deadline
    from deadlines.services import ARRIVED
    from plans.models import DeadlineKind

    actions = [
        action
        for action in TRANSITIONS
        if can(user, action) and can_proceed(getattr(incident, action))
    ]
    if can(user, "change_level") and incident.state in REGRADABLE_STATES:
        actions.append("change_level")
    # Read from the prefetched deadlines: no query per incident in lists.
    open_deadlines = [d for d in incident.deadlines.all() if d.status == Deadline.Status.OPEN]
    if can(user, "reject_upgrade") and any(
        d.kind == DeadlineKind.LEVEL_DECISION for d in open_deadlines
    ):
        actions.append("reject_upgrade")
    if user.is_authenticated and any(
        d.fulfilled_by == ARRIVED and d.assignee_id == user.pk for d in open_deadlines
    ):
        actions.append("arrive")
    return actions
