"""Batches of posts from crawlers, feeds, exports and people, stored once each.

Every item of a batch is judged on its own: a malformed item is rejected with its reason
and never stops the good ones. A post that is already stored (same normalised URL, or,
without a URL, same normalised text) is a duplicate: its figures grow to the larger
values and an empty author or text is filled in, nothing else changes.

The pipeline of a batch: judge the items; analyse the text of the posts not stored yet
(sentiment, segmenting only the clauses that need tokens, and the SimHashes of the batch
together, ``monitoring.text.analysis``; scanned for the sensitive terms,
``monitoring.text.sensitive``) before the write transaction, so it holds no lock while
text is cut; store them all in bulk (``core.bulk``); then, committed, send
:data:`posts_stored`, on which the completion (``monitoring.topics.completion``) groups
near-duplicates, matches the rules and puts each match in a topic. Topic figures, alerts
and proposals follow in the background (``monitoring.topics.refresh``).

Nothing stored is ever left unmatched: a post is written with a mark (``complete_after``)
that the transaction completing it clears. If the process dies between the two, or the
completion keeps failing, the beat's completion of pending posts takes the marked posts up
once their time has passed (``COMPLETE_GRACE``) and completes them; a post matched twice
keeps one match per rule.

Concurrent batches: new posts are inserted first, in key order, then the stored ones are
locked in id order, so two batches wait for each other without a cycle; a deadlock or a
serialisation failure that still happens (PostgreSQL) starts the transaction again, a few
times, logged.
"""

import hashlib
import logging
import random
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.bulk import bulk_insert
from core.errors import InvalidInput
from core.moments import earliest_moment, latest_moment, moment_problem
from incidents.choices import Platform

from ..models import AUTHOR_MAX_CHARS, TEXT_MAX_CHARS, URL_MAX_BYTES, Post, SourceType
from ..text.analysis import Analysis, analyse, analyse_all
from ..text.sensitive import SensitiveSet, sensitive_set

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
# PositiveBigIntegerField holds a signed 64-bit integer on every backend.
MAX_FIGURE = 9_223_372_036_854_775_807
METRICS = ("reads", "reposts", "comments", "likes")
FIELDS = frozenset({"platform", "url", "author", "text", "published_at", "source_type", *METRICS})
# Who may feed posts in: the monitoring desk, and sysadmin accounts that crawlers use.
# The choices as sets: ``Choices.values`` builds a list at every call.
PLATFORMS = frozenset(Platform.values)
SOURCE_TYPES = frozenset(SourceType.values)
UPDATED_FIELDS = (*METRICS, "author", "text", "content_hash", "received_at", "updated_at")
# Attempts of a transaction that a concurrent batch got in the way of (PostgreSQL): it
# stored the same new post first, or the two deadlocked.
ATTEMPTS = 5
# A stored post is left to the batch that stored it for this long; then, if still not
# matched, the background completion takes it up.
COMPLETE_GRACE = timedelta(seconds=30)
# SQLSTATEs of a transaction that lost a race and may simply run again.
_TRANSIENT = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure

T = TypeVar("T")

_WHITESPACE = re.compile(r"\s+")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Sent once a batch's new posts (and the stored ones whose text it filled in) are
# committed, marked pending, with ``posts`` (read with ``COMPLETE_READS``) and their
# ``analyses`` by post id. ``monitoring.topics.completion`` completes them on it (grouping,
# matching, topics: connected in ``MonitoringConfig.ready``); the intake sits below the
# topics and does not import them. Unanswered, the posts wait for the beat's completion.
posts_stored = Signal()


@dataclass
class IngestResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


class _Invalid(Exception):
    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields


