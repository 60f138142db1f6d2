from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = _("Deadline engine")

    def ready(self) -> None:
        from deadlines.schedule import next_check_set

        from .wakeup import deadline_next_check_set

        # A deadline opened or recomputed by a service brings the sweep's wake-up forward
        # when it is owed something sooner: deadlines, below, announce it.
        next_check_set.connect(deadline_next_check_set, dispatch_uid="engine.wake_up")
