from typing import Any

from django.db.models import QuerySet

from organisation.models import User
from organisation.roles import Role

from .models import Notification

# They answer for alerts reaching people, so they may read everyone's notifications.
READ_EVERYONES_ROLES = (Role.OFFICE_HEAD, Role.SYSADMIN)


def reads_everyones(user: User) -> bool:
    return user.has_role(*READ_EVERYONES_ROLES)


def notification_list(
    *, user: User, filters: dict[str, Any] | None = None, own_only: bool = False
) -> QuerySet[Notification]:
    """The notifications ``user`` may read: their own, or everyone's for the office head
    and the system administrator (unless ``own_only``, as in the inbox)."""
    filters = filters or {}
    queryset = Notification.objects.select_related("recipient", "incident", "deadline")
    if own_only or not reads_everyones(user):
        queryset = queryset.filter(recipient=user)
    for name in ("incident", "recipient"):
        if filters.get(name):
            queryset = queryset.filter(**{f"{name}_id": filters[name]})
    for name in ("kind", "channel"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset.order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(
        recipient=user, read_at__isnull=True, channel=Notification.Channel.IN_APP
    ).count()


def incident_notifications(*, incident_id: int) -> QuerySet[Notification]:
    """Everything sent about an incident, on every channel, with its delivery outcome:
    what the incident page shows so no one has to ask whether an alert went out."""
    return (
        Notification.objects.filter(incident_id=incident_id)
        .select_related("recipient", "endpoint", "deadline")
        .order_by("-created_at", "-id")
    )
