"""Stored posts matched by the watch rules, each match in a topic of its rule.

A post is matched when it is completed after its batch stored it
(``monitoring.topics.completion``), against the process's rule set
(``monitoring.text.matching``); a new or changed rule is matched over the recent stored
posts in the background (:func:`rules_backfill`). Each match is put in a topic
(``monitoring.topics.clustering``).
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from ..models import Post, WatchRule
from ..text.analysis import Analysis, segment, topic_terms
from ..text.matching import BACKFILL_CHUNK, rule_set
from ..text.rules import RuleSet, normalise
from .clustering import matches_record

logger = logging.getLogger(__name__)


def posts_match(
    posts: Iterable[Post],
    *,
    analyses: dict[int, Analysis] | None = None,
    rules: RuleSet[int] | None = None,
) -> int:
    """Record which active rules (or ``rules``) match each post, each match in a topic of
    its rule (``clustering.matches_record``); answers how many matches are new. A post already
    matched by a rule keeps its match. ``analyses`` are the posts' analyses by id, when the
    caller has them (else the matched posts are segmented again)."""
    rules = rule_set() if rules is None else rules
    if not len(rules):
        return 0
    analyses = analyses or {}

    def match(post: Post) -> set[int]:
        analysis = analyses.get(post.pk)
        if analysis is None:
            return rules.match(post.text)
        return rules.match(
            post.text, normalised=analysis.normalised, segmentation=analysis.segmentation
        )

    matched = [(post, found) for post in posts if (found := match(post))]
    if not matched:
        return 0
    terms = {
        post.pk: analyses[post.pk].terms
        if post.pk in analyses
        else topic_terms(segment(normalise(post.text)))
        for post, _found in matched
    }
    return matches_record(matched, terms)


def rules_backfill(*, now: Any = None, chunk: int = BACKFILL_CHUNK) -> int:
    """Match the posts published in the last ``FENGHUO_RULE_BACKFILL_DAYS`` against each
    rule written since (``backfill_pending``), so a new or changed rule covers the stream
    already stored, not only what arrives next. Idempotent: matches already recorded stay;
    a rule changed again meanwhile stays pending. Answers how many matches are new."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.FENGHUO_RULE_BACKFILL_DAYS)
    found = 0
    for rule_id, expression, active, seen in WatchRule.objects.filter(
        backfill_pending=True
    ).values_list("id", "expression", "active", "revision"):
        if active:
            rules = RuleSet({rule_id: expression})
            last_id = 0
            while True:
                posts = list(
                    Post.objects.filter(published_at__gte=since, pk__gt=last_id)
                    .order_by("pk")
                    .only("id", "text", "published_at", "url", "original_id")[:chunk]
                )
                if not posts:
                    break
                last_id = posts[-1].pk
                found += posts_match(posts, rules=rules)
        # Compare-and-set: a rule written again while we matched stays pending.
        WatchRule.objects.filter(pk=rule_id, revision=seen).update(backfill_pending=False)
    if found:
        logger.info("rules_backfill: %d matches of stored posts", found)
    return found
