from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """The outbox: a notification is a row, written in the same transaction as the event
    that causes it, before any message is sent. ``key`` makes it idempotent: the same
    (incident, deadline, kind, step, recipient, channel) is written once, however often a
    sweep runs."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("reminder")
        OVERDUE = "overdue", _("overdue")
        ESCALATION = "escalation", _("escalation")
        LEVEL_UPGRADE = "level_upgrade", _("level upgrade proposed")
        ENGINE_RESUMED = "engine_resumed", _("deadline engine resumed")

    class Channel(models.TextChoices):
        IN_APP = "in_app", _("in the app")
        EMAIL = "email", _("email")

    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    incident = models.ForeignKey("incidents.Incident", verbose_name=_("incident"), null=True,
                                 blank=True, on_delete=models.CASCADE,
                                 related_name="notifications")
    deadline = models.ForeignKey("incidents.Deadline", verbose_name=_("deadline"), null=True,
                                 blank=True, on_delete=models.CASCADE,
                                 related_name="notifications")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    step = models.SmallIntegerField(_("step"), default=0)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient"),
                                  on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices,
                               default=Channel.IN_APP)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"]),
                   models.Index(fields=["channel", "delivered_at"])]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}: {self.title}"

    @staticmethod
    def make_key(*, kind: str, recipient_id: int, channel: str, incident_id: int | None = None,
                 deadline_id: int | None = None, step: int = 0) -> str:
        return f"{incident_id or '-'}:{deadline_id or '-'}:{kind}:{step}:{recipient_id}:{channel}"
