"""From posts to incidents: near-duplicates, topics, figures, alerts, proposals, and a topic
feeding the incident accepted from it. Built through the real services."""

import itertools
import re
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db.models import F

from core.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from incidents.models import Incident
from monitoring.intake.batches import posts_ingest
from monitoring.models import Post, PostMatch, Proposal, Topic, TopicSnapshot
from monitoring.text.analysis import _CHAIN, _REPOST_NOISE, hamming, simhash, simhashes
from monitoring.text.matching import rule_create, rule_update
from monitoring.topics.matches import rules_backfill
from monitoring.topics.proposals import proposal_accept, proposal_dismiss
from monitoring.topics.refresh import topics_refresh
from notifications.models import Notification
from tests.helpers import SHANGHAI, at

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)

FEES = "市第一医院被曝重复收费，患者家属晒出缴费单据，多收了两千多元，医院至今未退款。"
FEES_REPOST = "太过分了！转发 //@网友乙: " + FEES  # a comment, then what was reposted
FEES_TAGGED = "【转】#医院乱收费# " + FEES + " http://t.cn/abc"
FEES_REWRITE = "市第一医院重复收费事件：家属称缴费单据显示多收两千元，要求医院退款。"
PARKING = "县人民医院停车场收费太贵，一小时二十元，附近居民投诉停车难，停车场车位也不够。"
ANGRY = "市第一医院重复收费太过分了，患者投诉无门，强烈不满，必须严查！第{n}条"
NOTICE = "市第一医院公布收费标准和退款流程，第{n}条说明。"


@pytest.fixture(autouse=True)
def clock():
    with at(NOW) as traveller:
        yield traveller


@pytest.fixture
def rule(analyst, health_unit):
    return rule_create(
        actor=analyst, name="医院收费", expression="医院 AND (收费 OR 退款)", unit=health_unit
    )


_counter = iter(range(1, 1_000_000))


def a_post(text: str, *, at: datetime | None = None, **fields: Any) -> dict[str, Any]:
    number = next(_counter)
    post = {
        "platform": "weibo",
        "url": f"https://weibo.com/p/{number}",
        "author": f"网友{number}",
        "text": text,
        "published_at": (at or NOW - timedelta(minutes=30)).isoformat(),
        "reads": 10,
        "reposts": 0,
        "comments": 0,
        "likes": 0,
        "source_type": "social_account",
    }
    post.update(fields)
    return post


def feed(*items: dict[str, Any]):
    result = posts_ingest(items=list(items), source="test")
    assert result.rejected == 0, result.errors
    return result


def stored(item: dict[str, Any]) -> Post:
    return Post.objects.get(url=item["url"])


# --- Near-duplicates --------------------------------------------------------------------


def test_simhash_keeps_copies_close_and_other_stories_far():
    assert hamming(simhash(FEES), simhash(FEES_TAGGED)) == 0
    assert hamming(simhash(FEES), simhash(FEES_REPOST)) <= 3
    assert hamming(simhash(FEES), simhash(FEES_REWRITE)) > 3
    assert hamming(simhash(FEES), simhash(PARKING)) > 16
    assert simhash("好") is None


def _splitmix64(value: int) -> int:
    mask = (1 << 64) - 1
    value = (value + 0x9E3779B97F4A7C15) & mask
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & mask
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & mask
    return value ^ (value >> 31)


def _simhash_one_by_one(text: str) -> int | None:
    """SimHash as the module describes it, feature by feature in plain Python."""
    text = unicodedata.normalize("NFKC", text).lower()
    if (start := text.find("//@")) > 0 and _CHAIN.match(text, start):
        text = text[start:]
    letters = re.sub(r"[\W_]+", "", _REPOST_NOISE.sub(" ", text))
    features = [ord(a) << 21 | ord(b) for a, b in itertools.pairwise(letters)]
    if len(set(features)) < 8:
        return None
    votes = [0] * 64
    for feature in features:
        hashed = _splitmix64(feature)
        for bit in range(64):
            votes[bit] += hashed >> bit & 1
    value = sum(1 << bit for bit in range(64) if votes[bit] * 2 > len(features))
    return value - (1 << 64) if value >= 1 << 63 else value


