from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from . import (
            effects,
            permissions,  # noqa: F401  (declares the incidents' actions)
        )
        from .level_changes import withdraw_when_leaving_regrading

        # A level change awaiting decision ends when the level no longer changes.
        for action in ("review", "dismiss"):
            effects.register(action, withdraw_when_leaving_regrading)
