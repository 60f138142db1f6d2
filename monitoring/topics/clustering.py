"""Topics: the posts one rule matched, clustered by time and similarity.

A matched post (on completion, :func:`matches_record`) joins a topic of the
same rule when its near-duplicate source is already in one; otherwise the topic of that
rule, active within ``FENGHUO_TOPIC_WINDOW_HOURS`` of the post, whose term profile is most
similar to the post's words (cosine, at least ``FENGHUO_TOPIC_SIMILARITY``); otherwise it
starts a topic of its own. A topic's profile is the sum of its posts' term counts, trimmed
to its ``PROFILE_TERMS`` weightiest terms. The rules involved are locked while their topics
are chosen, so two batches never split one story into two topics by racing. A topic
written here is only marked changed (``revision``): its figures follow in the background
(``monitoring.topics.refresh``).
"""

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.bulk import bulk_insert

from ..models import Post, PostMatch, Topic, WatchRule
from .grouping import moment_shifted

logger = logging.getLogger(__name__)

PROFILE_TERMS = 64
KEYWORDS = 8
TITLE_LENGTH = 80


def _window() -> timedelta:
    return timedelta(hours=settings.FENGHUO_TOPIC_WINDOW_HOURS)


def _threshold() -> float:
    return settings.FENGHUO_TOPIC_SIMILARITY


def topic_title(text: str) -> str:
    """A title from a post's text: its first line, shortened."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


def _cosine(terms: Counter[str], profile: dict[str, float], profile_norm: float) -> float:
    if not terms or not profile_norm:
        return 0.0
    dot = sum(count * profile.get(term, 0.0) for term, count in terms.items())
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(c * c for c in terms.values())) * profile_norm)


def _norm(profile: dict[str, float]) -> float:
    return math.sqrt(sum(weight * weight for weight in profile.values()))


# What choosing a topic reads of the open ones (the writes are UPDATEs of named columns).
_CHOICE_READS = ("id", "rule_id", "profile", "first_post_at", "last_post_at")


@dataclass
class _Open:
    """A topic being chosen for posts: what the choice reads, kept in memory."""

    topic: Topic
    norm: float
    touched: bool = False

    def add(self, post: Post, terms: Counter[str], now: datetime) -> None:
        profile = self.topic.profile
        for term, count in terms.items():
            profile[term] = profile.get(term, 0.0) + count
        if len(profile) > PROFILE_TERMS * 2:
            self.topic.profile = profile = dict(
                sorted(profile.items(), key=lambda item: -item[1])[:PROFILE_TERMS]
            )
        self.norm = _norm(profile)
        self.topic.keywords = [
            term for term, _ in sorted(profile.items(), key=lambda item: -item[1])[:KEYWORDS]
        ]
        self.topic.first_post_at = min(self.topic.first_post_at, post.published_at)
        self.topic.last_post_at = max(self.topic.last_post_at, post.published_at)
        self.topic.changed_at = now
        self.touched = True


def matches_record(
    matched: Iterable[tuple[Post, Iterable[int]]], terms: dict[int, Counter[str]]
) -> int:
    """Record that each post was matched by its rules, each match in a topic of its rule.
    ``terms`` are the posts' topic terms by post id (``analysis.topic_terms``). Answers
    how many matches are new; a post already matched by a rule keeps its match."""
    pairs = sorted(
        ((post, rule_id) for post, rule_ids in matched for rule_id in rule_ids),
        key=lambda pair: (pair[0].published_at, pair[0].pk, pair[1]),
    )
    if not pairs:
        return 0
    now = timezone.now()
    window = _window()
    threshold = _threshold()
    rule_ids = sorted({rule_id for _, rule_id in pairs})
    posts = {post.pk: post for post, _ in pairs}
    with transaction.atomic():
        # Lock the rules (in id order, so batches never deadlock): one batch at a time
        # chooses the topics of a rule.
        list(
            WatchRule.objects.select_for_update()
            .filter(pk__in=rule_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        known = set(
            PostMatch.objects.filter(post_id__in=posts, rule_id__in=rule_ids).values_list(
                "post_id", "rule_id"
            )
        )
        pairs = [(post, rule_id) for post, rule_id in pairs if (post.pk, rule_id) not in known]
        if not pairs:
            return 0
        earliest = moment_shifted(min(post.published_at for post, _ in pairs), -window)
        latest = moment_shifted(max(post.published_at for post, _ in pairs), window)
        open_by_rule: dict[int, list[_Open]] = {}
        open_by_id: dict[int, _Open] = {}
        for topic in Topic.objects.filter(
            rule_id__in=rule_ids, last_post_at__gte=earliest, first_post_at__lte=latest
        ).only(*_CHOICE_READS):
            entry = _Open(topic=topic, norm=_norm(topic.profile))
            open_by_rule.setdefault(topic.rule_id, []).append(entry)
            open_by_id[topic.pk] = entry
        # The topics the near-duplicate sources are in, per rule.
        sources = {post.original_id for post, _ in pairs if post.original_id}
        source_topics = {
            (post_id, rule_id): topic_id
            for post_id, rule_id, topic_id in PostMatch.objects.filter(
                post_id__in=sources, rule_id__in=rule_ids, topic__isnull=False
            ).values_list("post_id", "rule_id", "topic_id")
        }
        missing = {topic_id for topic_id in source_topics.values() if topic_id not in open_by_id}
        for topic in Topic.objects.filter(pk__in=missing).only(*_CHOICE_READS):
            open_by_id[topic.pk] = _Open(topic=topic, norm=_norm(topic.profile))
        source_entries = {key: open_by_id[topic_id] for key, topic_id in source_topics.items()}

        created: list[_Open] = []
        chosen: list[tuple[Post, int, _Open]] = []
        for post, rule_id in pairs:
            post_terms = terms.get(post.pk, Counter())
            entry = source_entries.get((post.original_id, rule_id))
            if entry is None:
                best = 0.0
                for candidate in open_by_rule.get(rule_id, ()):
                    topic = candidate.topic
                    if not (
                        moment_shifted(topic.first_post_at, -window)
                        <= post.published_at
                        <= moment_shifted(topic.last_post_at, window)
                    ):
                        continue
                    similarity = _cosine(post_terms, topic.profile, candidate.norm)
                    if similarity >= threshold and similarity > best:
                        entry, best = candidate, similarity
            if entry is None:
                entry = _Open(
                    topic=Topic(
                        rule_id=rule_id,
                        title=topic_title(post.text) or post.url or "—",
                        profile={},
                        first_post_at=post.published_at,
                        last_post_at=post.published_at,
                        created_at=now,
                    ),
                    norm=0.0,
                )
                created.append(entry)
                open_by_rule.setdefault(rule_id, []).append(entry)
            entry.add(post, post_terms, now)
            chosen.append((post, rule_id, entry))
            # Later copies of this post, in this batch, join its topic.
            source_entries.setdefault((post.pk, rule_id), entry)

        bulk_insert([entry.topic for entry in created])
        for entry in open_by_id.values():
            if entry.touched:
                Topic.objects.filter(pk=entry.topic.pk).update(
                    profile=entry.topic.profile,
                    keywords=entry.topic.keywords,
                    first_post_at=entry.topic.first_post_at,
                    last_post_at=entry.topic.last_post_at,
                    changed_at=now,
                    revision=F("revision") + 1,
                )
        bulk_insert(
            [
                PostMatch(post_id=post.pk, rule_id=rule_id, topic_id=entry.topic.pk, matched_at=now)
                for post, rule_id, entry in chosen
            ],
            ignore_conflicts=True,
        )
    return len(chosen)
