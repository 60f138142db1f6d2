"""The monitoring pages: the board (proposals, topics with their hourly trend, the post
stream and its filters) and the topic page, and the duty officer's decision on a proposal,
with data made by the real pipeline (a rule, posts taken in, topics refreshed)."""

import json
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from monitoring.intake.batches import posts_ingest
from monitoring.models import Post, Proposal, Topic
from monitoring.text.matching import rule_create
from monitoring.topics.proposals import proposal_accept
from monitoring.topics.refresh import topics_refresh
from organisation.models import Unit

pytestmark = pytest.mark.django_db

RULE = "医院 AND 收费"
COMPLAINT = "某医院乱收费，太黑心了，愤怒！投诉无门"
PRAISE = "医院收费规范，患者满意，点赞感谢"

# One board query count whatever the number of proposals, topics and posts (see the test
# below): session, user, the user's roles, who is on duty, the bell's unread count, the
# engine's heartbeat; the open proposals, the plan in force and its levels; the topics
# and their posts per hour; the stream's count, page and the posts' matches; the rules
# and units of the filter form; the bell's work list (deadlines, the three kinds of
# documents to approve, tasks, proposals).
BOARD_QUERIES = 22

# The topic page, at most: the same six as the board's, the topic, its posts (count and
# page) and their copies, its snapshots, top sources, proposals, the plan and its levels;
# the bell's work list (six).
TOPIC_QUERIES = 21

BLUE = "rgb(21, 101, 192)"  # #1565c0, level Ⅳ in the default plan
# Looked at by a person, not compared.
BOARD_SCREENSHOT = Path(tempfile.gettempdir()) / "monitoring_phone.png"
TOPIC_SCREENSHOT = Path(tempfile.gettempdir()) / "monitoring_topic_phone.png"


def item(
    n: int,
    *,
    text: str,
    published_at,
    platform: str = "weibo",
    author: str = "",
    reads: int = 0,
    reposts: int = 0,
    comments: int = 0,
    likes: int = 0,
    source_type: str = "social_account",
) -> dict:
    return {
        "platform": platform,
        "url": f"https://example.com/{platform}/{n}",
        "author": author or f"网友{n}",
        "text": text,
        "published_at": published_at.isoformat(),
        "reads": reads,
        "reposts": reposts,
        "comments": comments,
        "likes": likes,
        "source_type": source_type,
    }


def ingest(*items: dict) -> None:
    result = posts_ingest(items=list(items), source="test")
    assert result.rejected == 0, result.errors


@pytest.fixture
def rule(analyst, health_unit):
    return rule_create(actor=analyst, name="医院收费", expression=RULE, unit=health_unit)


@pytest.fixture
def story(rule):
    """A complaint about a hospital's fees on Weibo three hours ago, copied on Douyin an
    hour later (70 reads together: the plan proposes Ⅳ); a calm news item on the same rule
    (its own topic, too small to propose); and a post no rule matches."""
    now = timezone.now().replace(microsecond=0)
    first = now - timedelta(hours=3)
    ingest(
        item(
            1,
            text=COMPLAINT,
            published_at=first,
            author="网友甲",
            reads=40,
            reposts=3,
            comments=5,
            likes=1,
        ),
        item(
            2,
            text=COMPLAINT + "。",
            published_at=now - timedelta(hours=2),
            platform="douyin",
            author="网友乙",
            reads=30,
            reposts=1,
            comments=2,
        ),
        item(
            3,
            text=PRAISE,
            published_at=now - timedelta(hours=1),
            platform="news_site",
            author="健康报",
            reads=10,
            source_type="news_site",
        ),
        item(4, text="今天天气不错", published_at=now - timedelta(minutes=30), author="路人"),
    )
    topics_refresh()
    posts = {post.url.rsplit("/", 1)[1]: post for post in Post.objects.all()}
    complaint = Topic.objects.get(source_post=posts["1"])
    # What the pipeline made of it, which the pages below show.
    assert (posts["1"].sentiment, posts["2"].sentiment, posts["3"].sentiment) == (
        "negative",
        "negative",
        "positive",
    )
    assert posts["2"].original_id == posts["1"].pk
    assert complaint.posts == 2 and complaint.reads == 70
    return {
        "rule": rule,
        "posts": posts,
        "first": first,
        "topic": complaint,
        "calm": Topic.objects.get(source_post=posts["3"]),
        "proposal": Proposal.objects.get(topic=complaint),
    }


