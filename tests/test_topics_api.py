"""/api/v1/topics/, /api/v1/proposals/ (accept, dismiss) and the post stream's topic,
sentiment and source-post answers."""

from datetime import datetime, timedelta

import pytest

from incidents.models import Incident
from monitoring.intake.batches import posts_ingest
from monitoring.models import Post, Proposal, Topic
from monitoring.text.matching import rule_create
from monitoring.topics.refresh import topics_refresh
from tests.helpers import SHANGHAI, at

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
FEES = "市第一医院重复收费事件：家属称缴费单据显示多收两千元，要求医院退款。"
ANGRY = "市第一医院重复收费太过分了，患者投诉无门，强烈不满，必须严查！"


@pytest.fixture(autouse=True)
def clock():
    with at(NOW):
        yield


@pytest.fixture
def topic(analyst, health_unit) -> Topic:
    rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    result = posts_ingest(
        items=[
            {
                "platform": "weibo",
                "url": "https://weibo.com/p/1",
                "author": "网友甲",
                "text": FEES,
                "published_at": (NOW - timedelta(hours=3)).isoformat(),
                "reads": 40,
                "comments": 3,
            },
            {
                "platform": "weibo",
                "url": "https://weibo.com/p/2",
                "author": "网友乙",
                "text": "转发 " + FEES,
                "published_at": (NOW - timedelta(hours=2)).isoformat(),
                "reads": 15,
            },
            {
                "platform": "toutiao",
                "url": "https://toutiao.com/p/3",
                "author": "本地新闻",
                "text": ANGRY,
                "published_at": (NOW - timedelta(hours=1)).isoformat(),
                "reads": 20,
                "source_type": "news_site",
            },
        ],
        source="test",
    )
    assert result.accepted == 3
    topics_refresh()
    return Topic.objects.get()


def test_topics_answer_figures_and_the_source_post(api_for, spokesperson, topic):
    answer = api_for(spokesperson).get("/api/v1/topics/")
    assert answer.status_code == 200
    [item] = answer.json()["results"]
    assert item["id"] == topic.pk
    assert (item["posts"], item["reads"], item["comments"]) == (3, 75, 3)
    assert item["platforms"] == {"weibo": 2, "toutiao": 1}
    assert item["negative_share"] == pytest.approx(1 / 3, abs=0.001)
    assert item["source_post"]["url"] == "https://weibo.com/p/1"
    assert item["first_post_at"] == (NOW - timedelta(hours=3)).isoformat()

    detail = api_for(spokesperson).get(f"/api/v1/topics/{topic.pk}/").json()
    assert [point["posts"] for point in detail["trend"]] == [3]
    assert detail["top_sources"][0] == {
        "author": "网友甲",
        "platform": "weibo",
        "source_type": "other",
        "posts": 1,
        "reads": 40,
        "reposts": 0,
    }


def test_posts_filter_by_topic_and_sentiment_and_name_their_source(api_for, duty, topic):
    api = api_for(duty)
    by_topic = api.get("/api/v1/posts/", {"topic": topic.pk}).json()
    assert by_topic["count"] == 3
    negative = api.get("/api/v1/posts/", {"sentiment": "negative"}).json()["results"]
    assert [post["url"] for post in negative] == ["https://toutiao.com/p/3"]
    assert negative[0]["sentiment_score"] < 0
    repost = api.get("/api/v1/posts/", {"topic": topic.pk}).json()["results"][1]
    assert repost["url"] == "https://weibo.com/p/2"
    assert repost["source_post"] == Post.objects.get(url="https://weibo.com/p/1").pk
    assert api.get("/api/v1/posts/", {"topic": 99999}).status_code == 400
    assert api.get("/api/v1/posts/", {"sentiment": "angry"}).status_code == 400


def test_a_proposal_is_accepted_through_the_api(api_for, duty, topic):
    api = api_for(duty)
    [proposal] = api.get("/api/v1/proposals/", {"state": "proposed"}).json()["results"]
    assert (proposal["topic"], proposal["suggested_level"], proposal["state"]) == (
        topic.pk,
        4,
        "proposed",
    )

    answer = api.post(
        f"/api/v1/proposals/{proposal['id']}/accept/",
        {"event_type": "user_complaint"},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    incident = Incident.objects.get(pk=answer.json()["incident"])
    assert incident.state == "detected"
    assert incident.discovered_at == NOW - timedelta(hours=3)
    # Its clocks run from the first post, at the suggested level (Ⅳ: 12 h to assess).
    assert {d.kind: d.due_at for d in incident.deadlines.all()} == {
        "assessment": NOW + timedelta(hours=9),
        "report": NOW + timedelta(hours=21),
    }
    assert answer.json()["state"] == "accepted"
    again = api.post(f"/api/v1/proposals/{proposal['id']}/accept/", {}, format="json")
    assert again.status_code == 409
    assert api.get("/api/v1/topics/", {"incident": "true"}).json()["count"] == 1


def test_a_proposal_is_dismissed_with_a_reason(api_for, duty, spokesperson, topic):
    proposal = Proposal.objects.get()
    url = f"/api/v1/proposals/{proposal.pk}/dismiss/"
    assert api_for(duty).post(url, {}, format="json").status_code == 400
    assert api_for(spokesperson).post(url, {"reason": "x"}, format="json").status_code == 403
    answer = api_for(duty).post(url, {"reason": "广告帖，与本单位无关"}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["state"], answer.json()["reason"]) == (
        "dismissed",
        "广告帖，与本单位无关",
    )
    assert answer.json()["decided_by"] == duty.pk
    assert (
        api_for(duty)
        .post(f"/api/v1/proposals/{proposal.pk}/accept/", {}, format="json")
        .status_code
        == 409
    )
    assert not Incident.objects.exists()


def test_bad_filters_and_unknown_ids(api_for, duty, topic):
    api = api_for(duty)
    assert api.get("/api/v1/topics/", {"rule": "abc"}).status_code == 400
    assert api.get("/api/v1/proposals/", {"state": "maybe"}).status_code == 400
    assert api.get("/api/v1/topics/99999/").status_code == 404
    assert api.post("/api/v1/proposals/99999/accept/", {}, format="json").status_code == 404
