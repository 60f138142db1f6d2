from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from plans.categories import Category
from plans.levels import Colour, Level

from . import guards
from .choices import EventType, Platform, Source, State

# The longest description and reason that may be typed in (characters): the pages, the API
# and the review's exports stay fast whatever is pasted. Serializers, forms and services
# read these; README lists them.
TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 20_000
REASON_MAX_LENGTH = 2_000


class Incident(models.Model):
    """A public-opinion incident (舆情事件), run under the plan version it started with.

    State changes go through ``incidents.services``: the transition methods below only
    declare the lifecycle for django-fsm; the service checks roles and guards, applies
    the change with an optimistic-lock update and writes the timeline entry.
    """

    plan_version = models.ForeignKey(
        "plans.PlanVersion",
        verbose_name=_("plan version"),
        on_delete=models.PROTECT,
        related_name="incidents",
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    description = models.TextField(_("what was seen"), blank=True)
    links = models.JSONField(_("links"), default=list, blank=True)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    discovered_at = models.DateTimeField(_("discovered at"), default=timezone.now)
    unit = models.ForeignKey(
        "organisation.Unit",
        verbose_name=_("involved unit"),
        on_delete=models.PROTECT,
        related_name="incidents",
    )
    event_type = models.CharField(_("event type"), max_length=30, choices=EventType.choices)

    state = FSMField(_("state"), default=State.DETECTED, choices=State.choices)
    # Optimistic lock: every state change or edit moves it on by one.
    version = models.PositiveIntegerField(_("version"), default=1)

    level = models.PositiveSmallIntegerField(
        _("level"), choices=Level.choices, null=True, blank=True
    )
    colour = models.CharField(_("colour"), max_length=10, choices=Colour.choices, blank=True)
    suggested_level = models.PositiveSmallIntegerField(
        _("suggested level"), choices=Level.choices, null=True, blank=True
    )
    category = models.CharField(
        _("handling category"), max_length=20, choices=Category.choices, blank=True
    )
    latest_metrics = models.ForeignKey(
        "MetricSnapshot",
        verbose_name=_("latest figures"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.PROTECT,
        related_name="incidents_logged",
    )
    # A drill (演练) runs the whole plan, marked as such, and stays out of statistics.
    is_drill = models.BooleanField(_("drill"), default=False)
    # Where the lead came from: the office, a member unit's report (成员单位报送), or
    # monitoring.
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.OFFICE
    )
    # The named person who files follow-up reports while the incident is tracked.
    tracker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tracker"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents_tracked",
    )
    created_at = models.DateTimeField(_("logged at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-discovered_at"]
        indexes = [
            models.Index(fields=["state", "level"]),
            # The incident list's order: newest discovery first.
            models.Index(fields=["-discovered_at", "-id"], name="incident_discovered_idx"),
        ]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state not in (State.CLOSED, State.DISMISSED)

    def level_policy(self, level: int | None = None):
        """What ``level`` (default: the confirmed one) means in this incident's plan
        version; reads the prefetched levels when the selector loaded them."""
        level = level or self.level
        return next((p for p in self.plan_version.levels.all() if p.level == level), None)

    def lead_unit(self, level: int | None = None, *, office=None):
        """The unit that leads the response at ``level`` (default: the confirmed one)
        (004): the office of the leadership group, or the involved unit. ``office`` may
        be given by callers that already know it, to spare the query."""
        from organisation.models import Unit
        from plans.models import LevelPolicy

        policy = self.level_policy(level)
        if policy is None or policy.lead == LevelPolicy.Lead.INVOLVED_UNIT:
            return self.unit
        if office is None:
            office = Unit.objects.filter(kind=Unit.Kind.OFFICE).order_by("sort_order").first()
        return office or self.unit

    # The lifecycle (domain.md, "The stages"). Guards from later issues plug in through
    # ``incidents.guards``; roles are checked by ``incidents.permissions``.
    @transition(
        field=state,
        source=State.DETECTED,
        target=State.ASSESSED,
        conditions=[guards.condition("assess")],
    )
    def assess(self) -> None:
        pass

    @transition(
        field=state,
        source=State.ASSESSED,
        target=State.REPORTED,
        conditions=[guards.condition("report")],
    )
    def report(self) -> None:
        pass

    @transition(
        field=state,
        source=State.REPORTED,
        target=State.RESPONDING,
        conditions=[guards.condition("respond")],
    )
    def respond(self) -> None:
        pass

    @transition(
        field=state,
        source=State.RESPONDING,
        target=State.TRACKING,
        conditions=[guards.condition("track")],
    )
    def track(self) -> None:
        pass

    @transition(
        field=state,
        source=State.TRACKING,
        target=State.REVIEWING,
        conditions=[guards.condition("review")],
    )
    def review(self) -> None:
        pass

    @transition(
        field=state,
        source=State.REVIEWING,
        target=State.CLOSED,
        conditions=[guards.condition("close")],
    )
    def close(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.DETECTED, State.ASSESSED],
        target=State.DISMISSED,
        conditions=[guards.condition("dismiss")],
    )
    def dismiss(self) -> None:
        pass


