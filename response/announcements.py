"""Who is told at once of what happens to a response: the approvers of a submission, the
author of a decision, the spokesperson of an approved statement, a named tracker, a
task's unit and assignee. Called by the response services inside their transactions
(``documents.approvals_reroute``, the effect of a level change, among them)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from deadlines.models import Deadline
from incidents.models import Incident
from notifications.models import Notification
from notifications.services import notifications_write
from organisation.models import Unit, User
from organisation.roles import Role
from organisation.selectors import people_with_role
from plans.levels import NUMERALS

from .models import DocumentState, Statement, Task


def _names(doc: Any) -> dict[str, Any]:
    return {
        "title": doc.incident.title,
        "document": type(doc)._meta.verbose_name,
        "version": doc.version,
    }


def approval_requested(
    *, doc: Any, approvers: Iterable[User], deadline: Deadline, at: datetime, step: int = 0
) -> int:
    """A version awaits a decision: the approvers who may decide on it are told, each
    message carrying the approval deadline."""
    return notifications_write(
        recipients=approvers,
        kind=Notification.Kind.APPROVAL_REQUESTED,
        at=at,
        incident_id=doc.incident_id,
        deadline_id=deadline.pk,
        step=step,
        title=_("%(title)s: %(document)s v%(version)d awaits your approval") % _names(doc),
    )


def approval_decided(*, doc: Any, state: str, at: datetime) -> int:
    """The author is told the decision on their version."""
    return notifications_write(
        recipients=[doc.author],
        kind=Notification.Kind.APPROVAL_DECIDED,
        at=at,
        incident_id=doc.incident_id,
        step=doc.version,
        title=_("%(title)s: %(document)s v%(version)d %(state)s")
        % {**_names(doc), "state": DocumentState(state).label},
    )


def statement_to_publish(*, statement: Statement, at: datetime) -> int:
    """An approved statement waits for the spokesperson to publish it."""
    return notifications_write(
        recipients=people_with_role(role=Role.SPOKESPERSON),
        kind=Notification.Kind.STATEMENT_TO_PUBLISH,
        at=at,
        incident_id=statement.incident_id,
        step=statement.version,
        title=_("%(title)s: statement v%(version)d is approved and awaits publication")
        % {"title": statement.incident.title, "version": statement.version},
    )


def tracker_named(*, incident: Incident, tracker: User, actor: User, at: datetime) -> int:
    """A person named tracker is told they now file the follow-up reports (not when they
    named themselves)."""
    if tracker.pk == actor.pk:
        return 0
    return notifications_write(
        recipients=[tracker],
        kind=Notification.Kind.TRACKER_NAMED,
        at=at,
        incident_id=incident.pk,
        step=tracker.pk,
        title=_("%(title)s: you are named tracker; file the follow-up reports")
        % {"title": incident.title},
    )


def task_people(*, unit: Unit, assignee: User | None) -> list[User]:
    """Who a task concerns: its unit's liaisons and head, and the assignee if named."""
    people = list(
        User.objects.filter(
            is_active=True, unit=unit, role_assignments__role__in=[Role.LIAISON, Role.UNIT_HEAD]
        )
        .distinct()
        .order_by("pk")
    )
    if assignee is not None and assignee.pk not in {p.pk for p in people}:
        people.append(assignee)
    return people


def task_assigned(*, task: Task, at: datetime) -> int:
    """A new task: its unit (liaisons, head) and its assignee are told."""
    return notifications_write(
        recipients=task_people(unit=task.unit, assignee=task.assignee),
        kind=Notification.Kind.TASK_ASSIGNED,
        at=at,
        incident_id=task.incident_id,
        deadline_id=task.deadline_id,
        step=task.pk,
        title=_("%(title)s: a task for %(unit)s: %(task)s")
        % {"title": task.incident.title, "unit": task.unit.name, "task": task.title},
    )


def approval_rerouted(
    *,
    doc: Any,
    left: Iterable[User],
    deadline: Deadline | None,
    old_level: int,
    new_level: int,
    at: datetime,
) -> int:
    """The level changed: the approvers a pending version left are told it no longer
    waits on them."""
    return notifications_write(
        recipients=left,
        kind=Notification.Kind.APPROVAL_REROUTED,
        at=at,
        incident_id=doc.incident_id,
        deadline_id=deadline.pk if deadline else None,
        step=new_level,
        title=_(
            "%(title)s: %(document)s v%(version)d no longer awaits your "
            "approval: the level changed from %(old)s to %(new)s"
        )
        % {**_names(doc), "old": NUMERALS[old_level], "new": NUMERALS[new_level]},
    )
