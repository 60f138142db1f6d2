from typing import Any

from django.db.models import QuerySet

from organisation.models import User

from .models import Notification


def notification_list(*, user: User, filters: dict[str, Any] | None = None,
                      everyone: bool = False) -> QuerySet[Notification]:
    """A person's notifications (the office head and system administrator may read
    everyone's, to see that alerts reached their people)."""
    filters = filters or {}
    queryset = Notification.objects.select_related("recipient", "incident", "deadline")
    if not everyone:
        queryset = queryset.filter(recipient=user)
    for name in ("incident", "recipient"):
        if filters.get(name):
            queryset = queryset.filter(**{f"{name}_id": filters[name]})
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    return queryset.order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(
        recipient=user, read_at__isnull=True, channel=Notification.Channel.IN_APP
    ).count()
