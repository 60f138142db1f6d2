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
from dataclasses import dataclass, field
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
    how many matches are new; a post already matched by a rule keeps its match.

    The steps, in one transaction: the rules locked; the matches not recorded yet; the
    open topics of their rules read; a topic chosen for each match, in publication order
    (the source's topic, else the most similar open one, else a new one); the topics and
    the matches written."""
    pairs = sorted(
        ((post, rule_id) for post, rule_ids in matched for rule_id in rule_ids),
        key=lambda pair: (pair[0].published_at, pair[0].pk, pair[1]),
    )
    if not pairs:
        return 0
    now = timezone.now()
    rule_ids = sorted({rule_id for _, rule_id in pairs})
    with transaction.atomic():
        _rules_lock(rule_ids)
        pairs = _unrecorded(pairs, rule_ids)
        if not pairs:
            return 0
        choice = _Choice.read(pairs, rule_ids, now=now)
        chosen = [
            (post, rule_id, choice.topic_for(post, rule_id, terms)) for post, rule_id in pairs
        ]
        _topics_write(choice, now=now)
        bulk_insert(
            [
                PostMatch(post_id=post.pk, rule_id=rule_id, topic_id=entry.topic.pk, matched_at=now)
                for post, rule_id, entry in chosen
            ],
            ignore_conflicts=True,
        )
    return len(chosen)


def _rules_lock(rule_ids: list[int]) -> None:
    """Lock the rules (in id order, so batches never deadlock): one batch at a time
    chooses the topics of a rule."""
    list(
        WatchRule.objects.select_for_update()
        .filter(pk__in=rule_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _unrecorded(pairs: list[tuple[Post, int]], rule_ids: list[int]) -> list[tuple[Post, int]]:
    """The (post, rule) pairs not recorded as matches yet."""
    known = set(
        PostMatch.objects.filter(
            post_id__in={post.pk for post, _ in pairs}, rule_id__in=rule_ids
        ).values_list("post_id", "rule_id")
    )
    return [(post, rule_id) for post, rule_id in pairs if (post.pk, rule_id) not in known]


@dataclass
class _Choice:
    """Choosing the topics of a batch's matches: the open topics of their rules within
    the window around the posts, and the topics their near-duplicate sources are in."""

    now: datetime
    window: timedelta
    threshold: float
    open_by_rule: dict[int, list[_Open]]
    open_by_id: dict[int, _Open]
    # (post id, rule id): the topic a post of that rule is in, for its later copies.
    source_entries: dict[tuple[int, int], _Open]
    created: list[_Open] = field(default_factory=list)

    @classmethod
    def read(
        cls, pairs: list[tuple[Post, int]], rule_ids: list[int], *, now: datetime
    ) -> "_Choice":
        window = _window()
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
        # The topics the near-duplicate sources are in, per rule (read when not open).
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
        return cls(
            now=now,
            window=window,
            threshold=_threshold(),
            open_by_rule=open_by_rule,
            open_by_id=open_by_id,
            source_entries={key: open_by_id[topic_id] for key, topic_id in source_topics.items()},
        )

    def topic_for(self, post: Post, rule_id: int, terms: dict[int, Counter[str]]) -> _Open:
        """The topic the match joins, with the post added to it: its source's topic of the
        rule, else the most similar open one, else a new one."""
        post_terms = terms.get(post.pk, Counter())
        entry = self.source_entries.get((post.original_id, rule_id))
        if entry is None:
            entry = self._most_similar(post, rule_id, post_terms)
        if entry is None:
            entry = self._started(post, rule_id)
        entry.add(post, post_terms, self.now)
        # Later copies of this post, in this batch, join its topic.
        self.source_entries.setdefault((post.pk, rule_id), entry)
        return entry

    def _most_similar(self, post: Post, rule_id: int, post_terms: Counter[str]) -> _Open | None:
        """The open topic of the rule, within the window of the post, whose profile is the
        most similar to its terms, at least ``threshold``."""
        best, best_similarity = None, 0.0
        for candidate in self.open_by_rule.get(rule_id, ()):
            topic = candidate.topic
            if not (
                moment_shifted(topic.first_post_at, -self.window)
                <= post.published_at
                <= moment_shifted(topic.last_post_at, self.window)
            ):
                continue
            similarity = _cosine(post_terms, topic.profile, candidate.norm)
            if similarity >= self.threshold and similarity > best_similarity:
                best, best_similarity = candidate, similarity
        return best

    def _started(self, post: Post, rule_id: int) -> _Open:
        """A new topic of the rule, titled after the post."""
        entry = _Open(
            topic=Topic(
                rule_id=rule_id,
                title=topic_title(post.text) or post.url or "—",
                profile={},
                first_post_at=post.published_at,
                last_post_at=post.published_at,
                created_at=self.now,
            ),
            norm=0.0,
        )
        self.created.append(entry)
        self.open_by_rule.setdefault(rule_id, []).append(entry)
        return entry


def _topics_write(choice: _Choice, *, now: datetime) -> None:
    """Insert the new topics; update the open ones that posts joined, marked changed."""
    bulk_insert([entry.topic for entry in choice.created])
    for entry in choice.open_by_id.values():
        if entry.touched:
            Topic.objects.filter(pk=entry.topic.pk).update(
                profile=entry.topic.profile,
                keywords=entry.topic.keywords,
                first_post_at=entry.topic.first_post_at,
                last_post_at=entry.topic.last_post_at,
                changed_at=now,
                revision=F("revision") + 1,
            )
