"""Template helpers for the incident pages: labels, numerals and colour classes (the
generic filters are ``core.templatetags.web``, a builtin). No rules live here;
deadlines are only read through the modules that own them."""

from typing import Any

from django import template
from django.utils.translation import gettext as _

from deadlines.models import Deadline
from incidents.choices import State
from incidents.presentation import ACTION_LABELS, DEADLINE_STATUS_LABELS
from organisation.roles import Role
from organisation.selectors import duty_shifts_at
from plans.levels import NUMERALS, Level

register = template.Library()


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
    """``level-red`` … ``level-blue`` for a graded incident; a lead awaiting its
    assessment (待研判) takes its suggested level's colour, marked ``is-lead``;
    ``level-none`` otherwise."""
    colour = getattr(incident, "colour", "")
    if colour:
        return f"level-{colour}"
    if getattr(incident, "state", None) == State.DETECTED and incident.suggested_level:
        policy = incident.level_policy(incident.suggested_level)
        if policy is not None:
            return f"level-{policy.colour} is-lead"
    return "level-none"


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
def role_labels(user: Any) -> str:
    codes = getattr(user, "role_codes", frozenset())
    return _(", ").join(str(label) for value, label in Role.choices if value in codes)


@register.filter
def role_label(code: str) -> str:
    try:
        return str(Role(code).label)
    except ValueError:
        return code


@register.simple_tag
def on_duty_now() -> list[Any]:
    """The duty shifts covering this instant, for the top bar."""
    return list(duty_shifts_at())
