"""Who is told at once of what happens to an incident: effects the incidents services
run (``incidents.effects``), registered in this app's ``ready``. The engine's sweep tells
people of deadlines; these tell them of events."""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from incidents.choices import Source
from organisation.roles import Role
from organisation.selectors import people_with_role, roster
from plans.levels import NUMERALS

from .models import Notification
from .services import notifications_write


def upgrade_proposed(*, incident: Any, actor: Any, at: datetime, deadline: Any) -> None:
    """The figures suggest a more severe level: the analysts and office heads are alerted,
    the alert carrying the decision's deadline."""
    recipients = [*people_with_role(role=Role.ANALYST), *people_with_role(role=Role.OFFICE_HEAD)]
    notifications_write(
        recipients=recipients,
        kind=Notification.Kind.LEVEL_UPGRADE,
        at=at,
        incident_id=incident.pk,
        deadline_id=deadline.pk,
        title=_("[%(old)s→%(new)s] %(title)s: the figures suggest a more severe level")
        % {
            "old": NUMERALS[incident.level],
            "new": NUMERALS[incident.suggested_level],
            "title": incident.title,
        },
    )


def lead_logged(*, incident: Any, actor: Any, at: datetime) -> None:
    """A lead was logged: its clocks run from discovery, so the analysts and office heads
    are alerted at once with the suggested colour, to assess it. A member unit's report
    (成员单位报送) also goes to the duty officer on duty (every duty officer when nobody
    is). Whoever logged it is not told of their own lead."""
    roles = [Role.ANALYST, Role.OFFICE_HEAD]
    if incident.source == Source.MEMBER_UNIT:
        roles.append(Role.DUTY_OFFICER)
    recipients = [p for p in roster(at=at).for_roles(roles, at=at) if p.pk != actor.pk]
    policy = incident.plan_version.levels.filter(level=incident.suggested_level).first()
    colour = f"{NUMERALS[policy.level]} {policy.get_colour_display()}" if policy else ""
    if incident.source == Source.MEMBER_UNIT:
        title = _("[%(colour)s] %(unit)s reports a lead to assess: %(title)s")
    else:
        title = _("[%(colour)s] A new lead to assess: %(title)s")
    notifications_write(
        recipients=recipients,
        kind=Notification.Kind.LEAD_LOGGED,
        at=at,
        incident_id=incident.pk,
        title=title % {"colour": colour, "unit": incident.unit, "title": incident.title},
    )


def level_change_proposed(
    *, incident: Any, actor: Any, at: datetime, change: Any, deciders: Any, deadline: Any
) -> None:
    """A level change waits for the leadership's decision: the people who may decide it
    (not its proposer) are told, the alert carrying the decision's deadline."""
    notifications_write(
        recipients=deciders,
        kind=Notification.Kind.LEVEL_CHANGE_PENDING,
        at=at,
        incident_id=incident.pk,
        deadline_id=deadline.pk,
        title=_("[%(old)s→%(new)s] %(title)s: %(who)s proposes this level change, decide it")
        % {
            "old": NUMERALS[change.from_level],
            "new": NUMERALS[change.to_level],
            "title": incident.title,
            "who": actor,
        },
        body=change.reason,
    )


def level_change_decided(*, incident: Any, actor: Any, at: datetime, change: Any) -> None:
    """The proposer of a level change learns the decision."""
    approved = change.status == "approved"
    title = (
        _("[%(old)s→%(new)s] %(title)s: %(who)s approved the level change")
        if approved
        else _("[%(old)s→%(new)s] %(title)s: %(who)s rejected the level change")
    )
    notifications_write(
        recipients=[change.proposed_by],
        kind=Notification.Kind.LEVEL_CHANGE_DECIDED,
        at=at,
        incident_id=incident.pk,
        deadline_id=change.deadline_id,
        title=title
        % {
            "old": NUMERALS[change.from_level],
            "new": NUMERALS[change.to_level],
            "title": incident.title,
            "who": actor,
        },
        body=change.decision_reason,
    )
