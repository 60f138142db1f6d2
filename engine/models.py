from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When the engine last completed a piece of work, by name ("sweep", "delivery"):
    what /healthz and the board's warning read."""

    name = models.CharField(_("name"), max_length=20, primary_key=True)
    at = models.DateTimeField(_("last completed at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"
