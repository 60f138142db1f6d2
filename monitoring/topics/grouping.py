"""Near-duplicate reposts grouped under their earliest post, the source.

Each post with a SimHash is compared with the posts published in the days around it that
share one of its four bands (an index look-up), and with the other new posts of its batch.
Within ``NEAR_DUPLICATE_BITS`` of each other two posts are copies of one text: the group's
source is the earliest published, and every other member points at it (``original``). A
copy that arrives late but was published first becomes the source of the whole group.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections, router
from django.db.models import Q

from ..models import Post
from ..text.analysis import BANDS, hamming, simhash_bands

logger = logging.getLogger(__name__)


def _window() -> timedelta:
    return timedelta(days=settings.FENGHUO_NEAR_DUPLICATE_DAYS)


def _max_bits() -> int:
    return settings.FENGHUO_NEAR_DUPLICATE_BITS


def moment_shifted(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the first or last moment Python can hold instead of
    overflowing: a window around a post dated at the edge of time (stored before dates
    were bounded, say) is still a window."""
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=UTC)


@dataclass(slots=True)
class _Member:
    """A post as grouping reads it: stored candidates come as plain rows, and the new
    posts keep their ``Post`` so their new ``original_id`` is seen by what follows."""

    pk: int
    simhash: int | None
    published_at: datetime
    original_id: int | None
    bands: tuple[int, ...] = ()
    post: Post | None = None


_FIELDS = (
    "id",
    "simhash",
    "published_at",
    "original_id",
    *(f"simhash_band{band}" for band in range(BANDS)),
)


@dataclass
class Regrouping:
    """What linking a batch's posts writes: ``changes`` sets the source of each post by
    id; ``moved`` re-points the copies of a former source (by its id) to the new one."""

    changes: dict[int, int | None] = field(default_factory=dict)
    moved: dict[int, int] = field(default_factory=dict)

    def rows(self) -> Q:
        """The posts it writes, to lock them (in one statement, in id order) first."""
        return Q(pk__in=list(self.changes)) | Q(original_id__in=list(self.moved))

    def apply(self) -> int:
        """Write it (one UPDATE each); answers how many posts changed group."""
        if self.moved:
            _originals_set(self.moved, by="original")
        if self.changes:
            _originals_set(self.changes, by="id")
            logger.info("near_duplicates_link: %d posts grouped", len(self.changes))
        return len(self.changes)


def near_duplicates_link(posts: list[Post]) -> int:
    """Point each of ``posts`` (stored, with ``simhash`` and ``published_at``) at the source
    of its near-duplicate group, re-pointing a group whose source turns out to be later
    than a new member. Answers how many posts changed group. One query to find the
    candidates, one UPDATE for the posts that changed group."""
    return near_duplicates_plan(posts).apply()


def near_duplicates_plan(posts: list[Post]) -> Regrouping:
    """What :func:`near_duplicates_link` writes, read and decided but not written; the
    ``original_id`` of ``posts`` is set in memory already. A caller that holds other rows
    locks ``Regrouping.rows()`` with them before it applies it, so that no two batches
    take their rows in different orders.

    The steps: the posts with a SimHash; the stored posts that may be their copies (one
    query); groups joined by nearness, then by the links already stored; each post pointed
    at its group's earliest post; the copies of a former source moved after it."""
    hashed = _members_hashed(posts)
    if not hashed:
        return Regrouping()
    pool = _candidates(hashed) + hashed
    groups = _Groups({member.pk: member for member in pool})
    _join_near_duplicates(groups, hashed, pool)
    _join_stored_links(groups, pool)
    sources_before = groups.sources()
    changes = _links_to_roots(groups)
    new = {member.pk for member in hashed}
    return Regrouping(changes=changes, moved=_sources_moved(groups, sources_before, new=new))


def _members_hashed(posts: list[Post]) -> list[_Member]:
    """The posts that have a SimHash (the others are grouped by their exact text only)."""
    return [
        _Member(
            post.pk,
            post.simhash,
            post.published_at,
            post.original_id,
            simhash_bands(post.simhash),
            post,
        )
        for post in posts
        if post.simhash is not None
    ]


def _candidates(hashed: list[_Member]) -> list[_Member]:
    """The stored posts, published within the window around the new ones, that share a
    band with one of them: the only ones that can be within reach (one query)."""
    window = _window()
    earliest = moment_shifted(min(member.published_at for member in hashed), -window)
    latest = moment_shifted(max(member.published_at for member in hashed), window)
    in_any_band = Q()
    for band in range(BANDS):
        in_any_band |= Q(**{f"simhash_band{band}__in": {member.bands[band] for member in hashed}})
    return [
        _Member(pk, value, published_at, original_id, tuple(bands))
        for pk, value, published_at, original_id, *bands in Post.objects.filter(
            in_any_band, published_at__gte=earliest, published_at__lte=latest
        )
        .exclude(pk__in={member.pk for member in hashed})
        .values_list(*_FIELDS)
    ]


