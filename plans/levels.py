"""The four levels of the plans (domain.md): Ⅰ red … Ⅳ blue. Lower number, more severe."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    I = 1, _("Level Ⅰ")  # noqa: E741 - the plan's own numeral
    II = 2, _("Level Ⅱ")
    III = 3, _("Level Ⅲ")
    IV = 4, _("Level Ⅳ")


NUMERALS = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}


class Colour(models.TextChoices):
    RED = "red", _("red")
    ORANGE = "orange", _("orange")
    YELLOW = "yellow", _("yellow")
    BLUE = "blue", _("blue")


def more_severe(a: int | None, b: int | None) -> bool:
    """True when level ``a`` is more severe than ``b`` (a missing level is least severe)."""
    if a is None:
        return False
    return b is None or a < b
