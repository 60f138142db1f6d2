"""Polling RSS and Atom feeds, against feeds served over real loopback HTTP: items become
posts once however often they are polled, 304 answers cost nothing, a failing feed keeps
its error and backs off, a disabled or leased feed is left alone."""

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from monitoring.intake import feeds
from monitoring.intake.feeds import LEASE, backoff, feed_poll, feeds_claim_due, feeds_poll_due
from monitoring.models import Feed, Post
from tests.helpers import SHANGHAI
from tests.loopback import QuietHandler, loopback_server
from tests.servers import free_port

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>某市新闻网</title><link>https://news.example.cn/</link><description>要闻</description>
  <item>
    <title>市一医院回应收费问题</title>
    <link>https://news.example.cn/a/1.html</link>
    <description>&lt;p&gt;有网友反映&lt;b&gt;重复收费&lt;/b&gt;&amp;nbsp;医院称将核查。&lt;/p&gt;</description>
    <dc:creator>记者 王某</dc:creator>
    <pubDate>Mon, 23 Nov 2026 01:30:00 GMT</pubDate>
  </item>
  <item>
    <title>卫健委发布通告</title>
    <link>https://news.example.cn/a/2.html#top</link>
    <content:encoded><![CDATA[<div>全文：<br/>关于规范收费的通告 &amp; 说明</div>]]>
    </content:encoded>
  </item>
</channel>
</rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>某论坛热帖</title><id>urn:forum</id><updated>2026-11-23T01:00:00Z</updated>
  <entry>
    <title type="html">网友：&lt;em&gt;排队&lt;/em&gt;三小时</title>
    <link rel="alternate" href="/t/100"/>
    <id>urn:forum:100</id>
    <updated>2026-11-23T09:15:00+08:00</updated>
    <author><name>路人甲</name></author>
    <summary type="html">&lt;p&gt;门诊排队太久&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>只有标题的帖子</title>
    <link href="https://forum.example.cn/t/101"/>
    <id>urn:forum:101</id>
    <published>2026-11-22T20:00:00Z</published>
    <updated>2026-11-23T01:00:00Z</updated>
  </entry>
</feed>"""

RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://old.example.cn/">
    <title>老站</title><link>https://old.example.cn/</link><description>RSS 1.0</description>
    <items><rdf:Seq><rdf:li resource="https://old.example.cn/n/7"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://old.example.cn/n/7">
    <title>RSS 1.0 的条目</title>
    <link>https://old.example.cn/n/7</link>
    <description>内容摘要</description>
    <dc:date>2026-11-23T08:00:00+08:00</dc:date>
  </item>
</rdf:RDF>"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<rss version="2.0"><channel><title>t</title><item><title>&lol2;</title>
<link>https://bomb.example.cn/1</link></item></channel></rss>"""


@dataclass
class Answer:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class FeedSite:
    """A web server on 127.0.0.1: answers each GET with the next scripted answer, then
    ``default``; a 304 when the request's If-None-Match is the default's ETag."""

    url: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    default: Answer = field(default_factory=Answer)
    released: threading.Event = field(default_factory=threading.Event)

    def serve(self, body: str | bytes, **headers: str) -> None:
        self.default = Answer(body=body, headers={"Content-Type": "application/xml", **headers})

    def next_answer(self, headers: dict[str, str]) -> Answer:
        if self.script:
            return self.script.popleft()
        etag = self.default.headers.get("ETag")
        if etag and headers.get("If-None-Match") == etag:
            return Answer(status=304, headers={"ETag": etag})
        return self.default


@pytest.fixture
def site():
    site = FeedSite()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            headers = dict(self.headers)
            site.requests.append({"path": self.path, **headers})
            answer = site.next_answer(headers)
            if answer.delay:
                site.released.wait(answer.delay)
            body = answer.body.encode() if isinstance(answer.body, str) else answer.body
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if answer.status != 304:
                    self.wfile.write(body)
            except OSError:
                pass  # the client gave up

    with loopback_server(Handler, on_stop=site.released) as url:
        site.url = url
        yield site


def a_feed(site: FeedSite, path: str = "/rss.xml", **fields: Any) -> Feed:
    values: dict[str, Any] = {
        "name": "某市新闻网",
        "url": site.url + path,
        "platform": "news_site",
        "source_type": "news_site",
        "interval_minutes": 10,
        "next_poll_at": NOW,
    }
    values.update(fields)
    return Feed.objects.create(**values)


