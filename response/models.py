"""The second half of the plan: response plans and statements approved by the
leadership group, tasks for member units, follow-up reports, and the written review."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from plans.categories import Category

# The longest free text of the response that may be typed in (characters): documents'
# fields, decisions' comments, tasks and their progress, follow-up reports. Serializers,
# forms and services read it; README lists it.
TEXT_MAX_LENGTH = 20_000
# A task's title, and a link (of a publication, of a task's progress): forms and
# serializers read these.
TASK_TITLE_MAX_LENGTH = 200
LINK_MAX_LENGTH = 200


class DocumentState(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("awaiting approval")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    CHANGES_REQUESTED = "changes_requested", _("changes requested")
    SUPERSEDED = "superseded", _("superseded")


class ApprovableDocument(models.Model):
    """A versioned document that needs the leadership's approval. Each version is a row;
    what was submitted or approved is frozen, and a change makes a new version."""

    incident = models.ForeignKey(
        "incidents.Incident", verbose_name=_("incident"), on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"))
    state = models.CharField(
        _("state"), max_length=20, choices=DocumentState.choices, default=DocumentState.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Four eyes on content: everyone who wrote or edited any part of this version (the
    # author, later editors, and those of the version it was started from). None of
    # them may decide on it.
    contributors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written or edited by"),
        related_name="+",
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The approval deadline of the current submission (enforced by the engine).
    approval_deadline = models.ForeignKey(
        "deadlines.Deadline", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["incident", "-version"]

    @property
    def is_frozen(self) -> bool:
        return self.state != DocumentState.DRAFT


class ResponsePlan(ApprovableDocument):
    """处置方案: facts verified, handling category, measures online and offline, the
    units involved and the statement line (口径)."""

    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="response_plans",
    )
    facts = models.TextField(_("facts verified"))
    category = models.CharField(
        _("handling category"), max_length=20, blank=True, choices=Category.choices
    )
    measures_online = models.TextField(_("measures online"), blank=True)
    measures_offline = models.TextField(_("measures offline"), blank=True)
    units = models.ManyToManyField(
        "organisation.Unit", verbose_name=_("units involved"), blank=True, related_name="+"
    )
    statement_line = models.TextField(_("statement line (口径)"), blank=True)

    class Meta(ApprovableDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "version"], name="response_plan_version_unique"
            )
        ]
        verbose_name = _("response plan")
        verbose_name_plural = _("response plans")

    def __str__(self) -> str:
        return f"{self.incident_id} response plan v{self.version}"


class Channel(models.TextChoices):
    WEIBO = "weibo", _("official Weibo")
    WECHAT = "wechat", _("WeChat official account")
    WEBSITE = "website", _("website")
    PRESS_CONFERENCE = "press_conference", _("press conference")
    REPLY = "reply", _("reply under the post")


class Statement(ApprovableDocument):
    """新闻发布、回应: a public statement, approved before the spokesperson publishes it."""

    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="statements",
    )
    text = models.TextField(_("text"))
    channels = models.JSONField(_("channels"), default=list)

    class Meta(ApprovableDocument.Meta):
        constraints = [
            models.UniqueConstraint(fields=["incident", "version"], name="statement_version_unique")
        ]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")

    def __str__(self) -> str:
        return f"{self.incident_id} statement v{self.version}"


class Publication(models.Model):
    """One publication of an approved statement on one channel."""

    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        on_delete=models.PROTECT,
        related_name="publications",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    published_at = models.DateTimeField(_("published at"))
    url = models.URLField(_("link"), max_length=LINK_MAX_LENGTH, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["published_at"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")

    def __str__(self) -> str:
        return f"{self.statement} on {self.channel} @ {self.published_at:%Y-%m-%d %H:%M}"


class Review(ApprovableDocument):
    """总结评估: pre-filled from the record; the author adds lessons and proposed changes
    to the plan; on approval the incident closes."""

    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="reviews",
    )
    summary = models.TextField(_("summary"), blank=True)
    lessons = models.TextField(_("lessons"), blank=True)
    plan_changes = models.TextField(_("proposed changes to the plan"), blank=True)
    drill_evaluation = models.TextField(_("drill evaluation"), blank=True)

    class Meta(ApprovableDocument.Meta):
        constraints = [
            models.UniqueConstraint(fields=["incident", "version"], name="review_version_unique")
        ]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"{self.incident_id} review v{self.version}"


class Decision(models.Model):
    """An approver's decision on one version of a document, with a comment."""

    class Verdict(models.TextChoices):
        APPROVE = "approve", _("approved")
        REJECT = "reject", _("rejected")
        REQUEST_CHANGES = "request_changes", _("asked for changes")

    response_plan = models.ForeignKey(
        ResponsePlan, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    verdict = models.CharField(_("decision"), max_length=20, choices=Verdict.choices)
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(response_plan__isnull=False, statement__isnull=True, review__isnull=True)
                    | Q(response_plan__isnull=True, statement__isnull=False, review__isnull=True)
                    | Q(response_plan__isnull=True, statement__isnull=True, review__isnull=False)
                ),
                name="decision_on_one_document",
            ),
        ]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return f"{self.approver} {self.verdict}"


class Task(models.Model):
    """A task for a member unit or a person, with a due time the engine enforces."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    title = models.CharField(_("task"), max_length=TASK_TITLE_MAX_LENGTH)
    description = models.TextField(_("description"), blank=True)
    unit = models.ForeignKey(
        "organisation.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="tasks"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    outcome = models.TextField(_("outcome"), blank=True)
    checklist_item = models.ForeignKey(
        "plans.ChecklistItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline = models.OneToOneField(
        "deadlines.Deadline", null=True, blank=True, on_delete=models.SET_NULL, related_name="task"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["state", "due_at", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title


class TaskUpdate(models.Model):
    """Progress or the outcome of a task, with its evidence (text, link, file)."""

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="updates"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    text = models.TextField(_("text"))
    link = models.URLField(_("link"), max_length=LINK_MAX_LENGTH, blank=True)
    attachment = models.FileField(_("attached file"), upload_to="evidence/%Y/%m/", blank=True)
    is_outcome = models.BooleanField(_("outcome"), default=False)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("task update")
        verbose_name_plural = _("task updates")

    def __str__(self) -> str:
        return f"{self.task_id} @ {self.at:%Y-%m-%d %H:%M}"


class FollowUp(models.Model):
    """续报: what changed, new figures, actions taken, filed by the tracker."""

    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="follow_ups",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    what_changed = models.TextField(_("what changed"))
    actions_taken = models.TextField(_("actions taken"), blank=True)
    snapshot = models.ForeignKey(
        "incidents.MetricSnapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("follow-up report")
        verbose_name_plural = _("follow-up reports")

    def __str__(self) -> str:
        return f"{self.incident_id} follow-up @ {self.at:%Y-%m-%d %H:%M}"
