"""What monitoring collects and makes of it.

- ``Post``: a post seen on a platform, one row however often it arrives
  (``monitoring.intake.batches``), with its sentiment and SimHash (``monitoring.text.analysis``); a
  near-duplicate repost points at the earliest copy (``original``).
- ``WatchRule`` and ``PostMatch``: the rules the stream is matched against
  (``monitoring.text.matching``); each match belongs to one topic of its rule.
- ``Topic`` and ``TopicSnapshot``: matching posts clustered by rule, time and similarity
  (``monitoring.topics``), with their figures over time.
- ``Proposal``: a topic that reached the plan's thresholds, proposed as an incident
  (``monitoring.topics.proposals``).
- ``Feed`` and ``ImportJob``: RSS/Atom feeds polled on a schedule, and uploaded CSV or
  Excel exports (``monitoring.intake.feeds``, ``monitoring.intake.imports``).
- ``SensitiveTermList``: terms per handling category (分类处置) that every post is scanned
  for (``monitoring.text.sensitive``); a post keeps the terms found and its leading category.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, transition

from incidents.choices import Platform
from plans.categories import Category
from plans.levels import Level

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
    NEGATIVE = "negative", pgettext_lazy("sentiment", "Negative")
    NEUTRAL = "neutral", pgettext_lazy("sentiment", "Neutral")
    POSITIVE = "positive", pgettext_lazy("sentiment", "Positive")


class Post(models.Model):
    """A post as last seen. The same post is stored once: by its normalised URL, or, when
    it has none, by the hash of its normalised text. Figures only grow."""

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    # NULL, not "", for "no URL": the unique constraint must not hold posts without one.
    url = models.CharField(  # noqa: DJ001
        _("URL"),
        max_length=URL_MAX_BYTES,
        null=True,
        blank=True,
        help_text=_("Normalised: no fragment, lower-case scheme and host."),
    )
    # Looked up only for posts without a URL, through the partial unique index below: a
    # plain index beside it would cost every insert and serve no query.
    content_hash = models.CharField(
        _("content hash"),
        max_length=40,
        help_text=_("SHA-1 of the text after NFKC and whitespace collapsing."),
    )
    author = models.CharField(_("author"), max_length=AUTHOR_MAX_CHARS, blank=True)
    text = models.TextField(_("text"), blank=True)
    published_at = models.DateTimeField(_("published at"))
    reads = models.PositiveBigIntegerField(_("reads"), default=0)
    reposts = models.PositiveBigIntegerField(_("reposts"), default=0)
    comments = models.PositiveBigIntegerField(_("comments"), default=0)
    likes = models.PositiveBigIntegerField(_("likes"), default=0)
    source_type = models.CharField(
        _("source type"), max_length=20, choices=SourceType.choices, default=SourceType.OTHER
    )
    # Filled by the sentiment scorer; blank (null in the API) until then.
    sentiment = models.CharField(
        _("sentiment"), max_length=10, choices=Sentiment.choices, blank=True
    )
    sentiment_score = models.FloatField(_("sentiment score"), null=True, blank=True)
    source = models.CharField(
        _("intake source"),
        max_length=40,
        default="api",
        help_text=_("The channel the post first arrived by."),
    )
    # SimHash of the text (64 bits, stored signed) and its four 16-bit bands: two texts
    # within 3 bits of each other share a band, so candidates are found by index.
    simhash = models.BigIntegerField(_("SimHash"), null=True, blank=True)
    simhash_band0 = models.IntegerField(null=True, blank=True, editable=False)
    simhash_band1 = models.IntegerField(null=True, blank=True, editable=False)
    simhash_band2 = models.IntegerField(null=True, blank=True, editable=False)
    simhash_band3 = models.IntegerField(null=True, blank=True, editable=False)
    # Filled by the sensitive-term scan (``monitoring.text.sensitive``), with the analysis.
    sensitive_terms = models.JSONField(
        _("sensitive terms"),
        default=list,
        blank=True,
        help_text=_("The distinct terms of the sensitive-term lists found in the text."),
    )
    sensitive_category = models.CharField(
        _("sensitive category"),
        max_length=20,
        choices=Category.choices,
        blank=True,
        help_text=_("The handling category most of the terms found belong to."),
    )
    original = models.ForeignKey(
        "self",
        verbose_name=_("source post"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
        help_text=_("The earliest near-duplicate of this post; empty when it is the source."),
    )
    first_seen_at = models.DateTimeField(_("first seen at"), default=timezone.now)
    received_at = models.DateTimeField(_("last received at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Set with the row (or with a text filled in) until the post is grouped and matched,
    # in the same transaction as its matches: a post stored by a process that died before
    # matching it is completed in the background once this moment has passed
    # (``completion.posts_complete_pending``). Empty once done.
    complete_after = models.DateTimeField(
        _("matching due at"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [
            models.UniqueConstraint(
                fields=["url"], condition=Q(url__isnull=False), name="post_url_unique"
            ),
            models.UniqueConstraint(
                fields=["content_hash"],
                condition=Q(url__isnull=True),
                name="post_content_hash_unique_without_url",
            ),
            models.CheckConstraint(condition=~Q(url=""), name="post_url_null_not_blank"),
        ]
        indexes = [
            models.Index(fields=["-published_at", "-id"], name="post_stream_idx"),
            models.Index(fields=["platform", "-published_at"], name="post_platform_idx"),
            models.Index(
                fields=["sensitive_category", "-published_at", "-id"], name="post_sensitive_idx"
            ),
            *[
                models.Index(fields=[f"simhash_band{band}"], name=f"post_simhash_band{band}_idx")
                for band in range(4)
            ],
            # Only the few posts not yet matched are in it.
            models.Index(
                fields=["complete_after"],
                name="post_pending_idx",
                condition=Q(complete_after__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.url or self.text[:40]


class WatchRule(models.Model):
    """A unit's watch rule: a boolean expression over terms (``monitoring.text.rules``). Active
    rules are matched against every post the intake stores."""

    name = models.CharField(_("name"), max_length=120)
    expression = models.TextField(
        _("expression"), help_text=_("E.g. (医院 OR 卫健委) AND (收费 OR 投诉) NOT 招聘")
    )
    unit = models.ForeignKey(
        "organisation.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="watch_rules",
    )
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Counted up by every write: what the process caches (``matching.rule_set``) and the
    # background backfill compare, whatever the clocks of the writers say.
    revision = models.PositiveIntegerField(default=1, editable=False)
    # Set when the rule is written: the posts already stored still have to be matched
    # against it (``matches.rules_backfill``, in the background).
    backfill_pending = models.BooleanField(_("matching stored posts"), default=True, editable=False)

    class Meta:
        ordering = ["unit", "name", "id"]
        verbose_name = _("watch rule")
        verbose_name_plural = _("watch rules")

    def __str__(self) -> str:
        return self.name


class SensitiveTermList(models.Model):
    """Terms that mark a post as belonging to one handling category (分类处置), one per
    line; blank lines and lines starting with ``#`` are left out. Active lists are compiled
    into one automaton (``monitoring.text.sensitive``) that every post the intake stores is
    scanned with."""

    category = models.CharField(_("handling category"), max_length=20, choices=Category.choices)
    name = models.CharField(_("name"), max_length=120)
    terms = models.TextField(
        _("terms"),
        help_text=_("One term per line; blank lines and lines starting with # are ignored."),
    )
    active = models.BooleanField(_("active"), default=True)
    # Empty for the lists loaded on the first migrate, before anybody exists.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Counted up by every write: the fingerprint of the in-process automaton
    # (``sensitive.sensitive_set``) sums it, so a change is seen whatever the clocks say.
    revision = models.PositiveIntegerField(default=1, editable=False)
    # The revision the recent stored posts were last scanned with (``sensitive_backfill``).
    rescanned_revision = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["category", "name", "id"]
        verbose_name = _("sensitive-term list")
        verbose_name_plural = _("sensitive-term lists")

    def __str__(self) -> str:
        return self.name


class PostMatch(models.Model):
    """A post matched by a watch rule, recorded when the post was stored."""

    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.CASCADE, related_name="matches"
    )
    rule = models.ForeignKey(
        WatchRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="matches"
    )
    matched_at = models.DateTimeField(_("matched at"), default=timezone.now)
    topic = models.ForeignKey(
        "Topic",
        verbose_name=_("topic"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="matches",
    )

    class Meta:
        verbose_name = _("post match")
        verbose_name_plural = _("post matches")
        constraints = [
            models.UniqueConstraint(fields=["post", "rule"], name="post_match_unique"),
        ]
        indexes = [
            models.Index(fields=["rule", "post"], name="post_match_rule_idx"),
            models.Index(fields=["topic", "post"], name="post_match_topic_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} → {self.post_id}"


class Topic(models.Model):
    """Posts one rule matched that belong together: close in time and similar in words
    (``monitoring.topics``). The figures are those of its posts, recomputed when posts
    join (``refreshed_at`` behind ``changed_at``) and kept over time in snapshots."""

    rule = models.ForeignKey(
        WatchRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="topics"
    )
    title = models.CharField(_("title"), max_length=200)
    keywords = models.JSONField(
        _("keywords"),
        default=list,
        help_text=_("The words that characterise it, most weighty first."),
    )
    # The term weights the similarity of a new post is judged against.
    profile = models.JSONField(default=dict, editable=False)
    source_post = models.ForeignKey(
        Post,
        verbose_name=_("source post"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    first_post_at = models.DateTimeField(_("first post at"))
    last_post_at = models.DateTimeField(_("last post at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Figures as last computed.
    posts = models.PositiveIntegerField(_("posts"), default=0)
    reads = models.PositiveBigIntegerField(_("reads"), default=0)
    reposts = models.PositiveBigIntegerField(_("reposts"), default=0)
    comments = models.PositiveBigIntegerField(_("comments"), default=0)
    likes = models.PositiveBigIntegerField(_("likes"), default=0)
    negative_share = models.DecimalField(
        _("share negative"), max_digits=4, decimal_places=3, default=0
    )
    mainstream_media = models.BooleanField(_("mainstream media carry it"), default=False)
    platforms = models.JSONField(_("platforms"), default=dict, help_text=_("Posts per platform."))
    categories = models.JSONField(
        _("sensitive categories"), default=dict, help_text=_("Posts per sensitive category.")
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    refreshed_at = models.DateTimeField(_("figures computed at"), null=True, blank=True)
    # Intake counts every change up; the refresh records the count it computed from. The
    # figures are due when they differ (a counter, not times: two changes may share one).
    revision = models.PositiveIntegerField(default=1, editable=False)
    refreshed_revision = models.PositiveIntegerField(default=0, editable=False)
    # Detection: the episodes already alerted, so each is alerted once.
    negative_alerted_at = models.DateTimeField(
        _("negative share alerted at"), null=True, blank=True
    )
    spike_alerted_at = models.DateTimeField(_("spike alerted at"), null=True, blank=True)
    incident = models.OneToOneField(
        "incidents.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="topic",
        help_text=_("The incident accepted from this topic; its figures feed the incident."),
    )

    class Meta:
        ordering = ["-last_post_at", "-id"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        indexes = [
            models.Index(fields=["rule", "-last_post_at"], name="topic_rule_recent_idx"),
            models.Index(
                fields=["changed_at"],
                name="topic_due_idx",
                condition=Q(revision__gt=models.F("refreshed_revision")),
            ),
            models.Index(fields=["-last_post_at", "-id"], name="topic_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class TopicSnapshot(models.Model):
    """A topic's figures at one moment: its trend."""

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="snapshots"
    )
    taken_at = models.DateTimeField(_("taken at"))
    posts = models.PositiveIntegerField(_("posts"), default=0)
    posts_last_hour = models.PositiveIntegerField(_("posts in the last hour"), default=0)
    reads = models.PositiveBigIntegerField(_("reads"), default=0)
    reposts = models.PositiveBigIntegerField(_("reposts"), default=0)
    comments = models.PositiveBigIntegerField(_("comments"), default=0)
    negative_share = models.DecimalField(
        _("share negative"), max_digits=4, decimal_places=3, default=0
    )
    mainstream_media = models.BooleanField(_("mainstream media carry it"), default=False)
    platforms = models.JSONField(_("platforms"), default=dict)

    class Meta:
        ordering = ["topic", "taken_at"]
        verbose_name = _("topic snapshot")
        verbose_name_plural = _("topic snapshots")
        constraints = [
            models.UniqueConstraint(fields=["topic", "taken_at"], name="topic_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class Proposal(models.Model):
    """A topic that reached the plan's thresholds, proposed as an incident with the level
    the plan suggests. The duty officer accepts it (a ``detected`` incident linked to the
    topic) or dismisses it with a reason."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        ACCEPTED = "accepted", _("accepted")
        DISMISSED = "dismissed", _("dismissed")

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="proposals"
    )
    suggested_level = models.PositiveSmallIntegerField(_("suggested level"), choices=Level.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    state = FSMField(_("state"), max_length=10, choices=State.choices, default=State.PROPOSED)
    created_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why it was dismissed."))
    incident = models.OneToOneField(
        "incidents.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposal",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("incident proposal")
        verbose_name_plural = _("incident proposals")
        constraints = [
            models.UniqueConstraint(
                fields=["topic"], condition=Q(state="proposed"), name="proposal_one_open_per_topic"
            ),
        ]
        indexes = [models.Index(fields=["state", "-created_at"], name="proposal_state_idx")]

    def __str__(self) -> str:
        return f"{self.topic} ({self.get_state_display()})"

    # The lifecycle; ``monitoring.topics.proposals`` records who decided, when and why.
    @transition(field=state, source=State.PROPOSED, target=State.ACCEPTED)
    def accept(self) -> None:
        pass

    @transition(field=state, source=State.PROPOSED, target=State.DISMISSED)
    def dismiss(self) -> None:
        pass


class Feed(models.Model):
    """An RSS or Atom feed polled on a schedule (``monitoring.intake.feeds``); its items become
    posts."""

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("feed URL"), max_length=500, unique=True)
    platform = models.CharField(
        _("platform"), max_length=20, choices=Platform.choices, default=Platform.NEWS_SITE
    )
    source_type = models.CharField(
        _("source type"), max_length=20, choices=SourceType.choices, default=SourceType.NEWS_SITE
    )
    active = models.BooleanField(_("active"), default=True)
    interval_minutes = models.PositiveIntegerField(_("poll every (minutes)"), default=10)
    next_poll_at = models.DateTimeField(_("next poll at"), default=timezone.now)
    # A poll holds the feed until then, so two workers never poll it at once; a worker that
    # dies leaves it to be polled again when the lease ends.
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True)
    last_ok_at = models.DateTimeField(_("last succeeded at"), null=True, blank=True)
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    last_accepted = models.PositiveIntegerField(_("new posts at the last poll"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("feed")
        verbose_name_plural = _("feeds")
        indexes = [models.Index(fields=["active", "next_poll_at"], name="feed_due_idx")]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """An uploaded CSV or Excel export, imported row by row in the background
    (``monitoring.intake.imports``) with its progress and a per-row error report."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (.xlsx)"

    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    # Rows done so far: the import resumes from here if its worker dies.
    processed_rows = models.PositiveIntegerField(_("rows done"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    duplicate = models.PositiveIntegerField(_("duplicates"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    row_errors = models.JSONField(
        _("row errors"), default=list, help_text=_("Each rejected row: its number and the reason.")
    )
    error = models.TextField(
        _("error"), blank=True, help_text=_("Why the whole file could not be read.")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["state", "created_at"], name="import_state_idx")]

    def __str__(self) -> str:
        return self.filename
