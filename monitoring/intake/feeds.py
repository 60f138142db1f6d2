"""Polling RSS and Atom feeds: their items become posts through the intake.

Beat runs ``feeds_poll_due`` every ``FENGHUO_FEED_POLL_INTERVAL`` seconds. It claims the
active feeds whose ``next_poll_at`` has come, the way delivery claims its rows: in a short
transaction with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; on SQLite the write lock
serialises runs) and a conditional update that sets ``leased_until``, so two workers never
poll the same feed, and a worker that dies only delays its feeds until the lease ends.

A poll is a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last
answer; 304 means nothing new) with a timeout, a size cap and our User-Agent. The answer
is parsed by feedparser (RSS 0.9x/1.0/2.0, Atom), after refusing any document that
declares XML entities (the XML-bomb family). Each entry becomes a post of the feed's
platform and source type, sent to ``posts_ingest`` in slices of ``MAX_BATCH``: a post
seen at an earlier poll is a duplicate there, so polling twice stores each item once.
The outcome is written with a compare-and-set on the lease: success schedules the next
poll an interval later; a failure (HTTP status, network, parse) is kept in
``last_error`` and the wait doubles with each failure in a row, up to a day.
"""

import html
import io
import logging
import re
import time
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

import feedparser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import strip_tags

from ..models import AUTHOR_MAX_CHARS, TEXT_MAX_CHARS, Feed
from .batches import MAX_BATCH, posts_ingest

logger = logging.getLogger(__name__)

USER_AGENT = "Fenghuo-Feeds/1 (+public-opinion monitoring)"
# Seconds to connect and for each read; and for the whole answer (a server dripping
# bytes must not hold a worker, nor the admin's "poll now", for long).
FETCH_TIMEOUT = 10
FETCH_DEADLINE = 20
# A feed larger than this is refused rather than read: real feeds are far smaller.
MAX_FEED_BYTES = 5 * 1024 * 1024
# The lease covers the fetch, the parse and the intake of one feed, with a wide margin.
LEASE = timedelta(minutes=5)
# Back-off after failures in a row: the interval doubled per failure, never beyond this.
MAX_BACKOFF = timedelta(days=1)
# What of an error we keep in ``last_error``.
ERROR_EXCERPT = 500

# Declaring an entity is the only way to an XML bomb or an external entity; feeds have
# no use for it. Looked for in every encoding feedparser accepts.
_ENTITY_DECLARATIONS = tuple(
    "<!ENTITY".encode(encoding)
    for encoding in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
_BLOCK_END = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr|/blockquote)\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class FeedError(Exception):
    """Why a poll failed, in words for ``last_error``."""


@dataclass
class FeedPollResult:
    feed_id: int
    polled: bool = False  # False: not ours to poll (leased elsewhere, disabled, gone)
    ok: bool = False
    not_modified: bool = False
    entries: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    error: str = ""
    # The validators of the answer, to send back next time; None: keep the stored ones.
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FeedPollSummary:
    claimed: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0

    def add(self, result: FeedPollResult) -> None:
        if not result.polled:
            self.skipped += 1
            return
        if result.ok:
            self.ok += 1
        else:
            self.failed += 1
        self.accepted += result.accepted
        self.duplicate += result.duplicate
        self.rejected += result.rejected


# --- Scheduling ---------------------------------------------------------------------------


def backoff(*, interval: timedelta, failures: int) -> timedelta:
    """The wait before the next poll: the feed's interval, doubled for each failure in a
    row, capped at ``MAX_BACKOFF`` (but never shorter than the interval itself)."""
    if failures <= 0:
        return interval
    doubled = interval * 2 ** min(failures, 20)
    return max(interval, min(doubled, MAX_BACKOFF))


