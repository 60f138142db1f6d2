from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    """A group robot (WeCom, DingTalk, Feishu) or a generic JSON webhook of a unit: every
    notification to someone of the unit is also posted there, once per endpoint. Turn one
    off with ``active`` rather than deleting it: its notifications keep their history."""

    class Format(models.TextChoices):
        WECOM = "wecom", _("WeCom (企业微信) group robot")
        DINGTALK = "dingtalk", _("DingTalk (钉钉) group robot")
        FEISHU = "feishu", _("Feishu (飞书) group robot")
        GENERIC = "generic", _("generic JSON webhook")

    unit = models.ForeignKey(
        "organisation.Unit",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    name = models.CharField(_("name"), max_length=120)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    url = models.URLField(
        _("URL"), max_length=500, help_text=_("The robot's webhook address, with its access token.")
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_(
            "DingTalk and Feishu: the robot's signing secret (加签), if it has one. "
            "Generic: requests carry an X-Fenghuo-Signature header."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["unit", "name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return f"{self.unit} · {self.name}"


class Notification(models.Model):
    """The outbox: a notification is a row, written in the same transaction as the event
    that causes it, before any message is sent. ``key`` makes it idempotent: the same
    (incident, deadline, kind, step, recipient or endpoint, channel) is written once,
    however often a sweep runs.

    In-app rows are delivered by being written. Email and webhook rows wait for
    ``notifications.delivery``: due when ``next_attempt_at`` has come, retried with back-off
    (``attempts``, ``last_error``), ``delivered_at`` once sent, ``failed_at`` once given up.
    A webhook row goes to a group robot (``endpoint``), not to a person."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("reminder")
        OVERDUE = "overdue", _("overdue")
        ESCALATION = "escalation", _("escalation")
        LEVEL_UPGRADE = "level_upgrade", _("level upgrade proposed")
        ENGINE_RESUMED = "engine_resumed", _("deadline engine resumed")
        APPROVAL_REQUESTED = "approval_requested", _("approval requested")
        APPROVAL_DECIDED = "approval_decided", _("approval decided")
        TASK_ASSIGNED = "task_assigned", _("task assigned")
        TOPIC_NEGATIVE = "topic_negative", _("negative share of a topic")
        TOPIC_SPIKE = "topic_spike", _("spike of a topic")
        INCIDENT_PROPOSED = "incident_proposed", _("incident proposed by monitoring")
        # Issue 14: work reaches the person who must act.
        LEAD_LOGGED = "lead_logged", _("new lead to assess")
        APPROVAL_REROUTED = "approval_rerouted", _("approval moved to other approvers")
        STATEMENT_TO_PUBLISH = "statement_to_publish", _("statement awaiting publication")
        TRACKER_NAMED = "tracker_named", _("named tracker")
        ARRIVAL_SUMMONS = "arrival_summons", _("summoned to your post")
        WARNING = "warning", _("warning to a member unit")
        LEVEL_CHANGE_PENDING = "level_change_pending", _("level change awaiting decision")
        LEVEL_CHANGE_DECIDED = "level_change_decided", _("level change decided")
        WARNING_CONFIRMED = "warning_confirmed", _("warning confirmed")

    class Channel(models.TextChoices):
        IN_APP = "in_app", _("in the app")
        EMAIL = "email", _("email")
        WEBHOOK = "webhook", _("group robot / webhook")

    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    deadline = models.ForeignKey(
        "deadlines.Deadline",
        verbose_name=_("deadline"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    step = models.IntegerField(_("step"), default=0)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook endpoint"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.IN_APP
    )
    title = models.CharField(_("title"), max_length=300)
    # About a drill (演练): marked in every message, so no one mistakes it for real.
    is_drill = models.BooleanField(_("drill"), default=False)
    body = models.TextField(_("text"), blank=True)
    # Where the message leads when it is not about an incident (a monitoring topic): a
    # path on this site.
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("gave up at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["channel", "delivered_at"]),
            # What delivery looks for: small, since delivered and failed rows leave it.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=Q(delivered_at__isnull=True, failed_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(channel="webhook", endpoint__isnull=False, recipient__isnull=True)
                    | (~Q(channel="webhook") & Q(endpoint__isnull=True, recipient__isnull=False))
                ),
                name="notification_goes_to_a_person_or_an_endpoint",
            ),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient or self.endpoint}: {self.title}"

    @staticmethod
    def make_key(
        *,
        kind: str,
        recipient_id: int | None,
        channel: str,
        incident_id: int | None = None,
        deadline_id: int | None = None,
        step: int = 0,
        endpoint_id: int | None = None,
        subject: str = "",
    ) -> str:
        """A webhook row is keyed by its endpoint (``recipient_id=None``): a robot shared by
        several recipients' unit gets the message once. ``subject`` names what a message
        about no incident is about (``topic12``), in place of the incident."""
        to = f"e{endpoint_id}" if endpoint_id is not None else recipient_id
        about = subject or incident_id or "-"
        return f"{about}:{deadline_id or '-'}:{kind}:{step}:{to}:{channel}"


class DeliveryAttempt(models.Model):
    """One try at sending an email or webhook notification, kept so that the incident
    shows what was sent, when, and what the other side answered."""

    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        on_delete=models.CASCADE,
        related_name="delivery_attempts",
    )
    at = models.DateTimeField(_("at"))
    ok = models.BooleanField(_("succeeded"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        outcome = "ok" if self.ok else (self.error or "failed")
        return f"#{self.notification_id} @ {self.at:%Y-%m-%d %H:%M:%S}: {outcome}"