def streamed(content: str) -> list[int]:
    """The ids of the posts the stream lists, in order."""
    stream = content.split('id="stream"')[1]
    return [int(pk) for pk in re.findall(r'class="post-item[^"]*" data-post="(\d+)"', stream)]


def proposal_ids(content: str) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'class="proposal-card[^"]*" data-proposal="(\d+)"', content)
    ]


def json_script(content: str, element_id: str):
    return json.loads(
        content.split(f'id="{element_id}" type="application/json">')[1].split("</script>")[0]
    )


# The board --------------------------------------------------------------------------------


def test_monitoring_pages_send_anonymous_visitors_to_the_login_page(client, story):
    for url in (reverse("monitoring:board"), reverse("monitoring:topic", args=[story["topic"].pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_board_lists_the_open_proposal_with_its_level_colour_and_the_topics_with_sparklines(
    client, duty, story
):
    client.force_login(duty)
    response = client.get(reverse("monitoring:board"))
    content = response.content.decode()
    assert response.status_code == 200
    proposal, topic = story["proposal"], story["topic"]

    # The proposal: Ⅳ in the plan's blue, linked to its topic, with why, the rule and unit.
    assert proposal_ids(content) == [proposal.pk]
    card = content.split(f'data-proposal="{proposal.pk}"')[1].split("</li>")[0]
    assert 'class="level-badge level-blue"' in card and "Ⅳ" in card
    assert f'href="{reverse("monitoring:topic", args=[topic.pk])}">{COMPLAINT}</a>' in card
    assert "reads over the threshold" in card
    assert "医院收费" in card and "卫生健康委员会" in card
    assert f'data-accept="{proposal.pk}"' in card and f'data-dismiss="{proposal.pk}"' in card
    assert '<option value="other" selected>' in card
    # It refreshes itself every 30 seconds from the partial.
    assert f'hx-get="{reverse("monitoring:board_proposals")}"' in content
    assert 'hx-trigger="every 30s' in content

    # The topics, each with a 24-point sparkline of its posts per hour: the complaint had
    # a post three hours ago and one two hours ago, the news item one an hour ago.
    topics = re.findall(r'<tr data-topic="(\d+)">', content)
    assert topics == [str(story["calm"].pk), str(topic.pk)]
    row = content.split(f'<tr data-topic="{topic.pk}">')[1].split("</tr>")[0]
    assert "100%" in row and "抖音 1" in row and "微博 1" in row
    points = re.search(r'<polyline points="([^"]+)"', row).group(1).split()
    heights = [float(point.split(",")[1]) for point in points]
    assert len(heights) == 24
    assert heights.count(2.0) == 2 and heights.count(22.0) == 22  # two peaks, rest at zero


def test_board_proposals_partial_answers_the_list_alone_for_htmx(client, duty, story):
    client.force_login(duty)
    response = client.get(reverse("monitoring:board_proposals"), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert proposal_ids(content) == [story["proposal"].pk]
    assert "<html" not in content

    # The session expired: nothing to swap in, so what is on the screen stays.
    client.logout()
    assert (
        client.get(reverse("monitoring:board_proposals"), HTTP_HX_REQUEST="true").status_code == 204
    )


def test_the_stream_lists_posts_newest_first_with_figures_sentiment_and_source(
    client, analyst, story
):
    posts = story["posts"]
    client.force_login(analyst)
    content = client.get(reverse("monitoring:board")).content.decode()
    assert streamed(content) == [posts[n].pk for n in ("4", "3", "2", "1")]
    copy = content.split(f'data-post="{posts["2"].pk}"')[1].split("</li>")[0]
    assert "网友乙" in copy and "sentiment-badge-negative" in copy
    assert f'data-original="{posts["1"].pk}"' in copy
    assert 'href="https://example.com/weibo/1"' in copy  # the repost links to its source
    assert f'href="{reverse("monitoring:topic", args=[story["topic"].pk])}"' in copy


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"platform": "douyin"}, ["2"]),
        ({"sentiment": "negative"}, ["2", "1"]),
        ({"sentiment": "positive", "platform": "news_site"}, ["3"]),
        ({"rule": "RULE"}, ["3", "2", "1"]),
        ({"unit": "HEALTH"}, ["3", "2", "1"]),
        ({"unit": "EDUCATION"}, []),
        ({"sensitive_category": "inquiry"}, ["2", "1"]),  # 投诉 is on the starter list
    ],
)
def test_the_stream_filters_by_rule_unit_platform_sentiment_and_sensitive_terms(
    client, duty, story, health_unit, query, expected
):
    units = {"HEALTH": health_unit.pk, "EDUCATION": Unit.objects.get(name="教育局").pk}
    query = {
        name: {"RULE": story["rule"].pk, **units}.get(value, value) for name, value in query.items()
    }
    client.force_login(duty)
    response = client.get(reverse("monitoring:board"), query)
    assert response.status_code == 200
    assert streamed(response.content.decode()) == [story["posts"][n].pk for n in expected]