def _free(now: datetime) -> Q:
    """Not held by a poll, or held by one whose lease has run out (its worker died)."""
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def feeds_claim_due(*, now: datetime, batch: int) -> tuple[list[int], datetime]:
    """Lease up to ``batch`` due active feeds to this run: answers their ids and the
    lease's end."""
    held_until = now + LEASE
    due = Q(active=True, next_poll_at__lte=now) & _free(now)
    with transaction.atomic():
        ids = list(
            Feed.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("next_poll_at", "pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return [], held_until
        # Conditional as well as locked: on SQLite the lock is the whole database's.
        Feed.objects.filter(due, pk__in=ids).update(leased_until=held_until)
        mine = set(
            Feed.objects.filter(pk__in=ids, leased_until=held_until).values_list("pk", flat=True)
        )
    return [pk for pk in ids if pk in mine], held_until


def feeds_poll_due(*, now: datetime | None = None, batch: int = 20) -> FeedPollSummary:
    """Poll every active feed that is due; answers what happened. ``now`` pins the clock
    (tests); otherwise each step reads it afresh."""
    summary = FeedPollSummary()
    while True:
        claimed, held_until = feeds_claim_due(now=now or timezone.now(), batch=batch)
        summary.claimed += len(claimed)
        for feed_id in claimed:
            summary.add(feed_poll(feed_id, held_until=held_until, now=now))
        if len(claimed) < batch:
            break
    if summary.claimed:
        logger.info(
            "feeds: %s polled, %s ok, %s failed, %s skipped; posts %s new, "
            "%s duplicate, %s rejected",
            summary.claimed,
            summary.ok,
            summary.failed,
            summary.skipped,
            summary.accepted,
            summary.duplicate,
            summary.rejected,
        )
    return summary


def feed_poll(
    feed_id: int, *, held_until: datetime | None = None, now: datetime | None = None
) -> FeedPollResult:
    """Fetch one feed and take its items in. Called with the lease ``feeds_claim_due``
    gave (``held_until``), or without: then it takes the lease itself, and does nothing if
    the feed is disabled or another worker is polling it."""
    at = now or timezone.now()
    result = FeedPollResult(feed_id=feed_id)
    hold = at + LEASE
    taken = Feed.objects.filter(pk=feed_id, active=True)
    taken = (
        taken.filter(leased_until=held_until) if held_until is not None else taken.filter(_free(at))
    )
    if not taken.update(leased_until=hold):
        return result
    feed = Feed.objects.get(pk=feed_id)
    result.polled = True
    try:
        _poll(feed, result=result, at=at)
        result.ok = True
    except FeedError as error:
        result.error = str(error)[:ERROR_EXCERPT]
    except Exception as error:  # a bug or an odd feed must cost this feed, not the run
        logger.exception("feed %s: polling raised", feed.pk)
        result.error = f"{type(error).__name__}: {error}"[:ERROR_EXCERPT]
    _record(feed, result=result, at=at, hold=hold)
    return result


def _record(feed: Feed, *, result: FeedPollResult, at: datetime, hold: datetime) -> None:
    interval = timedelta(minutes=max(feed.interval_minutes, 1))
    fields: dict[str, Any] = {"leased_until": None, "last_polled_at": at}
    if result.ok:
        fields.update(
            last_ok_at=at,
            failures=0,
            last_error="",
            last_accepted=result.accepted,
            next_poll_at=at + interval,
        )
        if result.etag is not None:
            fields["etag"] = result.etag
        if result.last_modified is not None:
            fields["last_modified"] = result.last_modified
    else:
        failures = feed.failures + 1
        fields.update(
            failures=failures,
            last_error=result.error,
            last_accepted=0,
            next_poll_at=at + backoff(interval=interval, failures=failures),
        )
        logger.warning(
            "feed %s (%s) failed %s time(s) in a row, next try %s: %s",
            feed.pk,
            feed.url,
            failures,
            fields["next_poll_at"].isoformat(),
            result.error,
        )
    # Only while the lease is ours: past it another poll may have begun and will record.
    if not Feed.objects.filter(pk=feed.pk, leased_until=hold).update(**fields):
        logger.warning("feed %s: lease ran out before the poll was recorded", feed.pk)


# --- One poll -----------------------------------------------------------------------------


class _HttpOnlyRedirects(HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib would follow one to ftp too)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise FeedError(f"redirected to a non-HTTP address ({code})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = build_opener(_HttpOnlyRedirects)


@dataclass
class _Answer:
    body: bytes
    url: str
    content_type: str
    etag: str
    last_modified: str


def feed_fetch(feed: Feed) -> _Answer | None:
    """GET the feed, conditionally on what the last answer said. ``None`` for 304 Not
    Modified; raises ``FeedError`` for anything but a 2xx answer within the size cap."""
    if urlsplit(feed.url).scheme not in ("http", "https"):
        raise FeedError("the feed URL must be http or https")
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, application/rdf+xml, "
        "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    }
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    request = Request(feed.url, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with _opener.open(request, timeout=FETCH_TIMEOUT) as response:
            body = _read_capped(response)
            return _Answer(
                body=body,
                url=response.geturl(),
                content_type=response.headers.get("Content-Type", ""),
                etag=response.headers.get("ETag", "")[:300],
                last_modified=response.headers.get("Last-Modified", "")[:100],
            )
    except HTTPError as error:
        if error.code == 304:
            return None
        raise FeedError(f"HTTP {error.code} {error.reason}".strip()) from None
    except TimeoutError:
        raise FeedError(f"timed out after {FETCH_TIMEOUT} s") from None
    except URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise FeedError(f"timed out after {FETCH_TIMEOUT} s") from None
        raise FeedError(f"connection failed: {error.reason}") from None
    except (OSError, HTTPException) as error:  # reset, TLS trouble, a cut-off answer
        raise FeedError(f"connection failed: {type(error).__name__}: {error}") from None
    except ValueError as error:  # http.client: an invalid URL or header
        raise FeedError(f"bad request: {error}") from None


def _read_capped(response: Any) -> bytes:
    """The answer's body, refused past ``MAX_FEED_BYTES`` or ``FETCH_DEADLINE``."""
    started = time.monotonic()
    parts: list[bytes] = []
    size = 0
    while part := response.read(64 * 1024):
        size += len(part)
        if size > MAX_FEED_BYTES:
            raise FeedError(f"larger than {MAX_FEED_BYTES / (1024 * 1024):g} MB")
        if time.monotonic() - started > FETCH_DEADLINE:
            raise FeedError(f"still sending after {FETCH_DEADLINE} s")
        parts.append(part)
    return b"".join(parts)


def feed_parse(answer: _Answer) -> Any:
    """The parsed feed (feedparser's dict); ``FeedError`` if it is none."""
    if any(declaration in answer.body for declaration in _ENTITY_DECLARATIONS):
        raise FeedError("the document declares XML entities: refused")
    parsed = feedparser.parse(
        io.BytesIO(answer.body),  # a stream: feedparser never opens a URL or file for it
        response_headers={
            "content-location": answer.url,
            "content-type": answer.content_type or "application/xml",
        },
    )
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        raise FeedError("not an RSS or Atom feed" + (f": {problem}" if problem else ""))
    if parsed.get("bozo"):
        logger.info("feed %s: parsed leniently: %s", answer.url, parsed.get("bozo_exception"))
    return parsed


def _poll(feed: Feed, *, result: FeedPollResult, at: datetime) -> None:
    started = time.monotonic()
    answer = feed_fetch(feed)
    if answer is None:
        result.not_modified = True
        logger.info("feed %s: not modified", feed.pk)
        return
    parsed = feed_parse(answer)
    items = [entry_post(entry, feed=feed, at=at) for entry in parsed.entries]
    result.entries = len(items)
    for start in range(0, len(items), MAX_BATCH):
        ingested = posts_ingest(items=items[start : start + MAX_BATCH], source=f"feed:{feed.pk}")
        result.accepted += ingested.accepted
        result.duplicate += ingested.duplicate
        result.rejected += ingested.rejected
        for error in ingested.errors[:5]:
            logger.info(
                "feed %s: item %s rejected: %s", feed.pk, start + error["index"], error["reason"]
            )
    # Remembered only once the items are in: a poll that failed half-way asks again.
    result.etag, result.last_modified = answer.etag, answer.last_modified
    logger.info(
        "feed %s: %s entries, %s new, %s duplicate, %s rejected in %.1f s",
        feed.pk,
        result.entries,
        result.accepted,
        result.duplicate,
        result.rejected,
        time.monotonic() - started,
    )


# --- Entries as posts ---------------------------------------------------------------------


def html_to_text(fragment: str) -> str:
    """Text of an HTML fragment: tags dropped (block ends become line breaks), entities
    unescaped, runs of spaces made one."""
    # strip_tags keeps entities as they are (&amp; stays &amp;): unescape once after it.
    text = html.unescape(strip_tags(_BLOCK_END.sub("\n", fragment or "")))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def _entry_body(entry: Any) -> str:
    """The fullest body the entry has: its content (Atom content, RSS content:encoded),
    else its summary (RSS description, Atom summary)."""
    for content in entry.get("content") or []:
        if content.get("value"):
            return content["value"]
    return entry.get("summary") or ""


def _entry_time(entry: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        moment = entry.get(name)
        if moment:
            try:
                return datetime.fromtimestamp(timegm(moment), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def entry_post(entry: Any, *, feed: Feed, at: datetime) -> dict[str, Any]:
    """One feed entry as an item for ``posts_ingest``: its link, title and body as text,
    its author, and its publication time (the poll's when it has none, or one ahead of
    the poll: Chinese sites often label Beijing time as GMT). Figures are unknown: 0."""
    title = html_to_text(entry.get("title") or "")
    body = html_to_text(_entry_body(entry))
    if title and body.startswith(title):
        text = body
    else:
        text = "\n".join(part for part in (title, body) if part)
    published = _entry_time(entry)
    if published is None or published > at:
        published = at
    return {
        "platform": feed.platform,
        "source_type": feed.source_type,
        "url": (entry.get("link") or "").strip() or None,
        "author": html_to_text(entry.get("author") or "")[:AUTHOR_MAX_CHARS],
        "text": text[:TEXT_MAX_CHARS],
        "published_at": published.isoformat(),
        "reads": 0,
        "reposts": 0,
        "comments": 0,
        "likes": 0,
    }
