"""The post intake (POST /api/v1/posts/) and the post stream (GET /api/v1/posts/)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from monitoring.intake.batches import MAX_BATCH
from monitoring.models import Post

POSTS = "/api/v1/posts/"


def a_post(number: int = 1, **overrides: Any) -> dict[str, Any]:
    post: dict[str, Any] = {
        "platform": "weibo",
        "url": f"https://weibo.com/u/1/{number}",
        "author": "网友甲",
        "text": f"医院重复收费，第{number}帖",
        "published_at": "2026-11-20T08:30:00+08:00",
        "reads": 100,
        "reposts": 10,
        "comments": 5,
        "likes": 20,
        "source_type": "social_account",
    }
    post.update(overrides)
    return post


def ingest(client, body) -> dict[str, Any]:
    answer = client.post(POSTS, body, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.fixture
def duty_api(api_for, duty):
    return api_for(duty)


def test_a_good_batch_is_accepted_and_stored_with_aware_times(duty_api):
    answer = ingest(
        duty_api,
        [
            a_post(1),
            a_post(2, published_at="2026-11-20T09:00:00"),
            a_post(3, url=None, source_type=None),
        ],
    )

    assert answer == {"accepted": 3, "duplicate": 0, "rejected": 0, "errors": []}
    assert Post.objects.count() == 3
    first = Post.objects.get(url="https://weibo.com/u/1/1")
    assert (first.platform, first.author, first.reads, first.likes) == ("weibo", "网友甲", 100, 20)
    assert first.published_at == datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    # Without an offset, the time is the settings' time zone (Asia/Shanghai, UTC+8).
    naive = Post.objects.get(url="https://weibo.com/u/1/2")
    assert naive.published_at == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    without_url = Post.objects.get(url__isnull=True)
    assert without_url.source_type == "other" and without_url.source == "api"


def test_the_batch_may_come_wrapped_as_posts(duty_api):
    assert ingest(duty_api, {"posts": [a_post(1)]})["accepted"] == 1


def test_a_post_sent_again_is_a_duplicate_and_its_figures_only_grow(duty_api):
    ingest(duty_api, [a_post(1, reads=100, reposts=10, author="")])

    answer = ingest(duty_api, [a_post(1, reads=500, reposts=3, comments=9, author="网友甲")])

    assert answer == {"accepted": 0, "duplicate": 1, "rejected": 0, "errors": []}
    post = Post.objects.get()
    assert (post.reads, post.reposts, post.comments) == (500, 10, 9)
    assert post.author == "网友甲"  # filled in, as it was empty
    assert post.received_at >= post.first_seen_at


def test_a_post_without_url_is_known_by_its_normalised_text(duty_api):
    ingest(duty_api, [a_post(1, url=None, text="医院  重复收费！", reads=5)])

    # Full-width letters and other whitespace: NFKC and collapsed spaces make it the same.
    answer = ingest(
        duty_api,
        [
            a_post(1, url="", text=" 医院\n重复收费! ", reads=50),
            a_post(1, url=None, text="另一条帖子"),
        ],
    )

    assert (answer["accepted"], answer["duplicate"]) == (1, 1)
    assert Post.objects.count() == 2
    assert Post.objects.get(text="医院  重复收费！").reads == 50


def test_the_same_url_twice_in_one_batch_is_stored_once_with_the_larger_figures(duty_api):
    answer = ingest(duty_api, [a_post(1, reads=10, likes=90), a_post(1, reads=70, likes=1)])

    assert (answer["accepted"], answer["duplicate"]) == (1, 1)
    post = Post.objects.get()
    assert (post.reads, post.likes) == (70, 90)


def test_urls_differing_in_fragment_host_case_or_spaces_are_the_same_post(duty_api):
    ingest(duty_api, [a_post(url="https://weibo.com/u/1/7?from=feed")])

    answer = ingest(
        duty_api,
        [
            a_post(url="  HTTPS://Weibo.COM/u/1/7?from=feed#comments "),
            a_post(url="https://weibo.com:443/u/1/7?from=feed"),
        ],
    )

    assert (answer["accepted"], answer["duplicate"]) == (0, 2)
    assert list(Post.objects.values_list("url", flat=True)) == ["https://weibo.com/u/1/7?from=feed"]


def test_a_different_path_case_is_a_different_post(duty_api):
    answer = ingest(
        duty_api, [a_post(url="https://weibo.com/u/A"), a_post(url="https://weibo.com/u/a")]
    )

    assert answer["accepted"] == 2


@pytest.mark.parametrize(
    "body", [{"platform": "weibo"}, "posts", 7, None, {"posts": "x"}, {"posts": [], "more": 1}]
)
def test_a_body_that_is_not_a_list_of_posts_is_refused(duty_api, body):
    answer = duty_api.post(POSTS, body, format="json")

    assert answer.status_code == 400
    assert Post.objects.count() == 0


def test_malformed_items_are_rejected_with_index_and_reason_while_good_ones_are_stored(
    duty_api,
):
    batch = [
        a_post(1),
        "not a post",
        {k: v for k, v in a_post(3).items() if k != "platform"},
        a_post(4, reads=-1),
        a_post(5, published_at="yesterday"),
        a_post(6, url="ftp://example.com/6"),
        a_post(7, source_type="blog"),
        a_post(8, reposts="12", comments=3.0),  # numbers as crawlers write them
        a_post(9, url=None, text="   "),
        a_post(10, text=["a list"]),
        a_post(11, reads=True),
        a_post(12, title="a field we do not know"),
        a_post(13, text="长" * 20_001),
        a_post(14, published_at=(timezone.now() + timedelta(days=2)).isoformat()),
        a_post(15, reads=2**63),
        [a_post(16)],
        a_post(17),
        a_post(18, text="NUL\x00inside"),
        a_post(19, author="\ud800"),  # half a surrogate pair, as JSON allows
        a_post(20, url="https://weibo.com/\x00"),
        a_post(21, source_type={"type": "social_account"}),  # an object: not hashable
        a_post(22, platform=["weibo"], author={"name": "网友"}),
        a_post(23, published_at="0001-01-01T00:00:00"),
        a_post(24, published_at="1999-12-31T23:59:59+08:00"),
        a_post(25, published_at={"at": "2026-11-20"}, reads=[1]),
    ]

    # json.dumps escapes the lone surrogate as \ud800, as a client's JSON would.
    raw = duty_api.post(POSTS, json.dumps(batch), content_type="application/json")

    assert raw.status_code == 200
    answer = raw.json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (3, 0, 22)
    bad_field = {error["index"]: set(error["fields"]) for error in answer["errors"]}
    assert bad_field == {
        1: {"non_field_errors"},
        2: {"platform"},
        3: {"reads"},
        4: {"published_at"},
        5: {"url"},
        6: {"source_type"},
        8: {"text"},
        9: {"text"},
        10: {"reads"},
        11: {"title"},
        12: {"text"},
        13: {"published_at"},
        14: {"reads"},
        15: {"non_field_errors"},
        17: {"text"},
        18: {"author"},
        19: {"url"},
        20: {"source_type"},
        21: {"platform", "author"},
        22: {"published_at"},
        23: {"published_at"},
        24: {"published_at", "reads"},
    }
    reasons = {error["index"]: error["fields"] for error in answer["errors"]}
    # The API answers in the interface's language, Chinese first.
    assert reasons[13]["published_at"] == ["晚于现在起 24 小时：请检查日期和时区。"]
    assert (
        reasons[22]["published_at"]
        == reasons[23]["published_at"]
        == ["早于 2000-01-01：请检查年份。"]
    )
    for error in answer["errors"]:
        assert error["reason"]
    assert "platform" in answer["errors"][1]["reason"]
    assert sorted(Post.objects.values_list("url", flat=True)) == [
        "https://weibo.com/u/1/1",
        "https://weibo.com/u/1/17",
        "https://weibo.com/u/1/8",
    ]
    assert Post.objects.get(url="https://weibo.com/u/1/8").reposts == 12


def test_a_batch_larger_than_the_limit_is_refused_whole(duty_api):
    answer = duty_api.post(POSTS, [a_post(n) for n in range(MAX_BATCH + 1)], format="json")

    assert answer.status_code == 400
    assert Post.objects.count() == 0


def test_a_full_batch_at_the_limit_is_stored(duty_api):
    answer = ingest(duty_api, [a_post(n) for n in range(MAX_BATCH)])

    assert answer["accepted"] == MAX_BATCH
    assert Post.objects.count() == MAX_BATCH


@pytest.mark.parametrize("persona", ["analyst", "office", "admin"])
def test_the_monitoring_desk_and_crawler_accounts_may_feed_posts(api_for, people, persona):
    assert ingest(api_for(people[persona]), [a_post()])["accepted"] == 1


@pytest.mark.parametrize("persona", ["spokesperson", "liaison"])
def test_other_roles_may_not_feed_posts(api_for, people, persona):
    answer = api_for(people[persona]).post(POSTS, [a_post()], format="json")

    assert answer.status_code == 403
    assert Post.objects.count() == 0


def test_nobody_logged_in_may_feed_or_read_posts(db):
    from rest_framework.test import APIClient

    assert APIClient().post(POSTS, [a_post()], format="json").status_code in (401, 403)
    assert APIClient().get(POSTS).status_code in (401, 403)


def test_the_stream_lists_newest_published_first_each_post_scored_on_intake(
    duty_api,
    api_for,
    spokesperson,
):
    ingest(
        duty_api,
        [
            a_post(
                1,
                published_at="2026-11-20T08:00:00+08:00",
                text="医院乱收费，患者投诉无门，太气愤了，强烈不满！",
            ),
            a_post(
                2,
                published_at="2026-11-20T10:00:00+08:00",
                text="医护人员耐心细致，服务周到，非常满意，点赞！",
            ),
        ],
    )

    answer = api_for(spokesperson).get(POSTS)

    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [item["url"] for item in results] == [
        "https://weibo.com/u/1/2",
        "https://weibo.com/u/1/1",
    ]
    assert set(results[0]) == {
        "id",
        "platform",
        "url",
        "author",
        "text",
        "published_at",
        "reads",
        "reposts",
        "comments",
        "likes",
        "source_type",
        "sentiment",
        "sentiment_score",
        "source_post",
        "sensitive_terms",
        "sensitive_category",
    }
    assert results[0]["sentiment"] == "positive" and results[0]["sentiment_score"] > 0
    assert results[1]["sentiment"] == "negative" and results[1]["sentiment_score"] < 0


def test_the_stream_filters_by_platform_sentiment_source_type_and_time(duty_api):
    ingest(
        duty_api,
        [
            a_post(
                1,
                platform="weibo",
                source_type="social_account",
                published_at="2026-11-19T08:00:00+08:00",
            ),
            a_post(
                2,
                platform="douyin",
                source_type="social_account",
                published_at="2026-11-20T08:00:00+08:00",
            ),
            a_post(
                3,
                platform="news_site",
                source_type="mainstream_media",
                published_at="2026-11-21T08:00:00+08:00",
            ),
        ],
    )
    Post.objects.filter(url__endswith="/2").update(sentiment="positive")

    def urls(**params) -> list[str]:
        answer = duty_api.get(POSTS, params)
        assert answer.status_code == 200
        return [item["url"].rsplit("/", 1)[1] for item in answer.json()["results"]]

    assert urls(platform="douyin") == ["2"]
    assert urls(sentiment="positive") == ["2"]
    assert urls(source_type="social_account") == ["2", "1"]
    assert urls(since="2026-11-20T00:00:00+08:00") == ["3", "2"]
    assert urls(until="2026-11-20T00:00:00+08:00") == ["1"]
    assert urls(platform="") == ["3", "2", "1"]  # an empty parameter is no filter


@pytest.mark.parametrize(
    "params", [{"platform": "myspace"}, {"sentiment": "angry"}, {"since": "last week"}]
)
def test_a_wrong_filter_is_a_400(duty_api, params):
    assert duty_api.get(POSTS, params).status_code == 400


def test_the_stream_is_paginated(duty_api, settings):
    ingest(duty_api, [a_post(n) for n in range(60)])

    first = duty_api.get(POSTS).json()
    second = duty_api.get(POSTS, {"page": 2}).json()

    assert first["count"] == 60 and len(first["results"]) == 50 and first["next"]
    assert len(second["results"]) == 10 and second["next"] is None
    ids = {item["id"] for item in first["results"]} | {item["id"] for item in second["results"]}
    assert len(ids) == 60


def test_stream_query_count_does_not_grow_with_the_number_of_posts(
    duty_api,
    django_assert_num_queries,
):
    ingest(duty_api, [a_post(0)])
    # token and person, count, posts
    with django_assert_num_queries(3):
        assert len(duty_api.get(POSTS).json()["results"]) == 1
    ingest(duty_api, [a_post(n) for n in range(1, 20)])
    with django_assert_num_queries(3):
        assert len(duty_api.get(POSTS).json()["results"]) == 20


@pytest.mark.django_db(transaction=True)
def test_four_crawlers_sending_the_same_and_overlapping_batches_never_fail(analyst, health_unit):
    """Row 13 of issue 12: on PostgreSQL two batches of the same new posts deadlocked and
    one crawler got an error. 4 threads, 50 rounds: two send the same 40 posts (in opposite
    orders), two send batches overlapping them by half; every post is near-duplicate of the
    others and matches a rule, so grouping and topics run concurrently too."""
    import threading

    from django.db import connection

    from monitoring.intake.batches import posts_ingest
    from monitoring.models import PostMatch
    from monitoring.text.matching import rule_create

    rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    spans = [range(0, 40), range(0, 40), range(20, 60), range(40, 80)]
    for round_ in range(50):
        batches = [
            [
                a_post(n, url=f"https://weibo.com/r{round_}/{n}", reads=n * (sender + 1))
                for n in (span if sender % 2 == 0 else reversed(span))
            ]
            for sender, span in enumerate(spans)
        ]
        most = {}
        for batch in batches:
            for post in batch:
                most[post["url"]] = max(most.get(post["url"], 0), post["reads"])
        barrier = threading.Barrier(len(batches))
        outcomes: dict[int, Any] = {}

        def send(sender: int, barrier=barrier, outcomes=outcomes, batches=batches) -> None:
            try:
                barrier.wait(timeout=10)
                outcomes[sender] = posts_ingest(items=batches[sender], source=str(sender))
            except Exception as error:
                outcomes[sender] = error
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(sender,)) for sender in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        results = list(outcomes.values())
        assert len(results) == 4 and not any(isinstance(r, Exception) for r in results), (
            round_,
            outcomes,
        )
        assert sum(result.accepted for result in results) == len(most) == 80
        assert sum(result.duplicate for result in results) == 160 - 80
        stored = Post.objects.filter(url__startswith=f"https://weibo.com/r{round_}/")
        assert dict(stored.values_list("url", "reads")) == most
        assert not stored.filter(complete_after__isnull=False).exists()
        assert PostMatch.objects.filter(post__in=stored).count() == 80


@pytest.mark.parametrize(
    "model",
    [
        "monitoring/post",
        "monitoring/watchrule",
        "monitoring/postmatch",
        "notifications/notification",
    ],
)
def test_records_written_only_by_services_are_read_only_in_the_admin(client, people, model):
    client.force_login(people["admin"])
    assert client.get(f"/admin/{model}/").status_code == 200
    assert client.get(f"/admin/{model}/add/").status_code == 403
