"""The bell in the top bar, and what the inbox needs to know about a notification."""

from typing import Any

from django import template

from notifications.models import Notification
from notifications.selectors import unread_count

register = template.Library()

# Alerts that ask for a confirmation: a passed deadline, its escalation, a proposed upgrade.
AWAITING_ACKNOWLEDGEMENT = frozenset(
    {
        Notification.Kind.OVERDUE,
        Notification.Kind.ESCALATION,
        Notification.Kind.LEVEL_UPGRADE,
    }
)


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, Any]:
    """``{% notification_bell %}``: the bell with its count, in the page as first served
    (htmx refreshes it later from ``notifications:bell``)."""
    user = context["user"]
    return {"unread": unread_count(user=user) if user.is_authenticated else 0}


@register.filter
def awaits_acknowledgement(notification: Notification) -> bool:
    return notification.kind in AWAITING_ACKNOWLEDGEMENT and notification.acknowledged_at is None