def test_simhashes_of_a_batch_are_each_texts_own():
    """The intake hashes a batch at once (array sums, 255 rows at a time): texts of every
    length, with and without enough features, side by side, give each its own hash."""
    texts = [
        "",
        "好",
        "哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈",
        FEES,
        FEES_REPOST,
        PARKING,
        "第一行\n第二行 #话题# 内容足够长的一段文字，用来计算指纹",
        FEES * 12,
        "评论//@甲: 评论//@乙: " + PARKING,
        "abc",
        "医院" + "收费不合理，" * 60,
    ]
    assert simhashes(texts) == [_simhash_one_by_one(text) for text in texts]
    assert simhashes(texts) == [simhash(text) for text in texts]
    assert simhashes([]) == []


def test_reposts_are_grouped_under_the_earliest_post(db):
    source = a_post(FEES, at=NOW - timedelta(hours=3))
    feed(source)
    repost, tagged, other = (
        a_post(FEES_REPOST, at=NOW - timedelta(hours=2)),
        a_post(FEES_TAGGED, at=NOW - timedelta(hours=1)),
        a_post(PARKING),
    )
    feed(repost, tagged, other)

    assert stored(source).original_id is None
    assert stored(repost).original_id == stored(source).pk
    assert stored(tagged).original_id == stored(source).pk
    assert stored(other).original_id is None


def test_a_copy_published_earlier_but_received_later_becomes_the_source(db):
    first_seen, repost = (
        a_post(FEES, at=NOW - timedelta(hours=2)),
        a_post(FEES_REPOST, at=NOW - timedelta(hours=1)),
    )
    feed(first_seen, repost)
    earlier = a_post(FEES_TAGGED, at=NOW - timedelta(hours=5))

    feed(earlier)

    source = stored(earlier)
    assert source.original_id is None
    assert stored(first_seen).original_id == source.pk
    assert stored(repost).original_id == source.pk


def test_copies_within_one_batch_are_grouped(db):
    items = [
        a_post(FEES_REPOST, at=NOW - timedelta(minutes=10)),
        a_post(FEES, at=NOW - timedelta(minutes=50)),
    ]
    feed(*items)
    assert stored(items[0]).original_id == stored(items[1]).pk


# --- Topics -------------------------------------------------------------------------------


def test_matching_posts_cluster_into_topics_by_similarity_and_time(rule):
    story = [
        a_post(FEES, at=NOW - timedelta(hours=3)),
        a_post(FEES_REWRITE, at=NOW - timedelta(hours=2)),
        a_post(FEES_REPOST, at=NOW - timedelta(hours=1)),
    ]
    parking = a_post(PARKING)
    unrelated = a_post("今天天气很好，适合去公园散步。")
    feed(*story, parking, unrelated)

    topics = {match.post.url: match.topic_id for match in PostMatch.objects.select_related("post")}
    assert unrelated["url"] not in topics
    assert len({topics[item["url"]] for item in story}) == 1
    assert topics[parking["url"]] != topics[story[0]["url"]]

    # The story told again five days later, outside the window, is a topic of its own.
    later = a_post(
        "市第一医院收费风波再起：家属称缴费单据多收两千元，医院仍未退款。",
        at=NOW + timedelta(days=5),
    )
    with time_machine.travel(NOW + timedelta(days=5, hours=1), tick=False):
        feed(later)
    assert PostMatch.objects.get(post__url=later["url"]).topic_id not in set(topics.values())


def test_a_repost_joins_its_source_topic_whatever_its_words(rule, settings):
    settings.FENGHUO_TOPIC_SIMILARITY = 0.999  # similarity alone joins nothing
    source = a_post(FEES, at=NOW - timedelta(hours=2))
    feed(source)
    repost = a_post(FEES_TAGGED, at=NOW - timedelta(hours=1))
    feed(repost, a_post(FEES_REWRITE))
    assert stored(repost).original_id == stored(source).pk
    topics = dict(PostMatch.objects.values_list("post__url", "topic_id"))
    assert topics[repost["url"]] == topics[source["url"]]
    assert len(set(topics.values())) == 2


def test_refresh_computes_figures_source_and_a_snapshot(rule):
    feed(
        a_post(
            FEES_REWRITE,
            at=NOW - timedelta(hours=3),
            reads=40,
            reposts=3,
            comments=2,
            platform="weibo",
        ),
        a_post(
            NOTICE.format(n=1),
            at=NOW - timedelta(hours=2),
            reads=100,
            comments=7,
            platform="toutiao",
            source_type="mainstream_media",
        ),
        a_post(ANGRY.format(n=1), reads=5, platform="weibo"),
    )

    assert topics_refresh().refreshed == 1

    topic = Topic.objects.get()
    assert (topic.posts, topic.reads, topic.reposts, topic.comments) == (3, 145, 3, 9)
    assert topic.mainstream_media is True
    assert topic.platforms == {"weibo": 2, "toutiao": 1}
    assert topic.negative_share == Decimal("0.333")
    assert topic.source_post.text == FEES_REWRITE
    assert topic.title == FEES_REWRITE
    assert topic.first_post_at == NOW - timedelta(hours=3)
    snapshot = TopicSnapshot.objects.get(topic=topic)
    assert (snapshot.posts, snapshot.reads, snapshot.posts_last_hour) == (3, 145, 1)
    # Nothing changed: a second refresh does nothing.
    assert topics_refresh().refreshed == 0


