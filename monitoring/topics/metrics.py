"""A topic's figures: computed from its posts, stored on it and in the snapshot of the
minute (its trend). The background refresh (``monitoring.topics.refresh``) computes them for
the topics changed since, and hands them to detection (``monitoring.topics.detection``).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Min, Q, Sum

from plans.categories import Category

from ..models import Post, SourceType, Topic, TopicSnapshot
from .clustering import topic_title


@dataclass(frozen=True)
class TopicMetrics:
    """A topic's figures at one moment, as grading reads them (``plans.grading.Metrics``)."""

    posts: int
    reads: int
    reposts: int
    comments: int
    likes: int
    negative_share: Decimal
    mainstream_media: bool
    platforms: dict[str, int]
    first_post_at: datetime | None
    last_post_at: datetime | None
    posts_last_hour: int
    posts_baseline: int
    casualties: bool = False
    # Posts per sensitive category (``Post.sensitive_category``), only those with posts.
    categories: dict[str, int] = field(default_factory=dict)


def topic_metrics(topic: Topic, *, now: datetime, baseline_hours: int) -> TopicMetrics:
    """The figures of ``topic``'s posts now (two queries). ``posts_baseline`` counts the
    posts published in the ``baseline_hours`` before the last hour; ``categories`` the
    posts per sensitive category."""
    hour_ago = now - timedelta(hours=1)
    posts = Post.objects.filter(matches__topic=topic)
    metrics = posts.aggregate(
        posts=Count("id"),
        reads=Sum("reads"),
        reposts=Sum("reposts"),
        comments=Sum("comments"),
        likes=Sum("likes"),
        negative=Count("id", filter=Q(sentiment="negative")),
        mainstream=Count("id", filter=Q(source_type=SourceType.MAINSTREAM_MEDIA)),
        first=Min("published_at"),
        last=Max("published_at"),
        last_hour=Count("id", filter=Q(published_at__gt=hour_ago, published_at__lte=now)),
        baseline=Count(
            "id",
            filter=Q(
                published_at__gt=hour_ago - timedelta(hours=baseline_hours),
                published_at__lte=hour_ago,
            ),
        ),
        **{
            f"category_{category}": Count("id", filter=Q(sensitive_category=category))
            for category in Category.values
        },
    )
    platforms = dict(
        posts.values_list("platform").annotate(n=Count("id")).order_by("-n", "platform")
    )
    total = metrics["posts"] or 0
    share = (
        (Decimal(metrics["negative"]) / total).quantize(Decimal("0.001")) if total else Decimal(0)
    )
    return TopicMetrics(
        posts=total,
        reads=metrics["reads"] or 0,
        reposts=metrics["reposts"] or 0,
        comments=metrics["comments"] or 0,
        likes=metrics["likes"] or 0,
        negative_share=share,
        mainstream_media=bool(metrics["mainstream"]),
        platforms=platforms,
        first_post_at=metrics["first"],
        last_post_at=metrics["last"],
        posts_last_hour=metrics["last_hour"],
        posts_baseline=metrics["baseline"],
        categories={
            category: metrics[f"category_{category}"]
            for category in Category.values
            if metrics[f"category_{category}"]
        },
    )


def topic_source_post(topic: Topic) -> Post | None:
    """The earliest published post of the topic."""
    return (
        Post.objects.filter(matches__topic=topic)
        .order_by("published_at", "id")
        .only("id", "text", "url")
        .first()
    )


def topic_apply_metrics(topic: Topic, metrics: TopicMetrics, *, now: datetime) -> None:
    """Store the figures on the topic and in the snapshot of this minute."""
    source = topic_source_post(topic)
    topic.posts, topic.reads, topic.reposts = metrics.posts, metrics.reads, metrics.reposts
    topic.comments, topic.likes = metrics.comments, metrics.likes
    topic.negative_share, topic.mainstream_media = metrics.negative_share, metrics.mainstream_media
    topic.platforms, topic.categories = metrics.platforms, metrics.categories
    if metrics.first_post_at:
        topic.first_post_at, topic.last_post_at = metrics.first_post_at, metrics.last_post_at
    if source is not None:
        topic.source_post = source
        topic.title = topic_title(source.text) or source.url or topic.title
    topic.refreshed_at, topic.refreshed_revision = now, topic.revision
    topic.save(
        update_fields=[
            "posts",
            "reads",
            "reposts",
            "comments",
            "likes",
            "negative_share",
            "mainstream_media",
            "platforms",
            "categories",
            "first_post_at",
            "last_post_at",
            "source_post",
            "title",
            "refreshed_at",
            "refreshed_revision",
        ]
    )
    TopicSnapshot.objects.update_or_create(
        topic=topic,
        taken_at=now.replace(second=0, microsecond=0),
        defaults={
            "posts": metrics.posts,
            "posts_last_hour": metrics.posts_last_hour,
            "reads": metrics.reads,
            "reposts": metrics.reposts,
            "comments": metrics.comments,
            "negative_share": metrics.negative_share,
            "mainstream_media": metrics.mainstream_media,
            "platforms": metrics.platforms,
        },
    )
