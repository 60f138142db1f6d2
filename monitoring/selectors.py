"""Reads of the post stream, watch rules, topics and proposals; each a fixed number of
queries whatever the number of rows."""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncHour
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.permissions import can
from notifications.work import Kind, WorkItem
from organisation.models import User
from plans.selectors import plan_version_in_force

from .models import (
    Post,
    PostMatch,
    Proposal,
    SensitiveTermList,
    Topic,
    TopicSnapshot,
    WatchRule,
)


def post_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Post]:
    """Newest published first. Filters: ``platform``, ``sentiment``, ``source_type``,
    ``sensitive_category``, ``since`` and ``until`` (published at or after, before),
    ``rule`` (matched by it)."""
    filters = filters or {}
    queryset = Post.objects.all()
    for name in ("platform", "sentiment", "source_type", "sensitive_category"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("since"):
        queryset = queryset.filter(published_at__gte=filters["since"])
    if filters.get("until"):
        queryset = queryset.filter(published_at__lt=filters["until"])
    if filters.get("rule"):
        queryset = queryset.filter(matches__rule=filters["rule"])
    if filters.get("topic"):
        queryset = queryset.filter(matches__topic=filters["topic"])
    if filters.get("unit"):
        queryset = queryset.filter(matches__rule__unit=filters["unit"]).distinct()
    return queryset.order_by("-published_at", "-id")


def rule_list(*, filters: dict[str, Any] | None = None) -> QuerySet[WatchRule]:
    """By unit and name. Filters: ``unit``, ``active``."""
    filters = filters or {}
    queryset = WatchRule.objects.select_related("unit", "created_by")
    if filters.get("unit"):
        queryset = queryset.filter(unit=filters["unit"])
    if filters.get("active") is not None:
        queryset = queryset.filter(active=filters["active"])
    return queryset.order_by("unit__sort_order", "unit_id", "name", "id")


def term_list_list(*, filters: dict[str, Any] | None = None) -> QuerySet[SensitiveTermList]:
    """By category and name. Filters: ``category``, ``active``."""
    filters = filters or {}
    queryset = SensitiveTermList.objects.all()
    if filters.get("category"):
        queryset = queryset.filter(category=filters["category"])
    if filters.get("active") is not None:
        queryset = queryset.filter(active=filters["active"])
    return queryset.order_by("category", "name", "id")


def topic_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Topic]:
    """Most recently active first. Filters: ``rule``, ``unit`` (the rule's), ``since``
    (active at or after), ``proposed`` (has an open proposal), ``incident`` (linked)."""
    filters = filters or {}
    queryset = Topic.objects.select_related("rule", "rule__unit", "source_post", "incident")
    if filters.get("rule"):
        queryset = queryset.filter(rule=filters["rule"])
    if filters.get("unit"):
        queryset = queryset.filter(rule__unit=filters["unit"])
    if filters.get("since"):
        queryset = queryset.filter(last_post_at__gte=filters["since"])
    if filters.get("proposed") is not None:
        queryset = (
            queryset.filter(proposals__state=Proposal.State.PROPOSED)
            if filters["proposed"]
            else queryset.exclude(proposals__state=Proposal.State.PROPOSED)
        )
    if filters.get("incident") is not None:
        queryset = queryset.filter(incident__isnull=not filters["incident"])
    return queryset.order_by("-last_post_at", "-id")


def proposal_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Proposal]:
    """Newest first. Filters: ``state``, ``topic``."""
    filters = filters or {}
    queryset = Proposal.objects.select_related(
        "topic", "topic__rule", "topic__rule__unit", "topic__source_post", "decided_by", "incident"
    )
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("topic"):
        queryset = queryset.filter(topic=filters["topic"])
    return queryset.order_by("-created_at", "-id")


def topic_snapshots(topic: Topic) -> QuerySet[TopicSnapshot]:
    """The topic's figures over time, oldest first: its trend chart."""
    return topic.snapshots.order_by("taken_at")


