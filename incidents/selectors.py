"""Reads of incidents for the board, the lists and the API; each a fixed number of
queries whatever the number of incidents."""

from typing import Any

from django.db.models import F, Min, Prefetch, Q, QuerySet

from deadlines.models import Deadline

from . import guards
from .choices import OPEN_STATES
from .models import Incident, TimelineEntry


def _with_related(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    return queryset.select_related("unit", "latest_metrics", "plan_version").prefetch_related(
        Prefetch(
            "deadlines",
            queryset=Deadline.objects.select_related("assignee", "task").order_by("due_at"),
        ),
        "plan_version__levels",
        *guards.prefetches(),
    )


def incident_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Incident]:
    filters = filters or {}
    queryset = Incident.objects.all()
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("level"):
        queryset = queryset.filter(level=filters["level"])
    if filters.get("unit"):
        queryset = queryset.filter(unit_id=filters["unit"])
    return _with_related(queryset).order_by("-discovered_at", "-id")


def incident_board() -> QuerySet[Incident]:
    """Open incidents, nearest open deadline first; those without one after, newest first."""
    return (
        _with_related(Incident.objects.filter(state__in=OPEN_STATES))
        .annotate(
            next_due=Min("deadlines__due_at", filter=Q(deadlines__status=Deadline.Status.OPEN))
        )
        .order_by(F("next_due").asc(nulls_last=True), "level", "-discovered_at")
    )


def incident_detail(*, pk: int) -> Incident:
    return (
        _with_related(Incident.objects.all())
        .select_related("created_by")
        .prefetch_related(
            Prefetch(
                "timeline",
                queryset=TimelineEntry.objects.select_related("actor").order_by("at", "id"),
            ),
            "snapshots",
        )
        .get(pk=pk)
    )


def incident_statistics(*, since=None, until=None) -> dict:
    """Counts for the leadership: incidents by level, handling category and outcome, and
    late reports by unit. Drills (演练) are kept out."""
    from django.db.models import Count

    from deadlines.models import LateReport

    incidents = Incident.objects.filter(is_drill=False)
    if since:
        incidents = incidents.filter(discovered_at__gte=since)
    if until:
        incidents = incidents.filter(discovered_at__lt=until)
    late = LateReport.objects.filter(incident__in=incidents)
    return {
        "total": incidents.count(),
        "by_level": dict(
            incidents.exclude(level=None)
            .values_list("level")
            .annotate(n=Count("id"))
            .order_by("level")
        ),
        "by_category": dict(
            incidents.exclude(category="")
            .values_list("category")
            .annotate(n=Count("id"))
            .order_by("category")
        ),
        "by_state": dict(incidents.values_list("state").annotate(n=Count("id")).order_by("state")),
        "late_reports": late.count(),
        "late_by_unit": list(
            late.values("unit__name").annotate(n=Count("id")).order_by("-n", "unit__name")
        ),
    }