def poll(at: datetime = NOW):
    with time_machine.travel(at, tick=False):
        return feeds_poll_due(now=at)


def fresh(feed: Feed) -> Feed:
    return Feed.objects.get(pk=feed.pk)


# Polling and storing -------------------------------------------------------------------


def test_an_rss_feed_is_polled_and_its_items_become_posts_of_the_feeds_platform(site):
    site.serve(RSS)
    feed = a_feed(site)

    summary = poll()

    assert (summary.claimed, summary.ok, summary.accepted) == (1, 1, 2)
    first = Post.objects.get(url="https://news.example.cn/a/1.html")
    # Title and description, HTML stripped and entities unescaped.
    assert first.text == "市一医院回应收费问题\n有网友反映重复收费 医院称将核查。"
    assert first.author == "记者 王某"
    assert first.published_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert (first.platform, first.source_type, first.source) == (
        "news_site",
        "news_site",
        f"feed:{feed.pk}",
    )
    assert (first.reads, first.reposts, first.comments, first.likes) == (0, 0, 0, 0)
    # content:encoded is the body when there is one; no date means the poll's time.
    second = Post.objects.get(url="https://news.example.cn/a/2.html")
    assert second.text == "卫健委发布通告\n全文：\n关于规范收费的通告 & 说明"
    assert second.published_at == NOW

    feed = fresh(feed)
    assert (feed.last_polled_at, feed.last_ok_at, feed.last_accepted) == (NOW, NOW, 2)
    assert (feed.failures, feed.last_error, feed.leased_until) == (0, "", None)
    assert feed.next_poll_at == NOW + timedelta(minutes=10)
    assert site.requests[0]["User-Agent"].startswith("Fenghuo-Feeds/")


def test_an_atom_feed_is_polled_with_relative_links_resolved(site):
    site.serve(ATOM, **{"Content-Type": "application/atom+xml; charset=utf-8"})
    a_feed(site, "/forum/atom.xml", name="某论坛", platform="forum", source_type="forum")

    assert poll().accepted == 2

    post = Post.objects.get(url=f"{site.url}/t/100")
    assert post.text == "网友：排队三小时\n门诊排队太久"
    assert (post.author, post.platform, post.source_type) == ("路人甲", "forum", "forum")
    assert post.published_at == datetime(2026, 11, 23, 1, 15, tzinfo=UTC)  # updated
    titled = Post.objects.get(url="https://forum.example.cn/t/101")
    assert titled.text == "只有标题的帖子"
    assert titled.published_at == datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # published


def test_an_rss_1_0_feed_is_polled(site):
    site.serve(RDF)
    a_feed(site, "/index.rdf")

    assert poll().accepted == 1
    post = Post.objects.get()
    assert (post.url, post.text) == ("https://old.example.cn/n/7", "RSS 1.0 的条目\n内容摘要")
    assert post.published_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_an_item_dated_ahead_of_the_poll_is_stored_at_the_polls_time(site):
    # Chinese sites often label Beijing time as GMT: eight hours "ahead".
    site.serve(RSS.replace("Mon, 23 Nov 2026 01:30:00 GMT", "Mon, 23 Nov 2026 09:30:00 GMT"))
    a_feed(site)

    assert poll().accepted == 2
    assert Post.objects.get(url="https://news.example.cn/a/1.html").published_at == NOW


def test_an_item_dated_before_the_window_is_rejected_alone_and_the_poll_succeeds(site):
    site.serve(RSS.replace("Mon, 23 Nov 2026 01:30:00 GMT", "Fri, 31 Dec 1999 01:30:00 GMT"))
    feed = a_feed(site)

    summary = poll()

    assert (summary.ok, summary.accepted, summary.rejected) == (1, 1, 1)
    assert not Post.objects.filter(url="https://news.example.cn/a/1.html").exists()
    assert (fresh(feed).failures, fresh(feed).last_error) == (0, "")


def test_a_second_poll_stores_nothing_new_and_only_updates(site):
    site.serve(RSS)
    feed = a_feed(site)
    poll()

    later = NOW + timedelta(minutes=10)
    summary = poll(later)

    assert (summary.ok, summary.accepted, summary.duplicate) == (1, 0, 2)
    assert Post.objects.count() == 2
    assert set(Post.objects.values_list("received_at", flat=True)) == {later}
    feed = fresh(feed)
    assert (feed.last_accepted, feed.last_ok_at) == (0, later)
    assert feed.next_poll_at == later + timedelta(minutes=10)


