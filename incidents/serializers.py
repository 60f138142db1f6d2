"""What the incidents API accepts and answers.

Input serializers check the shape of a request (types, choices, ranges); the rules of the
plan (roles, states, reasons an override needs, the discovery time) stay in the services,
which answer with domain errors. Output serializers only describe what was read.
"""

from collections.abc import Mapping

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from core.limits import MAX_COUNT, MAX_ID
from deadlines.models import Deadline
from organisation.models import Unit, User
from plans.categories import Category
from plans.levels import Colour, Level
from plans.models import DeadlineKind

from . import permissions
from .choices import EventType, Platform, Source, State
from .models import (
    DESCRIPTION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Finding,
    Incident,
    LevelChange,
    TimelineEntry,
)

# Every action ``permissions.available_actions`` may answer.
ACTIONS = (*permissions.TRANSITIONS, "change_level", "reject_upgrade", "arrive")
DEADLINE_STATUSES = ("open", "overdue", "met", "met_late", "cancelled")


# Input ------------------------------------------------------------------------------------


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a misspelt or read-only field is a 400 and not
    a change the client believes was made. (HTML forms, with their ``links[0]`` and
    ``metrics.reads`` keys and CSRF token, are left to DRF as they are.)"""

    def to_internal_value(self, data):
        unknown = (
            sorted(set(data.keys()) - set(self.fields))
            if isinstance(data, Mapping) and not html.is_html_input(data)
            else []
        )
        errors = {
            name: [
                serializers.ErrorDetail(
                    str(_("This field cannot be set here.")), code="unknown_field"
                )
            ]
            for name in unknown
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if errors and isinstance(exc.detail, dict):
                exc.detail.update(errors)
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


class MomentField(serializers.DateTimeField):
    """A date-time whose conversion to the site's time zone may overflow (0001-01-01
    without an offset): a 400 like any other unusable time, never a 500. Whether the
    moment is believable is the services' question (``core.moments``)."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


class VersionedInputSerializer(StrictInputSerializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_COUNT,
        help_text="The version the client saw; if the incident has moved on since, 409.",
    )


class MetricsSerializer(StrictInputSerializer):
    """The figures seen: volumes, share of negative comments, aggravating facts."""

    reads = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, default=0)
    reposts = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, default=0)
    comments = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, default=0)
    negative_share = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=0,
        help_text="Share of negative comments, from 0 to 1 (three decimals are kept).",
    )
    mainstream_media = serializers.BooleanField(default=False)
    casualties = serializers.BooleanField(default=False)


class MetricSnapshotCreateSerializer(MetricsSerializer):
    """New figures for an incident, seen now or at ``taken_at``."""

    taken_at = MomentField(required=False, help_text="When the figures were seen; default now.")


class IncidentFieldsSerializer(StrictInputSerializer):
    """What a person describes when logging or correcting an incident."""

    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
    description = serializers.CharField(
        allow_blank=True, default="", max_length=DESCRIPTION_MAX_LENGTH
    )
    links = serializers.ListField(child=serializers.URLField(), default=list)
    platform = serializers.ChoiceField(choices=Platform.choices)
    discovered_at = MomentField(
        required=False,
        help_text="Default now; cannot be in the future nor before FENGHUO_EARLIEST_DATE.",
    )
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(),
        required=False,
        help_text="The involved unit; default the officer's own unit.",
    )
    event_type = serializers.ChoiceField(choices=EventType.choices)


class IncidentCreateSerializer(IncidentFieldsSerializer):
    """A new lead: what was seen, where, and the figures."""

    metrics = MetricsSerializer(
        required=False, allow_null=True, help_text="The figures seen when logging."
    )
    is_drill = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A drill (演练): runs the whole plan, marked as a drill, out of statistics.",
    )


class IncidentUpdateSerializer(IncidentFieldsSerializer, VersionedInputSerializer):
    """Used with ``partial=True``: only the fields sent change."""

    reason = serializers.CharField(
        allow_blank=True,
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text="Why: required to move `discovered_at` of an assessed incident, which "
        "only the office head may do.",
    )


class ArriveSerializer(StrictInputSerializer):
    """The person is at their post (or online) after a Ⅰ/Ⅱ alarm."""

    arrived_at = MomentField(
        required=False,
        help_text="When they arrived; default now. No earlier than the alarm, no later than now.",
    )


class TransitionSerializer(VersionedInputSerializer):
    """Move the incident to the next stage."""

    reason = serializers.CharField(
        allow_blank=True, default="", max_length=REASON_MAX_LENGTH, help_text="Required to dismiss."
    )


class AssessSerializer(TransitionSerializer):
    """Confirm or override the suggested level and choose the handling category."""

    level = serializers.ChoiceField(choices=Level.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    reason = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=REASON_MAX_LENGTH,
        help_text="Required when the level differs from the suggested one.",
    )


class ChangeLevelSerializer(VersionedInputSerializer):
    """A new level for an assessed incident, with the reason."""

    level = serializers.ChoiceField(choices=Level.choices)
    reason = serializers.CharField(
        allow_blank=True, max_length=REASON_MAX_LENGTH, help_text="Why the level changes."
    )


