"""Who may do what in the response: the response app's table of actions and roles,
declared to ``core.permissions``, and who may see and work on a task."""

from typing import Any

from core.permissions import declare
from organisation.roles import Role

ACTION_ROLES: dict[str, frozenset[str]] = {
    "draft_response_plan": frozenset({Role.OFFICE_HEAD, Role.ANALYST}),
    "draft_statement": frozenset({Role.OFFICE_HEAD, Role.ANALYST, Role.SPOKESPERSON}),
    "draft_review": frozenset({Role.OFFICE_HEAD, Role.ANALYST}),
    "publish_statement": frozenset({Role.SPOKESPERSON}),
    "assign_task": frozenset({Role.OFFICE_HEAD, Role.ANALYST}),
    "file_follow_up": frozenset({Role.OFFICE_HEAD, Role.ANALYST, Role.DUTY_OFFICER}),
}


declare(ACTION_ROLES)


def tasks_scope(user: Any):
    """The tasks that are "mine": assigned to me, or my unit's if I am its liaison or
    head (a Q object for the task list)."""
    from django.db.models import Q

    scope = Q(assignee=user)
    if user.unit_id and user.has_role(Role.LIAISON, Role.UNIT_HEAD):
        scope |= Q(unit_id=user.unit_id)
    return scope


def may_see_task(user: Any, task: Any) -> bool:
    """Who may read a task and download its evidence: whoever may see its incident, and
    today every active person signed in sees every incident. The evidence download asks
    here, so narrowing who sees what changes it in one place."""
    return bool(user is not None and user.is_authenticated and user.is_active)


def may_work_on_task(user: Any, task: Any) -> bool:
    """Progress and outcome are recorded by the assignee, the unit's liaison or head, or
    the office head."""
    return (
        task.assignee_id == user.pk
        or (user.unit_id == task.unit_id and user.has_role(Role.LIAISON, Role.UNIT_HEAD))
        or user.has_role(Role.OFFICE_HEAD)
    )