@pytest.mark.parametrize(
    "query",
    [
        {"platform": "myspace"},
        {"sentiment": "angry"},
        {"rule": "999999"},
        {"unit": "abc"},
        {"sensitive_category": "gossip"},
    ],
)
def test_a_bad_stream_filter_value_shows_a_form_error_not_a_500(client, duty, story, query):
    client.force_login(duty)
    response = client.get(reverse("monitoring:board"), query)
    content = response.content.decode()
    assert response.status_code == 200
    field = content.split(f'name="{next(iter(query))}"')[1].split('<div class="field')[0]
    assert 'class="error"' in field
    assert streamed(content) == []
    assert proposal_ids(content) == [story["proposal"].pk]  # the rest of the board is there


def test_the_stream_is_paginated_by_25_keeping_the_filters(client, duty, rule):
    now = timezone.now().replace(microsecond=0)
    ingest(
        *[
            item(
                n,
                text=f"第{n}条：某医院收费不合理",
                platform="weibo",
                published_at=now - timedelta(minutes=n),
            )
            for n in range(30)
        ]
    )
    client.force_login(duty)
    first = client.get(reverse("monitoring:board"), {"platform": "weibo"}).content.decode()
    assert len(streamed(first)) == 25
    assert "?platform=weibo&amp;page=2#stream" in first
    second = client.get(reverse("monitoring:board"), {"platform": "weibo", "page": 2})
    assert len(streamed(second.content.decode())) == 5


@pytest.mark.parametrize("count", [1, 6])
def test_board_query_count_does_not_grow_with_proposals_topics_and_posts(
    client, duty, analyst, health_unit, django_assert_num_queries, count
):
    # Each rule keeps the same story in a topic of its own: ``count`` topics, each
    # proposed, each with ``count`` + 1 posts.
    for number in range(count):
        rule_create(actor=analyst, name=f"规则{number}", expression=RULE, unit=health_unit)
    now = timezone.now().replace(microsecond=0)
    ingest(
        *[
            item(n, text=f"{COMPLAINT}（{n}）", published_at=now - timedelta(minutes=n), reads=60)
            for n in range(count + 1)
        ]
    )
    topics_refresh()
    assert Proposal.objects.filter(state="proposed").count() == count
    client.force_login(duty)
    with django_assert_num_queries(BOARD_QUERIES):
        response = client.get(reverse("monitoring:board"))
    content = response.content.decode()
    assert len(proposal_ids(content)) == count
    assert content.count("<polyline") == count
    assert len(streamed(content)) == count + 1