def test_a_feed_that_is_not_due_is_not_polled(site):
    site.serve(RSS)
    a_feed(site, next_poll_at=NOW + timedelta(seconds=1))

    assert poll().claimed == 0
    assert site.requests == []


def test_the_validators_are_sent_back_and_a_304_stores_nothing(site):
    site.serve(RSS, ETag='"v1"', **{"Last-Modified": "Mon, 23 Nov 2026 01:00:00 GMT"})
    feed = a_feed(site)
    poll()
    assert (fresh(feed).etag, fresh(feed).last_modified) == (
        '"v1"',
        "Mon, 23 Nov 2026 01:00:00 GMT",
    )

    later = NOW + timedelta(minutes=10)
    summary = poll(later)

    assert site.requests[1]["If-None-Match"] == '"v1"'
    assert site.requests[1]["If-Modified-Since"] == "Mon, 23 Nov 2026 01:00:00 GMT"
    assert (summary.ok, summary.accepted, summary.duplicate) == (1, 0, 0)
    assert set(Post.objects.values_list("received_at", flat=True)) == {NOW}  # not touched
    feed = fresh(feed)
    assert (feed.last_ok_at, feed.last_accepted, feed.etag) == (later, 0, '"v1"')
    assert feed.next_poll_at == later + timedelta(minutes=10)


# Failures ------------------------------------------------------------------------------


def test_a_feed_answering_500_keeps_the_error_and_backs_off_doubling(site, caplog):
    site.serve(RSS)
    site.script.extend([Answer(status=500, body="oops"), Answer(status=503, body="busy")])
    feed = a_feed(site)

    with caplog.at_level(logging.WARNING, logger="monitoring.feeds"):
        summary = poll()

    assert (summary.ok, summary.failed) == (0, 1)
    feed = fresh(feed)
    assert feed.failures == 1
    assert feed.last_error.startswith("HTTP 500")
    assert (feed.last_polled_at, feed.last_ok_at) == (NOW, None)
    assert feed.next_poll_at == NOW + timedelta(minutes=20)
    assert "HTTP 500" in caplog.text and str(feed.pk) in caplog.text

    second = NOW + timedelta(minutes=20)
    poll(second)
    feed = fresh(feed)
    assert (feed.failures, feed.last_error[:8]) == (2, "HTTP 503")
    assert feed.next_poll_at == second + timedelta(minutes=40)

    third = second + timedelta(minutes=40)
    assert poll(third).accepted == 2
    feed = fresh(feed)
    assert (feed.failures, feed.last_error, feed.last_ok_at) == (0, "", third)
    assert feed.next_poll_at == third + timedelta(minutes=10)


@pytest.mark.parametrize(
    "body",
    [
        "this is not a feed at all",
        "<html><body><p>维护中</p></body></html>",
        b"\x00\xff\xfe garbage \x89PNG",
    ],
)
def test_a_feed_answering_garbage_keeps_a_parse_error(site, body):
    site.serve(body, **{"Content-Type": "text/html"})
    feed = a_feed(site)

    assert poll().failed == 1
    feed = fresh(feed)
    assert feed.failures == 1
    assert feed.last_error.startswith("not an RSS or Atom feed")
    assert Post.objects.count() == 0


def test_a_document_declaring_entities_is_refused_unparsed(site):
    site.serve(BOMB)
    feed = a_feed(site)

    assert poll().failed == 1
    assert fresh(feed).last_error == "the document declares XML entities: refused"
    assert Post.objects.count() == 0


def test_a_feed_larger_than_the_cap_is_refused(site, monkeypatch):
    monkeypatch.setattr(feeds, "MAX_FEED_BYTES", 100)
    site.serve(RSS)
    feed = a_feed(site)

    assert poll().failed == 1
    assert fresh(feed).last_error.startswith("larger than")


def test_an_unreachable_feed_keeps_the_network_error():
    feed = Feed.objects.create(
        name="关停的站", url=f"http://127.0.0.1:{free_port()}/rss", next_poll_at=NOW
    )

    assert poll().failed == 1
    feed = fresh(feed)
    assert feed.last_error.startswith("connection failed")
    assert feed.next_poll_at == NOW + timedelta(minutes=20)


