"""The roles people hold in the plan (domain.md, "Who uses it")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