def url_normalise(url: str) -> str:
    """Strip spaces, drop the fragment, lower-case the scheme and host, drop a default
    port. Raises ValueError for anything but an absolute http(s) URL."""
    url = url.strip()
    if not url or _WHITESPACE.search(url):
        raise ValueError("blank or spaces inside")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError("not an absolute http(s) URL")
    port = parts.port  # ValueError when not a number
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if "@" in parts.netloc:
        netloc = f"{parts.netloc.rsplit('@', 1)[0]}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def content_hash(text: str) -> str:
    """SHA-1 of the text after NFKC (full-width to half-width and the like) and with each
    run of whitespace made one space, so a re-typeset copy of a post is the same post."""
    normal = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return hashlib.sha1(normal.encode("utf-8"), usedforsecurity=False).hexdigest()


# --- Judging an item ------------------------------------------------------------------------
# An item is read field by field from a table: each field takes only its own JSON type (a
# list or an object where a string belongs is refused like any wrong value, never looked
# up), and an absent one takes its default. A DRF serializer would say the same at several
# times the cost per item (bench/README.md), on the intake's hot path.


class _Bad(ValueError):
    """A value its field does not take; ``message`` says why, for the sender."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _storable(value: str, message: Callable[[], str]) -> str:
    """``value`` if a database column takes it: no NUL, no half of a UTF-16 pair."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad(message()) from None
    if "\x00" in value:
        raise _Bad(message())
    return value


def _unstorable_message() -> str:
    return _("Contains a NUL character or a broken surrogate pair.")


def _not_url_message() -> str:
    return _("Not an absolute http or https URL.")


