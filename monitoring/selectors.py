"""Reads of the post stream and of the watch rules; each a fixed number of queries whatever
the number of rows."""

from typing import Any

from django.db.models import QuerySet

from .models import Post, WatchRule


def post_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Post]:
    """Newest published first. Filters: ``platform``, ``sentiment``, ``source_type``,
    ``since`` and ``until`` (published at or after, before), ``rule`` (matched by it)."""
    filters = filters or {}
    queryset = Post.objects.all()
    for name in ("platform", "sentiment", "source_type"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("since"):
        queryset = queryset.filter(published_at__gte=filters["since"])
    if filters.get("until"):
        queryset = queryset.filter(published_at__lt=filters["until"])
    if filters.get("rule"):
        queryset = queryset.filter(matches__rule=filters["rule"])
    return queryset.order_by("-published_at", "-id")


def rule_list(*, filters: dict[str, Any] | None = None) -> QuerySet[WatchRule]:
    """By unit and name. Filters: ``unit``, ``active``."""
    filters = filters or {}
    queryset = WatchRule.objects.select_related("unit", "created_by")
    if filters.get("unit"):
        queryset = queryset.filter(unit=filters["unit"])
    if filters.get("active") is not None:
        queryset = queryset.filter(active=filters["active"])
    return queryset.order_by("unit__sort_order", "unit_id", "name", "id")