class RejectUpgradeSerializer(serializers.Serializer):
    """Keep the confirmed level although the figures suggest a more severe one."""

    reason = serializers.CharField(
        allow_blank=True, max_length=REASON_MAX_LENGTH, help_text="Why the level stays."
    )


class IncidentFilterSerializer(serializers.Serializer):
    """Filters of the incident list (query parameters)."""

    state = serializers.ChoiceField(choices=State.choices, required=False)
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    unit = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Unit id."
    )


# Output -----------------------------------------------------------------------------------


class BlankAsNullMixin:
    """The models store "" for "not set"; clients get null."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value):
        return None if value in ("", None) else super().to_representation(value)


class BlankAsNullChoiceField(BlankAsNullMixin, serializers.ChoiceField):
    pass


class BlankAsNullCharField(BlankAsNullMixin, serializers.CharField):
    pass


class LevelNumberField(serializers.IntegerField):
    """A level as a plain number. Only ``level`` itself is an enum in the schema: the
    schema generator would otherwise name one choice set several times."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "1 (Ⅰ, red, most severe) to 4 (Ⅳ, blue).")
        super().__init__(min_value=1, max_value=4, read_only=True, **kwargs)


class MetricSnapshotSerializer(serializers.Serializer):
    """Figures seen at one moment, with the level they suggest."""

    id = serializers.IntegerField()
    taken_at = serializers.DateTimeField()
    reads = serializers.IntegerField()
    reposts = serializers.IntegerField()
    comments = serializers.IntegerField()
    negative_share = serializers.DecimalField(
        max_digits=4, decimal_places=3, coerce_to_string=False
    )
    mainstream_media = serializers.BooleanField()
    casualties = serializers.BooleanField()
    suggested_level = LevelNumberField()


class DeadlineSerializer(serializers.Serializer):
    """An obligation of the incident's level and whether it is met."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DeadlineKind.choices)
    due_at = serializers.DateTimeField()
    met_at = serializers.DateTimeField(allow_null=True)
    status = serializers.SerializerMethodField()
    assignee = serializers.IntegerField(
        source="assignee_id", allow_null=True, help_text="The person on an arrival clock, or null."
    )
    escalation_step = serializers.IntegerField(
        help_text="The escalation step reached after due (-1: none yet)."
    )
    acknowledged_at = serializers.DateTimeField(
        allow_null=True, help_text="When an overdue alert of it was first acknowledged."
    )
    acknowledged_by = serializers.IntegerField(
        source="acknowledged_by_id",
        allow_null=True,
        help_text="Who first acknowledged an overdue alert of it (who handles it), or null.",
    )

    @extend_schema_field(serializers.ChoiceField(choices=DEADLINE_STATUSES))
    def get_status(self, deadline: Deadline) -> str:
        # One "now" per answer, so two deadlines due at the same time never disagree.
        return deadline.display_status(now=self.context.get("now"))


class TimelineEntrySerializer(serializers.Serializer):
    """Who did what, when, from where and why."""

    at = serializers.DateTimeField()
    actor = serializers.CharField(
        source="actor.username", allow_null=True, help_text="Username, or null for the system."
    )
    kind = serializers.ChoiceField(choices=TimelineEntry.Kind.choices)
    action = BlankAsNullCharField(help_text="A transition or `change_level`, as in `actions`.")
    from_state = BlankAsNullCharField(help_text="A `state`.")
    to_state = BlankAsNullCharField(help_text="A `state`.")
    from_level = LevelNumberField(allow_null=True)
    to_level = LevelNumberField(allow_null=True)
    reason = serializers.CharField()
    client_ip = serializers.IPAddressField(allow_null=True)


class IncidentListItemSerializer(serializers.Serializer):
    """An incident as lists show it: everything but the timeline."""

    id = serializers.IntegerField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    links = serializers.ListField(child=serializers.CharField())
    platform = serializers.ChoiceField(choices=Platform.choices)
    event_type = serializers.ChoiceField(choices=EventType.choices)
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    state = serializers.ChoiceField(choices=State.choices)
    level = serializers.ChoiceField(choices=Level.choices, allow_null=True)
    colour = BlankAsNullChoiceField(choices=Colour.choices)
    suggested_level = LevelNumberField(allow_null=True)
    category = BlankAsNullChoiceField(choices=Category.choices)
    discovered_at = serializers.DateTimeField()
    is_drill = serializers.BooleanField()
    metrics = MetricSnapshotSerializer(
        source="latest_metrics", allow_null=True, help_text="The latest figures."
    )
    deadlines = DeadlineSerializer(many=True)
    actions = serializers.SerializerMethodField(
        help_text="What the requesting user may do to the incident now."
    )

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS)))
    def get_actions(self, incident) -> list[str]:
        request = self.context.get("request")
        return permissions.available_actions(request.user if request else None, incident)


# The share of negative comments exactly as ``MetricSnapshotSerializer`` writes it.
_NEGATIVE_SHARE = MetricSnapshotSerializer().fields["negative_share"]


def _moment(value, zone) -> str | None:
    """A moment as DRF's ``DateTimeField`` writes it: ISO 8601 in the current time zone
    (UTC as ``Z``); null for none."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class IncidentListRowSerializer(IncidentListItemSerializer):
    """The list's items from the rows of ``selectors.incident_list``, completed by
    ``selectors.incident_list_complete``: the fields and values of
    ``IncidentListItemSerializer`` (which the schema names), written out in one function,
    since serialising field by field cost more than everything else a page does. The
    deadlines' status and the actions come from the same rules (``Deadline.display_status``,
    ``permissions.available_actions``), on the incident the row carries."""

    def to_representation(self, row):
        zone = timezone.get_current_timezone()
        now = self.context.get("now") or timezone.now()
        request = self.context.get("request")
        incident = row["incident"]
        return {
            "id": row["id"],
            "version": row["version"],
            "title": str(row["title"]),
            "description": str(row["description"]),
            "links": [str(link) for link in row["links"]],
            "platform": row["platform"],
            "event_type": row["event_type"],
            "unit": row["unit_id"],
            "unit_name": str(row["unit__name"]),
            "state": row["state"],
            "level": row["level"],
            "colour": row["colour"] or None,
            "suggested_level": row["suggested_level"],
            "category": row["category"] or None,
            "discovered_at": _moment(row["discovered_at"], zone),
            "is_drill": row["is_drill"],
            "metrics": None
            if row["latest_metrics_id"] is None
            else {
                "id": row["latest_metrics_id"],
                "taken_at": _moment(row["latest_metrics__taken_at"], zone),
                "reads": row["latest_metrics__reads"],
                "reposts": row["latest_metrics__reposts"],
                "comments": row["latest_metrics__comments"],
                "negative_share": _NEGATIVE_SHARE.to_representation(
                    row["latest_metrics__negative_share"]
                ),
                "mainstream_media": row["latest_metrics__mainstream_media"],
                "casualties": row["latest_metrics__casualties"],
                "suggested_level": row["latest_metrics__suggested_level"],
            },
            "deadlines": [
                {
                    "id": deadline.pk,
                    "kind": deadline.kind,
                    "due_at": _moment(deadline.due_at, zone),
                    "met_at": _moment(deadline.met_at, zone),
                    "status": deadline.display_status(now=now),
                    "assignee": deadline.assignee_id,
                    "escalation_step": deadline.escalation_step,
                    "acknowledged_at": _moment(deadline.acknowledged_at, zone),
                    "acknowledged_by": deadline.acknowledged_by_id,
                }
                for deadline in incident.deadlines.all()
            ],
            "actions": permissions.available_actions(request.user if request else None, incident),
        }


