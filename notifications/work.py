"""The work list (待我处理): what waits on a person now, nearest due first.

Each app says what of its own waits on whom through a provider registered in its
``ready`` (response: approvals and tasks; monitoring: proposals to decide); this app
adds the deadlines a person answers for (arrivals, follow-ups, level changes to decide,
a lead's assessment and report for those who may take those steps, the rest). It sits
here, below response and monitoring and above incidents and deadlines, because the bell it
counts for lives here; the board shows it through this app's template tag, so neither
incidents nor notifications imports an app above it. Every provider answers in a fixed
number of queries, whatever the number of items."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.permissions import can
from deadlines.models import Deadline
from organisation.models import User
from plans.models import ARRIVAL_KINDS, DeadlineKind, FulfilmentEvent


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
class WorkAction:
    """A step the person may take from the work list itself, in two taps: the button,
    then a confirmation in the page's own dialog saying what will happen
    (``static/js/confirm.js``). ``url`` takes a POST of ``fields`` (and ``next``, the
    page to come back to). Without JavaScript the button is a link to ``fallback``, a
    page offering the same step. A provider sets it only for a person the service would
    let take the step now; the service checks again."""

    url: str
    label: str
    confirmation: str
    fallback: str
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def encoded_fields(self) -> str:
        return urlencode(self.fields)


@dataclass(frozen=True)
class WorkItem:
    kind: str
    title: str
    link: str
    due_at: datetime | None = None
    incident: int | None = None
    incident_title: str = ""
    action: WorkAction | None = None

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


# Deadlines owed by whoever may take the step that meets them (nobody in particular is
# named): the event that meets them → the action that takes it. A lead's assessment and
# its report to the leadership group; the first public response, which the
# spokesperson's publication of a statement meets.
MET_BY_THEIR_STEP = {
    FulfilmentEvent.ASSESS: "assess",
    FulfilmentEvent.REPORT: "report",
    FulfilmentEvent.STATEMENT_PUBLISHED: "publish_statement",
}


def deadline_items(user: User, now: datetime) -> list[WorkItem]:
    """The open deadlines ``user`` answers for (assignee, or among those reminded, or,
    for one nobody is named on, allowed to take the step that meets it), but those
    another app lists as its own: one query."""
    rows = (
        Deadline.objects.filter(status=Deadline.Status.OPEN, incident__isnull=False)
        .exclude(kind__in=LISTED_BY_THEIR_APP)
        .select_related("incident")
    )
    steps = [event for event, action in MET_BY_THEIR_STEP.items() if can(user, action)]
    by_step = Q(assignee__isnull=True, remind_user_ids=[], fulfilled_by__in=steps)
    items = []
    for deadline in rows.filter(Q(assignee=user) | reminded(user) | by_step).order_by(
        "due_at", "pk"
    ):
        answers = (
            deadline.assignee_id == user.pk
            or names(deadline.remind_user_ids, user)
            or (
                deadline.assignee_id is None
                and not deadline.remind_user_ids
                and deadline.fulfilled_by in steps
            )
        )
        if not answers:
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
