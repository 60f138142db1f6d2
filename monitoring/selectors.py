"""Reads of the post stream; each a fixed number of queries whatever the number of posts."""

from typing import Any

from django.db.models import QuerySet

from .models import Post


def post_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Post]:
    """Newest published first. Filters: ``platform``, ``sentiment``, ``source_type``,
    ``since`` and ``until`` (published at or after, before)."""
    filters = filters or {}
    queryset = Post.objects.all()
    for name in ("platform", "sentiment", "source_type"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("since"):
        queryset = queryset.filter(published_at__gte=filters["since"])
    if filters.get("until"):
        queryset = queryset.filter(published_at__lt=filters["until"])
    return queryset.order_by("-published_at", "-id")
