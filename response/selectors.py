"""Reads of the response for the API: documents with their decisions, tasks, follow-ups.
Each list is a fixed number of queries whatever the number of rows."""

from typing import Any

from django.db.models import Prefetch, QuerySet

from organisation.models import User

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