@pytest.mark.parametrize("count", [1, 6])
def test_topic_page_query_count_does_not_grow_with_its_posts_and_copies(
    client, duty, rule, django_assert_max_num_queries, count
):
    now = timezone.now().replace(microsecond=0)
    ingest(
        *[
            item(
                n,
                text=f"{COMPLAINT}（{n % 2}）",
                published_at=now - timedelta(minutes=n),
                reads=60,
                platform=("weibo", "douyin", "zhihu")[n % 3],
            )
            for n in range(2 * count)
        ]
    )
    topics_refresh()
    topic = Topic.objects.get()
    client.force_login(duty)
    with django_assert_max_num_queries(TOPIC_QUERIES):
        response = client.get(reverse("monitoring:topic", args=[topic.pk]))
    assert len(re.findall(r'class="post-item', response.content.decode())) == 2 * count


# Deciding on a proposal -------------------------------------------------------------------


def test_duty_officer_accepts_from_the_board_and_lands_on_the_detected_incident(
    client, duty, story
):
    proposal, topic = story["proposal"], story["topic"]
    client.force_login(duty)
    response = client.post(
        reverse("monitoring:proposal_accept", args=[proposal.pk]),
        {"event_type": "user_complaint", "origin": "board"},
        REMOTE_ADDR="10.0.0.7",
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:detail", args=[incident.pk])
    assert incident.state == "detected"
    assert incident.discovered_at == story["first"]  # when the first matching post appeared
    assert incident.event_type == "user_complaint"
    assert incident.unit == story["rule"].unit
    topic.refresh_from_db()
    proposal.refresh_from_db()
    assert topic.incident == incident
    assert (proposal.state, proposal.decided_by, proposal.incident) == ("accepted", duty, incident)
    assert incident.timeline.get().client_ip == "10.0.0.7"

    page = client.get(response["Location"])
    assert page.status_code == 200 and COMPLAINT in page.content.decode()
    # The board has no open proposal left, and the topic names its incident.
    board = client.get(reverse("monitoring:board")).content.decode()
    assert proposal_ids(board) == []
    row = board.split(f'<tr data-topic="{topic.pk}">')[1].split("</tr>")[0]
    assert f'href="{reverse("incidents:detail", args=[incident.pk])}"' in row


def test_accepting_without_an_event_type_takes_other(client, office, story):
    client.force_login(office)
    client.post(reverse("monitoring:proposal_accept", args=[story["proposal"].pk]))
    assert Incident.objects.get().event_type == "other"


def test_dismissing_from_the_board_without_a_reason_shows_the_error_and_keeps_it_open(
    client, duty, story
):
    proposal = story["proposal"]
    client.force_login(duty)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # asserts English
    response = client.post(
        reverse("monitoring:proposal_dismiss", args=[proposal.pk]),
        {"reason": "  ", "origin": "board"},
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert response.templates[0].name == "monitoring/board.html"
    card = content.split(f'data-proposal="{proposal.pk}"')[1].split("</li>")[0]
    assert '<details class="subform proposal-dismiss" open>' in card
    assert 'class="error" role="alert"' in card.split("data-dismiss=")[1]
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decided_by, proposal.reason) == ("proposed", None, "")


def test_dismissing_with_a_reason_records_who_when_and_why(client, analyst, story):
    proposal = story["proposal"]
    client.force_login(analyst)
    with time_machine.travel(timezone.now(), tick=False):
        response = client.post(
            reverse("monitoring:proposal_dismiss", args=[proposal.pk]),
            {"reason": "系旧闻，医院已于上月整改", "origin": "topic"},
        )
        decided = timezone.now()
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring:topic", args=[story["topic"].pk])
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decided_by, proposal.decided_at, proposal.reason) == (
        "dismissed",
        analyst,
        decided,
        "系旧闻，医院已于上月整改",
    )
    assert not Incident.objects.exists()

    page = client.get(response["Location"]).content.decode()
    card = page.split(f'data-proposal="{proposal.pk}"')[1].split("</li>")[0]
    assert 'data-state="dismissed"' in page and "系旧闻，医院已于上月整改" in card
    assert str(analyst) in card and "data-accept" not in card


