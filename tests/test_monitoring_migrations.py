"""Data migrations of monitoring: stored posts brought to what the code now computes."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from monitoring.text.analysis import simhash, simhash_bands

BEFORE = [("monitoring", "0006_post_content_hash_one_index")]
AFTER = [("monitoring", "0007_simhash_recomputed")]
TEXT = "评论一句 //@网友乙: 市第一医院被曝重复收费，患者家属晒出缴费单据，多收了两千多元。"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def migrations_restored():
    yield
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrations_restored")
def test_stored_posts_get_the_simhash_of_the_current_code():
    apps = _migrate(BEFORE)
    post_model = apps.get_model("monitoring", "Post")
    now = timezone.now()
    old = post_model.objects.create(
        platform="weibo",
        url="https://weibo.com/p/1",
        text=TEXT,
        content_hash="x" * 40,
        published_at=now,
        first_seen_at=now,
        received_at=now,
        updated_at=now,
        simhash=12345,
        simhash_band0=1,
        simhash_band1=2,
        simhash_band2=3,
        simhash_band3=4,
    )
    short = post_model.objects.create(
        platform="weibo",
        url="https://weibo.com/p/2",
        text="好",
        content_hash="y" * 40,
        published_at=now,
        first_seen_at=now,
        received_at=now,
        updated_at=now,
        simhash=7,
    )

    apps = _migrate(AFTER)
    post_model = apps.get_model("monitoring", "Post")
    migrated = post_model.objects.get(pk=old.pk)
    assert migrated.simhash == simhash(TEXT) is not None
    assert (
        migrated.simhash_band0,
        migrated.simhash_band1,
        migrated.simhash_band2,
        migrated.simhash_band3,
    ) == simhash_bands(simhash(TEXT))
    assert post_model.objects.get(pk=short.pk).simhash is None
