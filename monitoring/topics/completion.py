"""Completing stored posts: near-duplicate grouping, rule matching and topics, in one
transaction with the clearing of their pending mark.

The intake stores a batch's posts marked pending (``complete_after``) and sends
``posts_stored`` once committed; :func:`posts_stored_complete` completes them then. Should
the process die between the two, or the completion lose every race, the beat's
:func:`posts_complete_pending` takes the marked posts up once their time has passed
(``SKIP LOCKED`` on PostgreSQL, the write lock on SQLite): no stored post goes unmatched,
and a post completed twice keeps one match per rule.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from ..intake.batches import COMPLETE_READS, again_if_raced, race_lost
from ..models import Post
from ..text.analysis import Analysis
from .grouping import Regrouping, near_duplicates_link, near_duplicates_plan
from .matches import posts_match

logger = logging.getLogger(__name__)

# Posts per transaction of the background completion.
COMPLETE_BATCH = 500
# A post whose completion fails on its own is tried again after this long, so that it
# never holds up the others.
COMPLETE_RETRY = timedelta(hours=1)


def posts_stored_complete(
    sender: Any, *, posts: list[Post], analyses: dict[int, Analysis], **kwargs: Any
) -> None:
    """``posts_stored`` (``monitoring.intake.batches``): complete the batch's posts now."""
    posts_complete(posts=posts, analyses=analyses)


def posts_complete(*, posts: list[Post], analyses: dict[int, Analysis] | None = None) -> int:
    """Group and match those of ``posts`` (stored, read with ``COMPLETE_READS``) that are
    still marked pending, and clear their mark, all in one transaction: a post is matched
    exactly when its mark is gone. ``analyses`` by post id, when the caller has them.
    Answers how many matches are new. The posts are locked in id order first, so a second
    completion of the same posts waits, then finds nothing left to do."""
    ids = [post.pk for post in posts]
    if not ids:
        return 0
    with transaction.atomic(durable=True):
        # The posts and every row the grouping writes, locked in one statement in id
        # order: two completions (or a completion and a batch storing duplicates) never
        # hold rows the other one waits for. Decided before the lock on posts that are
        # almost always still pending (the caller stored them just now).
        regrouping = near_duplicates_plan(posts)
        locked = dict(
            Post.objects.filter(Q(pk__in=ids) | regrouping.rows())
            .select_for_update(no_key=True)
            .order_by("pk")
            .values_list("pk", "complete_after")
        )
        if any(locked.get(pk) is None for pk in ids):
            # Another completion did some of them meanwhile: decide again, on what is
            # left, now that they are locked.
            left = [pk for pk in ids if locked.get(pk) is not None]
            if not left:
                return 0
            posts = list(Post.objects.filter(pk__in=left).only(*COMPLETE_READS))
            regrouping = None  # the rows are those it may write; rare enough to not lock
        return _complete(posts, analyses, regrouping)


def _complete(
    posts: list[Post], analyses: dict[int, Analysis] | None, regrouping: Regrouping | None = None
) -> int:
    if regrouping is None:
        near_duplicates_link(posts)
    else:
        regrouping.apply()
    found = posts_match(posts, analyses=analyses)
    Post.objects.filter(pk__in=[post.pk for post in posts]).update(complete_after=None)
    return found


@dataclass
class CompleteResult:
    posts: int = 0
    matches: int = 0
    failed: int = 0


def posts_complete_pending(
    *, now: datetime | None = None, batch: int = COMPLETE_BATCH
) -> CompleteResult:
    """Group and match the stored posts whose mark's time has passed (their batch's
    process died, or lost every race), ``batch`` at a time until none is left. Each batch
    is claimed and completed in one transaction: ``SELECT … FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, so concurrent runs share the work and a run that dies lets go of its
    posts; the write lock on SQLite. A post that fails on its own is tried again after
    ``COMPLETE_RETRY``, so it never holds up the rest."""
    result = CompleteResult()
    while True:
        at = now or timezone.now()

        def claim_and_complete(at: datetime = at) -> tuple[list[Post], int]:
            with transaction.atomic(durable=True):
                posts = list(
                    Post.objects.select_for_update(skip_locked=True, no_key=True)
                    .filter(complete_after__lte=at)
                    .order_by("pk")
                    .only(*COMPLETE_READS)[:batch]
                )
                return posts, _complete(posts, None) if posts else 0

        try:
            posts, matches = again_if_raced("posts_complete_pending", claim_and_complete)
            result.matches += matches
        except DatabaseError as error:
            if race_lost(error):
                logger.warning("posts_complete_pending: gave up for now: %s", error)
                break
            raise
        except Exception:
            logger.exception(
                "posts_complete_pending: a batch failed; completing its posts one by one"
            )
            posts = _complete_one_by_one(at=at, batch=batch, result=result)
        result.posts += len(posts)
        if len(posts) < batch:
            break
    if result.posts:
        logger.info(
            "posts_complete_pending: %d posts completed, %d matches, %d failed",
            result.posts,
            result.matches,
            result.failed,
        )
    return result


def _complete_one_by_one(*, at: datetime, batch: int, result: CompleteResult) -> list[Post]:
    """The due posts of a batch that failed, each in its own transaction; one that fails
    alone is put off by ``COMPLETE_RETRY``."""
    ids = list(
        Post.objects.filter(complete_after__lte=at)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    done: list[Post] = []
    for post_id in ids:
        try:
            with transaction.atomic(durable=True):
                post = (
                    Post.objects.select_for_update(skip_locked=True, no_key=True)
                    .filter(pk=post_id, complete_after__lte=at)
                    .only(*COMPLETE_READS)
                    .first()
                )
                if post is not None:
                    result.matches += _complete([post], None)
                    done.append(post)
        except Exception:
            logger.exception("posts_complete_pending: post %s failed; tried again later", post_id)
            result.failed += 1
            Post.objects.filter(pk=post_id, complete_after__isnull=False).update(
                complete_after=timezone.now() + COMPLETE_RETRY
            )
    return done
