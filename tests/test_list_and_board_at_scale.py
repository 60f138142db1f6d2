"""The incident list and the duty board at scale (issue 13): the list answers from plain
rows exactly what the field-by-field serializer answers, with the same queries for any
page size; the board shows at most the configured cards, nearest deadline first, with
counts by level and state and filters for the rest, in a fixed number of queries."""

import random
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.pagination import PageNumberPagination

from bench.list_bench import ORDER, STATE_WEIGHTS, seed
from deadlines.models import Deadline
from incidents import guards
from incidents.models import Incident
from incidents.selectors import incident_list, incident_list_complete
from incidents.serializers import IncidentListItemSerializer, IncidentListRowSerializer
from incidents.services import incident_add_metrics
from organisation.models import Unit
from plans.models import DeadlineKind
from plans.selectors import plan_version_in_force
from tests.helpers import MONDAY_MORNING, at

pytestmark = pytest.mark.django_db

INCIDENTS = "/api/v1/incidents/"


def board_titles(content: str) -> list[str]:
    return re.findall(r'class="card-title"><a href="[^"]+">([^<]+)</a>', content)


def board_counts(content: str, facet: str) -> dict[str, int]:
    return {
        value: int(count)
        for value, count in re.findall(
            rf'data-{facet}="([^"]+)">[^<]*<b>(\d+)</b>', re.sub(r"\s+", " ", content)
        )
    }


@pytest.fixture
def many(people, office):
    """60 incidents of every state, in bulk: deadlines met, open or cancelled, approved
    response plans and reviews, as the bench seeds them; one reported incident with its
    response plan approved and one in review with its review approved, so the guards on
    `respond` and `close` let them pass."""
    from response.models import DocumentState, ResponsePlan, Review

    seed(60, states=ORDER, weights=list(STATE_WEIGHTS.values()), rng=random.Random(5))
    reported = Incident.objects.filter(state="reported").first()
    ResponsePlan.objects.create(
        incident=reported,
        version=1,
        state=DocumentState.APPROVED,
        author=office,
        facts="经核实，情况属实。",
        category="inquiry",
    )
    review = Review.objects.filter(incident__state="reviewing").order_by("pk").first()
    review.state = DocumentState.APPROVED
    review.save(update_fields=["state"])


@pytest.fixture
def varied(people, log_incident, advance, office):
    """Incidents made by the services, with what the actions depend on: a Ⅰ incident
    with arrival clocks, an upgrade waiting for a decision, a closed one, a lead."""
    log_incident(title="线索")
    advance(log_incident(title="一级", metrics={"casualties": True}), "reported")
    assessed = advance(log_incident(title="待定升级", metrics={"reads": 50}), "assessed", level=4)
    incident_add_metrics(
        incident=assessed, actor=office, metrics={"mainstream_media": True, "reads": 900}
    )
    advance(log_incident(title="已结案"), "closed")
    advance(log_incident(title="处置中"), "responding")


# The list ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["office", "duty", "analyst", "leader", "liaison"])
def test_list_rows_answer_what_the_field_by_field_serializer_answers(many, varied, people, persona):
    from django.db.models import Prefetch

    request = RequestFactory().get(INCIDENTS)
    request.user = people[persona]
    context = {"request": request, "now": timezone.now()}
    rows = incident_list_complete(list(incident_list().rows))
    instances = list(
        Incident.objects.select_related("unit", "latest_metrics")
        .prefetch_related(
            Prefetch("deadlines", queryset=Deadline.objects.order_by("due_at", "id")),
            *guards.prefetches(),
        )
        .order_by("-discovered_at", "-id")
    )
    fast = IncidentListRowSerializer(rows, many=True, context=context).data
    slow = IncidentListItemSerializer(instances, many=True, context=context).data
    assert len(fast) == len(instances) > 60
    assert [dict(item) for item in fast] == [dict(item) for item in slow]
    actions = {action for item in fast for action in item["actions"]}
    if persona == "office":  # every kind of action the list can offer is covered
        assert {"assess", "report", "respond", "track", "review", "close", "dismiss"} <= actions
        assert {"change_level", "reject_upgrade", "arrive"} <= actions


def test_list_query_count_is_the_same_for_pages_of_10_and_50(
    many, varied, api_for, office, monkeypatch
):
    client = api_for(office)
    counts = {}
    for size in (10, 50):
        monkeypatch.setattr(PageNumberPagination, "page_size", size)
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(INCIDENTS)
        assert answer.status_code == 200
        assert len(answer.json()["results"]) == size
        counts[size] = len(queries)
    assert counts[10] == counts[50]


def test_list_counts_and_filters_as_before(many, api_for, office, health_unit):
    client = api_for(office)
    everything = client.get(INCIDENTS).json()
    assert everything["count"] == Incident.objects.count() == 60
    for params, expected in (
        ({"state": "closed"}, Incident.objects.filter(state="closed")),
        ({"level": 2}, Incident.objects.filter(level=2)),
        ({"unit": health_unit.pk}, Incident.objects.filter(unit=health_unit)),
        ({"state": "assessed", "level": 3}, Incident.objects.filter(state="assessed", level=3)),
    ):
        answer = client.get(INCIDENTS, params).json()
        assert answer["count"] == expected.count()
        newest = expected.order_by("-discovered_at", "-id").values_list("id", flat=True)[:50]
        assert [item["id"] for item in answer["results"]] == list(newest)


# The board --------------------------------------------------------------------------


