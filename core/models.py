from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a piece of background work last completed, by name ("sweep", "delivery"):
    what /healthz and the board's warning read. In core, below every app that works in
    the background, so each records its own."""

    name = models.CharField(_("name"), max_length=20, primary_key=True)
    at = models.DateTimeField(_("last completed at"))

    class Meta:
        db_table = "engine_heartbeat"  # its name from when the engine app held it
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"
