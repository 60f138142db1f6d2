"""Tasks for member units (and the category checklists that create them)."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from core.moments import happened_at
from core.permissions import require
from core.text import require_lengths, too_long
from deadlines.services import deadlines_meet, deadlines_open
from incidents.models import Incident, TimelineEntry
from incidents.timeline import timeline_record
from organisation.models import Unit, User
from plans.models import DeadlineKind

from . import permissions
from .announcements import task_assigned, task_people
from .evidence import evidence_check
from .models import TEXT_MAX_LENGTH, Task, TaskUpdate

TASK_DONE = "task_done"


def _create(
    *,
    incident: Incident,
    actor: User,
    title: str,
    unit: Unit,
    assignee: User | None,
    due_at: datetime | None,
    description: str = "",
    checklist_item=None,
    at: datetime,
) -> Task:
    task = Task.objects.create(
        incident=incident,
        title=title,
        description=description,
        unit=unit,
        assignee=assignee,
        due_at=due_at,
        checklist_item=checklist_item,
        created_by=actor,
        created_at=at,
    )
    # The engine reminds the assignee, else the unit's people; all of them are told now.
    recipients = [assignee] if assignee else task_people(unit=unit, assignee=None)
    if due_at is not None:
        task.deadline = deadlines_open(
            incident=incident,
            kind=DeadlineKind.TASK,
            level=incident.level or 4,
            fulfilled_by=TASK_DONE,
            starts_at=at,
            due_at=due_at,
            assignee=assignee,
            remind_user_ids=[p.pk for p in recipients],
        )
        task.save(update_fields=["deadline"])
    timeline_record(
        incident=incident,
        actor=actor,
        at=at,
        kind=TimelineEntry.Kind.RESPONSE,
        action="task_assigned",
        data={"task": task.pk, "unit": unit.pk, "assignee": assignee.pk if assignee else None},
    )
    task_assigned(task=task, at=at)
    return task


def task_assign(
    *,
    incident: Incident,
    actor: User,
    title: str,
    unit: Unit,
    assignee: User | None = None,
    due_at: datetime | None = None,
    description: str = "",
) -> Task:
    """Assign a task to a unit (its liaisons) or a person, with a due time the engine
    reminds and escalates."""
    require(actor, "assign_task")
    errors: dict[str, list[str]] = {}
    if not (title or "").strip():
        errors["title"] = [_("Name the task.")]
    if assignee is not None and assignee.unit_id != unit.pk:
        errors["assignee"] = [_("The person must belong to the unit.")]
    if due_at is not None and due_at <= timezone.now():
        errors["due_at"] = [_("The due time must be in the future.")]
    errors.update(too_long(TEXT_MAX_LENGTH, description=description))
    if errors:
        raise InvalidInput(field_errors=errors)
    with transaction.atomic(durable=True):
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if not incident.is_open or incident.level is None:
            raise TransitionNotAllowed(_("Tasks are assigned to an assessed, open incident."))
        return _create(
            incident=incident,
            actor=actor,
            title=title.strip(),
            unit=unit,
            assignee=assignee,
            due_at=due_at,
            description=description,
            at=timezone.now(),
        )


def task_record(
    *,
    task: Task,
    actor: User,
    text: str,
    link: str = "",
    attachment=None,
    done: bool = False,
    completed_at: datetime | None = None,
) -> TaskUpdate:
    """The assignee (or the unit's liaison) records progress, or the outcome with its
    evidence; the outcome completes the task and meets its deadline at ``completed_at``
    (default now), no earlier than the task's creation and no later than now."""
    if not permissions.may_work_on_task(actor, task):
        raise PermissionDenied(_("Only the assignee, the unit's liaison or the office head."))
    if not (text or "").strip():
        raise InvalidInput(field_errors={"text": [_("Say what was done.")]})
    require_lengths(TEXT_MAX_LENGTH, text=text)
    if link and not link.startswith(("http://", "https://")):
        raise InvalidInput(field_errors={"link": [_("A web address starting with http(s)://.")]})
    if attachment:
        attachment = evidence_check(attachment)
    if completed_at is not None and not done:
        raise InvalidInput(
            field_errors={"completed_at": [_("A completion time goes with the outcome only.")]}
        )
    with transaction.atomic(durable=True):
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.state != Task.State.OPEN:
            raise TransitionNotAllowed(_("The task is already closed."))
        now = timezone.now()
        if done:
            completed_at = happened_at(
                completed_at,
                field="completed_at",
                now=now,
                after=task.created_at,
                after_what=_("the task's creation"),
            )
        update = TaskUpdate.objects.create(
            task=task,
            author=actor,
            at=now,
            text=text.strip(),
            link=link,
            attachment=attachment or "",
            is_outcome=done,
        )
        if done:
            Task.objects.filter(pk=task.pk).update(
                state=Task.State.DONE, completed_at=completed_at, outcome=text.strip()
            )
            if task.deadline_id:
                deadlines_meet(pk=task.deadline_id, at=completed_at)
            timeline_record(
                incident_id=task.incident_id,
                actor=actor,
                at=now,
                kind=TimelineEntry.Kind.RESPONSE,
                action="task_done",
                reason=text.strip(),
                data={"task": task.pk, "completed_at": completed_at.isoformat()},
            )
    return update


def checklist_due(*, incident: Incident, item) -> datetime | None:
    """ "Same day" is the end of the day the incident was found (local time)."""
    if item.due_same_day:
        day = timezone.localtime(incident.discovered_at).date()
        return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
    if item.due_minutes:
        return incident.discovered_at + timedelta(minutes=item.due_minutes)
    return None


def create_checklist_tasks(*, incident: Incident, actor: User, at: datetime) -> None:
    """Effect of ``assess``: the plan's checklist for the chosen category becomes tasks
    of the involved unit (分类处置)."""
    for item in incident.plan_version.checklist_items.filter(category=incident.category):
        _create(
            incident=incident,
            actor=actor,
            title=item.title,
            unit=incident.unit,
            assignee=None,
            due_at=checklist_due(incident=incident, item=item),
            checklist_item=item,
            at=at,
        )