class IncidentSerializer(IncidentListItemSerializer):
    """An incident with its whole timeline, and where the lead came from."""

    source = serializers.ChoiceField(
        choices=Source.choices,
        help_text="office, member_unit (成员单位报送) or monitoring.",
    )
    timeline = TimelineEntrySerializer(many=True)


def output_context(request) -> dict:
    return {"request": request, "now": timezone.now()}


# Accountability (责任追究) -------------------------------------------------------------------


class FindingCreateSerializer(StrictInputSerializer):
    """A finding: late, omitted, false or concealed report, or a commendation."""

    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    kind = serializers.ChoiceField(choices=Finding.Kind.choices)
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    person = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True, default=None
    )
    text = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text="What happened.")
    evidence = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where the evidence is, or what it shows.",
    )


class FindingFilterSerializer(serializers.Serializer):
    incident = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Incident id."
    )
    unit = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    kind = serializers.ChoiceField(choices=Finding.Kind.choices, required=False)


class FindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    kind = serializers.ChoiceField(choices=Finding.Kind.choices)
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    person = serializers.IntegerField(source="person_id", allow_null=True)
    text = serializers.CharField()
    evidence = serializers.CharField()
    recorded_by = serializers.IntegerField(source="recorded_by_id")
    recorded_at = serializers.DateTimeField()


# Level changes awaiting the leadership's decision -----------------------------------------


class LevelChangeFilterSerializer(serializers.Serializer):
    incident = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Incident id."
    )
    status = serializers.ChoiceField(choices=LevelChange.Status.choices, required=False)


class LevelChangeDecideSerializer(StrictInputSerializer):
    """A decision on a proposed level change; rejecting takes a reason."""

    reason = serializers.CharField(
        allow_blank=True,
        required=False,
        default="",
        max_length=REASON_MAX_LENGTH,
        help_text="Why (required to reject).",
    )


class LevelChangeSerializer(serializers.Serializer):
    """A level change proposed for the leadership's decision, and its outcome."""

    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    from_level = LevelNumberField()
    to_level = LevelNumberField()
    reason = serializers.CharField()
    proposed_by = serializers.CharField(source="proposed_by.username", help_text="Username.")
    proposed_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=LevelChange.Status.choices)
    decided_by = serializers.CharField(
        source="decided_by.username", allow_null=True, help_text="Username, once decided."
    )
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    due_at = serializers.DateTimeField(
        source="deadline.due_at", allow_null=True, help_text="Decide by."
    )
