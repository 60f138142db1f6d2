"""The browser pages: the duty board, the log form, the incident page, the directory and
the roster, as the plan's people use them (Django test client, Chinese by default)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from incidents.models import Incident, TimelineEntry
from incidents.services import incident_transition, incident_update

pytestmark = pytest.mark.django_db

# One board query count whatever the number of incidents (see the test below): session,
# user, the user's roles, who is on duty, the units of the filter form, the counts by
# level and state, which cards, those incidents, their deadlines, the levels of their
# plan versions, the bell's unread count, the engine's heartbeat; the work list (shared
# by the bell and the board's panel): deadlines, the three kinds of documents to approve,
# tasks, proposals.
BOARD_QUERIES = 18


def board_titles(content: str) -> list[str]:
    return re.findall(r'class="card-title"><a href="[^"]+">([^<]+)</a>', content)


def log_form_data(unit, **overrides):
    data = {
        "title": "网友发帖质疑某医院收费",
        "description": "微博网友称被重复收费。",
        "links": "https://weibo.com/example/1\nhttps://weibo.com/example/2",
        "platform": "weibo",
        "discovered_at": timezone.localtime(timezone.now() - timedelta(minutes=20)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "unit": unit.pk,
        "event_type": "user_complaint",
        "reads": "120",
        "reposts": "10",
        "comments": "30",
        "negative_share": "45",
    }
    data.update(overrides)
    return data


# The board --------------------------------------------------------------------------


def test_pages_send_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("incidents:board"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_with_the_language_switcher(client):
    response = client.get(reverse("login"))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in content
    assert reverse("set_language") in content


def test_board_lists_leads_then_open_incidents_nearest_deadline_first_with_level_classes(
    client, duty, analyst, log_incident, advance
):
    now = timezone.now()
    orange = advance(
        log_incident(
            title="二级：一小时内报告", discovered_at=now, metrics={"mainstream_media": True}
        ),
        "assessed",
    )
    red = advance(
        log_incident(title="一级：半小时内报告", discovered_at=now, metrics={"casualties": True}),
        "assessed",
    )
    log_incident(title="尚未研判", discovered_at=now - timedelta(minutes=5))
    dismissed = log_incident(title="已排除的线索")
    incident_transition(incident=dismissed, action="dismiss", actor=analyst, reason="谣言已澄清")
    advance(log_incident(title="已结案的事件"), "closed")

    client.force_login(duty)
    response = client.get(reverse("incidents:board"))
    content = response.content.decode()

    assert response.status_code == 200
    # Unassessed leads first (待研判), then the nearest deadline first.
    assert board_titles(content) == ["尚未研判", "一级：半小时内报告", "二级：一小时内报告"]
    assert f'class="incident-card level-red" data-incident="{red.pk}"' in re.sub(
        r"\s+", " ", content
    )
    assert f'class="incident-card level-orange" data-incident="{orange.pk}"' in re.sub(
        r"\s+", " ", content
    )
    # A lead takes its suggested colour, marked as not yet graded.
    assert "incident-card level-blue is-lead" in content
    assert 'hx-get="/board/list/"' in content and 'hx-trigger="every 30s"' in content
    cards = re.sub(r'<section id="work-panel".*?</section>', "", content, flags=re.S)
    assert cards.count("data-due=") == 3  # the lead's assessment counts down too


def test_board_partial_answers_the_list_alone_for_htmx(client, duty, log_incident):
    log_incident(title="局部刷新")
    client.force_login(duty)
    response = client.get(reverse("incidents:board_partial"), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert board_titles(content) == ["局部刷新"]
    assert "<html" not in content


@pytest.mark.parametrize("count", [1, 15])
def test_board_query_count_does_not_grow_with_the_number_of_incidents(
    client, duty, log_incident, advance, django_assert_num_queries, count
):
    for number in range(count):
        incident = log_incident(title=f"事件{number}", metrics={"reads": 50 + number})
        if number % 2:
            advance(incident, "reported")
    client.force_login(duty)
    with django_assert_num_queries(BOARD_QUERIES):
        response = client.get(reverse("incidents:board"))
    assert len(board_titles(response.content.decode())) == count


# Logging an incident ----------------------------------------------------------------


def test_log_form_defaults_to_now_and_the_officers_unit(client, duty):
    client.force_login(duty)
    response = client.get(reverse("incidents:create"))
    form = response.context["form"]
    assert response.status_code == 200
    assert form["unit"].value() == duty.unit_id
    shown = form["discovered_at"].value()  # naive, in Asia/Shanghai, as the picker shows it
    assert abs(timezone.localtime().replace(tzinfo=None) - shown) < timedelta(minutes=2)
    assert 'type="datetime-local"' in response.content.decode()


def test_logging_an_incident_through_the_form_creates_it_and_redirects_to_its_page(
    client, duty, health_unit
):
    client.force_login(duty)
    response = client.post(
        reverse("incidents:create"), log_form_data(health_unit, mainstream_media="on")
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:detail", args=[incident.pk])
    assert incident.title == "网友发帖质疑某医院收费"
    assert incident.unit == health_unit
    assert incident.links == ["https://weibo.com/example/1", "https://weibo.com/example/2"]
    assert incident.latest_metrics.reads == 120
    assert str(incident.latest_metrics.negative_share) == "0.450"
    assert incident.suggested_level == 2
    assert incident.created_by == duty
    entry = incident.timeline.get()
    assert entry.kind == TimelineEntry.Kind.CREATED and entry.client_ip == "127.0.0.1"

    page = client.get(response["Location"])
    assert "message-success" in page.content.decode()


@pytest.mark.parametrize(
    ("overrides", "bad_fields"),
    [
        ({"reads": "-5"}, {"reads"}),
        ({"negative_share": "150"}, {"negative_share"}),
        ({"title": "   "}, {"title"}),
        (
            {"reads": "-5", "negative_share": "150", "title": ""},
            {"reads", "negative_share", "title"},
        ),
        ({"links": "weibo.com/没有协议"}, {"links"}),
    ],
    ids=["negative-reads", "share-over-100", "empty-title", "all-three", "link-without-scheme"],
)
def test_log_form_bad_input_shows_field_errors_keeps_what_was_typed_and_stores_nothing(
    client, duty, overrides, bad_fields
):
    client.force_login(duty)
    data = log_form_data(duty.unit, **overrides)
    response = client.post(reverse("incidents:create"), data)
    content = response.content.decode()

    assert response.status_code == 400
    assert set(response.context["form"].errors) == bad_fields
    assert content.count('class="error"') >= len(bad_fields)
    assert f'value="{data["reads"]}"' in content
    assert f'value="{data["negative_share"]}"' in content
    assert "微博网友称被重复收费。" in content
    assert not Incident.objects.exists()


def test_log_form_refuses_a_discovery_time_in_the_future_from_the_service(client, duty):
    client.force_login(duty)
    future = timezone.localtime(timezone.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("incidents:create"), log_form_data(duty.unit, discovered_at=future)
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"discovered_at"}
    assert f'value="{future}"' in response.content.decode()
    assert not Incident.objects.exists()


def test_spokesperson_cannot_open_the_log_form_nor_sees_it_in_the_menu(client, spokesperson):
    client.force_login(spokesperson)
    assert client.get(reverse("incidents:create")).status_code == 403
    refused = client.post(reverse("incidents:create"), log_form_data(spokesperson.unit))
    assert refused.status_code == 403
    board = client.get(reverse("incidents:board")).content.decode()
    assert reverse("incidents:create") not in board
    assert not Incident.objects.exists()


# The incident page ------------------------------------------------------------------


def action_forms(content: str) -> list[str]:
    return re.findall(r'data-action="([a-z_]+)"', content)


def test_incident_page_shows_the_grading_reasons_deadlines_and_timeline(
    client, duty, log_incident, advance
):
    incident = advance(
        log_incident(metrics={"mainstream_media": True}), "assessed", level=2, category="hype"
    )
    client.force_login(duty)
    response = client.get(reverse("incidents:detail", args=[incident.pk]))
    content = response.content.decode()

    assert response.status_code == 200
    assert 'class="incident-head level-orange"' in content
    with translation.override("zh-hans"):
        assert translation.gettext("mainstream media carry it") in content
    # Report within 60 min, first response in 3 h, the official release in 24 h, the
    # seven arrival clocks of a Ⅱ alarm (office staff, joint-meeting members, informants;
    # one per person) and the hype checklist's task with a due time.
    assert content.count("data-due=") == 3 + 7 + 1
    assert content.count("<tr>") >= 3  # one snapshot, two timeline entries


def test_incident_page_shows_only_the_actions_the_role_allows(
    client, duty, analyst, leader, log_incident
):
    incident = log_incident()
    url = reverse("incidents:detail", args=[incident.pk])

    client.force_login(duty)
    duty_page = client.get(url).content.decode()
    assert action_forms(duty_page) == []
    assert "/act/assess/" not in duty_page
    assert f'action="{reverse("incidents:metrics", args=[incident.pk])}"' in duty_page

    client.force_login(analyst)
    analyst_page = client.get(url).content.decode()
    assert action_forms(analyst_page) == ["assess", "dismiss"]
    assert f'name="version" value="{incident.version}"' in analyst_page

    client.force_login(leader)
    leader_page = client.get(url).content.decode()
    assert action_forms(leader_page) == []
    assert reverse("incidents:metrics", args=[incident.pk]) not in leader_page


def test_assess_form_defaults_to_the_suggested_level(client, analyst, log_incident):
    incident = log_incident(metrics={"mainstream_media": True})
    client.force_login(analyst)
    content = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert re.search(r'<option value="2" selected>', content)


def test_assessing_with_an_override_via_the_page_needs_a_reason(client, analyst, log_incident):
    incident = log_incident(metrics={"reads": 50})  # suggests Ⅳ
    assert incident.suggested_level == 4
    url = reverse("incidents:act", args=[incident.pk, "assess"])
    client.force_login(analyst)

    refused = client.post(
        url, {"version": incident.version, "level": "2", "category": "hype", "reason": ""}
    )
    incident.refresh_from_db()
    assert refused.status_code == 400
    assert incident.state == "detected" and incident.level is None
    assert "has-error" in refused.content.decode()
    assert 'id="id_assess_reason"' in refused.content.decode()

    accepted = client.post(
        url,
        {
            "version": incident.version,
            "level": "2",
            "category": "hype",
            "reason": "已有地方电视台跟进",
        },
    )
    incident.refresh_from_db()
    assert accepted.status_code == 302
    assert (incident.state, incident.level, incident.colour, incident.category) == (
        "assessed",
        2,
        "orange",
        "hype",
    )
    entry = incident.timeline.get(action="assess")
    assert entry.reason == "已有地方电视台跟进" and entry.client_ip == "127.0.0.1"


def test_dismissing_via_the_page_needs_a_reason(client, analyst, log_incident):
    incident = log_incident()
    url = reverse("incidents:act", args=[incident.pk, "dismiss"])
    client.force_login(analyst)

    refused = client.post(url, {"version": incident.version, "reason": ""})
    assert refused.status_code == 400
    incident.refresh_from_db()
    assert incident.state == "detected"

    client.post(url, {"version": incident.version, "reason": "经核实为旧闻"})
    incident.refresh_from_db()
    assert incident.state == "dismissed"


def test_a_stale_version_shows_the_conflict_message_without_changing_state(
    client, duty, analyst, log_incident
):
    incident = log_incident()
    seen_version = incident.version
    incident_update(incident=incident, actor=duty, changes={"title": "标题已被他人更正"})
    client.force_login(analyst)

    response = client.post(
        reverse("incidents:act", args=[incident.pk, "assess"]),
        {"version": seen_version, "level": "4", "category": "inquiry", "reason": ""},
    )
    content = response.content.decode()
    incident.refresh_from_db()

    assert response.status_code == 409
    assert incident.state == "detected" and incident.level is None
    assert "message-error" in content
    assert "标题已被他人更正" in content  # the page shows the incident as it is now
    assert f'name="version" value="{incident.version}"' in content


def test_a_role_that_may_not_act_gets_403_when_posting_anyway(client, duty, log_incident):
    incident = log_incident()
    client.force_login(duty)
    response = client.post(
        reverse("incidents:act", args=[incident.pk, "assess"]),
        {"version": incident.version, "level": "4", "category": "inquiry"},
    )
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.state == "detected"


def test_action_urls_take_only_post_and_known_actions(client, analyst, log_incident):
    incident = log_incident()
    client.force_login(analyst)
    assert client.get(reverse("incidents:act", args=[incident.pk, "assess"])).status_code == 405
    assert (
        client.post(
            reverse("incidents:act", args=[incident.pk, "explode"]), {"version": 1}
        ).status_code
        == 404
    )
    assert client.get(reverse("incidents:detail", args=[999999])).status_code == 404


def test_new_figures_via_the_page_add_a_snapshot_and_refresh_the_suggestion(
    client, duty, log_incident
):
    incident = log_incident(metrics={"reads": 50})
    client.force_login(duty)
    url = reverse("incidents:metrics", args=[incident.pk])

    bad = client.post(url, {"reads": "-1", "negative_share": "20"})
    assert bad.status_code == 400
    assert "reads" in bad.context["metrics_form"].errors
    assert incident.snapshots.count() == 1

    good = client.post(
        url, {"reads": "300", "comments": "150", "negative_share": "40", "mainstream_media": "on"}
    )
    incident.refresh_from_db()
    assert good.status_code == 302
    assert incident.snapshots.count() == 2
    assert incident.suggested_level == 2


def test_correcting_what_was_logged_via_the_page(client, duty, log_incident, health_unit):
    incident = log_incident()
    client.force_login(duty)
    response = client.post(
        reverse("incidents:edit", args=[incident.pk]),
        {
            "version": incident.version,
            "title": "更正后的标题",
            "description": "",
            "links": "",
            "platform": "weibo",
            "unit": health_unit.pk,
            "event_type": "user_complaint",
            "discovered_at": timezone.localtime(incident.discovered_at).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.title == "更正后的标题"


# Language, directory, roster ------------------------------------------------------------


def test_switching_the_language_to_english_changes_the_interface(client, duty):
    client.force_login(duty)
    chinese = client.get(reverse("incidents:board")).content.decode()
    assert "值班看板" in chinese and 'lang="zh-hans"' in chinese

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    english = client.get(reverse("incidents:board")).content.decode()
    assert "Duty board" in english and "值班看板" not in english
    assert 'lang="en"' in english


def test_directory_lists_units_phones_people_and_their_roles(client, duty):
    client.force_login(duty)
    response = client.get(reverse("organisation:directory"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "卫生健康委员会" in content and "010-60000003" in content
    assert "李研判" in content and "研判人员" in content
    assert "analyst@fenghuo.invalid" in content


def test_roster_and_top_bar_show_who_is_on_duty_now(client, analyst):
    client.force_login(analyst)
    response = client.get(reverse("organisation:roster"))
    content = response.content.decode()
    assert response.status_code == 200
    on_duty = re.search(r'<section class="panel on-duty">(.*?)</section>', content, re.S)
    assert on_duty and "王值班" in on_duty.group(1)
    assert re.search(r'class="dutybar-person">王值班', content)
    assert content.count("<tr") >= 3  # the header, today's and tomorrow's shifts


def test_the_incident_page_names_levels_and_the_lead_unit_as_its_plan_does(
    client, analyst, office, log_incident
):
    from incidents.services import incident_transition
    from plans.selectors import plan_version_in_force
    from plans.services import plan_version_new_draft, plan_version_publish

    draft = plan_version_new_draft(source=plan_version_in_force())
    draft.levels.filter(level=2).update(name="重要")
    plan_version_publish(version=draft, actor=office)
    media = incident_transition(
        incident=log_incident(metrics={"mainstream_media": True}),
        action="assess",
        actor=analyst,
        level=2,
        category="hype",
    )
    small = incident_transition(
        incident=log_incident(), action="assess", actor=analyst, level=4, category="inquiry"
    )
    client.force_login(analyst)
    page = client.get(f"/incidents/{media.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    page = page.decode()
    assert "Ⅱ级（重要）" in page
    assert "牵头单位" in page and "领导小组办公室" in page.split("牵头单位")[1][:200]
    page = client.get(f"/incidents/{small.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    assert "卫生健康委员会" in page.decode().split("牵头单位")[1][:200]


def test_the_incident_page_charts_the_figures_over_time(client, duty, log_incident):
    import json

    from incidents.services import incident_add_metrics

    incident = log_incident(metrics={"reads": 50, "negative_share": "0.1"})
    incident_add_metrics(
        incident=incident,
        actor=duty,
        metrics={"reads": 400, "comments": 120, "negative_share": "0.45"},
    )
    client.force_login(duty)
    content = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert 'id="figures-chart"' in content
    data = json.loads(
        content.split('id="figures-data" type="application/json">')[1].split("</script>")[0]
    )
    assert [(row["reads"], row["negative"]) for row in data] == [(50, 10.0), (400, 45.0)]
