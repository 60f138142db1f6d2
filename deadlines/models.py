"""Deadlines: every obligation of an incident's plan level as a row with its absolute due
time, and the late reports (迟报) the engine records when one passes unmet. The engine's
sweep advances the enforcement columns; ``deadlines.services`` opens, meets, cancels,
acknowledges and recomputes them."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from plans.levels import Level
from plans.models import DeadlineKind


class DeadlineQuerySet(models.QuerySet["Deadline"]):
    """The two ways an open deadline ends. Both take it out of the engine's sweep."""

    def meet(self, *, at: datetime) -> int:
        return self.filter(status=Deadline.Status.OPEN).update(
            status=Deadline.Status.MET, met_at=at, next_check_at=None
        )

    def cancel(self) -> int:
        return self.filter(status=Deadline.Status.OPEN).update(
            status=Deadline.Status.CANCELLED, next_check_at=None
        )


# Obligations an incident may owe many times: each its own row.
REPEATABLE_KINDS = (
    "level_decision",
    "approval",
    "task",
    "follow_up",
    "warning_confirm",
    "level_change",
)


class Deadline(models.Model):
    """One obligation of the incident's plan level, with its absolute due time."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        MET = "met", _("met")
        CANCELLED = "cancelled", _("no longer required")

    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="deadlines",
    )
    kind = models.CharField(_("obligation"), max_length=30, choices=DeadlineKind.choices)
    level = models.PositiveSmallIntegerField(_("for level"), choices=Level.choices)
    fulfilled_by = models.CharField(_("met by"), max_length=20)
    due_at = models.DateTimeField(_("due at"))
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # When the clock started (the window reminders are measured on).
    starts_at = models.DateTimeField(_("clock started"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The member unit this obligation belongs to (a warning to confirm): the unit roles of
    # its escalation (liaison, unit head) are that unit's people.
    unit = models.ForeignKey(
        "organisation.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Who the engine reminds, when not the assignee or the person on duty (approvers of
    # an approval deadline, say): user ids.
    remind_user_ids = models.JSONField(_("remind"), default=list, blank=True)
    # Enforcement state, advanced only by the engine's sweep with conditional updates.
    # ``next_check_at`` is when the sweep must look at this row next (null: never again).
    next_check_at = models.DateTimeField(_("next check"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    escalation_step = models.SmallIntegerField(_("escalation step reached"), default=-1)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        # The table keeps the name it had when deadlines lived in the incidents app.
        db_table = "incidents_deadline"
        ordering = ["due_at"]
        constraints = [
            # One deadline of a kind per incident; arrival clocks: one per person; every
            # proposed upgrade has its own decision deadline.
            models.UniqueConstraint(
                fields=["incident", "kind"],
                condition=models.Q(assignee__isnull=True) & ~models.Q(kind__in=REPEATABLE_KINDS),
                name="deadline_kind_unique",
            ),
            models.UniqueConstraint(
                fields=["incident", "kind", "assignee"],
                condition=models.Q(assignee__isnull=False) & ~models.Q(kind__in=REPEATABLE_KINDS),
                name="deadline_kind_person_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="incidents_d_status_3bcaa2_idx"),
            models.Index(fields=["status", "next_check_at"], name="incidents_d_status_593348_idx"),
        ]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.due_at:%Y-%m-%d %H:%M}"

    def display_status(self, now: datetime | None = None) -> str:
        """open, overdue, met, met_late or cancelled: what a person wants to know."""
        if self.status == self.Status.MET:
            return "met_late" if self.met_at and self.met_at > self.due_at else "met"
        if self.status == self.Status.CANCELLED:
            return "cancelled"
        return "overdue" if (now or timezone.now()) >= self.due_at else "open"


class LateReport(models.Model):
    """A deadline that passed unmet (迟报), kept for accountability (责任追究)."""

    deadline = models.OneToOneField(
        Deadline, verbose_name=_("deadline"), on_delete=models.CASCADE, related_name="late_report"
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="late_reports",
    )
    unit = models.ForeignKey(
        "organisation.Unit",
        verbose_name=_("responsible unit"),
        on_delete=models.PROTECT,
        related_name="late_reports",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="late_reports",
    )
    due_at = models.DateTimeField(_("was due at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        db_table = "incidents_latereport"
        ordering = ["-due_at"]
        verbose_name = _("late report")
        verbose_name_plural = _("late reports")

    def __str__(self) -> str:
        return f"{self.incident_id} {self.deadline.get_kind_display()} {self.unit}"
