"""What the monitoring API accepts and answers.

The intake's items are checked one by one by ``monitoring.intake`` (a bad item is rejected,
the others still stored), so ``PostInputSerializer`` only documents their shape.
"""

from rest_framework import serializers

from incidents.choices import Platform
from incidents.serializers import BlankAsNullChoiceField

from .intake import MAX_FIGURE
from .models import AUTHOR_MAX_CHARS, TEXT_MAX_CHARS, Sentiment, SourceType

# Input ------------------------------------------------------------------------------------


class PostInputSerializer(serializers.Serializer):
    """One post as a crawler or a person sends it."""

    platform = serializers.ChoiceField(choices=Platform.choices)
    url = serializers.URLField(
        required=False, allow_null=True, allow_blank=True,
        help_text="http(s). The post's identity: fragment dropped, scheme and host "
                  "lower-cased. Without one, the post is known by its text.")
    author = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                   max_length=AUTHOR_MAX_CHARS)
    text = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                 max_length=TEXT_MAX_CHARS,
                                 help_text="Required when there is no URL.")
    published_at = serializers.DateTimeField(
        help_text="ISO 8601; without an offset, in the server's time zone (Asia/Shanghai).")
    reads = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FIGURE,
                                     default=0)
    reposts = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FIGURE,
                                       default=0)
    comments = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FIGURE,
                                        default=0)
    likes = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FIGURE,
                                     default=0)
    source_type = serializers.ChoiceField(choices=SourceType.choices, required=False,
                                          default=SourceType.OTHER)


class PostFilterSerializer(serializers.Serializer):
    """Filters of the post list (query parameters)."""

    platform = serializers.ChoiceField(choices=Platform.choices, required=False)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False)
    source_type = serializers.ChoiceField(choices=SourceType.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="Published at or after.")
    until = serializers.DateTimeField(required=False, help_text="Published before.")


# Output -----------------------------------------------------------------------------------


class IngestErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the batch, from 0.")
    reason = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Each bad field with its messages.")


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="New posts stored.")
    duplicate = serializers.IntegerField(
        help_text="Posts already stored, or sent twice: their figures were updated.")
    rejected = serializers.IntegerField()
    errors = IngestErrorSerializer(many=True, help_text="One per rejected item.")


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    platform = serializers.ChoiceField(choices=Platform.choices, read_only=True)
    url = serializers.CharField(read_only=True, allow_null=True)
    author = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    published_at = serializers.DateTimeField(read_only=True)
    reads = serializers.IntegerField(read_only=True)
    reposts = serializers.IntegerField(read_only=True)
    comments = serializers.IntegerField(read_only=True)
    likes = serializers.IntegerField(read_only=True)
    source_type = serializers.ChoiceField(choices=SourceType.choices, read_only=True)
    sentiment = BlankAsNullChoiceField(choices=Sentiment.choices,
                                       help_text="null until the post is scored.")
    sentiment_score = serializers.FloatField(read_only=True, allow_null=True)