def _choice(choices: frozenset[str], message: Callable[[], str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, str) and value in choices:
            return value
        raise _Bad(message())

    return parse


def _text(limit: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad(_("Must be a string."))
        value = _storable(value, _unstorable_message).strip()
        if len(value) > limit:
            raise _Bad(_("Longer than %(max)d characters.") % {"max": limit})
        return value

    return parse


def _url(value: Any) -> str | None:
    if not isinstance(value, str):
        raise _Bad(_not_url_message())
    value = _storable(value, _not_url_message).strip()
    if not value:
        return None
    try:
        url = url_normalise(value)
    except ValueError:
        raise _Bad(_not_url_message()) from None
    if len(url.encode("utf-8")) > URL_MAX_BYTES:
        raise _Bad(_("Longer than %(max)d bytes.") % {"max": URL_MAX_BYTES})
    return url


def _moment(value: Any) -> datetime:
    """An ISO 8601 date and time; without an offset, in the settings' time zone."""
    if isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:  # well formed, but no such day or hour
            moment = None
        if moment is not None:
            return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
    raise _Bad(_("Not an ISO 8601 date and time."))


def _metric(value: Any) -> int:
    """A whole number, 0 or more, that a 64-bit column holds; crawlers' "12" and 12.0
    count."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_FIGURE:
        raise _Bad(_("Must be a whole number, 0 or more."))
    return value


@dataclass(frozen=True, slots=True)
class _Field:
    """One field of an item: how its value is read, and what it is when absent (None, or
    also "" when ``blank_is_absent``)."""

    name: str
    parse: Callable[[Any], Any]
    default: Any = None
    required: bool = False
    blank_is_absent: bool = True


ITEM_FIELDS: tuple[_Field, ...] = (
    _Field(
        "platform",
        _choice(
            PLATFORMS,
            lambda: (
                _("Not one of the platforms: %(choices)s.")
                % {"choices": ", ".join(Platform.values)}
            ),
        ),
        required=True,
    ),
    _Field(
        "source_type",
        _choice(
            SOURCE_TYPES,
            lambda: (
                _("Not one of the source types: %(choices)s.")
                % {"choices": ", ".join(SourceType.values)}
            ),
        ),
        default=SourceType.OTHER,
    ),
    _Field("url", _url),
    _Field("text", _text(TEXT_MAX_CHARS), default=""),
    _Field("author", _text(AUTHOR_MAX_CHARS), default=""),
    _Field("published_at", _moment, required=True),
    *(_Field(name, _metric, default=0, blank_is_absent=False) for name in METRICS),
)
FIELDS = frozenset(spec.name for spec in ITEM_FIELDS)


def moments_window(now: datetime) -> tuple[datetime, datetime]:
    """The first and last publication times believed (``core.moments``), for a batch."""
    return earliest_moment(), latest_moment(now)


def _clean(
    item: Any, *, now: datetime, window: tuple[datetime, datetime] | None = None
) -> dict[str, Any]:
    """The item as the fields of a ``Post``, or ``_Invalid`` naming each bad field. A
    publication time outside ``window`` (:func:`moments_window`) is refused with the
    reason ``core.moments`` gives."""
    if not isinstance(item, dict):
        raise _Invalid({"non_field_errors": [_("A post must be a JSON object.")]})
    errors: dict[str, list[str]] = {
        str(name): [_("Unknown field.")] for name in item if name not in FIELDS
    }
    clean: dict[str, Any] = {}
    for spec in ITEM_FIELDS:
        value = item.get(spec.name)
        if value is None or (spec.blank_is_absent and value == ""):
            if spec.required:
                errors[spec.name] = [_("This field is required.")]
            else:
                clean[spec.name] = spec.default
            continue
        try:
            clean[spec.name] = spec.parse(value)
        except _Bad as bad:
            errors[spec.name] = [bad.message]
    if (
        not clean.get("text")
        and not clean.get("url")
        and "text" not in errors
        and "url" not in errors
    ):
        errors["text"] = [_("A post needs its text or its URL.")]
    moment = clean.get("published_at")
    if moment is not None:
        earliest, latest = window or moments_window(now)
        if not earliest <= moment <= latest:
            errors["published_at"] = [
                moment_problem(moment, now=now) or _("Not an ISO 8601 date and time.")
            ]
    if errors:
        raise _Invalid(errors)
    clean["content_hash"] = content_hash(clean["text"])
    return clean


def _reason(fields: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def _key(clean: dict[str, Any]) -> tuple[str, str]:
    return ("url", clean["url"]) if clean["url"] else ("hash", clean["content_hash"])


def _merge(into: Any, new: dict[str, Any], get, set_) -> bool:
    """Figures to the larger value, empty author or text filled; True if anything changed."""
    changed = False
    for name in METRICS:
        if new[name] > get(into, name):
            set_(into, name, new[name])
            changed = True
    for name in ("author", "text"):
        if new[name] and not get(into, name):
            set_(into, name, new[name])
            changed = True
    return changed


def _merge_dict(into: dict[str, Any], new: dict[str, Any]) -> bool:
    return _merge(into, new, dict.__getitem__, dict.__setitem__)


def _merge_post(into: Post, new: dict[str, Any]) -> tuple[bool, bool]:
    """Merge ``new`` into a stored post: (anything changed, the text changed)."""
    had_text = bool(into.text)
    changed = _merge(into, new, getattr, setattr)
    if changed:
        into.content_hash = content_hash(into.text)
    return changed, bool(into.text) and not had_text


def posts_ingest(*, items: list[dict], source: str = "api") -> IngestResult:
    """Store a batch of posts: at most ``MAX_BATCH`` items (else ``InvalidInput``, the whole
    batch refused). Each item is accepted (a new post), a duplicate (of a stored post or of
    an earlier item of the batch: figures merged) or rejected (with its index, a reason
    and the bad fields). New posts are written in bulk, all in one transaction, marked
    pending; then completed (:data:`posts_stored`), which clears the mark."""
    if not isinstance(items, list):
        raise InvalidInput(gettext_lazy("Send a list of posts."))
    if len(items) > MAX_BATCH:
        raise InvalidInput(
            gettext_lazy("At most %(max)d posts per request; send the rest in another.")
            % {"max": MAX_BATCH}
        )
    now = timezone.now()
    window = moments_window(now)
    result = IngestResult()
    batch: dict[tuple[str, str], dict[str, Any]] = {}  # first item of each post, merged
    for index, item in enumerate(items):
        try:
            clean = _clean(item, now=now, window=window)
        except _Invalid as invalid:
            result.rejected += 1
            result.errors.append(
                {"index": index, "reason": _reason(invalid.fields), "fields": invalid.fields}
            )
            continue
        key = _key(clean)
        if key in batch:
            _merge_dict(batch[key], clean)
            result.duplicate += 1
        else:
            batch[key] = clean

    # Analysed outside the write transaction: the posts not stored yet, as far as we know.
    # The sensitive-term lists are compiled (or their fingerprint checked) once a batch.
    known = _stored_keys(batch)
    lists = sensitive_set()
    unknown = [key for key in batch if key not in known]
    analyses = dict(
        zip(
            unknown,
            analyse_all([batch[key]["text"] for key in unknown], sensitive=lists),
            strict=True,
        )
    )
    stored, fresh, created = again_if_raced(
        "posts_ingest",
        lambda: _store(batch, analyses, lists, source=source, now=now),
        integrity=True,
    )
    result.accepted = len(batch) - stored
    if fresh:
        # After the commit: a post is stored even if what follows fails, and stays marked
        # until it is grouped and matched. New posts, and stored ones whose text was just
        # filled in, are grouped and matched.
        # The new posts as inserted (the database answered their ids: PostgreSQL, SQLite
        # 3.35+), else read back; and the stored posts whose text was filled in.
        if all(post.pk is not None for post in created):
            in_hand = {_post_key(post) for post in created}
            posts = [
                *created,
                *_stored_posts({key: batch[key] for key in fresh if key not in in_hand}),
            ]
        else:
            posts = _stored_posts({key: batch[key] for key in fresh})
        by_id = {post.pk: analyses[_post_key(post)] for post in posts}
        try:
            again_if_raced(
                "posts_complete",
                lambda: posts_stored.send(sender=Post, posts=posts, analyses=by_id),
            )
        except DatabaseError as error:
            if not race_lost(error):
                raise
            # Still losing races: the posts stay marked, the background completes them.
            logger.warning(
                "posts_ingest: %d posts left to the background completion: %s", len(posts), error
            )
    result.duplicate += stored
    logger.info(
        "posts_ingest source=%s accepted=%d duplicate=%d rejected=%d",
        source,
        result.accepted,
        result.duplicate,
        result.rejected,
    )
    return result


def race_lost(error: BaseException) -> bool:
    """Whether ``error`` is a race lost to another transaction that running it again
    resolves: a deadlock or a serialisation failure (PostgreSQL)."""
    cause = error.__cause__
    return (getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)) in _TRANSIENT


def again_if_raced(what: str, work: Callable[[], T], *, integrity: bool = False) -> T:
    """``work()`` (one transaction), run again after a short random pause when it lost a
    race (:func:`race_lost`; with ``integrity``, also when a concurrent batch stored one
    of its new posts first), at most ``ATTEMPTS`` times in all."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except DatabaseError as error:
            raced = race_lost(error) or (integrity and isinstance(error, IntegrityError))
            if not raced or attempt == ATTEMPTS:
                raise
            logger.info(
                "%s: lost a race to a concurrent batch (%s), attempt %d of %d",
                what,
                str(error).splitlines()[0],
                attempt + 1,
                ATTEMPTS,
            )
            # Apart, the two transactions no longer meet at the same moment.
            time.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 (not for security)
    raise AssertionError("unreachable")  # pragma: no cover


def _post_key(post: Post) -> tuple[str, str]:
    return ("url", post.url) if post.url else ("hash", post.content_hash)


def _stored(keys: Iterable[tuple[str, str]]) -> tuple[QuerySet[Post], QuerySet[Post]]:
    """The stored posts of these keys: those known by URL, and those (without a URL)
    known by their content hash."""
    keys = list(keys)
    return (
        Post.objects.filter(url__in=[value for kind, value in keys if kind == "url"]),
        Post.objects.filter(
            url__isnull=True, content_hash__in=[value for kind, value in keys if kind == "hash"]
        ),
    )


def _keys_q(keys: Iterable[tuple[str, str]]) -> Q:
    """The stored posts of these keys, as one condition."""
    keys = list(keys)
    return Q(url__in=[value for kind, value in keys if kind == "url"]) | Q(
        url__isnull=True, content_hash__in=[value for kind, value in keys if kind == "hash"]
    )


def _stored_keys(batch: dict[tuple[str, str], dict[str, Any]]) -> set[tuple[str, str]]:
    """The keys of the batch that are stored already (two queries)."""
    by_url, by_hash = _stored(batch)
    return {
        *(("url", url) for url in by_url.values_list("url", flat=True)),
        *(("hash", value) for value in by_hash.values_list("content_hash", flat=True)),
    }


# What completing a post (grouping and matching) reads of it.
COMPLETE_READS = (
    "id",
    "url",
    "content_hash",
    "text",
    "published_at",
    "original_id",
    "simhash",
    *(f"simhash_band{band}" for band in range(4)),
)


def _stored_posts(batch: dict[tuple[str, str], dict[str, Any]]) -> list[Post]:
    """The stored posts of these keys, with what grouping and matching read."""
    by_url, by_hash = _stored(batch)
    return [*by_url.only(*COMPLETE_READS), *by_hash.only(*COMPLETE_READS)]


class _Vanished(IntegrityError):
    """A post seen stored was deleted before the batch could lock it: run it again."""


def _store(
    batch: dict[tuple[str, str], dict[str, Any]],
    analyses: dict[tuple[str, str], Analysis],
    lists: SensitiveSet,
    *,
    source: str,
    now: datetime,
) -> tuple[int, set[tuple[str, str]], list[Post]]:
    """Create the new posts and merge into the stored ones. Answers how many were stored
    already, the keys of the posts that are new or whose text was filled in (marked
    pending; their analyses are in ``analyses``, which this completes, scanning with
    ``lists``), and the new posts."""
    if not batch:
        return 0, set(), []
    pending = now + COMPLETE_GRACE
    with transaction.atomic(durable=True):
        # New posts first, sorted by key; only then the stored ones, locked in id order.
        # A batch waits for another only on a key (inserting) before it holds any row, or
        # on a row (locking) after it inserted all its keys: two batches never wait for
        # each other in a circle. FOR NO KEY UPDATE: a match or a copy pointing at a post
        # (a foreign key check) does not wait for it.
        known = _stored_keys(batch)
        new = sorted(key for key in batch if key not in known)
        for key in new:
            if key not in analyses:  # stored by someone else, then deleted, since we looked
                analyses[key] = analyse(batch[key]["text"], sensitive=lists)
        created = bulk_insert(
            [
                Post(
                    **batch[key],
                    **analyses[key].post_fields(),
                    source=source,
                    first_seen_at=now,
                    received_at=now,
                    updated_at=now,
                    complete_after=pending,
                )
                for key in new
            ]
        )
        existing = (
            list(Post.objects.filter(_keys_q(known)).select_for_update(no_key=True).order_by("pk"))
            if known
            else []
        )
        if len(existing) != len(known):
            raise _Vanished("a stored post was deleted meanwhile")
        changed, fresh = [], set(new)
        for post in existing:
            key = _post_key(post)
            changed_any, text_filled = _merge_post(post, batch[key])
            if text_filled:
                analyses[key] = analyse(post.text, sensitive=lists)
                fresh.add(key)
            if changed_any:
                post.updated_at = post.received_at = now
                changed.append((post, key if text_filled else None))
        # One UPDATE per changed post: bulk_update's CASE expressions cost the ORM far
        # more Python time per row (bench/README.md).
        for post, analysed in changed:
            Post.objects.filter(pk=post.pk).update(
                **{name: getattr(post, name) for name in UPDATED_FIELDS},
                **(
                    {**analyses[analysed].post_fields(), "complete_after": pending}
                    if analysed
                    else {}
                ),
            )
        Post.objects.filter(pk__in=[p.pk for p in existing if p.received_at != now]).update(
            received_at=now
        )
    return len(existing), fresh, created
