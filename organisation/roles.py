"""The roles people hold in the plan (domain.md, "Who uses it")."""

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.permissions import roles_for


class Role(models.TextChoices):
    DUTY_OFFICER = "duty_officer", _("Duty officer")
    ANALYST = "analyst", _("Analyst")
    OFFICE_HEAD = "office_head", _("Office head")
    LEADER = "leader", _("Leader")
    DEPUTY_LEADER = "deputy_leader", _("Deputy leader")
    LIAISON = "liaison", _("Member-unit liaison")
    UNIT_HEAD = "unit_head", _("Head of a member unit")
    SPOKESPERSON = "spokesperson", _("Spokesperson")
    SYSADMIN = "sysadmin", _("System administrator")


def who_may(action: str) -> str:
    """The roles that may take ``action``, in English words for the API's documentation
    ("Office head or analyst."), read from the permission tables so the docs cannot
    drift from the rules."""
    allowed = roles_for(action)
    with translation.override("en"):
        names = [str(label).lower() for value, label in Role.choices if value in allowed]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return listed[0].upper() + listed[1:] + "."
