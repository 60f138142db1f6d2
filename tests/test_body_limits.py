"""Rows 11 and 12 of issue 12: bodies as large as the API documents are taken in, larger
ones answer 413 naming the limit in bytes (JSON for the API, a page for the browser), and
JSON nested deeper than ``JSON_MAX_DEPTH`` is a 400, never a RecursionError."""

import io
import json
import random
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from core.limits import JSON_MAX_DEPTH, JSONTooDeep, json_nesting_exceeds
from core.parsers import JSONParser
from incidents.models import Incident
from monitoring.api import INTAKE_MAX_BODY_BYTES, PostListIngestApi
from monitoring.intake.batches import MAX_BATCH, MAX_FIGURE
from monitoring.models import (
    AUTHOR_MAX_CHARS,
    TEXT_MAX_CHARS,
    URL_MAX_BYTES,
    ImportJob,
    Platform,
    Post,
    SourceType,
)

POSTS = "/api/v1/posts/"
TOKEN = "/api/v1/auth/token/"
INCIDENTS = "/api/v1/incidents/"
TOO_BIG = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1


def chinese(n: int, *, seed: int) -> str:
    """``n`` CJK characters, different for each seed (posts are not copies of each other)."""
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(n))


def a_post(number: int, text: str) -> dict[str, Any]:
    return {
        "platform": "weibo",
        "url": f"https://weibo.com/u/9/{number}",
        "author": "网友",
        "text": text,
        "published_at": "2026-11-20T08:30:00+08:00",
        "reads": 100,
        "source_type": "social_account",
    }


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def duty_api(api_for, duty) -> APIClient:
    return api_for(duty)


# Row 11: the intake takes in what it documents ------------------------------------------


def test_a_batch_of_1000_posts_of_1000_characters_is_taken_in(duty_api):
    batch = [a_post(n, chinese(1000, seed=n)) for n in range(MAX_BATCH)]
    body = json.dumps(batch, ensure_ascii=False).encode()
    assert len(body) > 3_000_000  # over Django's 2.5 MB default, which answered 400

    answer = duty_api.post(POSTS, body, content_type="application/json")

    assert answer.status_code == 200, answer.content[:500]
    assert answer.json()["accepted"] == MAX_BATCH
    assert Post.objects.count() == MAX_BATCH


