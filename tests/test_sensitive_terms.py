"""Sensitive-term lists per handling category (分类处置): the scan of every post, the
lists' API and admin, the stream filter, topic figures and proposal reasons."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import translation

from monitoring.intake.batches import posts_ingest
from monitoring.models import Post, Proposal, SensitiveTermList, Topic
from monitoring.text.matching import rule_create
from monitoring.text.sensitive import (
    MAX_POST_TERMS,
    MAX_TERMS_PER_LIST,
    SensitiveSet,
    category_leading,
    sensitive_scan,
    sensitive_set_forget,
    term_list_create,
    term_lists_load_defaults,
)
from monitoring.topics.refresh import topics_refresh
from tests.helpers import SHANGHAI, at

# Earlier than the starter lists were loaded (the test database's migrate): an edit made
# now must reach the scan even though it moves no "last updated" forward.
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
LISTS = "/api/v1/sensitive-terms/"
POSTS = "/api/v1/posts/"

RUMOUR = "网传市第一医院收费造谣，有人恶意中伤医护人员，还说是假新闻。"
HYPE = "有水军在带节奏，恶意转发市第一医院收费的帖子，还有人投诉。"
COMPLAINT = "市第一医院重复收费，患者投诉无门，求助无果。"
PLAIN = "市第一医院公布收费标准和退款流程。"


@pytest.fixture(autouse=True)
def clock():
    with at(NOW) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def compiled_afresh():
    # Earlier tests' lists were rolled back; start from the database as it is.
    sensitive_set_forget()


_counter = iter(range(1, 1_000_000))


def a_post(text: str, **fields: Any) -> dict[str, Any]:
    number = next(_counter)
    post = {
        "platform": "weibo",
        "url": f"https://weibo.com/s/{number}",
        "text": text,
        "published_at": (NOW - timedelta(minutes=30)).isoformat(),
        "reads": 10,
    }
    post.update(fields)
    return post


def feed(*items: dict[str, Any]) -> list[Post]:
    result = posts_ingest(items=list(items), source="test")
    assert result.rejected == 0, result.errors
    return [Post.objects.get(url=item["url"]) for item in items]


def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def analyst_api(api_for, analyst):
    return english(api_for(analyst))


def starter(category: str) -> SensitiveTermList:
    return SensitiveTermList.objects.get(category=category)


# --- The starter lists --------------------------------------------------------------------


def test_the_starter_lists_are_loaded_on_migrate_one_per_category(db):
    lists = {term_list.category: term_list for term_list in SensitiveTermList.objects.all()}

    assert set(lists) == {"inquiry", "hype", "fabrication", "constructive"}
    for term_list in lists.values():
        assert term_list.active and term_list.created_by is None
        assert len(term_list.terms.splitlines()) >= 10
    assert {"谣言", "造谣", "诽谤", "捏造", "煽动"} <= set(lists["fabrication"].terms.split())
    assert sensitive_scan("有人造谣").category == "fabrication"
    # Loaded only while there is no list at all: never again over the organisation's own.
    assert term_lists_load_defaults() == 0
    assert SensitiveTermList.objects.count() == 4


# --- Scanning -----------------------------------------------------------------------------


def test_chinese_terms_match_as_substrings_and_the_category_with_most_terms_wins():
    lists = SensitiveSet([("fabrication", "造谣\n谣言"), ("inquiry", "投诉\n求助\n收费")])

    hit = lists.scan("有人造谣说医院乱收费，患者投诉无门")

    assert hit.terms == ("造谣", "收费", "投诉")
    assert hit.category == "inquiry"  # two terms against one
    assert lists.scan("医院公布了收费标准").terms == ("收费",)
    assert lists.scan("今天天气很好").terms == () and lists.scan("").category == ""


def test_a_tie_goes_to_the_more_severe_handling():
    lists = SensitiveSet(
        [("constructive", "建议"), ("inquiry", "投诉"), ("hype", "炒作"), ("fabrication", "造谣")]
    )

    assert lists.scan("投诉之外还有建议").category == "inquiry"
    assert lists.scan("建议别炒作").category == "hype"
    assert lists.scan("别炒作，也别造谣，有投诉和建议").category == "fabrication"
    assert category_leading({"constructive": 2, "inquiry": 2, "hype": 1}) == "inquiry"
    assert category_leading({}) == ""


def test_latin_terms_match_on_word_boundaries_after_nfkc_and_lower_case():
    lists = SensitiveSet([("hype", "app\n5G\nfake news")])

    assert lists.scan("快下载这个APP了").terms == ("app",)
    assert lists.scan("下载ＡＰＰ").terms == ("app",)  # full width
    assert lists.scan("so happy").terms == lists.scan("apps").terms == ()
    assert lists.scan("15G流量").terms == ()
    assert lists.scan("5G基站").terms == ("5g",)
    assert lists.scan("this is FAKE   NEWS").terms == ("fake news",)


def test_comments_blank_lines_duplicates_and_whole_token_terms():
    lists = SensitiveSet([("inquiry", "# 来源：信访办\n\n投诉\n投诉\n  =中医  \n")])

    assert len(lists) == 2
    assert lists.scan("来源：信访办").terms == ()
    assert lists.scan("我去看中医").terms == ("中医",)
    assert lists.scan("中医院门口").terms == ()


def test_a_term_of_two_lists_counts_for_both_and_a_post_keeps_at_most_twenty_terms():
    shared = SensitiveSet(
        [("hype", "恶意转发"), ("fabrication", "恶意转发\n造谣"), ("inquiry", "投诉\n举报")]
    )
    assert shared.scan("恶意转发").category == "fabrication"  # one each: the more severe
    assert shared.scan("恶意转发，还投诉和举报").category == "inquiry"
    many = SensitiveSet([("constructive", "\n".join(f"建议{n:02d}" for n in range(30)))])

    hit = many.scan("，".join(f"建议{n:02d}" for n in range(30)))

    assert len(hit.terms) == MAX_POST_TERMS and hit.terms[0] == "建议00"
    assert hit.category == "constructive"


# --- Intake -------------------------------------------------------------------------------


def test_intake_stores_the_terms_found_and_the_category(db):
    rumour, hype, plain = feed(a_post(RUMOUR), a_post(HYPE), a_post(PLAIN))

    assert rumour.sensitive_terms == ["造谣", "恶意中伤", "假新闻"]
    assert rumour.sensitive_category == "fabrication"
    assert hype.sensitive_terms == ["水军", "带节奏", "恶意转发", "投诉"]
    assert hype.sensitive_category == "hype"
    assert (plain.sensitive_terms, plain.sensitive_category) == ([], "")


def test_a_stored_post_is_scanned_when_its_text_is_filled_in(db):
    item = a_post("")
    (post,) = feed(item)
    assert (post.sensitive_terms, post.sensitive_category) == ([], "")

    (post,) = feed({**item, "text": COMPLAINT})

    assert post.text == COMPLAINT
    assert (post.sensitive_terms, post.sensitive_category) == (["投诉", "求助"], "inquiry")


# --- The stream ---------------------------------------------------------------------------


def test_the_stream_filters_by_sensitive_category(db, api_for, spokesperson):
    feed(a_post(RUMOUR), a_post(HYPE), a_post(COMPLAINT), a_post(PLAIN))
    client = english(api_for(spokesperson))

    answer = client.get(POSTS, {"sensitive_category": "fabrication"})

    assert answer.status_code == 200
    (only,) = answer.json()["results"]
    assert (only["text"], only["sensitive_category"]) == (RUMOUR, "fabrication")
    assert only["sensitive_terms"] == ["造谣", "恶意中伤", "假新闻"]
    plain = next(item for item in client.get(POSTS).json()["results"] if item["text"] == PLAIN)
    assert (plain["sensitive_terms"], plain["sensitive_category"]) == ([], None)
    assert client.get(POSTS, {"sensitive_category": "gossip"}).status_code == 400


# --- Writing the lists --------------------------------------------------------------------


def test_an_analyst_adds_a_list_and_it_is_used_at_once(analyst_api, analyst):
    answer = analyst_api.post(
        LISTS,
        {
            "category": "fabrication",
            "name": "医院谣言",
            "terms": "# 本院特有说法\n黑心医院\n\n草菅人命\n",
        },
        format="json",
    )

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["category"], body["term_count"], body["active"]) == ("fabrication", 2, True)
    assert SensitiveTermList.objects.get(pk=body["id"]).created_by == analyst
    (post,) = feed(a_post("黑心医院草菅人命，患者投诉"))
    assert post.sensitive_category == "fabrication"  # two terms against one
    assert analyst_api.get(f"{LISTS}{body['id']}/").json()["name"] == "医院谣言"


def test_editing_a_list_rebuilds_the_scan_and_an_inactive_list_finds_nothing(analyst_api):
    inquiry = starter("inquiry")
    assert sensitive_scan("医院乱收费").terms == ()

    answer = analyst_api.patch(
        f"{LISTS}{inquiry.pk}/", {"terms": inquiry.terms + "\n乱收费"}, format="json"
    )

    assert answer.status_code == 200, answer.content
    assert sensitive_scan("医院乱收费").terms == ("乱收费",)
    assert (
        analyst_api.patch(f"{LISTS}{inquiry.pk}/", {"active": False}, format="json").status_code
        == 200
    )
    (post,) = feed(a_post("医院乱收费，患者投诉"))
    assert (post.sensitive_terms, post.sensitive_category) == ([], "")
    listed = analyst_api.get(LISTS, {"active": "false"}).json()["results"]
    assert [item["id"] for item in listed] == [inquiry.pk]


def test_a_list_written_by_another_process_is_seen_by_its_fingerprint(db):
    assert sensitive_scan("医院乱收费").terms == ()
    hype = starter("hype")
    # As another process writes it (the service counts the revision up): this process's
    # compiled lists are not told, and the clock is behind the lists' last update.
    SensitiveTermList.objects.filter(pk=hype.pk).update(
        terms=hype.terms + "\n乱收费", updated_at=NOW, revision=F("revision") + 1
    )

    assert sensitive_scan("医院乱收费").category == "hype"


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ("", "Give at least one term, one per line."),
        ("# 只有注释\n\n   \n", "Give at least one term, one per line."),
        ("\n谣言\n" + "长" * 51, "Line 3: “长长长长长长长长长长…” is longer than 50 characters."),
        (
            "\n".join(f"词{n}" for n in range(MAX_TERMS_PER_LIST + 1)),
            f"At most {MAX_TERMS_PER_LIST} terms per list; this one has {MAX_TERMS_PER_LIST + 1}.",
        ),
    ],
)
def test_a_bad_list_is_a_400_with_a_message_on_terms(analyst_api, terms, message):
    answer = analyst_api.post(
        LISTS, {"category": "hype", "name": "坏词表", "terms": terms}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json()["terms"] == [message]
    assert SensitiveTermList.objects.count() == 4


def test_a_bad_change_is_a_400_and_changes_nothing(analyst_api):
    hype = starter("hype")

    answer = analyst_api.patch(
        f"{LISTS}{hype.pk}/", {"terms": "x" * 60, "category": "gossip"}, format="json"
    )

    assert answer.status_code == 400 and "category" in answer.json()
    answer = analyst_api.patch(f"{LISTS}{hype.pk}/", {"terms": "x" * 60}, format="json")
    assert answer.status_code == 400 and "terms" in answer.json()
    assert SensitiveTermList.objects.get(pk=hype.pk).terms == hype.terms


@pytest.mark.parametrize("persona", ["spokesperson", "duty"])
def test_roles_that_do_not_write_watch_rules_may_read_but_not_write_the_lists(
    api_for, people, persona
):
    client = english(api_for(people[persona]))
    hype = starter("hype")

    assert client.get(LISTS).status_code == 200
    assert (
        client.post(
            LISTS, {"category": "hype", "name": "x", "terms": "炒作"}, format="json"
        ).status_code
        == 403
    )
    assert client.patch(f"{LISTS}{hype.pk}/", {"active": False}, format="json").status_code == 403
    assert SensitiveTermList.objects.get(pk=hype.pk).active


def test_the_admin_writes_lists_through_the_service(client, people):
    admin = people["admin"]
    client.force_login(admin)

    bad = client.post(
        reverse("admin:monitoring_sensitivetermlist_add"),
        {"category": "hype", "name": "坏词表", "terms": "# 空\n", "active": "on"},
    )
    good = client.post(
        reverse("admin:monitoring_sensitivetermlist_add"),
        {"category": "hype", "name": "刷单", "terms": "刷单炒信\n", "active": "on"},
    )

    assert bad.status_code == 200 and "terms" in bad.context["adminform"].form.errors
    assert good.status_code == 302
    created = SensitiveTermList.objects.get(name="刷单")
    assert created.created_by == admin
    assert sensitive_scan("有人刷单炒信").terms == ("刷单炒信",)
    assert client.get(reverse("admin:monitoring_sensitivetermlist_changelist")).status_code == 200
    changed = client.post(
        reverse("admin:monitoring_sensitivetermlist_change", args=[created.pk]),
        {"category": "hype", "name": "刷单", "terms": "刷单炒信\n", "active": ""},
    )
    assert changed.status_code == 302 and not SensitiveTermList.objects.get(pk=created.pk).active
    assert sensitive_scan("有人刷单炒信").terms == ()
    # Its own transaction left out, the form is still protected against forgery.
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(admin)
    assert (
        guarded.post(
            reverse("admin:monitoring_sensitivetermlist_add"),
            {"category": "hype", "name": "x", "terms": "x"},
        ).status_code
        == 403
    )


# --- Topics and proposals -----------------------------------------------------------------


STORY = "市第一医院被曝重复收费，患者家属晒出缴费单据，多收了两千多元，医院至今未退款"


def test_topic_figures_count_categories_and_the_proposal_names_the_leading_one(
    analyst, health_unit, api_for
):
    rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    feed(
        a_post(STORY + "。有人说这是造谣，是假新闻。", reads=30),
        a_post(STORY + "。别信谣言，纯属捏造！", reads=20),
        a_post(STORY + "。患者投诉无门。", reads=10),
        a_post(STORY + "。", reads=5),
    )

    with translation.override("en"):
        topics_refresh()

    topic = Topic.objects.get()
    assert topic.categories == {"fabrication": 2, "inquiry": 1}
    proposal = Proposal.objects.get()
    assert proposal.reasons[-1] == (
        "sensitive terms: Fabrication, distortion, defamation or incitement (2 posts)"
    )
    answer = api_for(analyst).get(f"/api/v1/topics/{topic.pk}/")
    assert answer.json()["categories"] == {"fabrication": 2, "inquiry": 1}


def test_a_topic_without_sensitive_terms_is_proposed_with_the_plans_reasons_only(
    analyst, health_unit
):
    rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    feed(a_post(PLAIN, reads=60))

    with translation.override("en"):
        topics_refresh()

    assert Topic.objects.get().categories == {}
    assert not any("sensitive" in reason for reason in Proposal.objects.get().reasons)


def test_creating_a_list_checks_the_role_in_the_service(spokesperson):
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        term_list_create(actor=spokesperson, category="hype", name="x", terms="炒作")


def test_a_new_or_changed_list_is_applied_to_recent_stored_posts_in_the_background(
    analyst, health_unit
):
    from datetime import timedelta

    from django.utils import timezone

    from monitoring.intake.batches import posts_ingest
    from monitoring.models import Post, Topic
    from monitoring.text.matching import rule_create
    from monitoring.text.sensitive import sensitive_backfill, term_list_create, term_list_update
    from monitoring.topics.matches import rules_backfill
    from monitoring.topics.refresh import topics_refresh

    sensitive_backfill()  # the starter lists: nothing stored yet
    rule_create(actor=analyst, name="医院", expression="医院", unit=health_unit)
    now = timezone.now()
    posts_ingest(
        items=[
            {
                "platform": "weibo",
                "url": "https://weibo.com/p/recent",
                "text": "医院门口有人散布流言蜚语",
                "published_at": (now - timedelta(days=1)).isoformat(),
            },
            {
                "platform": "weibo",
                "url": "https://weibo.com/p/old",
                "text": "医院门口有人散布流言蜚语。",
                "published_at": (now - timedelta(days=30)).isoformat(),
            },
        ],
        source="test",
    )
    rules_backfill()
    topics_refresh()
    assert Post.objects.get(url__endswith="recent").sensitive_terms == []

    made = term_list_create(actor=analyst, category="fabrication", name="流言", terms="流言蜚语")
    assert sensitive_backfill() == 1
    recent = Post.objects.get(url__endswith="recent")
    assert (recent.sensitive_terms, recent.sensitive_category) == (["流言蜚语"], "fabrication")
    assert Post.objects.get(url__endswith="old").sensitive_terms == []  # outside the window
    topics_refresh()
    assert Topic.objects.get().categories == {"fabrication": 1}
    assert sensitive_backfill() == 0  # done

    term_list_update(term_list=made, actor=analyst, active=False)
    assert sensitive_backfill() == 1
    assert Post.objects.get(url__endswith="recent").sensitive_category == ""