def test_a_feed_that_does_not_answer_in_time_times_out(site, monkeypatch):
    monkeypatch.setattr(feeds, "FETCH_TIMEOUT", 0.3)
    site.serve(RSS)
    site.script.append(Answer(body=RSS, delay=5))
    feed = a_feed(site)

    assert poll().failed == 1
    assert fresh(feed).last_error == "timed out after 0.3 s"


def test_the_back_off_doubles_per_failure_and_stops_at_a_day():
    ten = timedelta(minutes=10)
    assert [backoff(interval=ten, failures=n) for n in range(4)] == [ten, ten * 2, ten * 4, ten * 8]
    assert backoff(interval=ten, failures=50) == timedelta(days=1)
    # A feed polled less than daily is never polled more often for failing.
    assert backoff(interval=timedelta(days=2), failures=3) == timedelta(days=2)


# Who polls what ------------------------------------------------------------------------


def test_a_disabled_feed_is_not_polled(site):
    site.serve(RSS)
    feed = a_feed(site, active=False)

    assert poll().claimed == 0
    assert feed_poll(feed.pk, now=NOW).polled is False
    assert site.requests == []
    assert fresh(feed).last_polled_at is None


def test_the_lease_keeps_a_second_worker_off_a_feed_being_polled(site):
    site.serve(RSS)
    feed = a_feed(site)
    claimed, held_until = feeds_claim_due(now=NOW, batch=20)  # worker A, still polling
    assert claimed == [feed.pk] and held_until == NOW + LEASE

    assert poll(NOW + timedelta(seconds=30)).claimed == 0  # worker B
    assert feed_poll(feed.pk, now=NOW + timedelta(seconds=30)).polled is False  # "poll now"
    assert site.requests == []

    # Worker A finishes under its lease.
    assert feed_poll(feed.pk, held_until=held_until, now=NOW).ok
    assert len(site.requests) == 1
    assert fresh(feed).leased_until is None


def test_a_lease_left_by_a_dead_worker_expires_and_the_feed_is_polled_again(site):
    site.serve(RSS)
    feed = a_feed(site)
    feeds_claim_due(now=NOW, batch=20)  # the worker dies here

    assert poll(NOW + LEASE - timedelta(seconds=1)).claimed == 0
    summary = poll(NOW + LEASE)

    assert (summary.claimed, summary.accepted) == (1, 2)
    assert fresh(feed).leased_until is None


def test_a_run_polls_every_due_feed_in_batches(site):
    site.serve(RSS)
    for number in range(5):
        a_feed(site, f"/rss/{number}.xml", name=f"站{number}")

    summary = feeds_poll_due(now=NOW, batch=2)

    assert (summary.claimed, summary.ok, summary.accepted, summary.duplicate) == (5, 5, 2, 8)
    assert len(site.requests) == 5


def test_polling_is_scheduled_by_beat_every_minute_by_default():
    from monitoring.tasks import poll_feeds_task

    entry = next(
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "monitoring.poll_feeds"
    )
    assert entry["schedule"] == settings.FENGHUO_FEED_POLL_INTERVAL == 60
    assert poll_feeds_task.name == "monitoring.poll_feeds"


# The admin -----------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.org", "x")


def test_the_admin_lists_feeds_with_their_state_and_polls_on_demand(client, site, superuser):
    site.serve(RSS)
    feed = a_feed(site, next_poll_at=NOW + timedelta(hours=1))
    broken = Feed.objects.create(
        name="坏的源",
        url=f"http://127.0.0.1:{free_port()}/x",
        next_poll_at=NOW + timedelta(hours=1),
    )
    client.force_login(superuser)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # asserts English
    changelist = reverse("admin:monitoring_feed_changelist")

    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            changelist,
            {"action": "poll_now", "_selected_action": [feed.pk, broken.pk]},
            follow=True,
        )

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "2 feeds polled, 1 failed, 2 new posts." in page
    assert "坏的源: connection failed" in page
    assert Post.objects.count() == 2
    assert (fresh(feed).last_ok_at, fresh(broken).failures) == (NOW, 1)
    assert "connection failed" in client.get(changelist).content.decode()


def test_the_admin_shows_imports_read_only(client, superuser):
    client.force_login(superuser)

    assert client.get(reverse("admin:monitoring_importjob_changelist")).status_code == 200
    assert client.get(reverse("admin:monitoring_importjob_add")).status_code == 403
