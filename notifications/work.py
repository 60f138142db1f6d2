"""The work list (待我处理): what waits on a person now, nearest due first.

Each app says what of its own waits on whom through a provider registered in its
``ready`` (response: approvals and tasks; monitoring: proposals to decide); this app
adds the deadlines a person answers for (arrivals, follow-ups, level changes to decide,
the rest). It sits here,
below response and monitoring and above incidents and deadlines, because the bell it
counts for lives here; the board shows it through this app's template tag, so neither
incidents nor notifications imports an app above it. Every provider answers in a fixed
number of queries, whatever the number of items."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from deadlines.models import Deadline
from organisation.models import User
from plans.models import ARRIVAL_KINDS, DeadlineKind


class Kind:
    APPROVAL = "approval"
    TASK = "task"
    DEADLINE = "deadline"
    ARRIVAL = "arrival"
    PROPOSAL = "proposal"
    FOLLOW_UP = "follow_up"
    WARNING = "warning"

    values = (APPROVAL, TASK, DEADLINE, ARRIVAL, PROPOSAL, FOLLOW_UP, WARNING)


LABELS = {
    Kind.APPROVAL: _("approval"),
    Kind.TASK: _("task"),
    Kind.DEADLINE: _("deadline"),
    Kind.ARRIVAL: _("arrival to confirm"),
    Kind.PROPOSAL: _("proposal to decide"),
    Kind.FOLLOW_UP: _("follow-up due"),
    Kind.WARNING: _("warning to confirm"),
}


@dataclass(frozen=True)
class WorkItem:
    kind: str
    title: str
    link: str
    due_at: datetime | None = None
    incident: int | None = None
    incident_title: str = ""

    @property
    def kind_label(self) -> str:
        return str(LABELS.get(self.kind, self.kind))


Provider = Callable[[User, datetime], Iterable[WorkItem]]

_PROVIDERS: list[Provider] = []

# Deadlines whose work another app lists as its own item (an approval as the document
# to decide, a task as the task): not listed twice.
LISTED_BY_THEIR_APP = frozenset({DeadlineKind.APPROVAL, DeadlineKind.TASK})


def register(provider: Provider) -> Provider:
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    return provider


def _order(item: WorkItem) -> tuple[Any, ...]:
    # Nearest due first; items with no due time after them, newest kinds by name.
    return (item.due_at is None, item.due_at or datetime.min, item.kind, item.title)


def work_list(*, user: User, now: datetime | None = None) -> list[WorkItem]:
    """Everything waiting on ``user``, nearest due first (undated items last)."""
    if not user.is_authenticated or not user.is_active:
        return []
    now = now or timezone.now()
    items = [item for provider in _PROVIDERS for item in provider(user, now)]
    return sorted(items, key=_order)


def work_count(*, user: User) -> int:
    return len(work_list(user=user))


def work_for_request(request: Any) -> list[WorkItem]:
    """The work list of the request's user, read once per request (the bell and the
    board's panel share it)."""
    if request is None:
        return []
    cached = getattr(request, "_work_list", None)
    if cached is None:
        cached = work_list(user=request.user)
        request._work_list = cached
    return cached


def reminded(user: User, *, field: str = "remind_user_ids") -> Q:
    """Rows whose JSON list ``field`` names ``user``: decided in the database where it
    can look into JSON (PostgreSQL); elsewhere every row naming anyone, which the caller
    finishes with ``names``."""
    if connection.features.supports_json_field_contains:
        return Q(**{f"{field}__contains": [user.pk]})
    return ~Q(**{field: []})


def names(ids: Any, user: User) -> bool:
    return isinstance(ids, list) and user.pk in ids


def incident_link(incident_id: int) -> str:
    return reverse("incidents:detail", args=[incident_id])


def deadline_items(user: User, now: datetime) -> list[WorkItem]:
    """The open deadlines ``user`` answers for (assignee, or among those reminded),
    but those another app lists as its own: one query."""
    rows = (
        Deadline.objects.filter(status=Deadline.Status.OPEN, incident__isnull=False)
        .exclude(kind__in=LISTED_BY_THEIR_APP)
        .select_related("incident")
    )
    items = []
    for deadline in rows.filter(Q(assignee=user) | reminded(user)).order_by("due_at", "pk"):
        if deadline.assignee_id != user.pk and not names(deadline.remind_user_ids, user):
            continue
        if deadline.kind in ARRIVAL_KINDS:
            kind = Kind.ARRIVAL
        elif deadline.kind == DeadlineKind.FOLLOW_UP:
            kind = Kind.FOLLOW_UP
        elif deadline.kind == DeadlineKind.LEVEL_CHANGE:
            # A proposed level change: its decision deadline reminds exactly the people
            # who may decide it (the plan's deciders but the proposer).
            kind = Kind.PROPOSAL
        else:
            kind = Kind.DEADLINE
        link = incident_link(deadline.incident_id)
        if kind == Kind.PROPOSAL:
            link += "#level-change"
        items.append(
            WorkItem(
                kind=kind,
                title=str(deadline.get_kind_display()),
                link=link,
                due_at=deadline.due_at,
                incident=deadline.incident_id,
                incident_title=deadline.incident.title,
            )
        )
    return items
