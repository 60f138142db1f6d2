"""core.bulk.bulk_insert: the rows it writes are the rows bulk_create writes."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from core.bulk import bulk_insert
from monitoring.models import Post, Topic
from monitoring.text.matching import rule_create
from tests.helpers import SHANGHAI

MOMENT = datetime(2026, 11, 23, 15, 30, 12, 345678, tzinfo=SHANGHAI)


def _posts(prefix: str) -> list[Post]:
    return [
        Post(
            platform="weibo",
            url=f"https://weibo.com/{prefix}/{n}",
            author=f"网友{n}" if n % 3 else f"网\\友\t{n}\r\n\\N",
            text=f"第{n}条：医院乱收费，投诉无门！",
            content_hash=f"{prefix}{n:039d}",
            published_at=MOMENT - timedelta(minutes=n),
            reads=n * 1000,
            reposts=9_223_372_036_854_775_807 if n == 2 else n,
            comments=0,
            likes=n,
            source_type="social_account",
            sentiment="negative",
            sentiment_score=-0.7311,
            source="bench",
            simhash=-(2**63) if n == 1 else 2**63 - 1 - n,
            simhash_band0=n,
            simhash_band1=None,
            simhash_band2=65535,
            simhash_band3=0,
            sensitive_terms=["乱收费", "投诉\t无门\\", {"引号": '"x"'}] if n % 2 else [],
            sensitive_category="inquiry" if n % 2 else "",
            first_seen_at=MOMENT,
            received_at=MOMENT,
            updated_at=MOMENT,
        )
        for n in range(1, 120)
    ]


def _rows(posts: list[Post]) -> list[dict]:
    fresh = Post.objects.filter(pk__in=[post.pk for post in posts]).order_by("pk")
    return [
        {
            key: value
            for key, value in model_to_dict(post).items()
            if key not in {"id", "url", "content_hash"}
        }
        for post in fresh
    ]


@pytest.mark.django_db
def test_bulk_insert_writes_what_bulk_create_writes():
    created = Post.objects.bulk_create(_posts("a"))
    inserted = bulk_insert(_posts("b"))

    assert all(post.pk is not None and not post._state.adding for post in inserted)
    assert len({post.pk for post in inserted}) == len(inserted)
    # The ids answered are the rows' own, in order.
    for post in inserted:
        assert Post.objects.get(pk=post.pk).url == post.url
    assert _rows(inserted) == _rows(created)
    assert Post.objects.get(url="https://weibo.com/b/3").published_at == MOMENT - timedelta(
        minutes=3
    )


@pytest.mark.django_db
def test_bulk_insert_of_nothing_writes_nothing():
    assert bulk_insert([]) == []
    assert not Post.objects.exists()


@pytest.mark.django_db
def test_bulk_insert_ignoring_conflicts_leaves_the_stored_row_alone():
    stored = bulk_insert(_posts("c")[:1])[0]
    again = _posts("c")[:3]
    again[0].author = "someone else"

    bulk_insert(again, ignore_conflicts=True)

    assert Post.objects.filter(url__startswith="https://weibo.com/c/").count() == 3
    assert Post.objects.get(pk=stored.pk).author == stored.author


@pytest.mark.django_db
def test_a_naive_moment_is_stored_as_bulk_create_stores_it():
    naive = datetime(2026, 11, 23, 15, 30)
    created, inserted = _posts("d")[:1], _posts("e")[:1]
    created[0].published_at = inserted[0].published_at = naive

    with pytest.warns(RuntimeWarning, match="naive datetime"):
        Post.objects.bulk_create(created)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        bulk_insert(inserted)

    assert (
        Post.objects.get(pk=inserted[0].pk).published_at
        == Post.objects.get(pk=created[0].pk).published_at
        == naive.replace(tzinfo=MOMENT.tzinfo)
    )


@pytest.mark.django_db
def test_topics_with_decimals_links_and_chinese_json_are_stored_as_bulk_create_stores_them(
    analyst, health_unit, log_incident
):
    rule = rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    incidents = [log_incident(), log_incident()]

    def topics(prefix: str) -> list[Topic]:
        return [
            Topic(
                rule=rule,
                title=f"{prefix}医院收费{n}",
                keywords=["医院", "收费\\"],
                profile={"医院": 2.0, "收\t费": 1.5, '引"号': n},
                negative_share=Decimal("0.4567") if n else Decimal("1"),
                incident=incidents[n] if n < 2 and prefix == "b" else None,
                platforms={"weibo": n},
                categories={},
                first_post_at=MOMENT,
                last_post_at=MOMENT,
                created_at=MOMENT,
                changed_at=MOMENT,
            )
            for n in range(3)
        ]

    created = Topic.objects.bulk_create(topics("a"))
    inserted = bulk_insert(topics("b"))

    def rows(found: list[Topic]) -> list[dict]:
        fresh = Topic.objects.filter(pk__in=[topic.pk for topic in found]).order_by("pk")
        return [
            {
                key: value
                for key, value in model_to_dict(topic).items()
                if key not in {"id", "title", "incident"}
            }
            for topic in fresh
        ]

    assert rows(inserted) == rows(created)
    stored = Topic.objects.filter(pk__in=[topic.pk for topic in inserted]).order_by("pk")
    assert [topic.negative_share for topic in stored] == [
        Decimal("1.000"),
        Decimal("0.457"),
        Decimal("0.457"),
    ]
    assert [topic.incident_id for topic in stored] == [incidents[0].pk, incidents[1].pk, None]
