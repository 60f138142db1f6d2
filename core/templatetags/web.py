"""Generic template filters, a builtin of every template (``TEMPLATES`` in settings):
permissions by action name, lists, shares and ISO 8601 moments."""

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions

register = template.Library()


@register.filter
def can(user: Any, action: str) -> bool:
    """``{% if user|can:"log" %}``: whether the user's role allows the action."""
    return permissions.can(user, action)


@register.filter
def listing(items: Any) -> str:
    """Items joined the way the language lists them (、 in Chinese)."""
    return _(", ").join(str(item) for item in items)


@register.filter
def percent(share: Any) -> str:
    """A share from 0 to 1 as a percentage without trailing zeros: 0.625 → 62.5."""
    if share is None:
        return ""
    value = float(share) * 100
    return f"{value:.1f}".rstrip("0").rstrip(".")


@register.filter
def isoformat(value: Any) -> str:
    """An aware datetime as ISO 8601 to the second, for ``data-due`` and ``<time>``."""
    if not value:
        return ""
    return timezone.localtime(value).isoformat(timespec="seconds")


@register.filter
def from_isoformat(value: Any) -> Any:
    """A moment the timeline keeps as ISO 8601 text, as a datetime for ``|date``."""
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


@register.simple_tag
def server_now() -> str:
    """The server's clock, so countdowns do not depend on the browser's clock being right."""
    return timezone.localtime().isoformat(timespec="milliseconds")
