"""What the monitoring API accepts and answers.

The intake's items are checked one by one by ``monitoring.intake`` (a bad item is rejected,
the others still stored), so ``PostInputSerializer`` only documents their shape.
"""

from rest_framework import serializers

from incidents.choices import Platform
from incidents.serializers import BlankAsNullChoiceField
from organisation.models import Unit

from .intake import MAX_FIGURE
from .matching import TRY_DEFAULT_DAYS, TRY_DEFAULT_LIMIT, TRY_MAX_DAYS
from .models import AUTHOR_MAX_CHARS, TEXT_MAX_CHARS, Sentiment, SourceType, WatchRule
from .rules import MAX_EXPRESSION_LENGTH

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
    rule = serializers.PrimaryKeyRelatedField(
        queryset=WatchRule.objects.all(), required=False,
        help_text="Only posts this watch rule matched when they were stored.")


EXPRESSION_HELP = ("Terms joined by AND, OR, NOT and parentheses, e.g. "
                   "`(医院 OR 卫健委) AND (收费 OR 投诉) NOT 招聘`; `\"…\"` quotes a phrase, "
                   "`=中医` asks for whole words.")


class RuleInputSerializer(serializers.Serializer):
    """A watch rule to create, or (every field optional) the changes to one."""

    name = serializers.CharField(max_length=WatchRule._meta.get_field("name").max_length)
    expression = serializers.CharField(max_length=MAX_EXPRESSION_LENGTH,
                                       help_text=EXPRESSION_HELP)
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    active = serializers.BooleanField(required=False, default=True)


class RuleFilterSerializer(serializers.Serializer):
    """Filters of the rule list (query parameters)."""

    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all(), required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class RuleTrySerializer(serializers.Serializer):
    expression = serializers.CharField(max_length=MAX_EXPRESSION_LENGTH,
                                       help_text=EXPRESSION_HELP)
    days = serializers.IntegerField(required=False, min_value=1, max_value=TRY_MAX_DAYS,
                                    default=TRY_DEFAULT_DAYS,
                                    help_text="Posts published in the last this many days.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200,
                                     default=TRY_DEFAULT_LIMIT,
                                     help_text="At most this many posts in the answer.")


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


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    expression = serializers.CharField(read_only=True)
    unit = serializers.IntegerField(source="unit_id", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    active = serializers.BooleanField(read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class RuleTryResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Posts of the scan the expression matches.")
    scanned = serializers.IntegerField(help_text="Posts of the window read, newest first.")
    scan_limit = serializers.IntegerField(
        help_text="At most this many posts are read; when `scanned` reaches it, older posts "
                  "of the window were not tried.")
    posts = PostSerializer(many=True, help_text="The newest matching posts, up to `limit`.")


class RuleSyntaxErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    expression = serializers.ListField(child=serializers.CharField(),
                                       help_text="What is wrong, with its position.")
    position = serializers.IntegerField(
        help_text="0-based character index of the mistake in the expression.")
    syntax_error = serializers.CharField(help_text="A stable code of the kind of mistake.")