class MetricSnapshot(models.Model):
    """The figures seen at one moment. Snapshots are only ever added."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="snapshots"
    )
    taken_at = models.DateTimeField(_("seen at"), default=timezone.now)
    reads = models.PositiveIntegerField(_("reads"), default=0)
    reposts = models.PositiveIntegerField(_("reposts"), default=0)
    comments = models.PositiveIntegerField(_("comments"), default=0)
    negative_share = models.DecimalField(
        _("share of negative comments"),
        max_digits=4,
        decimal_places=3,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    mainstream_media = models.BooleanField(_("mainstream media carry it"), default=False)
    casualties = models.BooleanField(_("casualties"), default=False)
    suggested_level = models.PositiveSmallIntegerField(_("suggested level"), choices=Level.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["incident", "taken_at", "id"]
        verbose_name = _("figures")
        verbose_name_plural = _("figures")

    def __str__(self) -> str:
        return f"{self.incident_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class TimelineEntry(models.Model):
    """The audit trail of an incident: who did what, when, from where and why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("logged")
        RESPONSE = "response", _("response")
        TRANSITION = "transition", _("state change")
        LEVEL = "level", _("level change")
        METRICS = "metrics", _("new figures")
        EDITED = "edited", _("edited")
        ALERT = "alert", _("alert")

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="timeline"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    action = models.CharField(_("action"), max_length=30, blank=True)
    from_state = models.CharField(_("from"), max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=20, choices=State.choices, blank=True)
    from_level = models.PositiveSmallIntegerField(choices=Level.choices, null=True, blank=True)
    to_level = models.PositiveSmallIntegerField(choices=Level.choices, null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    client_ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["incident", "at", "id"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")

    def __str__(self) -> str:
        return f"{self.incident_id} {self.at:%Y-%m-%d %H:%M} {self.kind} {self.action}"


class Finding(models.Model):
    """A finding of accountability (责任追究, 001 篇三) recorded on an incident by the
    office head or the leadership: a report that was late, omitted, false or concealed,
    or good work commended; for one unit and, if named, one person. Findings are only
    ever added; the engine's late reports (``deadlines.LateReport``) stand beside them."""

    class Kind(models.TextChoices):
        LATE = "late", _("late report (迟报)")
        OMITTED = "omitted", _("omitted report (漏报)")
        FALSE = "false", _("false report (谎报)")
        CONCEALED = "concealed", _("concealed report (瞒报)")
        COMMENDATION = "commendation", _("commendation (表彰)")

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="findings"
    )
    kind = models.CharField(_("finding"), max_length=20, choices=Kind.choices)
    unit = models.ForeignKey(
        "organisation.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="findings",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
    )
    text = models.TextField(_("what happened"))
    evidence = models.TextField(_("evidence"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]
        verbose_name = _("accountability finding")
        verbose_name_plural = _("accountability findings")

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} {self.unit_id}"


class LevelChange(models.Model):
    """A level change that waits for the leadership's decision (issue 14): lowering a
    level, a change to a reported level whose policy says so, or a raise by someone the
    plan does not let raise at once. Until a decider other than the proposer approves
    it, the incident keeps its level and its stricter deadlines. At most one is pending
    per incident: a newer proposal supersedes it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting decision")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        # The incident moved on (another level change, the review, a dismissal) or a
        # newer proposal replaced it: nothing is left to decide.
        WITHDRAWN = "withdrawn", _("withdrawn")

    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="level_changes",
    )
    from_level = models.PositiveSmallIntegerField(_("from level"), choices=Level.choices)
    to_level = models.PositiveSmallIntegerField(_("to level"), choices=Level.choices)
    reason = models.TextField(_("reason"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    # The decision's clock: the deciders are reminded, and escalated to, by the engine.
    deadline = models.ForeignKey(
        "deadlines.Deadline",
        verbose_name=_("decision deadline"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["proposed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"],
                condition=models.Q(status="pending"),
                name="level_change_one_pending",
            )
        ]
        verbose_name = _("level change")
        verbose_name_plural = _("level changes")

    def __str__(self) -> str:
        return f"{self.incident_id} {self.from_level}→{self.to_level} {self.status}"