# --- Alerts -------------------------------------------------------------------------------


def alerts(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind, channel="in_app"))


def test_a_negative_topic_alerts_the_desk_once_per_episode(rule, duty, analyst):
    feed(*[a_post(ANGRY.format(n=n), reads=1) for n in range(4)])
    topics_refresh()
    assert alerts(Notification.Kind.TOPIC_NEGATIVE) == []  # 4 posts: too few to judge

    feed(a_post(ANGRY.format(n=4), reads=1))
    topics_refresh()
    sent = alerts(Notification.Kind.TOPIC_NEGATIVE)
    assert {n.recipient for n in sent} >= {duty, analyst}
    topic = Topic.objects.get()
    assert all(n.link == f"/monitoring/topics/{topic.pk}/" for n in sent)
    assert "100%" in sent[0].title

    feed(a_post(ANGRY.format(n=5), reads=1))
    topics_refresh()
    assert len(alerts(Notification.Kind.TOPIC_NEGATIVE)) == len(sent)  # same episode

    # Calm posts bring the share under half; a new wave alerts again, an hour later.
    feed(*[a_post(NOTICE.format(n=n)) for n in range(8)])
    topics_refresh()
    assert Topic.objects.get().negative_alerted_at is None
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        feed(*[a_post(ANGRY.format(n=n), at=NOW + timedelta(minutes=30)) for n in range(10, 20)])
        topics_refresh()
    assert len(alerts(Notification.Kind.TOPIC_NEGATIVE)) == 2 * len(sent)


def test_a_spike_against_the_topics_own_baseline_alerts(rule, duty):
    # One post an hour for the day before, then twelve in the last hour.
    feed(
        *[
            a_post(FEES_REWRITE + f"（{h}）", at=NOW - timedelta(hours=h, minutes=30))
            for h in range(1, 25)
        ]
    )
    topics_refresh()
    assert alerts(Notification.Kind.TOPIC_SPIKE) == []

    feed(*[a_post(FEES_REWRITE + f"【{n}】", at=NOW - timedelta(minutes=n + 1)) for n in range(12)])
    topics_refresh()
    spike = alerts(Notification.Kind.TOPIC_SPIKE)
    assert duty in {n.recipient for n in spike}
    assert "12" in spike[0].title

    feed(a_post(FEES_REWRITE + "【再】", at=NOW - timedelta(minutes=1)))
    topics_refresh()
    assert len(alerts(Notification.Kind.TOPIC_SPIKE)) == len(spike)  # once an hour


def test_a_steady_topic_is_no_spike(rule):
    # Ten posts an hour, every hour of the last day and the hour before.
    feed(
        *[
            a_post(FEES_REWRITE + f"（{h}-{n}）", at=NOW - timedelta(hours=h, minutes=5 * n + 1))
            for h in range(0, 26)
            for n in range(10)
        ]
    )
    topics_refresh()
    assert alerts(Notification.Kind.TOPIC_SPIKE) == []


# --- Proposals ----------------------------------------------------------------------------


def test_a_topic_below_the_plans_thresholds_is_not_proposed(rule):
    feed(a_post(FEES, reads=20, comments=3))
    topics_refresh()
    assert not Proposal.objects.exists()


def test_a_topic_reaching_level_iv_is_proposed_and_raised_as_it_grows(rule, duty):
    feed(a_post(FEES, at=NOW - timedelta(hours=2), reads=60))
    topics_refresh()
    proposal = Proposal.objects.get()
    assert (proposal.state, proposal.suggested_level) == ("proposed", 4)
    assert alerts(Notification.Kind.INCIDENT_PROPOSED)

    # Mainstream media carry it: the open proposal is raised to Ⅱ, still one proposal.
    feed(a_post(FEES_REWRITE, source_type="mainstream_media", platform="tv_press"))
    topics_refresh()
    proposal.refresh_from_db()
    assert (Proposal.objects.count(), proposal.suggested_level) == (1, 2)


