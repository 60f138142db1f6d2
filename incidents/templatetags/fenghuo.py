"""Template helpers for the pages: labels, numerals and colour classes. No rules live
here; permissions and deadlines are only read through the modules that own them."""

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from deadlines.models import Deadline
from incidents import permissions
from incidents.presentation import ACTION_LABELS, DEADLINE_STATUS_LABELS
from organisation.roles import Role
from organisation.selectors import duty_shifts_at
from plans.levels import NUMERALS, Level

register = template.Library()


@register.filter
def can(user: Any, action: str) -> bool:
    """``{% if user|can:"log" %}``: whether the user's role allows the action."""
    return permissions.can(user, action)


@register.filter
def numeral(level: int | None) -> str:
    return NUMERALS.get(level, "") if level else ""


@register.filter
def level_label(level: int | None) -> str:
    if not level:
        return _("not graded")
    return str(Level(level).label)


@register.filter
def plan_level_label(incident: Any, level: int | None) -> str:
    """``{{ incident|plan_level_label:incident.level }}``: the level as the incident's own
    plan version names it (an organisation may rename its levels)."""
    if not level:
        return _("not graded")
    policy = incident.level_policy(level)
    if policy is None:
        return str(Level(level).label)
    return _("%(numeral)s (%(name)s)") % {"numeral": NUMERALS[level], "name": policy.name}


@register.filter
def level_class(incident: Any) -> str:
    """``level-red`` … ``level-blue`` for a graded incident, ``level-none`` before."""
    colour = getattr(incident, "colour", "")
    return f"level-{colour}" if colour else "level-none"


@register.filter
def next_open_deadline(incident: Any) -> Deadline | None:
    """The nearest open deadline, from the prefetched rows (the selector orders them)."""
    return next((d for d in incident.deadlines.all() if d.status == Deadline.Status.OPEN), None)


@register.filter
def deadline_status_label(status: str) -> str:
    return str(DEADLINE_STATUS_LABELS.get(status, status))


@register.filter
def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@register.filter
def listing(items: Any) -> str:
    """Items joined the way the language lists them (、 in Chinese)."""
    return _(", ").join(str(item) for item in items)


@register.filter
def role_labels(user: Any) -> str:
    codes = getattr(user, "role_codes", frozenset())
    return listing(label for value, label in Role.choices if value in codes)


@register.filter
def role_label(code: str) -> str:
    try:
        return str(Role(code).label)
    except ValueError:
        return code


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


@register.simple_tag
def on_duty_now() -> list[Any]:
    """The duty shifts covering this instant, for the top bar."""
    return list(duty_shifts_at())
