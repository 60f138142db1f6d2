"""Monitoring in the background on real infrastructure: a Celery worker with its beat on a
real Redis broker and PostgreSQL, and an RSS feed served on loopback. The beat polls the
feed, the intake stores and matches the posts, and the topic refresh alerts the desk of the
negative wave and of the spike: each alert once per recipient and channel, however many
polls and refreshes run."""

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.integration import Database, django_env, run_command, wait_for, workers
from tests.loopback import QuietHandler, loopback_server
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.integration
POSTS = 12
TIMEOUT = 60.0
ANGRY = "市第一医院重复收费太过分了，患者投诉无门，强烈不满，必须严查！网友爆料第{n}条：{detail}"
DETAILS = [
    "缴费单据重复",
    "检查费收了两次",
    "退费遥遥无期",
    "客服电话打不通",
    "窗口互相推诿",
    "收费项目不明",
    "药费多收",
    "床位费乱收",
    "挂号费翻倍",
    "材料费不透明",
    "押金不退",
    "发票对不上",
]


def _rss(now: datetime) -> bytes:
    items = "".join(
        f"<item><title>{ANGRY.format(n=n, detail=DETAILS[n])}</title>"
        f"<link>https://bbs.example.cn/t/{n}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=n + 1))}</pubDate></item>"
        for n in range(POSTS)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>某市论坛</title><link>https://bbs.example.cn/</link>{items}"
        f"</channel></rss>"
    ).encode()


@pytest.fixture
def feed_url() -> Iterator[str]:
    body = _rss(datetime.now(UTC))

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with loopback_server(Handler) as url:
        yield f"{url}/rss.xml"


def test_the_beat_polls_a_feed_and_alerts_the_desk_once(feed_url):
    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-monitoring-"))
    try:
        with PostgresServer() as postgres, RedisServer() as redis:
            env = django_env(
                database_url=postgres.url,
                data_dir=workdir,
                broker_url=redis.url,
                extra={"FENGHUO_FEED_POLL_INTERVAL": "1"},
            )
            run_command(["prepare"], env=env)
            run_command(["watch", feed_url], env=env)
            db = Database(postgres.url)
            try:
                with workers(env=env, workdir=workdir) as start:
                    start("monitoring")
                    wait_for(
                        lambda: (
                            db.scalar(
                                "SELECT count(*) FROM monitoring_postmatch"
                                " WHERE topic_id IS NOT NULL"
                            )
                            == POSTS
                        ),
                        timeout=TIMEOUT,
                        what="the feed's posts matched",
                    )
                    wait_for(
                        lambda: (
                            db.scalar(
                                "SELECT count(DISTINCT kind) FROM notifications_notification "
                                "WHERE kind IN ('topic_negative', 'topic_spike')"
                            )
                            == 2
                        ),
                        timeout=TIMEOUT,
                        what="the negative and spike alerts",
                    )
                    # The feed is due again: the beat polls it once more (the same posts,
                    # now duplicates) and the refresh runs on.
                    polled = db.scalar("SELECT last_polled_at FROM monitoring_feed")
                    db.rows("UPDATE monitoring_feed SET next_poll_at = now()")
                    wait_for(
                        lambda: db.scalar("SELECT last_polled_at FROM monitoring_feed") > polled,
                        timeout=TIMEOUT,
                        what="another poll",
                    )
                assert db.scalar("SELECT count(*) FROM monitoring_post") == POSTS
                assert db.scalar("SELECT count(*) FROM monitoring_topic") == 1
                rows = db.rows(
                    "SELECT kind, recipient_id, channel, count(*) "
                    "FROM notifications_notification "
                    "WHERE kind IN ('topic_negative', 'topic_spike') "
                    "GROUP BY kind, recipient_id, channel"
                )
                assert rows and all(count == 1 for *_, count in rows), rows
                # The desk: the duty officer on duty and the analyst, in the app.
                in_app = {
                    (kind, recipient) for kind, recipient, channel, _ in rows if channel == "in_app"
                }
                people = dict(db.rows("SELECT username, id FROM organisation_user"))
                assert {
                    ("topic_negative", people["duty"]),
                    ("topic_negative", people["analyst"]),
                    ("topic_spike", people["duty"]),
                } <= in_app
            finally:
                db.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
