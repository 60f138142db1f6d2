"""What the notifications API accepts and answers."""

from rest_framework import serializers

from core.limits import MAX_ID

from .models import Notification


class NotificationFilterSerializer(serializers.Serializer):
    """Filters of the notification list (query parameters)."""

    incident = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Incident id."
    )
    recipient = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="Recipient's user id (only the office head and the system administrator "
        "see other people's notifications).",
    )
    kind = serializers.ChoiceField(choices=Notification.Kind.choices, required=False)
    channel = serializers.ChoiceField(choices=Notification.Channel.choices, required=False)


class NotificationSerializer(serializers.ModelSerializer):
    recipient_name = serializers.SerializerMethodField(
        help_text="Null for a webhook row, which goes to a group robot, not to a person."
    )

    class Meta:
        model = Notification
        fields = [
            "id",
            "incident",
            "deadline",
            "kind",
            "step",
            "recipient",
            "recipient_name",
            "channel",
            "title",
            "body",
            "created_at",
            "delivered_at",
            "read_at",
            "acknowledged_at",
        ]
        read_only_fields = fields

    def get_recipient_name(self, notification: Notification) -> str | None:
        return str(notification.recipient) if notification.recipient_id else None


WORK_KINDS = [
    ("approval", "a version to approve"),
    ("task", "a task of your unit or yours"),
    ("deadline", "a deadline you answer for"),
    ("arrival", "an arrival to confirm"),
    ("proposal", "a monitoring proposal to decide"),
    ("follow_up", "a follow-up report due"),
    ("warning", "a warning to confirm"),
]


class WorkFilterSerializer(serializers.Serializer):
    """Filters of the work list (query parameters)."""

    kind = serializers.ChoiceField(
        choices=WORK_KINDS, required=False, help_text="Only the items of this kind."
    )


class WorkItemSerializer(serializers.Serializer):
    """One thing waiting on the caller."""

    kind = serializers.ChoiceField(choices=WORK_KINDS, read_only=True)
    incident = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Null for an item about no incident."
    )
    incident_title = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null when nothing sets a time."
    )
    link = serializers.CharField(read_only=True, help_text="The page where it is done.")


class WorkListSerializer(serializers.Serializer):
    count = serializers.IntegerField(read_only=True)
    results = WorkItemSerializer(many=True, read_only=True)
