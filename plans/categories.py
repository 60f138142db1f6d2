"""The four handling categories of the plans (domain.md, "Categories"): each has its own
checklist in a plan version, and assessment puts an incident in one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """Handling categories (分类处置)."""

    INQUIRY = "inquiry", _("Inquiry, doubt or appeal")
    HYPE = "hype", _("Malicious spreading or hype")
    FABRICATION = "fabrication", _("Fabrication, distortion, defamation or incitement")
    CONSTRUCTIVE = "constructive", _("Constructive suggestion")
