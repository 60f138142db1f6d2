"""What the monitoring API accepts and answers.

The intake's items are checked one by one by ``monitoring.intake.batches`` (a bad item is rejected,
the others still stored), so ``PostInputSerializer`` only documents their shape.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.choices import EventType, Platform
from incidents.models import REASON_MAX_LENGTH, TITLE_MAX_LENGTH
from incidents.serializers import BlankAsNullChoiceField
from organisation.models import Unit
from plans.categories import Category

from .intake.batches import MAX_FIGURE
from .models import (
    AUTHOR_MAX_CHARS,
    TEXT_MAX_CHARS,
    Proposal,
    SensitiveTermList,
    Sentiment,
    SourceType,
    Topic,
    WatchRule,
)
from .text.matching import TRY_DEFAULT_DAYS, TRY_DEFAULT_LIMIT, TRY_MAX_DAYS
from .text.rules import MAX_EXPRESSION_LENGTH
from .text.sensitive import MAX_TERM_LENGTH, MAX_TERMS_CHARS, MAX_TERMS_PER_LIST, terms_parse

# Input ------------------------------------------------------------------------------------


class PostInputSerializer(serializers.Serializer):
    """One post as a crawler or a person sends it."""

    platform = serializers.ChoiceField(choices=Platform.choices)
    url = serializers.URLField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="http(s). The post's identity: fragment dropped, scheme and host "
        "lower-cased. Without one, the post is known by its text.",
    )
    author = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=AUTHOR_MAX_CHARS
    )
    text = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=TEXT_MAX_CHARS,
        help_text="Required when there is no URL.",
    )
    published_at = serializers.DateTimeField(
        help_text="ISO 8601; without an offset, in the server's time zone (Asia/Shanghai)."
    )
    reads = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FIGURE, default=0)
    reposts = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FIGURE, default=0)
    comments = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_FIGURE, default=0
    )
    likes = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FIGURE, default=0)
    source_type = serializers.ChoiceField(
        choices=SourceType.choices, required=False, default=SourceType.OTHER
    )


class PostFilterSerializer(serializers.Serializer):
    """Filters of the post list (query parameters)."""

    platform = serializers.ChoiceField(choices=Platform.choices, required=False)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False)
    source_type = serializers.ChoiceField(choices=SourceType.choices, required=False)
    sensitive_category = serializers.ChoiceField(
        choices=Category.choices,
        required=False,
        help_text="Only posts whose sensitive terms lead to this handling category.",
    )
    since = serializers.DateTimeField(required=False, help_text="Published at or after.")
    until = serializers.DateTimeField(required=False, help_text="Published before.")
    rule = serializers.PrimaryKeyRelatedField(
        queryset=WatchRule.objects.all(),
        required=False,
        help_text="Only posts this watch rule matched when they were stored.",
    )
    topic = serializers.PrimaryKeyRelatedField(
        queryset=Topic.objects.all(), required=False, help_text="Only the posts of this topic."
    )
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(),
        required=False,
        help_text="Only posts matched by a watch rule of this unit.",
    )


EXPRESSION_HELP = (
    "Terms joined by AND, OR, NOT and parentheses, e.g. "
    '`(医院 OR 卫健委) AND (收费 OR 投诉) NOT 招聘`; `"…"` quotes a phrase, '
    "`=中医` asks for whole words."
)


class RuleInputSerializer(serializers.Serializer):
    """A watch rule to create, or (every field optional) the changes to one."""

    name = serializers.CharField(max_length=WatchRule._meta.get_field("name").max_length)
    expression = serializers.CharField(max_length=MAX_EXPRESSION_LENGTH, help_text=EXPRESSION_HELP)
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    active = serializers.BooleanField(required=False, default=True)


class RuleFilterSerializer(serializers.Serializer):
    """Filters of the rule list (query parameters)."""

    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all(), required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class RuleTrySerializer(serializers.Serializer):
    expression = serializers.CharField(max_length=MAX_EXPRESSION_LENGTH, help_text=EXPRESSION_HELP)
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=TRY_MAX_DAYS,
        default=TRY_DEFAULT_DAYS,
        help_text="Posts published in the last this many days.",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=200,
        default=TRY_DEFAULT_LIMIT,
        help_text="At most this many posts in the answer.",
    )


TERMS_HELP = (
    f"One term per line (at most {MAX_TERMS_PER_LIST}, each at most "
    f"{MAX_TERM_LENGTH} characters); blank lines and lines starting with `#` are "
    "ignored. Terms match as substrings, ignoring case and full/half width; a term "
    "that starts or ends with a Latin letter or digit only on word boundaries; "
    "`=term` only as whole words."
)


class TermListInputSerializer(serializers.Serializer):
    """A sensitive-term list to create, or (every field optional) the changes to one. The
    terms are checked by ``monitoring.text.sensitive``, which answers field messages."""

    category = serializers.ChoiceField(choices=Category.choices)
    name = serializers.CharField(max_length=SensitiveTermList._meta.get_field("name").max_length)
    terms = serializers.CharField(
        max_length=MAX_TERMS_CHARS, allow_blank=True, trim_whitespace=False, help_text=TERMS_HELP
    )
    active = serializers.BooleanField(required=False, default=True)


class TermListFilterSerializer(serializers.Serializer):
    """Filters of the sensitive-term lists (query parameters)."""

    category = serializers.ChoiceField(choices=Category.choices, required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class TopicFilterSerializer(serializers.Serializer):
    """Filters of the topic list (query parameters)."""

    rule = serializers.PrimaryKeyRelatedField(queryset=WatchRule.objects.all(), required=False)
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), required=False, help_text="Topics of this unit's rules."
    )
    since = serializers.DateTimeField(required=False, help_text="Topics with a post at or after.")
    proposed = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With (or without) an open proposal.",
    )
    incident = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Linked (or not) to an incident."
    )


class ProposalFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Proposal.State.choices, required=False)
    topic = serializers.PrimaryKeyRelatedField(queryset=Topic.objects.all(), required=False)


class ProposalAcceptSerializer(serializers.Serializer):
    event_type = serializers.ChoiceField(
        choices=EventType.choices, required=False, default=EventType.OTHER
    )
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The involved unit; the rule's unit when not given.",
    )
    title = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=TITLE_MAX_LENGTH,
        help_text="The topic's title when blank.",
    )


class ProposalDismissSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH, help_text="Why it is not an incident."
    )


# Output -----------------------------------------------------------------------------------


class IngestErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the batch, from 0.")
    reason = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each bad field with its messages.",
    )


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="New posts stored.")
    duplicate = serializers.IntegerField(
        help_text="Posts already stored, or sent twice: their figures were updated."
    )
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
    sentiment = BlankAsNullChoiceField(
        choices=Sentiment.choices, help_text="null until the post is scored."
    )
    sentiment_score = serializers.FloatField(
        read_only=True, allow_null=True, help_text="From -1 (most negative) to 1 (most positive)."
    )
    source_post = serializers.IntegerField(
        source="original_id",
        read_only=True,
        allow_null=True,
        help_text="The earliest near-duplicate of this post (it is a repost of that one); "
        "null when this post is the source.",
    )
    sensitive_terms = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The terms of the sensitive-term lists found in the text (normalised).",
    )
    sensitive_category = BlankAsNullChoiceField(
        choices=Category.choices,
        help_text="The handling category most of those terms belong to (the more severe on "
        "a tie); null when none was found.",
    )


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


class TermListSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    category = serializers.ChoiceField(choices=Category.choices, read_only=True)
    name = serializers.CharField(read_only=True)
    terms = serializers.CharField(read_only=True, help_text="As typed, comments included.")
    term_count = serializers.SerializerMethodField(help_text="Distinct terms in the list.")
    active = serializers.BooleanField(read_only=True)
    created_by = serializers.IntegerField(
        source="created_by_id",
        read_only=True,
        allow_null=True,
        help_text="null for the starter lists loaded on the first start.",
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.IntegerField())
    def get_term_count(self, term_list: SensitiveTermList) -> int:
        return len(terms_parse(term_list.terms))


class RuleTryResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Posts of the scan the expression matches.")
    scanned = serializers.IntegerField(help_text="Posts of the window read, newest first.")
    scan_limit = serializers.IntegerField(
        help_text="At most this many posts are read; when `scanned` reaches it, older posts "
        "of the window were not tried."
    )
    posts = PostSerializer(many=True, help_text="The newest matching posts, up to `limit`.")


def _messages(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), required=False, help_text=help_text)


class RuleErrorSerializer(serializers.Serializer):
    """A 400 of the rule operations: the messages of the fields that are wrong (or only
    ``detail`` when the body could not be read); when the expression does not parse, also
    ``code``, ``position`` and ``syntax_error``."""

    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    expression = _messages("What is wrong, with its position.")
    name = _messages("What is wrong with the name.")
    unit = _messages("What is wrong with the unit.")
    active = _messages("What is wrong with `active`.")
    days = _messages("What is wrong with `days` (trying an expression).")
    limit = _messages("What is wrong with `limit` (trying an expression).")
    non_field_errors = _messages("What is wrong with the body as a whole.")
    position = serializers.IntegerField(
        required=False,
        help_text="When the expression does not parse: the 0-based character index of the mistake.",
    )
    syntax_error = serializers.CharField(
        required=False,
        help_text="When the expression does not parse: a stable code of the kind of mistake.",
    )


class TopicSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    rule = serializers.IntegerField(source="rule_id", read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    unit = serializers.IntegerField(source="rule.unit_id", read_only=True)
    keywords = serializers.ListField(child=serializers.CharField(), read_only=True)
    first_post_at = serializers.DateTimeField(
        read_only=True, help_text="When its first post was published."
    )
    last_post_at = serializers.DateTimeField(read_only=True)
    posts = serializers.IntegerField(read_only=True)
    reads = serializers.IntegerField(read_only=True)
    reposts = serializers.IntegerField(read_only=True)
    comments = serializers.IntegerField(read_only=True)
    likes = serializers.IntegerField(read_only=True)
    negative_share = serializers.DecimalField(
        max_digits=4, decimal_places=3, read_only=True, coerce_to_string=False
    )
    mainstream_media = serializers.BooleanField(read_only=True)
    platforms = serializers.DictField(
        child=serializers.IntegerField(), read_only=True, help_text="Posts per platform."
    )
    categories = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Posts per sensitive category (handling category), those with posts.",
    )
    source_post = PostSerializer(
        read_only=True, allow_null=True, help_text="Its earliest post: where it started."
    )
    incident = serializers.IntegerField(source="incident_id", read_only=True, allow_null=True)
    refreshed_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the figures were computed."
    )


class TopicSnapshotSerializer(serializers.Serializer):
    taken_at = serializers.DateTimeField(read_only=True)
    posts = serializers.IntegerField(read_only=True)
    posts_last_hour = serializers.IntegerField(read_only=True)
    reads = serializers.IntegerField(read_only=True)
    reposts = serializers.IntegerField(read_only=True)
    comments = serializers.IntegerField(read_only=True)
    negative_share = serializers.DecimalField(
        max_digits=4, decimal_places=3, read_only=True, coerce_to_string=False
    )
    mainstream_media = serializers.BooleanField(read_only=True)
    platforms = serializers.DictField(child=serializers.IntegerField(), read_only=True)


class TopSourceSerializer(serializers.Serializer):
    author = serializers.CharField()
    platform = serializers.CharField()
    source_type = serializers.CharField()
    posts = serializers.IntegerField()
    reads = serializers.IntegerField()
    reposts = serializers.IntegerField()


class TopicDetailSerializer(TopicSerializer):
    trend = TopicSnapshotSerializer(
        many=True, read_only=True, help_text="Its figures over time, oldest first."
    )
    top_sources = TopSourceSerializer(
        many=True, read_only=True, help_text="The authors with the widest reach."
    )


class ProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    topic = serializers.IntegerField(source="topic_id", read_only=True)
    topic_title = serializers.CharField(source="topic.title", read_only=True)
    suggested_level = serializers.IntegerField(read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    state = serializers.ChoiceField(choices=Proposal.State.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    decided_by = serializers.IntegerField(source="decided_by_id", read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True, help_text="Why it was dismissed.")
    incident = serializers.IntegerField(source="incident_id", read_only=True, allow_null=True)
