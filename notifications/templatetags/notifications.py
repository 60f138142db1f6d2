"""The bell in the top bar, and what the inbox needs to know about a notification."""

from typing import Any

from django import template

from notifications.models import Notification
from notifications.selectors import unread_count
from notifications.work import work_for_request

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
    if not user.is_authenticated:
        return {"unread": 0, "work": 0}
    return {
        "unread": unread_count(user=user),
        "work": len(work_for_request(context.get("request"))),
    }


@register.inclusion_tag("notifications/_work_panel.html", takes_context=True)
def work_panel(context: template.Context) -> dict[str, Any]:
    """``{% work_panel %}``: what waits on the person (待我处理), nearest due first: at
    the top of the board."""
    user = context["user"]
    items = work_for_request(context.get("request")) if user.is_authenticated else []
    return {"items": items}


@register.filter
def awaits_acknowledgement(notification: Notification) -> bool:
    return notification.kind in AWAITING_ACKNOWLEDGEMENT and notification.acknowledged_at is None
