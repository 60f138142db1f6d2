"""core.bulk.bulk_insert: the rows it writes are the rows bulk_create writes."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.forms.models import model_to_dict

from core.bulk import bulk_insert
from monitoring.models import Post

MOMENT = datetime(2026, 11, 23, 15, 30, 12, 345678, tzinfo=ZoneInfo("Asia/Shanghai"))


def _posts(prefix: str) -> list[Post]:
    return [
        Post(platform="weibo", url=f"https://weibo.com/{prefix}/{n}",
             author=f"网友{n}" if n % 3 else f"网\\友\t{n}\r\n\\N",
             text=f"第{n}条：医院乱收费，投诉无门！", content_hash=f"{prefix}{n:039d}",
             published_at=MOMENT - timedelta(minutes=n), reads=n * 1000,
             reposts=9_223_372_036_854_775_807 if n == 2 else n, comments=0, likes=n,
             source_type="social_account", sentiment="negative", sentiment_score=-0.7311,
             source="bench", simhash=-(2**63) if n == 1 else 2**63 - 1 - n,
             simhash_band0=n, simhash_band1=None, simhash_band2=65535, simhash_band3=0,
             sensitive_terms=["乱收费", "投诉\t无门\\", {"引号": "\"x\""}] if n % 2 else [],
             sensitive_category="inquiry" if n % 2 else "",
             first_seen_at=MOMENT, received_at=MOMENT, updated_at=MOMENT)
        for n in range(1, 120)
    ]


def _rows(posts: list[Post]) -> list[dict]:
    fresh = Post.objects.filter(pk__in=[post.pk for post in posts]).order_by("pk")
    return [{key: value for key, value in model_to_dict(post).items()
             if key not in {"id", "url", "content_hash"}} for post in fresh]


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
    assert Post.objects.get(url="https://weibo.com/b/3").published_at == \
        MOMENT - timedelta(minutes=3)


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

    assert Post.objects.get(pk=inserted[0].pk).published_at == \
        Post.objects.get(pk=created[0].pk).published_at == naive.replace(tzinfo=MOMENT.tzinfo)