def topics_hourly_posts(
    topic_ids: list[int], *, hours: int = 24, now: datetime | None = None
) -> dict[int, list[int]]:
    """Posts published per hour over the last ``hours``, per topic, oldest hour first (one
    query): the sparklines of the monitoring board."""
    now = now or timezone.now()
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    counts: dict[int, dict[datetime, int]] = defaultdict(dict)
    rows = (
        Post.objects.filter(
            matches__topic__in=topic_ids, published_at__gte=start, published_at__lte=now
        )
        .annotate(hour=TruncHour("published_at"))
        .values_list("matches__topic", "hour")
        .annotate(n=Count("id", distinct=True))
    )
    for topic_id, hour, n in rows:
        counts[topic_id][hour] = n
    slots = [start + timedelta(hours=h) for h in range(hours)]
    return {topic_id: [counts[topic_id].get(slot, 0) for slot in slots] for topic_id in topic_ids}


def topic_top_sources(topic: Topic, *, limit: int = 10) -> list[dict[str, Any]]:
    """The authors who carried the topic furthest: posts, reads and reposts per author and
    platform, by reads (one query)."""
    return list(
        Post.objects.filter(matches__topic=topic)
        .values("author", "platform", "source_type")
        .annotate(posts=Count("id"), reads=Sum("reads"), reposts=Sum("reposts"))
        .order_by("-reads", "-reposts", "author")[:limit]
    )


def topic_posts(topic: Topic) -> QuerySet[Post]:
    """The topic's posts, newest first, each with its source post."""
    return (
        Post.objects.filter(matches__topic=topic)
        .select_related("original")
        .order_by("-published_at", "-id")
    )


def proposals_open() -> QuerySet[Proposal]:
    """Proposals waiting for the duty officer, newest first."""
    return proposal_list(filters={"state": Proposal.State.PROPOSED})


def work_items(user: User, now: datetime) -> list[WorkItem]:
    """The proposals waiting on ``user`` if their role decides them (a provider of
    ``notifications.work``): one query, none for those who may not decide."""
    if not can(user, "decide_proposal"):
        return []
    link = reverse("monitoring:board")
    return [
        WorkItem(
            kind=Kind.PROPOSAL,
            title=_("Decide on the proposal: %(topic)s") % {"topic": proposal.topic.title},
            link=link,
        )
        for proposal in Proposal.objects.filter(state=Proposal.State.PROPOSED)
        .select_related("topic")
        .order_by("-created_at", "-id")
    ]


# --- The monitoring pages (imports kept here: the module head belongs to the pipeline) ---


def post_stream(*, filters: dict[str, Any] | None = None) -> QuerySet[Post]:
    """``post_list`` for the board's stream: each post with its source post and its
    matches (rule, topic); three queries per page whatever its length."""
    return (
        post_list(filters=filters)
        .select_related("original")
        .prefetch_related(
            Prefetch(
                "matches",
                queryset=PostMatch.objects.select_related("rule", "topic").order_by("rule_id"),
            )
        )
    )


def topic_post_heads(topic: Topic) -> QuerySet[Post]:
    """The topic's posts that are not near-duplicate copies of another of its posts,
    newest first, each with ``copies_count``: how many of its copies the topic holds."""
    in_topic = PostMatch.objects.filter(topic=topic).values("post_id")
    copies = (
        PostMatch.objects.filter(topic=topic, post__original_id=OuterRef("pk"))
        .order_by()
        .values("topic_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Post.objects.filter(matches__topic=topic)
        .select_related("original")
        .exclude(original_id__in=in_topic)
        .annotate(copies_count=Coalesce(Subquery(copies, output_field=IntegerField()), 0))
        .order_by("-published_at", "-id")
    )


def topic_copies(topic: Topic, *, sources: list[int], per_source: int = 5) -> dict[int, list[Post]]:
    """The earliest ``per_source`` copies in the topic of each of ``sources`` (one query)."""
    rows = (
        Post.objects.filter(matches__topic=topic, original_id__in=sources)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("original_id")],
                order_by=[F("published_at").asc(), F("id").asc()],
            )
        )
        .filter(rank__lte=per_source)
        .order_by("original_id", "published_at", "id")
    )
    grouped: dict[int, list[Post]] = defaultdict(list)
    for post in rows:
        if post.original_id is not None:  # always: the filter takes copies only
            grouped[post.original_id].append(post)
    return grouped


def level_policies_in_force() -> dict[int, Any]:
    """The levels of the plan in force by number (name, colour): how a proposal's
    suggested level is shown (two queries)."""
    return {policy.level: policy for policy in plan_version_in_force().levels.all()}
