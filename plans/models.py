from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .categories import Category
from .levels import Colour, Level


class Plan(models.Model):
    """An organisation's emergency plan (应急预案). Its content lives in versions."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.name


def default_level_raisers() -> list[str]:
    return ["analyst", "office_head", "deputy_leader", "leader"]


def default_level_deciders() -> list[str]:
    return ["leader", "deputy_leader"]


class PlanVersion(models.Model):
    """One version of a plan. Drafts are editable; a published version is frozen, so
    incidents that started under it keep exactly the rules they started with."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("in force")
        RETIRED = "retired", _("retired")

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    note = models.TextField(_("what changed"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Reminders before a deadline is due (issue: the deadline engine). Windows up to
    # ``short_window_minutes`` get a reminder ``short_reminder_minutes`` before due,
    # longer ones ``long_reminder_minutes`` before; and one at half the window if set.
    remind_at_half_window = models.BooleanField(_("remind at half the window"), default=True)
    short_window_minutes = models.PositiveIntegerField(
        _("a short window lasts up to (minutes)"), default=60
    )
    short_reminder_minutes = models.PositiveIntegerField(
        _("short windows: remind this many minutes before due"), default=5
    )
    long_reminder_minutes = models.PositiveIntegerField(
        _("long windows: remind this many minutes before due"), default=60
    )
    # A proposed level upgrade (new figures suggest a more severe level) must be
    # confirmed or rejected within this window, else it escalates like a deadline.
    upgrade_decision_minutes = models.PositiveIntegerField(
        _("decide on a proposed upgrade within (minutes)"), default=15
    )
    # The working-hours calendar (staff-arrival clocks differ in and out of hours).
    work_days = models.CharField(
        _("working days"),
        max_length=7,
        default="12345",
        help_text=_("ISO weekday numbers, Monday = 1: 12345 is Monday to Friday."),
    )
    work_start = models.TimeField(_("working hours start"), default=time(8, 30))
    work_end = models.TimeField(_("working hours end"), default=time(17, 30))
    # Monitoring (issue: monitoring). A topic is alerted when its share of negative posts
    # reaches ``alert_negative_share`` (once it has ``alert_min_posts`` posts), and when
    # its posts of the last hour reach ``spike_factor`` times its hourly average over the
    # ``spike_baseline_hours`` before (and at least ``spike_min_posts``).
    alert_negative_share = models.DecimalField(
        _("alert when the share of negative posts reaches"),
        max_digits=4,
        decimal_places=3,
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    alert_min_posts = models.PositiveIntegerField(
        _("judge the negative share from this many posts on"), default=5
    )
    spike_factor = models.DecimalField(
        _("spike: posts in the last hour, times the hourly baseline"),
        max_digits=5,
        decimal_places=2,
        default=3,
        validators=[MinValueValidator(1)],
    )
    spike_min_posts = models.PositiveIntegerField(
        _("spike: at least this many posts in the last hour"), default=10
    )
    spike_baseline_hours = models.PositiveIntegerField(
        _("spike: baseline over the hours before (hours)"),
        default=24,
        validators=[MinValueValidator(1)],
    )
    # A member unit reports a major incident to the office within this window of its
    # discovery (001 篇三); logging the lead meets it.
    unit_report_minutes = models.PositiveIntegerField(
        _("member units report a lead to the office within (minutes)"),
        default=120,
        validators=[MinValueValidator(1)],
    )
    # Warnings (预警) to member units: each confirms receipt within
    # ``warning_confirm_minutes``; unconfirmed, it goes to the unit's head at due and to
    # the office head ``warning_office_after_minutes`` later.
    warning_confirm_minutes = models.PositiveIntegerField(
        _("member units confirm a warning within (minutes)"),
        default=30,
        validators=[MinValueValidator(1)],
    )
    warning_office_after_minutes = models.PositiveIntegerField(
        _("an unconfirmed warning reaches the office head after (minutes past due)"),
        default=15,
    )
    # Level changes (issue 14): raising is the safer direction and applies at once for
    # ``level_raisers``; lowering, and any change to a reported level whose policy says so,
    # is a proposal that a person holding ``level_deciders`` decides (not its proposer).
    level_raisers = models.JSONField(
        _("who may raise a level at once"),
        default=default_level_raisers,
        help_text=_("Roles; the deciders below may raise at once too."),
    )
    level_deciders = models.JSONField(
        _("who decides a proposed level change"), default=default_level_deciders
    )
    level_change_decision_minutes = models.PositiveIntegerField(
        _("decide on a proposed level change within (minutes)"),
        default=30,
        validators=[MinValueValidator(1)],
    )

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number_unique"),
            models.UniqueConstraint(
                fields=["plan"],
                condition=Q(status="published"),
                name="plan_version_one_in_force",
            ),
        ]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")

    def __str__(self) -> str:
        return f"{self.plan.name} v{self.number}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    def clean(self) -> None:
        errors = {}
        for name in ("level_raisers", "level_deciders"):
            try:
                _validate_roles(getattr(self, name))
            except ValidationError as exc:
                errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)


class WarnAt(models.TextChoices):
    """The stage at which a level's warnings (预警) go to the member units."""

    ASSESS = "assess", _("assessment")
    REPORT = "report", _("the report to the leadership group")


class FollowUpFrom(models.TextChoices):
    """The stage from which a level's follow-up reports (续报) are due."""

    REPORTED = "reported", _("the report to the leadership group")
    RESPONDING = "responding", _("the start of the response")
    TRACKING = "tracking", _("the start of tracking")


class LevelPolicy(models.Model):
    """What one level means in a plan version: colour, name, the thresholds that
    suggest it, and who leads the response."""

    class Lead(models.TextChoices):
        OFFICE = "office", _("the office of the leadership group")
        INVOLVED_UNIT = "involved_unit", _("the involved unit")

    version = models.ForeignKey(
        PlanVersion,
        verbose_name=_("plan version"),
        on_delete=models.CASCADE,
        related_name="levels",
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    colour = models.CharField(_("colour"), max_length=10, choices=Colour.choices)
    name = models.CharField(_("name"), max_length=40)
    meaning = models.TextField(_("meaning"), blank=True)
    lead = models.CharField(_("who leads"), max_length=20, choices=Lead.choices)
    # Thresholds. A level is suggested when any trigger holds; the first (most severe)
    # level whose triggers hold wins, and the least severe level is the floor.
    on_casualties = models.BooleanField(_("casualties suggest this level"), default=False)
    on_mainstream_media = models.BooleanField(
        _("mainstream media coverage suggests this level"), default=False
    )
    min_reads = models.PositiveIntegerField(_("reads at least"), null=True, blank=True)
    min_reposts = models.PositiveIntegerField(_("reposts at least"), null=True, blank=True)
    min_comments = models.PositiveIntegerField(_("comments at least"), null=True, blank=True)
    min_negative_share = models.DecimalField(
        _("negative share at least"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_(
            "With reads/reposts/comments: the volume counts only when the share of "
            "negative comments is at least this (0 to 1)."
        ),
    )
    follow_up_hours = models.PositiveIntegerField(
        _("follow-up reports every (hours) while tracked"),
        default=24,
        validators=[MinValueValidator(1)],
    )
    # 续报 are filed throughout the response; their cadence clock starts at this stage.
    follow_up_from = models.CharField(
        _("follow-up reports due from"),
        max_length=20,
        choices=FollowUpFrom.choices,
        default=FollowUpFrom.RESPONDING,
    )
    # Warnings (预警): sent at this stage to the involved unit and to ``warn_units``.
    warn_at = models.CharField(
        _("warn the member units at"), max_length=10, choices=WarnAt.choices, default=WarnAt.REPORT
    )
    warn_units = models.ManyToManyField(
        "organisation.Unit",
        verbose_name=_("also warn these units"),
        blank=True,
        related_name="+",
    )
    # Once reported at this level, any change of level is a proposal the deciders decide.
    change_needs_decision_once_reported = models.BooleanField(
        _("once reported, a level change needs a decision"), default=False
    )
    negative_rising_suffices = models.BooleanField(
        _("a rising negative share also counts"),
        default=False,
        help_text=_(
            "With reads/reposts/comments: a negative share higher than in the "
            "previous snapshot satisfies the negative condition."
        ),
    )

    class Meta:
        ordering = ["version", "level"]
        constraints = [
            models.UniqueConstraint(fields=["version", "level"], name="level_policy_unique"),
            models.UniqueConstraint(fields=["version", "colour"], name="level_colour_unique"),
        ]
        verbose_name = _("level")
        verbose_name_plural = _("levels")

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.name}"

    @property
    def has_volume_trigger(self) -> bool:
        return any(v is not None for v in (self.min_reads, self.min_reposts, self.min_comments))

    def clean(self) -> None:
        if (
            self.min_negative_share is not None or self.negative_rising_suffices
        ) and not self.has_volume_trigger:
            raise ValidationError(
                _("A negative-share condition needs a reads, reposts or comments threshold.")
            )


class EscalationStep(models.Model):
    """One step of a level's escalation chain: ``wait_minutes`` after a deadline passes
    unmet, the people holding ``roles`` are alerted (step 0 is the overdue alert)."""

    version = models.ForeignKey(
        PlanVersion,
        verbose_name=_("plan version"),
        on_delete=models.CASCADE,
        related_name="escalation_steps",
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    wait_minutes = models.PositiveIntegerField(_("minutes after due"))
    roles = models.JSONField(_("alert these roles"), default=list)

    class Meta:
        ordering = ["version", "level", "wait_minutes"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "level", "wait_minutes"], name="escalation_step_unique"
            ),
        ]
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation chain")

    def __str__(self) -> str:
        return f"{self.get_level_display()} +{self.wait_minutes} min: {', '.join(self.roles)}"

    def clean(self) -> None:
        _validate_roles(self.roles)


def _validate_roles(roles) -> None:
    from organisation.roles import Role

    if not roles or not isinstance(roles, list) or any(r not in Role.values for r in roles):
        raise ValidationError(
            {"roles": _("List one or more roles: %(roles)s") % {"roles": ", ".join(Role.values)}}
        )


class ApprovalRule(models.Model):
    """Who approves response plans, statements and reviews at a level: people holding
    ``roles`` (only those of the unit that leads, if ``lead_unit_only``); ``required``
    approvals from different people; decided within ``minutes``."""

    version = models.ForeignKey(
        PlanVersion,
        verbose_name=_("plan version"),
        on_delete=models.CASCADE,
        related_name="approval_rules",
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    roles = models.JSONField(_("approvers' roles"), default=list)
    lead_unit_only = models.BooleanField(_("only approvers of the unit that leads"), default=False)
    required = models.PositiveSmallIntegerField(
        _("approvals required"), default=1, validators=[MinValueValidator(1)]
    )
    minutes = models.PositiveIntegerField(
        _("decide within (minutes)"), validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["version", "level"]
        constraints = [
            models.UniqueConstraint(fields=["version", "level"], name="approval_rule_unique"),
        ]
        verbose_name = _("approval rule")
        verbose_name_plural = _("approval rules")

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {', '.join(self.roles)} ×{self.required}"

    def clean(self) -> None:
        _validate_roles(self.roles)


class ChecklistItem(models.Model):
    """Handling by category (分类处置): choosing a category creates these as tasks."""

    version = models.ForeignKey(
        PlanVersion,
        verbose_name=_("plan version"),
        on_delete=models.CASCADE,
        related_name="checklist_items",
    )
    category = models.CharField(_("handling category"), max_length=20)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("task"), max_length=200)
    due_same_day = models.BooleanField(_("due the same day"), default=False)
    due_minutes = models.PositiveIntegerField(_("due within (minutes)"), null=True, blank=True)

    class Meta:
        ordering = ["version", "category", "order"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("handling checklists")

    def __str__(self) -> str:
        return f"{self.category}: {self.title}"

    def clean(self) -> None:
        if self.category not in Category.values:
            raise ValidationError({"category": _("Choose a handling category.")})


class DeadlineKind(models.TextChoices):
    REPORT = "report", _("Report to the leadership group")
    FIRST_RESPONSE = "first_response", _("First public response")
    OFFICIAL_RELEASE = "official_release", _("Official news release")
    APPROVAL = "approval", _("Approval decision")
    TASK = "task", _("Task")
    FOLLOW_UP = "follow_up", _("Follow-up report")
    REVIEW = "review", _("Written review")
    LEVEL_DECISION = "level_decision", _("Decide on the proposed level upgrade")
    STAFF_ARRIVAL = "staff_arrival", _("Office staff at their posts")
    MEETING_ASSEMBLY = "meeting_assembly", _("Joint-meeting members assembled")
    INFORMANTS_ONLINE = "informants_online", _("Informants online")
    # Issue 14: the clock from the first minute, reports from member units, warnings and
    # level changes decided by the leadership.
    ASSESSMENT = "assessment", _("Assess and grade the lead")
    UNIT_REPORT = "unit_report", _("Member unit reports the lead to the office")
    WARNING_CONFIRM = "warning_confirm", _("Confirm receipt of the warning")
    LEVEL_CHANGE = "level_change", _("Decide on the proposed level change")


ARRIVAL_KINDS = (
    DeadlineKind.STAFF_ARRIVAL,
    DeadlineKind.MEETING_ASSEMBLY,
    DeadlineKind.INFORMANTS_ONLINE,
)


class ArrivalRule(models.Model):
    """After a Ⅰ/Ⅱ alarm, the people holding ``roles`` must acknowledge their arrival
    within the minutes for working hours or outside them (004)."""

    version = models.ForeignKey(
        PlanVersion,
        verbose_name=_("plan version"),
        on_delete=models.CASCADE,
        related_name="arrival_rules",
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    kind = models.CharField(
        _("obligation"), max_length=30, choices=[(k.value, k.label) for k in ARRIVAL_KINDS]
    )
    roles = models.JSONField(_("people with these roles"), default=list)
    minutes_in_hours = models.PositiveIntegerField(
        _("within (minutes), working hours"), validators=[MinValueValidator(1)]
    )
    minutes_off_hours = models.PositiveIntegerField(
        _("within (minutes), otherwise"), validators=[MinValueValidator(1)]
    )
    # The summons (issue 14): each person is alerted on every channel the moment the
    # clock starts, and again every so many minutes until they confirm or it passes.
    summons_every_minutes = models.PositiveIntegerField(
        _("summon again every (minutes)"),
        default=5,
        help_text=_(
            "Each person is summoned when the clock starts and again at this interval until "
            "they confirm their arrival or the clock passes; 0: summoned once, then reminded "
            "as for other deadlines."
        ),
    )

    class Meta:
        ordering = ["version", "level", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "level", "kind"], name="arrival_rule_unique"
            ),
        ]
        verbose_name = _("arrival clock")
        verbose_name_plural = _("arrival clocks")

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.get_kind_display()}"

    def clean(self) -> None:
        _validate_roles(self.roles)


class Anchor(models.TextChoices):
    """When a deadline's clock starts."""

    DISCOVERED = "discovered", _("when the incident was discovered")
    REVIEWING = "reviewing", _("when the incident enters review")


class FulfilmentEvent(models.TextChoices):
    """What meets a deadline: the incident's transitions (later issues add statements)."""

    ASSESS = "assess", _("assessed and graded")
    REPORT = "report", _("reported to the leadership group")
    RESPOND = "respond", _("response started")
    TRACK = "track", _("tracking started")
    REVIEW = "review", _("review started")
    CLOSE = "close", _("closed")
    STATEMENT_PUBLISHED = "statement_published", _("a statement published")


class DeadlineRule(models.Model):
    """An obligation of a level: ``kind`` is due ``minutes`` after its anchor and is met
    by the ``fulfilled_by`` transition."""

    version = models.ForeignKey(
        PlanVersion,
        verbose_name=_("plan version"),
        on_delete=models.CASCADE,
        related_name="deadline_rules",
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    kind = models.CharField(_("obligation"), max_length=30, choices=DeadlineKind.choices)
    anchor = models.CharField(
        _("clock starts"), max_length=20, choices=Anchor.choices, default=Anchor.DISCOVERED
    )
    minutes = models.PositiveIntegerField(
        _("due within (minutes)"), validators=[MinValueValidator(1)]
    )
    fulfilled_by = models.CharField(_("met by"), max_length=20, choices=FulfilmentEvent.choices)
    # Once overdue, an acknowledgement records who handles it and spares that person the
    # later steps, but the chain still climbs to the leadership until the deadline is met
    # (no one person can silence it). Unset, an acknowledgement stops the chain.
    escalate_after_acknowledgement = models.BooleanField(
        _("escalation continues after an acknowledgement"),
        default=False,
        help_text=_(
            "Acknowledging an overdue alert then stops only the alerts to the person who "
            "acknowledged; the chain climbs until the deadline is met."
        ),
    )

    class Meta:
        ordering = ["version", "level", "minutes"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "level", "kind"], name="deadline_rule_unique"
            ),
            models.CheckConstraint(condition=Q(minutes__gt=0), name="deadline_rule_positive"),
        ]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.get_kind_display()} ≤ {self.minutes} min"
