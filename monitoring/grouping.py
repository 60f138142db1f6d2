"""Near-duplicate reposts grouped under their earliest post, the source.

Each post with a SimHash is compared with the posts published in the days around it that
share one of its four bands (an index look-up), and with the other new posts of its batch.
Within ``NEAR_DUPLICATE_BITS`` of each other two posts are copies of one text: the group's
source is the earliest published, and every other member points at it (``original``). A
copy that arrives late but was published first becomes the source of the whole group.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, IntegerField, Q, Value, When

from .analysis import BANDS, hamming
from .models import Post

logger = logging.getLogger(__name__)


def _window() -> timedelta:
    return timedelta(days=settings.FENGHUO_NEAR_DUPLICATE_DAYS)


def _max_bits() -> int:
    return settings.FENGHUO_NEAR_DUPLICATE_BITS


def _order(post: Post) -> tuple:
    return (post.published_at, post.pk)


def near_duplicates_link(posts: list[Post]) -> int:
    """Point each of ``posts`` (stored, with ``simhash`` and ``published_at``) at the source
    of its near-duplicate group, re-pointing a group whose source turns out to be later
    than a new member. Answers how many posts changed group. One query to find the
    candidates, one UPDATE per group that changed."""
    hashed = [post for post in posts if post.simhash is not None]
    if not hashed:
        return 0
    window = _window()
    earliest = min(post.published_at for post in hashed) - window
    latest = max(post.published_at for post in hashed) + window
    bands_wanted: list[set[int]] = [set() for _ in range(BANDS)]
    for post in hashed:
        for band in range(BANDS):
            bands_wanted[band].add(getattr(post, f"simhash_band{band}"))
    in_any_band = Q()
    for band, values in enumerate(bands_wanted):
        in_any_band |= Q(**{f"simhash_band{band}__in": values})
    ids = {post.pk for post in hashed}
    candidates = list(
        Post.objects.filter(in_any_band, published_at__gte=earliest, published_at__lte=latest)
        .exclude(pk__in=ids).only("id", "simhash", "published_at", "original_id",
                                  *(f"simhash_band{band}" for band in range(BANDS)))
    )
    pool = candidates + hashed
    by_band: list[dict[int, list[Post]]] = [{} for _ in range(BANDS)]
    for post in pool:
        for band in range(BANDS):
            by_band[band].setdefault(getattr(post, f"simhash_band{band}"), []).append(post)

    # Union the new posts with every pool post within reach; a group's root is its
    # earliest post (the stored ``original`` links join the groups they already form).
    parent: dict[int, int] = {}
    by_id = {post.pk: post for post in pool}

    def find(pk: int) -> int:
        root = pk
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(pk, pk) != root:
            parent[pk], pk = root, parent[pk]
        return root

    def union(a: int, b: int) -> None:
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            return
        first, second = sorted((root_a, root_b), key=lambda pk: _order(by_id[pk]))
        parent[second] = first

    limit = _max_bits()
    for post in hashed:
        for band in range(BANDS):
            for other in by_band[band].get(getattr(post, f"simhash_band{band}"), ()):
                if other.pk != post.pk and hamming(post.simhash, other.simhash) <= limit:
                    union(post.pk, other.pk)
    # A stored member's group may have a source outside the pool: fetch those sources.
    outside = {post.original_id for post in pool
               if post.original_id and post.original_id not in by_id}
    for source in Post.objects.filter(pk__in=outside).only("id", "published_at",
                                                            "original_id"):
        by_id[source.pk] = source
    for post in pool:
        if post.original_id:
            union(post.pk, post.original_id)

    sources_before = {pk for pk, post in by_id.items() if post.original_id is None}
    changes: dict[int, int | None] = {}
    for post in by_id.values():
        root = find(post.pk)
        wanted = None if root == post.pk else root
        if post.original_id != wanted:
            changes[post.pk] = wanted
            post.original_id = wanted
    # Copies of a stored source that is a source no more follow it to the new source (a
    # copy published earlier arrived late): rare, one statement.
    moved = {pk: find(pk) for pk in sources_before if pk not in ids and find(pk) != pk}
    if moved:
        Post.objects.filter(original_id__in=moved).update(original_id=Case(
            *(When(original_id=pk, then=Value(root)) for pk, root in moved.items()),
            output_field=IntegerField()))
    if changes:
        Post.objects.filter(pk__in=changes).update(original_id=Case(
            *(When(pk=pk, then=Value(root)) for pk, root in changes.items()),
            output_field=IntegerField()))
    changed = len(changes)
    if changed:
        logger.info("near_duplicates_link: %d posts grouped", changed)
    return changed
