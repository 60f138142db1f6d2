"""Post intake: batches of posts from crawlers, feeds, exports and people, stored once each.

Every item of a batch is judged on its own: a malformed item is rejected with its reason
and never stops the good ones. A post that is already stored (same normalised URL, or,
without a URL, same normalised text) is a duplicate: its figures grow to the larger
values and an empty author or text is filled in, nothing else changes.

The pipeline of a batch: judge the items; analyse the text of the posts not stored yet
(sentiment, jieba segmenting only the clauses that need tokens, and the SimHashes of the
batch together, ``monitoring.analysis``; scanned for the sensitive terms,
``monitoring.sensitive``) before the write transaction, so it holds no lock while jieba
runs; store them all in bulk (``core.bulk``); then, committed, group near-duplicates
(``monitoring.grouping``), match the rules (``monitoring.matching``) and put each match
in a topic (``monitoring.topics``). Topic figures, alerts and proposals follow in the
background (``topics.topics_refresh``).
"""

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.bulk import bulk_insert
from core.errors import InvalidInput, PermissionDenied
from incidents.choices import Platform
from organisation.roles import Role

from .analysis import Analysis, analyse, analyse_all
from .grouping import near_duplicates_link
from .matching import posts_match
from .models import AUTHOR_MAX_CHARS, TEXT_MAX_CHARS, URL_MAX_BYTES, Post, SourceType
from .sensitive import SensitiveSet, sensitive_set

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
# A post "published" further ahead than this is a clock or time-zone mistake of the sender;
# stored, it would sit on top of the newest-first stream for good.
FUTURE_TOLERANCE = timedelta(hours=1)
# PositiveBigIntegerField holds a signed 64-bit integer on every backend.
MAX_FIGURE = 9_223_372_036_854_775_807
FIGURES = ("reads", "reposts", "comments", "likes")
FIELDS = frozenset({"platform", "url", "author", "text", "published_at", "source_type",
                    *FIGURES})
# Who may feed posts in: the monitoring desk, and sysadmin accounts that crawlers use.
INGEST_ROLES = frozenset({Role.DUTY_OFFICER, Role.ANALYST, Role.OFFICE_HEAD, Role.SYSADMIN})
# The choices as sets: ``Choices.values`` builds a list at every call.
PLATFORMS = frozenset(Platform.values)
SOURCE_TYPES = frozenset(SourceType.values)
UPDATED_FIELDS = (*FIGURES, "author", "text", "content_hash", "received_at", "updated_at")
# Attempts when a concurrent batch stores the same new post first (PostgreSQL).
ATTEMPTS = 3