def test_a_dismissed_topic_is_proposed_again_only_at_a_more_severe_level(rule, duty):
    feed(a_post(FEES, at=NOW - timedelta(hours=2), reads=60))
    topics_refresh()
    proposal = proposal_dismiss(
        proposal=Proposal.objects.get(), actor=duty, reason="已核实为个别误会，已当面解释。"
    )
    assert (proposal.state, proposal.decided_by, proposal.decided_at) == ("dismissed", duty, NOW)

    feed(a_post(FEES_REWRITE, reads=30))
    topics_refresh()
    assert Proposal.objects.count() == 1

    feed(*[a_post(ANGRY.format(n=n), reads=30, comments=40) for n in range(3)])
    topics_refresh()
    assert Proposal.objects.filter(state="proposed").get().suggested_level == 3


def test_dismissing_needs_a_reason_and_a_role(rule, duty, spokesperson):
    feed(a_post(FEES, reads=60))
    topics_refresh()
    proposal = Proposal.objects.get()
    with pytest.raises(InvalidInput) as error:
        proposal_dismiss(proposal=proposal, actor=duty, reason="  ")
    assert "reason" in error.value.field_errors
    with pytest.raises(PermissionDenied):
        proposal_dismiss(proposal=proposal, actor=spokesperson, reason="不是")
    proposal.refresh_from_db()
    assert proposal.state == "proposed"


def test_accepting_creates_a_detected_incident_linked_to_the_topic(rule, duty, health_unit):
    first = a_post(FEES, at=NOW - timedelta(hours=5), reads=30, comments=2)
    feed(first, a_post(FEES_REWRITE, at=NOW - timedelta(hours=1), reads=40, comments=1))
    topics_refresh()
    proposal = Proposal.objects.get()

    incident = proposal_accept(proposal=proposal, actor=duty, event_type="user_complaint")

    assert incident.state == "detected"
    assert incident.discovered_at == NOW - timedelta(hours=5)
    assert incident.unit == health_unit
    assert incident.title == FEES
    assert first["url"] in incident.links
    assert (incident.latest_metrics.reads, incident.latest_metrics.comments) == (70, 3)
    proposal.refresh_from_db()
    assert (proposal.state, proposal.incident, proposal.decided_by) == ("accepted", incident, duty)
    assert Topic.objects.get().incident == incident
    created = incident.timeline.get(kind="created")
    assert (created.actor, created.data["proposal"]) == (duty, proposal.pk)

    with pytest.raises(TransitionNotAllowed):
        proposal_accept(proposal=proposal, actor=duty)
    assert Incident.objects.count() == 1


def test_a_linked_topic_keeps_feeding_figures_into_its_incident(rule, duty):
    feed(a_post(FEES, at=NOW - timedelta(hours=2), reads=60))
    topics_refresh()
    incident = proposal_accept(proposal=Proposal.objects.get(), actor=duty)
    assert incident.suggested_level == 4

    feed(
        a_post(
            FEES_REWRITE,
            reads=500,
            comments=150,
            source_type="mainstream_media",
            platform="tv_press",
        )
    )
    topics_refresh()

    incident.refresh_from_db()
    assert incident.latest_metrics.reads == 560
    assert incident.latest_metrics.mainstream_media is True
    assert incident.suggested_level == 2
    assert incident.snapshots.count() == 2
    # Nothing new: no new snapshot.
    Topic.objects.update(revision=F("revision") + 1)
    topics_refresh()
    assert incident.snapshots.count() == 2


# --- Rules written after the posts ----------------------------------------------------------


def test_a_new_rule_is_matched_against_the_stored_stream_in_the_background(analyst, health_unit):
    recent, old = (
        a_post(FEES, at=NOW - timedelta(days=2)),
        a_post(FEES_REWRITE, at=NOW - timedelta(days=10)),
    )
    feed(recent, old, a_post(PARKING.replace("医院", "学校")))
    rule = rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    assert not PostMatch.objects.exists()

    assert rules_backfill() == 1
    match = PostMatch.objects.get()
    assert (match.post.url, match.rule, match.topic is not None) == (recent["url"], rule, True)
    assert rules_backfill() == 0  # done: the rule is no longer pending

    rule_update(rule=rule, actor=analyst, name="医院收费（更名）")
    assert rules_backfill() == 0
    rule_update(rule=rule, actor=analyst, expression="学校 AND 收费")
    assert rules_backfill() == 1
    assert PostMatch.objects.count() == 2
