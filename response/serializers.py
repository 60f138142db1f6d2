"""What the response API accepts and answers.

As in ``incidents.serializers``: input serializers check the shape of a request (types,
choices, ids that exist); the plan's rules (roles, states, comments a rejection needs, who
approves) stay in the services. Output serializers only describe what was read.
"""

from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_choice_field
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.limits import MAX_ID
from incidents.models import Incident
from incidents.serializers import (
    BlankAsNullCharField,
    DeadlineSerializer,
    MetricSnapshotSerializer,
    MetricsSerializer,
    StrictInputSerializer,
)
from organisation.models import Unit, User
from plans.categories import Category

from .models import TASK_TITLE_MAX_LENGTH, TEXT_MAX_LENGTH, Channel, Decision, DocumentState, Task


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose choice set is one named schema component. ``state`` and
    ``channel`` already name other choice sets in the schema (incidents, notifications):
    naming ours keeps the generator from renaming theirs."""

    def __init__(self, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField
    match_subclasses = True

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema, direction):
        return build_choice_field(self.target)


def document_state_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="DocumentStateEnum", choices=DocumentState.choices, **kwargs)


def channel_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="StatementChannelEnum", choices=Channel.choices, **kwargs)


# Input ------------------------------------------------------------------------------------


def free_text(**kwargs) -> serializers.CharField:
    """A text typed in, at most ``TEXT_MAX_LENGTH`` characters (400 naming the limit)."""
    return serializers.CharField(max_length=TEXT_MAX_LENGTH, **kwargs)


class DraftSerializer(StrictInputSerializer):
    """Saves the incident's draft: the open draft is edited (only the fields sent change);
    after a submission a new version starts from what is sent."""

    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())


class ResponsePlanDraftSerializer(DraftSerializer):
    """处置方案: facts verified, handling category, measures, units involved, the line."""

    facts = free_text()
    category = serializers.ChoiceField(choices=Category.choices, allow_blank=True, required=False)
    measures_online = free_text(allow_blank=True, required=False)
    measures_offline = free_text(allow_blank=True, required=False)
    units = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), many=True, required=False, help_text="Unit ids."
    )
    statement_line = free_text(
        allow_blank=True, required=False, help_text="The statement line (口径)."
    )


class StatementDraftSerializer(DraftSerializer):
    """A public statement and the channels it is meant for."""

    text = free_text()
    channels = serializers.ListField(child=channel_field(), min_length=1)


class ReviewDraftSerializer(DraftSerializer):
    """总结评估: the pre-filled summary, lessons, proposed changes, a drill's evaluation."""

    summary = free_text(allow_blank=True, required=False)
    lessons = free_text(allow_blank=True, required=False)
    plan_changes = free_text(
        allow_blank=True, required=False, help_text="Proposed changes to the plan."
    )
    drill_evaluation = free_text(
        allow_blank=True, required=False, help_text="Required to submit a drill's review."
    )


class SubmitSerializer(StrictInputSerializer):
    """Nothing to send: the version in the path goes to its approvers."""


class DecisionInputSerializer(StrictInputSerializer):
    comment = free_text(
        allow_blank=True, default="", help_text="Required to reject or to ask for changes."
    )


class PublishSerializer(StrictInputSerializer):
    """Where and when the spokesperson published the approved statement."""

    channel = channel_field()
    published_at = serializers.DateTimeField(
        required=False,
        help_text="Default now; no earlier than the statement's approval and not in the future.",
    )
    url = serializers.URLField(allow_blank=True, default="")


class DocumentFilterSerializer(serializers.Serializer):
    """Filters of the document lists (query parameters)."""

    incident = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Incident id."
    )
    state = serializers.ChoiceField(choices=DocumentState.choices, required=False)


class TaskAssignSerializer(StrictInputSerializer):
    """A task for a unit (its liaisons), or for one of its people."""

    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    title = serializers.CharField(max_length=TASK_TITLE_MAX_LENGTH)
    description = free_text(allow_blank=True, default="")
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="A person of the unit; default the unit's liaisons.",
    )
    due_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="In the future; the engine reminds and escalates against it.",
    )


class TaskRecordSerializer(StrictInputSerializer):
    text = free_text(help_text="What was done (the outcome, to complete).")
    link = serializers.URLField(allow_blank=True, default="", help_text="The evidence.")
    attachment = serializers.FileField(
        required=False,
        allow_null=True,
        use_url=False,
        help_text="An evidence file (multipart): an image (PNG, JPEG, GIF, WebP), PDF, Word, "
        "Excel or plain text, checked by content, at most FENGHUO_EVIDENCE_MAX_BYTES "
        "(20 MB by default).",
    )


class TaskCompleteSerializer(TaskRecordSerializer):
    """The outcome, and when the task was done."""

    completed_at = serializers.DateTimeField(
        required=False,
        help_text="When the task was done: default now; no earlier than "
        "the task's creation and not in the future. It meets the "
        "task's deadline.",
    )