_WHITESPACE = re.compile(r"\s+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def posts_ingest_require(user: Any) -> None:
    """Only the roles of ``INGEST_ROLES`` may feed posts in (403 otherwise)."""
    if user is None or not user.is_authenticated or not user.is_active \
            or not user.has_role(*INGEST_ROLES):
        raise PermissionDenied()


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


def _figure(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 \
            or value > MAX_FIGURE:
        raise ValueError
    return value


def _published_at(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError
    moment = parse_datetime(value.strip())
    if moment is None:
        raise ValueError
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)  # the settings' TIME_ZONE (Asia/Shanghai)
    moment.astimezone(timezone.get_default_timezone())  # OverflowError at the edges of time
    return moment


class _Unstorable(ValueError):
    """A string no database column takes: a NUL character, or half a UTF-16 pair."""


def _optional_str(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unstorable from None
    if "\x00" in value:
        raise _Unstorable
    return value.strip()


def _clean(item: Any, *, now: datetime) -> dict[str, Any]:
    """The item as the fields of a ``Post``, or ``_Invalid`` naming each bad field."""
    if not isinstance(item, dict):
        raise _Invalid({"non_field_errors": [_("A post must be a JSON object.")]})
    errors: dict[str, list[str]] = {
        str(name): [_("Unknown field.")] for name in item if name not in FIELDS
    }
    clean: dict[str, Any] = {}

    platform = item.get("platform")
    if platform in (None, ""):
        errors["platform"] = [_("This field is required.")]
    elif platform not in PLATFORMS:
        errors["platform"] = [_("Not one of the platforms: %(choices)s.")
                              % {"choices": ", ".join(Platform.values)}]
    else:
        clean["platform"] = platform

    source_type = item.get("source_type")
    if source_type in (None, ""):
        clean["source_type"] = SourceType.OTHER
    elif source_type not in SOURCE_TYPES:
        errors["source_type"] = [_("Not one of the source types: %(choices)s.")
                                 % {"choices": ", ".join(SourceType.values)}]
    else:
        clean["source_type"] = source_type

    try:
        raw_url = _optional_str(item.get("url"))
        clean["url"] = url_normalise(raw_url) if raw_url else None
        if clean["url"] and len(clean["url"].encode("utf-8")) > URL_MAX_BYTES:
            errors["url"] = [_("Longer than %(max)d bytes.") % {"max": URL_MAX_BYTES}]
    except ValueError:
        errors["url"] = [_("Not an absolute http or https URL.")]

    for name, limit in (("text", TEXT_MAX_CHARS), ("author", AUTHOR_MAX_CHARS)):
        try:
            clean[name] = _optional_str(item.get(name))
        except _Unstorable:
            errors[name] = [_("Contains a NUL character or a broken surrogate pair.")]
            continue
        except ValueError:
            errors[name] = [_("Must be a string.")]
            continue
        if len(clean[name]) > limit:
            errors[name] = [_("Longer than %(max)d characters.") % {"max": limit}]
    if not clean.get("text") and not clean.get("url") and "text" not in errors \
            and "url" not in errors:
        errors["text"] = [_("A post needs its text or its URL.")]

    if item.get("published_at") in (None, ""):
        errors["published_at"] = [_("This field is required.")]
    else:
        try:
            clean["published_at"] = _published_at(item["published_at"])
        except (ValueError, OverflowError):
            errors["published_at"] = [_("Not an ISO 8601 date and time.")]
        else:
            if clean["published_at"] > now + FUTURE_TOLERANCE:
                errors["published_at"] = [_("In the future: check the time zone.")]

    for name in FIGURES:
        try:
            clean[name] = _figure(item.get(name))
        except ValueError:
            errors[name] = [_("Must be a whole number, 0 or more.")]

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
    for name in FIGURES:
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
    and the bad fields). New posts are written in bulk, all in one transaction."""
    if not isinstance(items, list):
        raise InvalidInput(gettext_lazy("Send a list of posts."))
    if len(items) > MAX_BATCH:
        raise InvalidInput(
            gettext_lazy("At most %(max)d posts per request; send the rest in another.")
            % {"max": MAX_BATCH})
    now = timezone.now()
    result = IngestResult()
    batch: dict[tuple[str, str], dict[str, Any]] = {}  # first item of each post, merged
    for index, item in enumerate(items):
        try:
            clean = _clean(item, now=now)
        except _Invalid as invalid:
            result.rejected += 1
            result.errors.append({"index": index, "reason": _reason(invalid.fields),
                                  "fields": invalid.fields})
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
    analyses = dict(zip(unknown, analyse_all([batch[key]["text"] for key in unknown],
                                             sensitive=lists), strict=True))
    for attempt in range(1, ATTEMPTS + 1):
        try:
            stored, fresh, created = _store(batch, analyses, lists, source=source, now=now)
            break
        except IntegrityError:
            # Another batch stored one of these posts since we looked: look again, it is
            # a duplicate now.
            if attempt == ATTEMPTS:
                raise
            logger.info("posts_ingest: concurrent insert, retrying (attempt %d)", attempt)
    result.accepted = len(batch) - stored
    if fresh:
        # After the commit: a post is stored even if what follows fails. New posts, and
        # stored ones whose text was just filled in, are grouped and matched.
        # The new posts as inserted (the database answered their ids: PostgreSQL, SQLite
        # 3.35+), else read back; and the stored posts whose text was filled in.
        if all(post.pk is not None for post in created):
            in_hand = {_post_key(post) for post in created}
            posts = [*created, *_stored_posts({key: batch[key] for key in fresh
                                               if key not in in_hand})]
        else:
            posts = _stored_posts({key: batch[key] for key in fresh})
        near_duplicates_link(posts)
        posts_match(posts, analyses={post.pk: analyses[_post_key(post)] for post in posts})
    result.duplicate += stored
    logger.info("posts_ingest source=%s accepted=%d duplicate=%d rejected=%d", source,
                result.accepted, result.duplicate, result.rejected)
    return result


def _post_key(post: Post) -> tuple[str, str]:
    return ("url", post.url) if post.url else ("hash", post.content_hash)


def _stored(keys: Iterable[tuple[str, str]]) -> tuple[QuerySet[Post], QuerySet[Post]]:
    """The stored posts of these keys: those known by URL, and those (without a URL)
    known by their content hash."""
    keys = list(keys)
    return (Post.objects.filter(url__in=[value for kind, value in keys if kind == "url"]),
            Post.objects.filter(url__isnull=True,
                                content_hash__in=[value for kind, value in keys
                                                  if kind == "hash"]))


def _stored_keys(batch: dict[tuple[str, str], dict[str, Any]]) -> set[tuple[str, str]]:
    """The keys of the batch that are stored already (two queries)."""
    by_url, by_hash = _stored(batch)
    return {*(("url", url) for url in by_url.values_list("url", flat=True)),
            *(("hash", value) for value in by_hash.values_list("content_hash", flat=True))}


def _stored_posts(batch: dict[tuple[str, str], dict[str, Any]]) -> list[Post]:
    """The stored posts of these keys, with what grouping and matching read."""
    fields = ("id", "url", "content_hash", "text", "published_at", "original_id", "simhash",
              *(f"simhash_band{band}" for band in range(4)))
    by_url, by_hash = _stored(batch)
    return [*by_url.only(*fields), *by_hash.only(*fields)]


def _store(batch: dict[tuple[str, str], dict[str, Any]],
           analyses: dict[tuple[str, str], Analysis], lists: SensitiveSet, *, source: str,
           now: datetime) -> tuple[int, set[tuple[str, str]], list[Post]]:
    """Merge into the stored posts and create the others. Answers how many were stored
    already, the keys of the posts that are new or whose text was filled in (their
    analyses are in ``analyses``, which this completes, scanning with ``lists``), and the
    new posts."""
    if not batch:
        return 0, set(), []
    with transaction.atomic(durable=True):
        # Every batch locks the stored posts in the same order (URL ones, then the others,
        # each by id) and inserts new ones sorted by key, so two batches never deadlock.
        by_url, by_hash = _stored(batch)
        existing = [*by_url.select_for_update().order_by("pk"),
                    *by_hash.select_for_update().order_by("pk")]
        known, changed, fresh = set(), [], set()
        for post in existing:
            key = _post_key(post)
            known.add(key)
            changed_any, text_filled = _merge_post(post, batch[key])
            if text_filled:
                analyses[key] = analyse(post.text, sensitive=lists)
                fresh.add(key)
            if changed_any:
                post.updated_at = post.received_at = now
                changed.append((post, key if text_filled else None))
        # One UPDATE per changed post: bulk_update's CASE expressions cost the ORM about
        # ten times more Python time per row (measured on a batch of 1,000).
        for post, analysed in changed:
            Post.objects.filter(pk=post.pk).update(
                **{name: getattr(post, name) for name in UPDATED_FIELDS},
                **(analyses[analysed].post_fields() if analysed else {}))
        Post.objects.filter(pk__in=[p.pk for p in existing if p.received_at != now]).update(
            received_at=now)
        new = sorted(key for key in batch if key not in known)
        for key in new:
            if key not in analyses:  # stored by someone else, then deleted, since we looked
                analyses[key] = analyse(batch[key]["text"], sensitive=lists)
        created = bulk_insert(
            [Post(**batch[key], **analyses[key].post_fields(), source=source,
                  first_seen_at=now, received_at=now, updated_at=now) for key in new])
        fresh.update(new)
    return len(existing), fresh, created
