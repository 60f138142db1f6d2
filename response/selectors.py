"""Reads of the response for the API: documents with their decisions, tasks, follow-ups.
Each list is a fixed number of queries whatever the number of rows."""

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from deadlines.models import Deadline
from incidents.choices import State
from notifications.work import Kind, WorkAction, WorkItem, names, reminded
from organisation.models import User
from organisation.roles import Role
from plans.levels import NUMERALS
from plans.models import ApprovalRule

from .models import Decision, DocumentState, FollowUp, ResponsePlan, Review, Statement, Task
from .permissions import tasks_scope

Document = ResponsePlan | Statement | Review
DocumentModel = type[ResponsePlan] | type[Statement] | type[Review]


def _documents(model: DocumentModel) -> QuerySet[Document]:
    prefetches: list[Any] = [
        Prefetch(
            "decisions", queryset=Decision.objects.select_related("approver").order_by("at", "id")
        ),
        Prefetch("contributors", queryset=User.objects.order_by("pk")),
    ]
    if model is ResponsePlan:
        prefetches.append("units")
    if model is Statement:
        prefetches.append("publications")
    return model.objects.select_related("author", "approval_deadline__assignee").prefetch_related(
        *prefetches
    )


def document_list(
    *, model: DocumentModel, filters: dict[str, Any] | None = None
) -> QuerySet[Document]:
    """Response plans, statements or reviews, newest first; every version is a row."""
    filters = filters or {}
    queryset = _documents(model)
    if filters.get("incident"):
        queryset = queryset.filter(incident_id=filters["incident"])
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    return queryset.order_by("-created_at", "-id")


def document_detail(*, model: DocumentModel, pk: int) -> Document:
    return _documents(model).get(pk=pk)


def open_draft_id(*, model: DocumentModel, incident_id: int) -> int | None:
    """The draft a save would edit in place, if there is one."""
    return (
        model.objects.filter(incident_id=incident_id, state=DocumentState.DRAFT)
        .order_by("-version")
        .values_list("pk", flat=True)
        .first()
    )


def _tasks() -> QuerySet[Task]:
    return Task.objects.select_related("unit", "assignee", "created_by", "deadline__assignee")


def task_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Task]:
    """Tasks by state and due time. ``mine``: what the person may work on as the
    assignee, or as the liaison or head of the task's unit."""
    filters = filters or {}
    queryset = _tasks()
    if filters.get("incident"):
        queryset = queryset.filter(incident_id=filters["incident"])
    if filters.get("unit"):
        queryset = queryset.filter(unit_id=filters["unit"])
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("mine"):
        queryset = queryset.filter(tasks_scope(user))
    return queryset.order_by("state", "due_at", "id")


def task_detail(*, pk: int) -> Task:
    return _tasks().prefetch_related("updates__author").get(pk=pk)


def follow_up_list(*, filters: dict[str, Any] | None = None) -> QuerySet[FollowUp]:
    """Follow-up reports, newest first, with the figures filed with them."""
    filters = filters or {}
    queryset = FollowUp.objects.select_related("author", "snapshot")
    if filters.get("incident"):
        queryset = queryset.filter(incident_id=filters["incident"])
    return queryset.order_by("-at", "-id")


def follow_up_detail(*, pk: int) -> FollowUp:
    return FollowUp.objects.select_related("author", "snapshot").get(pk=pk)


# The section of the response page where each document is decided.
SECTIONS = {ResponsePlan: "plan", Statement: "statement", Review: "review"}


def _approval_confirmation(doc: Document, rule: ApprovalRule) -> str:
    """What approving ``doc`` does, said before it is done."""
    words = {
        "document": doc._meta.verbose_name,
        "title": doc.incident.title,
        "level": NUMERALS.get(rule.level, rule.level),
        "required": rule.required,
    }
    if rule.required > 1:
        text = _(
            "Approve the %(document)s of 〔%(title)s〕 (%(level)s)? It takes effect once "
            "%(required)d approvers have approved it."
        )
    elif isinstance(doc, Statement):
        text = _(
            "Approve the statement of 〔%(title)s〕 (%(level)s)? It takes effect at once: "
            "the spokesperson is asked to publish it."
        )
    elif isinstance(doc, Review):
        text = _(
            "Approve the review of 〔%(title)s〕 (%(level)s)? It takes effect at once and "
            "closes the incident."
        )
    else:
        text = _("Approve the response plan of 〔%(title)s〕 (%(level)s)? It takes effect at once.")
    return text % words


