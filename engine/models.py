from django.db import models
from django.utils.translation import gettext_lazy as _


class SweepWakeup(models.Model):
    """The moment of the earliest sweep sent to the broker to run at a deadline's next
    check (``engine.wakeup``), kept while it is ahead: one row, so that sweeps and
    services send one wake-up per moment, not one each. A moment already past means
    none is pending. Only a hint: what must happen is each deadline's ``next_check_at``."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    at = models.DateTimeField(_("wake-up at"))

    class Meta:
        verbose_name = _("sweep wake-up")
        verbose_name_plural = _("sweep wake-ups")

    def __str__(self) -> str:
        return f"sweep @ {self.at:%Y-%m-%d %H:%M:%S}"