def test_deciding_on_a_proposal_already_decided_shows_the_conflict(client, duty, office, story):
    proposal = story["proposal"]
    client.force_login(office)
    client.post(reverse("monitoring:proposal_accept", args=[proposal.pk]))
    client.force_login(duty)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # asserts English
    response = client.post(
        reverse("monitoring:proposal_dismiss", args=[proposal.pk]),
        {"reason": "重复", "origin": "board"},
    )
    assert response.status_code == 409
    assert "already accepted" in response.content.decode()
    assert Incident.objects.count() == 1


@pytest.mark.parametrize("persona", ["leader", "spokesperson", "liaison"])
def test_roles_that_may_not_decide_see_no_buttons_and_get_403(client, people, story, persona):
    proposal = story["proposal"]
    client.force_login(people[persona])
    board = client.get(reverse("monitoring:board")).content.decode()
    topic = client.get(reverse("monitoring:topic", args=[story["topic"].pk])).content.decode()
    for content in (board, topic):
        assert proposal_ids(content) == [proposal.pk]  # they may read
        assert "data-accept" not in content and "data-dismiss" not in content
    assert (
        client.post(
            reverse("monitoring:proposal_accept", args=[proposal.pk]), {"origin": "board"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("monitoring:proposal_dismiss", args=[proposal.pk]), {"origin": "board"}
        ).status_code
        == 403
    )
    proposal.refresh_from_db()
    assert proposal.state == "proposed" and not Incident.objects.exists()


def test_decision_urls_take_only_post_and_known_proposals(client, duty, story):
    client.force_login(duty)
    assert (
        client.get(reverse("monitoring:proposal_accept", args=[story["proposal"].pk])).status_code
        == 405
    )
    assert client.post(reverse("monitoring:proposal_accept", args=[999999])).status_code == 404


# The topic page ---------------------------------------------------------------------------


def test_topic_page_shows_the_source_post_figures_platforms_and_top_sources(
    client, spokesperson, story
):
    topic = story["topic"]
    client.force_login(spokesperson)
    response = client.get(reverse("monitoring:topic", args=[topic.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert f"<h1>{COMPLAINT}</h1>" in content
    assert "医院收费" in content and "卫生健康委员会" in content
    assert "<li>医院</li>" in content  # a keyword
    source = content.split('id="topic-source"')[1].split("</section>")[0]
    assert "网友甲" in source and COMPLAINT in source and "https://example.com/weibo/1" in source
    assert (
        story["first"].astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")
        in source
    )
    metrics = content.split('id="topic-figures"')[1].split("</dl>")[0]
    assert "<dd>70</dd>" in metrics and "<dd>100%</dd>" in metrics
    platforms = content.split('id="topic-platforms"')[1].split("</section>")[0]
    assert re.findall(r'data-platform="(\w+)"', platforms) == ["douyin", "weibo"]
    sources = content.split('id="topic-sources"')[1].split("</section>")[0]
    assert sources.index("网友甲") < sources.index("网友乙")  # by reach


def test_topic_page_charts_posts_reads_and_negative_share_over_time(client, duty, rule):
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    with time_machine.travel(start, tick=False):
        ingest(item(1, text=COMPLAINT, published_at=start - timedelta(minutes=5), reads=20))
        topics_refresh()
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        ingest(
            item(
                2, text=COMPLAINT + "，大家评评理", published_at=start, reads=40, platform="douyin"
            ),
            item(3, text=COMPLAINT + "！！", published_at=start, reads=5),
        )
        topics_refresh()
    topic = Topic.objects.get(rule=rule, source_post__url="https://example.com/weibo/1")
    client.force_login(duty)
    content = client.get(reverse("monitoring:topic", args=[topic.pk])).content.decode()
    assert 'id="topic-chart"' in content and "echarts.min.js" in content
    trend = json_script(content, "topic-trend")
    assert [row["posts"] for row in trend] == [1, 3]
    assert [row["reads"] for row in trend] == [20, 65]
    assert trend[0]["negative"] == 100.0
    assert trend[0]["at"] < trend[1]["at"]
    assert set(json_script(content, "topic-trend-names")) == {"posts", "reads", "negative"}


def test_topic_page_lists_near_duplicate_copies_under_their_source(client, duty, story):
    posts = story["posts"]
    client.force_login(duty)
    content = client.get(reverse("monitoring:topic", args=[story["topic"].pk])).content.decode()
    listed = content.split('id="topic-posts"')[1]
    assert re.findall(r'data-post="(\d+)"', listed) == [str(posts["1"].pk), str(posts["2"].pk)]
    copies = listed.split('class="post-copies"')[1]
    assert f'data-post="{posts["2"].pk}"' in copies and "data-original" not in copies


def test_topic_page_shows_the_linked_incident(client, duty, story):
    incident = proposal_accept(proposal=story["proposal"], actor=duty)
    client.force_login(duty)
    content = client.get(reverse("monitoring:topic", args=[story["topic"].pk])).content.decode()
    assert f'href="{reverse("incidents:detail", args=[incident.pk])}"' in content
    assert 'data-state="accepted"' in content and "data-accept" not in content


def test_an_unknown_topic_is_404(client, duty, story):
    client.force_login(duty)
    assert client.get(reverse("monitoring:topic", args=[999999])).status_code == 404


# In a real browser ------------------------------------------------------------------------


@pytest.mark.browser
def test_duty_officer_accepts_a_proposal_on_the_phone_sized_board(
    live_server, transactional_db, monkeypatch, story
):
    from playwright.sync_api import expect

    from organisation.demo import DEMO_PASSWORD
    from tests.browser import PHONE, phone_page

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are
    # still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    proposal = story["proposal"]
    base = live_server.url

    with phone_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))

        # The duty officer signs in; Enter in the password field sends the login form.
        page.goto(f"{base}{reverse('monitoring:board')}")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        page.fill("#id_username", "duty")
        page.fill("#id_password", DEMO_PASSWORD)
        page.press("#id_password", "Enter")
        expect(page).to_have_url(re.compile(r"/monitoring/$"))

        card = page.locator(f"li[data-proposal='{proposal.pk}']")
        expect(card).to_contain_text(COMPLAINT)
        expect(card.locator(".level-badge")).to_have_css("background-color", BLUE)
        expect(page.locator("svg.sparkline polyline")).to_have_count(2)
        # Nothing sticks out sideways on a 390 px screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=BOARD_SCREENSHOT, full_page=True)

        # The topic page draws its trend chart and fits the screen too.
        card.locator(".card-title a").click()
        expect(page).to_have_url(re.compile(rf"/monitoring/topics/{story['topic'].pk}/$"))
        expect(page.locator("#topic-chart canvas")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=TOPIC_SCREENSHOT, full_page=True)
        page.go_back()

        card.locator("select[name=event_type]").select_option("user_complaint")
        card.locator(f"form[data-accept='{proposal.pk}'] button[type=submit]").click()

        expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
        expect(page.locator(".message-success")).to_be_visible()
        expect(page.locator("h1")).to_contain_text(COMPLAINT)
        expect(page.locator(".incident-head .state-detected")).to_be_visible()
        assert errors == []

    incident = Incident.objects.get()
    assert page.url.endswith(reverse("incidents:detail", args=[incident.pk]))
    assert (incident.state, incident.event_type) == ("detected", "user_complaint")
    assert Topic.objects.get(pk=story["topic"].pk).incident_id == incident.pk