@pytest.fixture
def board_of_five(log_incident, advance):
    """Five open incidents whose nearest deadlines (the first public response, level Ⅳ)
    fall due 10, 20 … 50 minutes from now, logged in another order, and one closed. The
    clock stands on a morning: the checklist's tasks fall due at the end of the day."""
    with at(MONDAY_MORNING):
        now = timezone.now()
        window = (
            plan_version_in_force()
            .deadline_rules.get(level=4, kind=DeadlineKind.FIRST_RESPONSE)
            .minutes
        )
        made = {}
        for minutes in (30, 10, 50, 20, 40):
            discovered = now - timedelta(minutes=window - minutes)
            made[minutes] = advance(
                log_incident(title=f"{minutes}分钟后到期", discovered_at=discovered),
                "assessed",
                level=4,
            )
        advance(log_incident(title="已结案"), "closed")
        yield made


def test_board_shows_at_most_the_configured_cards_nearest_deadline_first(
    client, duty, board_of_five, settings
):
    settings.FENGHUO_BOARD_CARDS = 3
    client.force_login(duty)
    content = client.get(reverse("incidents:board"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert board_titles(content) == ["10分钟后到期", "20分钟后到期", "30分钟后到期"]
    assert "Showing the 3 with the nearest deadlines of 5 open incidents." in content

    settings.FENGHUO_BOARD_CARDS = 50
    content = client.get(reverse("incidents:board")).content.decode()
    assert len(board_titles(content)) == 5
    assert 'id="board-showing"' not in content


def test_board_counts_open_incidents_by_level_and_state(
    client, duty, log_incident, advance, settings
):
    settings.FENGHUO_BOARD_CARDS = 1
    log_incident(title="未研判一")
    log_incident(title="未研判二")
    advance(log_incident(title="四级"), "assessed", level=4)
    advance(log_incident(title="三级"), "reported", level=3)
    advance(log_incident(title="三级处置"), "responding", level=3)
    advance(log_incident(title="已结案"), "closed", level=1)
    client.force_login(duty)
    content = client.get(reverse("incidents:board")).content.decode()
    assert board_counts(content, "level") == {"1": 0, "2": 0, "3": 2, "4": 1, "none": 2}
    assert board_counts(content, "state") == {
        "detected": 2,
        "assessed": 1,
        "reported": 1,
        "responding": 1,
        "tracking": 0,
        "reviewing": 0,
    }
    # A count is a link to its filter; with a filter set, the other facet counts within it.
    assert f'href="{reverse("incidents:board")}?level=3"' in content
    filtered = client.get(reverse("incidents:board"), {"level": 3}).content.decode()
    assert board_counts(filtered, "state")["reported"] == 1
    assert board_counts(filtered, "state")["detected"] == 0
    assert board_counts(filtered, "level")["none"] == 2  # its own facet ignores it
    assert f'href="{reverse("incidents:board")}"' in filtered  # choosing it again clears it


def test_board_filters_by_level_state_and_unit(client, duty, log_incident, advance, people):
    other = Unit.objects.exclude(name="卫生健康委员会").order_by("pk").first()
    log_incident(title="未研判")
    advance(log_incident(title="四级已研判"), "assessed", level=4)
    advance(log_incident(title="三级已报告"), "reported", level=3)
    log_incident(title="别的单位", unit=other)
    client.force_login(duty)

    def titles(**params):
        response = client.get(reverse("incidents:board"), params)
        assert response.status_code == 200
        return sorted(board_titles(response.content.decode()))

    assert titles(level=4) == ["四级已研判"]
    assert titles(level="none") == ["别的单位", "未研判"]
    assert titles(state="reported") == ["三级已报告"]
    assert titles(unit=other.pk) == ["别的单位"]
    assert titles(level="none", unit=other.pk) == ["别的单位"]
    assert titles(level=1) == []
    # A value that is no choice is an error on the form; the other filters still apply.
    response = client.get(reverse("incidents:board"), {"level": "9", "state": "reported"})
    assert response.status_code == 200
    assert sorted(board_titles(response.content.decode())) == ["三级已报告"]
    assert response.context["filter_form"].errors["level"]
    # The live refresh keeps the filters; the list alone answers them too.
    content = client.get(reverse("incidents:board"), {"state": "reported"}).content.decode()
    assert 'hx-get="/board/list/?state=reported"' in content
    partial = client.get(reverse("incidents:board_partial"), {"state": "reported"})
    assert board_titles(partial.content.decode()) == ["三级已报告"]


def test_board_notice_is_in_chinese(client, duty, board_of_five, settings):
    settings.FENGHUO_BOARD_CARDS = 2
    client.force_login(duty)
    content = client.get(reverse("incidents:board"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "共 5 起未结舆情事件，显示截止时间最近的 2 起。" in content.content.decode()
    empty = client.get(reverse("incidents:board"), {"level": 1}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "没有符合筛选条件的未结舆情事件。" in empty.content.decode()


@pytest.mark.parametrize("params", [{}, {"level": "none"}, {"state": "assessed", "unit": "1"}])
def test_board_queries_do_not_grow_with_the_open_incidents(client, duty, settings, params):
    settings.FENGHUO_BOARD_CARDS = 5
    client.force_login(duty)
    rng = random.Random(7)
    open_states = ORDER[:6]
    weights = [STATE_WEIGHTS[state] for state in open_states]
    counts = []
    for count in (3, 40):
        seed(count, states=open_states, weights=weights, rng=rng)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("incidents:board"), params)
        assert response.status_code == 200
        assert len(board_titles(response.content.decode())) <= 5
        counts.append(len(queries))
    assert counts[0] == counts[1]