def _approve_action(doc: Document, user: User, rule: ApprovalRule | None) -> WorkAction | None:
    """Approve from the work list, for a person who may decide now: routed to them by
    the service (among those the approval deadline reminds, which leaves out whoever
    wrote or edited the version and follows level changes), not decided by them yet, and
    still holding a role the plan's rule names (roles can change after the routing).
    ``document_decide`` checks it all again. Rejecting needs a reason: it stays on the
    response page."""
    if rule is None or not user.is_active or not user.has_role(*rule.roles):
        return None
    section = SECTIONS[type(doc)]
    return WorkAction(
        url=reverse("response:decide", args=[doc.incident_id, section, doc.pk]),
        label=_("Approve"),
        confirmation=_approval_confirmation(doc, rule),
        fallback=f"{reverse('response:incident', args=[doc.incident_id])}#{section}",
        fields=(("verdict", Decision.Verdict.APPROVE),),
    )


def work_items(user: User, now: datetime) -> list[WorkItem]:
    """What of the response waits on ``user`` (a provider of ``notifications.work``):
    versions they may still decide on (named by the approval deadline, which a level
    change keeps with the approvers), with the approve action where they may approve
    now, and open tasks assigned to them or to their unit, if they are its liaison or
    head. One query per document kind, one for their approval rules, one for the tasks."""
    items: list[WorkItem] = []
    docs: list[Document] = []
    for model in (ResponsePlan, Statement, Review):
        pending = (
            model.objects.filter(
                state=DocumentState.SUBMITTED,
                approval_deadline__status=Deadline.Status.OPEN,
            )
            .filter(reminded(user, field="approval_deadline__remind_user_ids"))
            .exclude(decisions__approver=user)
            .select_related("incident", "approval_deadline")
            .order_by("pk")
        )
        docs.extend(
            doc
            for doc in pending
            if doc.approval_deadline is not None
            and names(doc.approval_deadline.remind_user_ids, user)
        )
    rules: dict[tuple[int, int], ApprovalRule] = {}
    if docs:
        rules = {
            (rule.version_id, rule.level): rule
            for rule in ApprovalRule.objects.filter(
                version_id__in={doc.incident.plan_version_id for doc in docs}
            )
        }
    for doc in docs:
        rule = rules.get((doc.incident.plan_version_id, doc.incident.level or 0))
        items.append(
            WorkItem(
                kind=Kind.APPROVAL,
                title=_("Approve %(document)s v%(version)d")
                % {"document": doc._meta.verbose_name, "version": doc.version},
                link=reverse("response:incident", args=[doc.incident_id]),
                due_at=doc.approval_deadline.due_at if doc.approval_deadline else None,
                incident=doc.incident_id,
                incident_title=doc.incident.title,
                action=_approve_action(doc, user, rule),
            )
        )
    mine = Q(assignee=user)
    if user.unit_id is not None and user.has_role(Role.LIAISON, Role.UNIT_HEAD):
        mine |= Q(unit_id=user.unit_id)
    tasks = (
        Task.objects.filter(mine, state=Task.State.OPEN)
        .exclude(incident__state__in=[State.CLOSED, State.DISMISSED])
        .select_related("incident")
        .order_by("pk")
    )
    for task in tasks:
        items.append(
            WorkItem(
                kind=Kind.TASK,
                title=task.title,
                link=reverse("response:incident", args=[task.incident_id]),
                due_at=task.due_at,
                incident=task.incident_id,
                incident_title=task.incident.title,
            )
        )
    return items
