"""Nothing stored is left unmatched (issue 12, rows 1 and 2): a post is stored with a mark
that its grouping and matching clear; the beat completes what a dead process left, once;
and a date outside the believable window is refused on its own, never failing its batch,
import or feed, nor overflowing a window later."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from monitoring.intake.batches import COMPLETE_GRACE, posts_ingest
from monitoring.models import Post, PostMatch, Topic
from monitoring.text.matching import rule_create
from monitoring.topics import completion as intake
from monitoring.topics.completion import posts_complete_pending
from tests.helpers import SHANGHAI, at

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
ANGRY = "市第一医院重复收费太过分了，患者投诉无门，第{n}条：{detail}"
DETAILS = [
    "缴费单据重复",
    "检查费收了两次",
    "退费遥遥无期",
    "客服电话打不通",
    "窗口互相推诿",
    "收费项目不明",
    "药费多收",
    "床位费乱收",
]


@pytest.fixture(autouse=True)
def clock():
    with at(NOW) as traveller:
        yield traveller


@pytest.fixture
def rule(analyst, health_unit):
    return rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)


def a_post(n: int, **fields: Any) -> dict[str, Any]:
    post = {
        "platform": "weibo",
        "url": f"https://weibo.com/p/{n}",
        "text": ANGRY.format(n=n, detail=DETAILS[n % len(DETAILS)]),
        "published_at": (NOW - timedelta(minutes=n)).isoformat(),
        "reads": n,
    }
    post.update(fields)
    return post


class Died(BaseException):
    """The process dying right after the batch was committed."""


def matches() -> set[tuple[str, int]]:
    return set(PostMatch.objects.values_list("post__url", "rule_id"))


def test_posts_stored_by_a_process_that_died_before_matching_are_matched_by_the_beat(
    rule,
    monkeypatch,
    clock,
):
    posts = [a_post(n) for n in range(8)]

    def die(**kwargs: Any) -> None:
        raise Died

    monkeypatch.setattr(intake, "posts_complete", die)
    with pytest.raises(Died):
        posts_ingest(items=posts)
    monkeypatch.undo()
    assert Post.objects.filter(complete_after=NOW + COMPLETE_GRACE).count() == 8
    assert not PostMatch.objects.exists()
    # The crawler sends the batch again: all duplicates, as the posts are stored.
    assert posts_ingest(items=posts).duplicate == 8

    clock.move_to(NOW + COMPLETE_GRACE - timedelta(seconds=1))
    assert posts_complete_pending().posts == 0  # still the batch's own to finish
    clock.move_to(NOW + COMPLETE_GRACE)
    done = posts_complete_pending()

    assert (done.posts, done.matches, done.failed) == (8, 8, 0)
    assert matches() == {(post["url"], rule.pk) for post in posts}
    assert not Post.objects.filter(complete_after__isnull=False).exists()
    assert PostMatch.objects.filter(topic__isnull=True).count() == 0


def test_completing_posts_again_adds_no_match_and_leaves_the_topics_alone(rule, clock):
    posts_ingest(items=[a_post(n) for n in range(6)])
    before = (matches(), list(Topic.objects.values_list("pk", "revision", "profile")))
    assert len(before[0]) == 6

    # As if a second worker had them too: marked again, completed again.
    Post.objects.update(complete_after=NOW)
    assert posts_complete_pending().posts == 6

    assert PostMatch.objects.count() == 6
    assert (matches(), list(Topic.objects.values_list("pk", "revision", "profile"))) == before


def test_the_beat_completes_in_batches_until_none_is_left(rule):
    posts_ingest(items=[a_post(n) for n in range(7)])
    PostMatch.objects.all().delete()
    Post.objects.update(complete_after=NOW)

    done = posts_complete_pending(batch=3)

    assert done.posts == 7 and PostMatch.objects.count() == 7


def test_a_post_that_fails_on_its_own_is_put_off_and_the_others_are_completed(
    rule,
    monkeypatch,
    clock,
):
    posts_ingest(items=[a_post(n) for n in range(5)])
    PostMatch.objects.all().delete()
    Post.objects.update(complete_after=NOW)
    poison = Post.objects.get(url="https://weibo.com/p/3")
    real_match = intake.posts_match

    def match(posts, **kwargs):
        if any(post.pk == poison.pk for post in posts):
            raise ValueError("a bug that only this post trips")
        return real_match(posts, **kwargs)

    monkeypatch.setattr(intake, "posts_match", match)
    done = posts_complete_pending()

    assert (done.posts, done.failed) == (4, 1)
    assert PostMatch.objects.count() == 4
    poison.refresh_from_db()
    assert poison.complete_after == NOW + intake.COMPLETE_RETRY
    clock.move_to(NOW + intake.COMPLETE_RETRY - timedelta(seconds=1))
    assert posts_complete_pending().posts == 0  # it does not hold up every round


def test_the_beat_runs_the_completion_at_the_sweep_interval():
    entry = settings.CELERY_BEAT_SCHEDULE["post-completion"]
    assert entry["task"] == "monitoring.complete_pending_posts"
    assert entry["schedule"] == settings.FENGHUO_SWEEP_INTERVAL


def test_the_completion_task_calls_the_service(rule, clock):
    from monitoring.tasks import complete_pending_posts_task

    posts_ingest(items=[a_post(1)])
    PostMatch.objects.all().delete()
    Post.objects.update(complete_after=NOW)

    complete_pending_posts_task.apply()

    assert PostMatch.objects.count() == 1


# --- Dates outside the window (row 2) ------------------------------------------------------


@pytest.mark.parametrize(
    "published_at",
    [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+09:00",
        "1999-12-31T23:59:59+08:00",
        "9999-12-31T23:59:59-05:00",
        "2026-11-24T15:00:01+08:00",
    ],
)
def test_a_post_dated_outside_the_window_is_refused_alone(rule, published_at):
    result = posts_ingest(items=[a_post(1), a_post(2, published_at=published_at), a_post(3)])

    assert (result.accepted, result.rejected) == (2, 1)
    assert result.errors[0]["index"] == 1 and set(result.errors[0]["fields"]) == {"published_at"}
    assert len(matches()) == 2


@pytest.mark.parametrize("published_at", ["2000-01-01T00:00:00+08:00", "2026-11-24T15:00:00+08:00"])
def test_the_edges_of_the_window_are_inside(db, published_at):
    assert posts_ingest(items=[a_post(1, published_at=published_at)]).accepted == 1


def test_the_window_follows_the_settings(db, settings):
    settings.FENGHUO_EARLIEST_DATE = "2020-01-01"
    settings.FENGHUO_FUTURE_TOLERANCE_HOURS = 1

    result = posts_ingest(
        items=[
            a_post(1, published_at="2019-12-31T23:00:00+08:00"),
            a_post(2, published_at="2026-11-23T16:00:01+08:00"),
            a_post(3, published_at="2026-11-23T16:00:00+08:00"),
        ]
    )

    assert (result.accepted, result.rejected) == (1, 2)


def test_posts_stored_at_the_edge_of_time_do_not_overflow_grouping_or_topics(rule):
    # Stored before dates were bounded: year 1 and year 9999, copies of the same text.
    text = ANGRY.format(n=1, detail=DETAILS[1])
    for n, moment in (
        (90, datetime(1, 1, 1, tzinfo=UTC)),
        (91, datetime(9999, 12, 31, 23, tzinfo=UTC)),
    ):
        posts_ingest(items=[a_post(n, text=text)])
        Post.objects.filter(url=f"https://weibo.com/p/{n}").update(published_at=moment)
    topic = Topic.objects.get()
    Topic.objects.filter(pk=topic.pk).update(
        first_post_at=datetime(1, 1, 1, tzinfo=UTC), last_post_at=datetime(9999, 12, 31, tzinfo=UTC)
    )

    result = posts_ingest(items=[a_post(1, text=text)])
    # And a stored post of year 1 still waiting for its matching: grouped and matched.
    Post.objects.filter(url="https://weibo.com/p/90").update(complete_after=NOW)
    PostMatch.objects.filter(post__url="https://weibo.com/p/90").delete()
    done = posts_complete_pending()

    assert result.accepted == 1 and (done.posts, done.failed) == (1, 0)
    assert {("https://weibo.com/p/1", rule.pk), ("https://weibo.com/p/90", rule.pk)} <= matches()
