"""What monitoring collects: posts seen on the platforms, one row per post however often
it arrives (``monitoring.intake``), and the watch rules that the stream is matched against
(``monitoring.matching``)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.choices import Platform

# The longest URL we store, in UTF-8 bytes: the unique index on it must fit in a
# PostgreSQL b-tree row (about 2,700 bytes).
URL_MAX_BYTES = 2000
TEXT_MAX_CHARS = 20_000
AUTHOR_MAX_CHARS = 200


class SourceType(models.TextChoices):
    MAINSTREAM_MEDIA = "mainstream_media", _("Mainstream media")  # 主流媒体
    NEWS_SITE = "news_site", _("News website")  # 新闻网站
    SOCIAL_ACCOUNT = "social_account", _("Social media account")  # 社交账号
    FORUM = "forum", _("Forum")  # 论坛
    OTHER = "other", _("Other")


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


class Post(models.Model):
    """A post as last seen. The same post is stored once: by its normalised URL, or, when
    it has none, by the hash of its normalised text. Figures only grow."""

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    # NULL, not "", for "no URL": the unique constraint must not hold posts without one.
    url = models.CharField(_("URL"), max_length=URL_MAX_BYTES, null=True,  # noqa: DJ001
                           blank=True,
                           help_text=_("Normalised: no fragment, lower-case scheme and host."))
    content_hash = models.CharField(
        _("content hash"), max_length=40, db_index=True,
        help_text=_("SHA-1 of the text after NFKC and whitespace collapsing."),
    )
    author = models.CharField(_("author"), max_length=AUTHOR_MAX_CHARS, blank=True)
    text = models.TextField(_("text"), blank=True)
    published_at = models.DateTimeField(_("published at"))
    reads = models.PositiveBigIntegerField(_("reads"), default=0)
    reposts = models.PositiveBigIntegerField(_("reposts"), default=0)
    comments = models.PositiveBigIntegerField(_("comments"), default=0)
    likes = models.PositiveBigIntegerField(_("likes"), default=0)
    source_type = models.CharField(_("source type"), max_length=20, choices=SourceType.choices,
                                   default=SourceType.OTHER)
    # Filled by the sentiment scorer; blank (null in the API) until then.
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices,
                                 blank=True)
    sentiment_score = models.FloatField(_("sentiment score"), null=True, blank=True)
    source = models.CharField(_("intake source"), max_length=40, default="api",
                              help_text=_("The channel the post first arrived by."))
    first_seen_at = models.DateTimeField(_("first seen at"), default=timezone.now)
    received_at = models.DateTimeField(_("last received at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [
            models.UniqueConstraint(fields=["url"], condition=Q(url__isnull=False),
                                    name="post_url_unique"),
            models.UniqueConstraint(fields=["content_hash"], condition=Q(url__isnull=True),
                                    name="post_content_hash_unique_without_url"),
            models.CheckConstraint(condition=~Q(url=""), name="post_url_null_not_blank"),
        ]
        indexes = [
            models.Index(fields=["-published_at", "-id"], name="post_stream_idx"),
            models.Index(fields=["platform", "-published_at"], name="post_platform_idx"),
        ]

    def __str__(self) -> str:
        return self.url or self.text[:40]


class WatchRule(models.Model):
    """A unit's watch rule: a boolean expression over terms (``monitoring.rules``). Active
    rules are matched against every post the intake stores."""

    name = models.CharField(_("name"), max_length=120)
    expression = models.TextField(_("expression"),
                                  help_text=_("E.g. (医院 OR 卫健委) AND (收费 OR 投诉) NOT 招聘"))
    unit = models.ForeignKey("organisation.Unit", verbose_name=_("unit"),
                             on_delete=models.PROTECT, related_name="watch_rules")
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Part of the fingerprint of the in-process rule set (``matching.rule_set``): every
    # change of a rule must move it.
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["unit", "name", "id"]
        verbose_name = _("watch rule")
        verbose_name_plural = _("watch rules")

    def __str__(self) -> str:
        return self.name


class PostMatch(models.Model):
    """A post matched by a watch rule, recorded when the post was stored."""

    post = models.ForeignKey(Post, verbose_name=_("post"), on_delete=models.CASCADE,
                             related_name="matches")
    rule = models.ForeignKey(WatchRule, verbose_name=_("rule"), on_delete=models.CASCADE,
                             related_name="matches")
    matched_at = models.DateTimeField(_("matched at"), default=timezone.now)

    class Meta:
        verbose_name = _("post match")
        verbose_name_plural = _("post matches")
        constraints = [
            models.UniqueConstraint(fields=["post", "rule"], name="post_match_unique"),
        ]
        indexes = [models.Index(fields=["rule", "post"], name="post_match_rule_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} → {self.post_id}"