def test_the_documented_maximum_batch_fits_the_intake_limit_however_it_is_encoded():
    longest_choice = {
        field: max(choices.values, key=len)
        for field, choices in (("platform", Platform), ("source_type", SourceType))
    }
    post = {
        **longest_choice,
        "url": "https://weibo.com/" + "a/" * ((URL_MAX_BYTES - 18) // 2),
        "author": "网" * AUTHOR_MAX_CHARS,
        "text": "医" * TEXT_MAX_CHARS,
        "published_at": "2026-11-20T08:30:00.123456+08:00",
        **{figure: MAX_FIGURE for figure in ("reads", "reposts", "comments", "likes")},
    }
    # Escaped (Python's json.dumps and requests by default), slashes escaped too (PHP),
    # pretty-printed: the most any ordinary encoder spends on it.
    one = json.dumps(post, ensure_ascii=True, indent=4).replace("/", "\\/")
    largest_batch = MAX_BATCH * (len(one.encode()) + len(",\n    ")) + 2

    assert largest_batch <= INTAKE_MAX_BODY_BYTES == PostListIngestApi.max_body_bytes


def test_a_body_over_the_intake_limit_answers_413_json_naming_the_limit(duty_api, monkeypatch):
    monkeypatch.setattr(PostListIngestApi, "max_body_bytes", 50_000)
    body = json.dumps(
        [a_post(n, chinese(1000, seed=n)) for n in range(20)], ensure_ascii=False
    ).encode()

    answer = duty_api.post(POSTS, body, content_type="application/json")

    assert answer.status_code == 413
    assert answer.json()["code"] == "request_too_large"
    assert answer.json()["max_bytes"] == 50_000
    assert "50000" in answer.json()["detail"]
    assert Post.objects.count() == 0


def test_a_body_announced_over_the_intake_limit_is_refused_before_it_is_read(duty_api):
    answer = duty_api.generic(
        "POST",
        POSTS,
        b"[]",
        content_type="application/json",
        CONTENT_LENGTH=str(INTAKE_MAX_BODY_BYTES + 1),
    )

    assert answer.status_code == 413
    assert answer.json()["max_bytes"] == INTAKE_MAX_BODY_BYTES


def test_a_json_body_over_the_default_limit_elsewhere_answers_413_naming_it(duty_api):
    lead = {
        "title": "网友反映医院收费问题",
        "platform": "weibo",
        "event_type": "user_complaint",
        "description": "长" * (TOO_BIG // 3 + 1),
    }

    answer = duty_api.post(
        INCIDENTS, json.dumps(lead, ensure_ascii=False).encode(), content_type="application/json"
    )

    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["max_bytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert Incident.objects.count() == 0


def test_a_form_body_over_the_limit_to_the_api_answers_413_json(db):
    answer = APIClient().post(TOKEN, {"username": "duty", "password": "x" * TOO_BIG})

    assert answer.status_code == 413
    assert answer.json()["code"] == "request_too_large"
    assert answer.json()["max_bytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_a_browser_form_over_the_limit_gets_a_page_naming_it_and_nothing_is_saved(
    duty, health_unit
):
    browser = Client(enforce_csrf_checks=True)  # the CSRF check is what reads the form
    browser.force_login(duty)
    browser.get(reverse("incidents:create"))
    form = {
        "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        "title": "网友发帖质疑某医院收费",
        "description": "x" * TOO_BIG,
        "platform": "weibo",
        "unit": health_unit.pk,
        "event_type": "user_complaint",
    }

    answer = browser.post(reverse("incidents:create"), form)

    assert answer.status_code == 413
    page = answer.content.decode()
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in page
    assert "未保存" in page  # the page is Chinese by default
    assert Incident.objects.count() == 0


def test_an_import_file_larger_than_the_body_limit_still_uploads(client, duty, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    header = "平台,链接,作者,内容,发布时间\r\n"
    row = "微博,https://weibo.com/1/{n},网友,{text},2026-11-20 10:00\r\n"
    lines, size, n = [header], len(header), 0
    while size <= TOO_BIG:
        line = row.format(n=n, text="医院收费" * 50)
        lines.append(line)
        size, n = size + len(line.encode()), n + 1
    client.force_login(duty)

    answer = client.post(
        reverse("monitoring:imports"),
        {"file": SimpleUploadedFile("大文件.csv", "".join(lines).encode())},
    )

    assert answer.status_code == 302
    assert ImportJob.objects.get().file.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# Row 12: JSON nested deeper than the bound -------------------------------------------------


def test_5000_nested_brackets_to_the_token_endpoint_answer_400_naming_the_bound(db):
    answer = APIClient().post(TOKEN, nested(5000), content_type="application/json")

    assert answer.status_code == 400
    assert answer.json()["code"] == "json_too_deep"
    assert answer.json()["max_depth"] == JSON_MAX_DEPTH
    assert str(JSON_MAX_DEPTH) in answer.json()["detail"]


def test_5000_nested_brackets_to_the_post_intake_answer_400(duty_api):
    answer = duty_api.post(POSTS, nested(5000), content_type="application/json")

    assert answer.status_code == 400
    assert answer.json()["code"] == "json_too_deep"


def test_a_deep_unclosed_body_is_a_400_too(duty_api):
    answer = duty_api.post(POSTS, '{"posts": ' + "[" * 5000, content_type="application/json")

    assert answer.status_code == 400


def parse(text: str) -> Any:
    return JSONParser().parse(io.BytesIO(text.encode()), "application/json", {})


def test_json_nested_to_the_bound_is_parsed_and_one_level_more_is_refused():
    at_bound = '{"a": ' * (JSON_MAX_DEPTH - 1) + "[1]" + "}" * (JSON_MAX_DEPTH - 1)
    assert parse(at_bound)["a"]["a"]
    with pytest.raises(JSONTooDeep):
        parse("[" + at_bound + "]")


def test_brackets_quotes_and_backslashes_inside_strings_do_not_count():
    text = json.dumps({"text": "[" * 5000 + '\\"{{' + "\\", "more": ['"[[', "\\\\"]})
    assert parse(text)["text"].startswith("[[[")


json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab医\n', max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(json_values, st.booleans(), st.sampled_from([None, 1]), st.integers(0, 6))
def test_the_bracket_scan_agrees_with_the_parser(value, ascii_only, indent, limit):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert json_nesting_exceeds(text, limit) == (depth(value) > limit)
