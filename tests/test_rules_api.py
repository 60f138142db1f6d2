"""Watch rules (/api/v1/rules/): written by the analysts, checked for syntax, tried on recent
posts, and matched on the stream as posts are stored."""

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from monitoring.intake.batches import posts_ingest
from monitoring.models import Post, PostMatch, WatchRule
from tests.schema_check import assert_documented

RULES = "/api/v1/rules/"
TRY = "/api/v1/rules/try/"
POSTS = "/api/v1/posts/"

_numbers = iter(range(1, 1_000_000))


def a_post(text: str, *, published_at=None, **overrides: Any) -> dict[str, Any]:
    published_at = published_at or timezone.now() - timedelta(hours=1)
    post = {
        "platform": "weibo",
        "url": f"https://weibo.com/u/1/{next(_numbers)}",
        "author": "网友甲",
        "text": text,
        "published_at": published_at.isoformat(),
    }
    post.update(overrides)
    return post


def ingest(*posts: dict[str, Any]) -> None:
    result = posts_ingest(items=list(posts))
    assert result.rejected == 0, result.errors


def create(client, **fields: Any):
    return client.post(RULES, fields, format="json")


@pytest.fixture
def analyst_api(api_for, analyst):
    return api_for(analyst)


@pytest.fixture
def fees_rule(analyst_api, health_unit) -> dict[str, Any]:
    answer = create(
        analyst_api,
        name="医院收费",
        expression="(医院 OR 卫健委) AND 收费 NOT 招聘",
        unit=health_unit.pk,
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_an_analyst_creates_a_rule_for_a_unit(fees_rule, analyst, health_unit):
    assert fees_rule["name"] == "医院收费"
    assert fees_rule["unit"] == health_unit.pk and fees_rule["active"] is True
    rule = WatchRule.objects.get(pk=fees_rule["id"])
    assert rule.created_by == analyst and rule.expression == "(医院 OR 卫健委) AND 收费 NOT 招聘"


def test_an_unclosed_parenthesis_is_a_400_with_its_position(analyst_api, health_unit):
    analyst_api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    answer = create(analyst_api, name="坏规则", expression="(医院 收费", unit=health_unit.pk)
    analyst_api.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = create(analyst_api, name="坏规则", expression="(医院 收费", unit=health_unit.pk)

    assert answer.status_code == 400
    body = answer.json()
    assert body["position"] == 0 and body["syntax_error"] == "unclosed_group"
    assert body["expression"] == ["missing closing parenthesis (position 0)"]
    assert chinese.json()["expression"] == ["缺少右括号（位置 0）"]
    assert not WatchRule.objects.exists()


def test_an_operator_without_a_term_after_it_is_a_400_at_the_operator(analyst_api, health_unit):
    answer = create(analyst_api, name="坏规则", expression="(医院 OR", unit=health_unit.pk)

    assert answer.status_code == 400
    assert answer.json()["position"] == 4


def test_a_spokesperson_may_not_create_a_rule(api_for, spokesperson, health_unit):
    answer = create(api_for(spokesperson), name="医院", expression="医院", unit=health_unit.pk)

    assert answer.status_code == 403
    assert not WatchRule.objects.exists()


def test_rules_are_listed_by_unit_and_activity(analyst_api, fees_rule, health_unit):
    analyst_api.patch(f"{RULES}{fees_rule['id']}/", {"active": False}, format="json")
    create(analyst_api, name="卫健委", expression="卫健委", unit=health_unit.pk)

    listed = analyst_api.get(RULES, {"unit": health_unit.pk, "active": "true"}).json()
    assert [rule["name"] for rule in listed["results"]] == ["卫健委"]
    assert analyst_api.get(RULES).json()["count"] == 2


def test_trying_an_expression_answers_the_matching_recent_posts_only(analyst_api):
    now = timezone.now()
    ingest(
        a_post("市一医院乱收费", published_at=now - timedelta(hours=2)),
        a_post("医院招聘护士，收费标准另议", published_at=now - timedelta(hours=1)),
        a_post("卫健委回应收费问题", published_at=now - timedelta(days=2)),
        a_post("医院收费旧闻", published_at=now - timedelta(days=3, minutes=1)),
        a_post("今天天气不错", published_at=now - timedelta(minutes=5)),
    )

    answer = analyst_api.post(
        TRY, {"expression": "(医院 OR 卫健委) AND 收费 NOT 招聘", "days": 3}, format="json"
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert [post["text"] for post in body["posts"]] == ["市一医院乱收费", "卫健委回应收费问题"]
    assert body["count"] == 2 and body["scanned"] == 4 and body["scan_limit"] == 5000
    assert not WatchRule.objects.exists()


def test_trying_a_bad_expression_is_a_400_with_its_position(analyst_api):
    answer = analyst_api.post(TRY, {"expression": "医院 OR"}, format="json")

    assert answer.status_code == 400
    assert answer.json()["position"] == 3


def test_posts_stored_after_a_rule_exists_are_matched_and_listed_by_rule(analyst_api, fees_rule):
    ingest(a_post("市一医院乱收费"), a_post("医院招聘护士收费"), a_post("今天天气不错"))
    matched = Post.objects.get(text="市一医院乱收费")

    assert list(PostMatch.objects.values_list("post", "rule")) == [(matched.pk, fees_rule["id"])]
    listed = analyst_api.get(POSTS, {"rule": fees_rule["id"]}).json()
    assert [post["id"] for post in listed["results"]] == [matched.pk]


def test_a_duplicate_whose_text_is_filled_in_is_matched(fees_rule):
    post = a_post("")
    ingest(post)
    ingest({**post, "text": "医院收费不透明"})

    assert PostMatch.objects.filter(rule_id=fees_rule["id"]).count() == 1


def test_an_inactive_rule_matches_nothing(analyst_api, fees_rule):
    analyst_api.patch(f"{RULES}{fees_rule['id']}/", {"active": False}, format="json")
    ingest(a_post("市一医院乱收费"))

    assert not PostMatch.objects.exists()


def test_editing_a_rules_expression_rebuilds_the_rule_set(analyst_api, fees_rule):
    ingest(a_post("医院乱收费"))
    with time_machine.travel(timezone.now(), tick=False):
        answer = analyst_api.patch(
            f"{RULES}{fees_rule['id']}/", {"expression": "投诉"}, format="json"
        )
        assert answer.status_code == 200, answer.content
        assert answer.json()["expression"] == "投诉"
        ingest(a_post("医院又乱收费"), a_post("患者投诉"))

    texts = set(Post.objects.filter(matches__rule=fees_rule["id"]).values_list("text", flat=True))
    assert texts == {"医院乱收费", "患者投诉"}


def test_editing_with_a_bad_expression_is_a_400_and_changes_nothing(analyst_api, fees_rule):
    answer = analyst_api.patch(
        f"{RULES}{fees_rule['id']}/", {"expression": "收费 AND"}, format="json"
    )

    assert answer.status_code == 400 and answer.json()["position"] == 3
    assert WatchRule.objects.get(pk=fees_rule["id"]).expression.startswith("(医院")


def test_a_spokesperson_may_not_edit_a_rule(api_for, spokesperson, fees_rule):
    answer = api_for(spokesperson).patch(f"{RULES}{fees_rule['id']}/", {"name": "x"}, format="json")

    assert answer.status_code == 403


def test_reading_a_rule(analyst_api, fees_rule):
    assert analyst_api.get(f"{RULES}{fees_rule['id']}/").json() == fees_rule
    assert analyst_api.get(f"{RULES}999999/").status_code == 404


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        (RULES, "POST", {"name": "x", "expression": "医院", "unit": 999999}),
        (RULES, "POST", {"name": "x", "expression": "(医院", "unit": None}),
        (RULES, "POST", "not json"),
        (TRY, "POST", {"expression": "医院 AND", "days": 0}),
        (TRY, "POST", {"expression": "(医院"}),
        ("{rule}", "PATCH", {"expression": ""}),
        ("{rule}", "PATCH", {"expression": "医院 OR"}),
    ],
)
def test_every_400_of_the_rule_operations_is_the_documented_body(
    analyst_api, fees_rule, path, method, body
):
    url = f"{RULES}{fees_rule['id']}/" if path == "{rule}" else path
    if isinstance(body, str):
        answer = analyst_api.generic(method, url, body, content_type="application/json")
    else:
        answer = analyst_api.generic(method, url, json.dumps(body), content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert_documented(answer, "/api/v1/rules/{id}/" if path == "{rule}" else path, method)