class _Groups:
    """Posts joined into groups (union-find by id); a group's root is its earliest
    published post, the lower id first on a tie."""

    def __init__(self, members: dict[int, _Member]) -> None:
        self.members = members
        self._parent: dict[int, int] = {}

    def find(self, pk: int) -> int:
        """The root of ``pk``'s group (the path to it shortened on the way)."""
        parent = self._parent
        root = pk
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(pk, pk) != root:
            parent[pk], pk = root, parent[pk]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        first, second = sorted((root_a, root_b), key=lambda pk: (self.members[pk].published_at, pk))
        self._parent[second] = first

    def sources(self) -> set[int]:
        """The members that point at no source as stored."""
        return {pk for pk, member in self.members.items() if member.original_id is None}


def _join_near_duplicates(groups: _Groups, hashed: list[_Member], pool: list[_Member]) -> None:
    """Join each new post with every post of the pool within ``NEAR_DUPLICATE_BITS``,
    looking only at those that share one of its bands."""
    by_band: list[dict[int, list[_Member]]] = [{} for _ in range(BANDS)]
    for member in pool:
        for band, value in enumerate(member.bands):
            by_band[band].setdefault(value, []).append(member)
    limit = _max_bits()
    for member in hashed:
        for band, value in enumerate(member.bands):
            for other in by_band[band].get(value, ()):
                if other.pk != member.pk and hamming(member.simhash, other.simhash) <= limit:
                    groups.union(member.pk, other.pk)


def _join_stored_links(groups: _Groups, pool: list[_Member]) -> None:
    """Join the groups that the stored ``original`` links form already; a stored member's
    source may be outside the pool (published outside the window): it is read."""
    members = groups.members
    outside = {
        member.original_id
        for member in pool
        if member.original_id and member.original_id not in members
    }
    for pk, published_at, original_id in Post.objects.filter(pk__in=outside).values_list(
        "id", "published_at", "original_id"
    ):
        members[pk] = _Member(pk, None, published_at, original_id)
    for member in pool:
        if member.original_id:
            groups.union(member.pk, member.original_id)


def _links_to_roots(groups: _Groups) -> dict[int, int | None]:
    """Each member pointed at its group's root (None for the root itself): the members
    whose link changes, with their new source, also set in memory."""
    changes: dict[int, int | None] = {}
    for member in groups.members.values():
        root = groups.find(member.pk)
        wanted = None if root == member.pk else root
        if member.original_id != wanted:
            changes[member.pk] = wanted
            member.original_id = wanted
            if member.post is not None:
                member.post.original_id = wanted
    return changes


def _sources_moved(groups: _Groups, sources_before: set[int], *, new: set[int]) -> dict[int, int]:
    """The stored sources that are sources no more (a copy published earlier arrived
    late), with the new source their copies follow it to: rare, one statement."""
    moved = {}
    for pk in sources_before - new:
        root = groups.find(pk)
        if root != pk:
            moved[pk] = root
    return moved


def _originals_set(values: dict[int, int | None], *, by: str) -> None:
    """``original_id`` set in one statement, to ``values[k]`` on the posts whose field
    ``by`` (``id``: the post itself; ``original``: its source) is ``k``. Written as SQL:
    the ORM's ``Case(When(…))`` of a hundred branches costs more Python time to build than
    the database takes to run it."""
    connection = connections[router.db_for_write(Post)]
    quote = connection.ops.quote_name
    field = Post._meta.get_field("original")
    table, key, original = (
        quote(Post._meta.db_table),
        quote(Post._meta.get_field(by).column),
        quote(field.column),
    )
    # Typed, or a CASE of NULLs only would be text to PostgreSQL.
    branches = " ".join([f"WHEN %s THEN CAST(%s AS {field.db_type(connection)})"] * len(values))
    marks = ", ".join(["%s"] * len(values))
    params = [value for pair in values.items() for value in pair] + list(values)
    with connection.cursor() as cursor:
        # Only the quoted names of the table and columns are in the text.
        cursor.execute(
            f"UPDATE {table} SET {original} = CASE {key} {branches} END "  # noqa: S608
            f"WHERE {key} IN ({marks})",
            params,
        )