class TaskFilterSerializer(serializers.Serializer):
    """Filters of the task list (query parameters)."""

    incident = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Incident id."
    )
    unit = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Unit id."
    )
    state = serializers.ChoiceField(choices=Task.State.choices, required=False)
    mine = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Only the tasks I am assigned, or those of my unit if I am its liaison or head.",
    )


class FollowUpCreateSerializer(StrictInputSerializer):
    """续报: what changed, what was done, and the figures seen now if any."""

    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    what_changed = free_text()
    actions_taken = free_text(allow_blank=True, default="")
    metrics = MetricsSerializer(
        required=False, allow_null=True, help_text="New figures, recorded as a snapshot."
    )
    at = serializers.DateTimeField(
        required=False,
        help_text="When the report was made: default now; no earlier than "
        "the report it follows (or the start of tracking) and not "
        "in the future. It meets the follow-up due.",
    )


class TrackerSerializer(StrictInputSerializer):
    """The person who follows the incident and files its follow-up reports."""

    tracker = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class FollowUpFilterSerializer(serializers.Serializer):
    incident = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Incident id."
    )


# Output -----------------------------------------------------------------------------------


class DecisionSerializer(serializers.Serializer):
    """An approver's decision on one version."""

    approver = serializers.IntegerField(source="approver_id")
    approver_name = serializers.CharField(source="approver")
    verdict = serializers.ChoiceField(choices=Decision.Verdict.choices)
    comment = serializers.CharField()
    at = serializers.DateTimeField()


class DocumentSerializer(serializers.Serializer):
    """What every version of a plan, statement or review carries."""

    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    version = serializers.IntegerField()
    state = document_state_field()
    author = serializers.IntegerField(source="author_id")
    author_name = serializers.CharField(source="author")
    contributors = serializers.SerializerMethodField(
        help_text="Ids of everyone who wrote or edited any part of this version (the "
        "author included); none of them may decide on it."
    )
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    approval_deadline = DeadlineSerializer(
        allow_null=True, help_text="The decision deadline of the latest submission."
    )
    decisions = DecisionSerializer(many=True)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_contributors(self, doc) -> list[int]:
        return sorted({doc.author_id, *(person.pk for person in doc.contributors.all())})


class ResponsePlanSerializer(DocumentSerializer):
    facts = serializers.CharField()
    category = BlankAsNullCharField(help_text="A handling category, or null.")
    measures_online = serializers.CharField()
    measures_offline = serializers.CharField()
    units = serializers.SerializerMethodField(help_text="Unit ids.")
    statement_line = serializers.CharField()

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_units(self, plan) -> list[int]:
        return [unit.pk for unit in plan.units.all()]  # prefetched


class PublicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = channel_field()
    published_at = serializers.DateTimeField()
    url = serializers.CharField()
    published_by = serializers.IntegerField(source="published_by_id")
    recorded_at = serializers.DateTimeField()


class StatementSerializer(DocumentSerializer):
    text = serializers.CharField()
    channels = serializers.ListField(child=channel_field())
    publications = PublicationSerializer(many=True)


class ReviewSerializer(DocumentSerializer):
    summary = serializers.CharField()
    lessons = serializers.CharField()
    plan_changes = serializers.CharField()
    drill_evaluation = serializers.CharField()


class TaskUpdateSerializer(serializers.Serializer):
    """Progress, or the outcome, with its evidence."""

    id = serializers.IntegerField()
    author = serializers.IntegerField(source="author_id")
    author_name = serializers.CharField(source="author")
    at = serializers.DateTimeField()
    text = serializers.CharField()
    link = BlankAsNullCharField()
    attachment = serializers.SerializerMethodField(
        help_text="Where the evidence file is downloaded (by those who may see the task), or null."
    )
    is_outcome = serializers.BooleanField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_attachment(self, update) -> str | None:
        if not update.attachment:
            return None
        url = reverse("api:task-evidence", args=[update.task_id, update.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class TaskListItemSerializer(serializers.Serializer):
    """A task as lists show it: everything but its updates."""

    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    title = serializers.CharField()
    description = serializers.CharField()
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)
    assignee_name = serializers.CharField(source="assignee", allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    state = NamedChoiceField(enum_name="TaskStateEnum", choices=Task.State.choices)
    outcome = serializers.CharField()
    deadline = DeadlineSerializer(allow_null=True, help_text="The deadline of `due_at`.")
    created_by = serializers.IntegerField(source="created_by_id")
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class TaskSerializer(TaskListItemSerializer):
    """A task with its progress and outcome."""

    updates = TaskUpdateSerializer(many=True)


class FollowUpSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    author = serializers.IntegerField(source="author_id")
    author_name = serializers.CharField(source="author")
    at = serializers.DateTimeField()
    what_changed = serializers.CharField()
    actions_taken = serializers.CharField()
    metrics = MetricSnapshotSerializer(
        source="snapshot", allow_null=True, help_text="The figures filed with the report."
    )
