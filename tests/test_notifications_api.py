"""The notifications API: a person's alerts over HTTP, and acknowledging one. The
acknowledgement's effect on the deadline chain is the service's; here we pin that the
API reaches it and what travels back."""

import pytest
from django.utils import timezone

from deadlines.models import Deadline
from incidents.models import TimelineEntry
from notifications.models import Notification, WebhookEndpoint
from notifications.services import notifications_write

NOTIFICATIONS = "/api/v1/notifications/"
NOTIFICATION_FIELDS = {
    "id",
    "incident",
    "deadline",
    "kind",
    "step",
    "recipient",
    "recipient_name",
    "channel",
    "title",
    "body",
    "created_at",
    "delivered_at",
    "read_at",
    "acknowledged_at",
}
# Token, the requester's roles, the page count, the page itself: the same for any number.
LIST_QUERIES = 4


def acknowledge_url(notification: Notification) -> str:
    return f"{NOTIFICATIONS}{notification.pk}/acknowledge/"


def notify(
    recipients,
    kind=Notification.Kind.REMINDER,
    title="报告时限将至",
    channels=(Notification.Channel.IN_APP,),
    **extra,
):
    """Write in-app notifications (unless told other channels) and answer the first
    recipient's in-app row."""
    notifications_write(
        recipients=recipients, kind=kind, title=title, at=timezone.now(), channels=channels, **extra
    )
    return Notification.objects.filter(
        kind=kind, recipient=recipients[0], channel=Notification.Channel.IN_APP
    ).latest("id")


@pytest.fixture
def report_deadline(log_incident, advance):
    """A level-one incident and its open report deadline: what an overdue alert is about."""
    incident = advance(log_incident(metrics={"casualties": True}), "assessed")
    return incident, incident.deadlines.get(kind="report")


@pytest.fixture
def overdue_alert(report_deadline, office):
    incident, deadline = report_deadline
    return notify(
        [office],
        Notification.Kind.OVERDUE,
        "报告已超时",
        incident_id=incident.pk,
        deadline_id=deadline.pk,
        step=1,
    )


def test_list_answers_the_person_their_own_notifications_with_every_field(
    api_for, duty, analyst, log_incident
):
    incident = log_incident()
    mine = notify([duty], incident_id=incident.pk, body="请在30分钟内报告。")
    notify([analyst], Notification.Kind.ESCALATION)

    response = api_for(duty).get(NOTIFICATIONS)

    assert response.status_code == 200
    assert response.data["count"] == 1
    item = response.data["results"][0]
    assert set(item) == NOTIFICATION_FIELDS
    assert item["id"] == mine.pk and item["incident"] == incident.pk
    assert item["deadline"] is None
    assert item["recipient"] == duty.pk and item["recipient_name"] == str(duty)
    assert item["kind"] == "reminder" and item["channel"] == "in_app"
    assert item["body"] == "请在30分钟内报告。"
    assert item["delivered_at"] is not None
    assert item["read_at"] is None and item["acknowledged_at"] is None


def test_list_filters_by_incident_and_kind(api_for, duty, log_incident):
    first, second = log_incident(title="一"), log_incident(title="二")
    notify([duty], incident_id=first.pk)
    wanted = notify([duty], Notification.Kind.OVERDUE, incident_id=first.pk)
    notify([duty], Notification.Kind.OVERDUE, incident_id=second.pk)

    response = api_for(duty).get(NOTIFICATIONS, {"incident": first.pk, "kind": "overdue"})

    assert [item["id"] for item in response.data["results"]] == [wanted.pk]


def test_recipient_filter_does_not_show_a_person_someone_elses_notifications(
    api_for, duty, analyst
):
    notify([analyst])
    response = api_for(duty).get(NOTIFICATIONS, {"recipient": analyst.pk})
    assert response.status_code == 200
    assert response.data["count"] == 0


@pytest.mark.parametrize("persona", ["office", "admin"])
def test_office_head_and_system_administrator_see_everyones_notifications(
    api_for, people, duty, analyst, persona
):
    notify([duty])
    analysts = notify([analyst], Notification.Kind.ESCALATION)

    everyone = api_for(people[persona]).get(NOTIFICATIONS)
    filtered = api_for(people[persona]).get(NOTIFICATIONS, {"recipient": analyst.pk})

    assert {item["recipient"] for item in everyone.data["results"]} == {duty.pk, analyst.pk}
    assert [item["id"] for item in filtered.data["results"]] == [analysts.pk]


def test_list_filters_by_channel_and_shows_a_webhook_row_without_a_recipient(api_for, office, duty):
    WebhookEndpoint.objects.create(
        unit=duty.unit,
        name="值班群",
        format="wecom",
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
    )
    notify([duty], Notification.Kind.OVERDUE, channels=Notification.Channel.values)
    client = api_for(office)

    in_app = client.get(NOTIFICATIONS, {"channel": "in_app"}).data["results"]
    webhook = client.get(NOTIFICATIONS, {"channel": "webhook"}).data["results"]

    assert [item["recipient"] for item in in_app] == [duty.pk]
    assert len(webhook) == 1
    assert webhook[0]["recipient"] is None and webhook[0]["recipient_name"] is None


@pytest.mark.parametrize(
    "params", [{"kind": "telegram"}, {"incident": "x"}, {"recipient": "0"}, {"channel": "sms"}]
)
def test_a_bad_filter_is_a_400_naming_the_field(api_for, duty, params):
    response = api_for(duty).get(NOTIFICATIONS, params)
    assert response.status_code == 400
    assert set(response.data) == set(params)


def test_list_needs_a_login(client, db):
    assert client.get(NOTIFICATIONS).status_code in (401, 403)


@pytest.mark.parametrize("count", [1, 20])
def test_list_query_count_does_not_grow_with_the_number_of_notifications(
    api_for, office, people, log_incident, report_deadline, django_assert_num_queries, count
):
    incident, deadline = report_deadline
    recipients = list(people.values())
    for step in range(count):
        notifications_write(
            recipients=[recipients[step % len(recipients)]],
            kind=Notification.Kind.ESCALATION,
            title=f"第{step}级",
            at=timezone.now(),
            incident_id=incident.pk,
            channels=(Notification.Channel.IN_APP,),
            deadline_id=deadline.pk,
            step=step,
        )
    client = api_for(office)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(NOTIFICATIONS, {"kind": "escalation"})
    assert response.data["count"] == count


def test_acknowledging_an_overdue_alert_records_who_handles_it_and_is_on_the_timeline(
    api_for, office, overdue_alert, report_deadline
):
    incident, deadline = report_deadline
    next_check_at = deadline.next_check_at

    response = api_for(office).post(acknowledge_url(overdue_alert), REMOTE_ADDR="10.0.0.9")

    assert response.status_code == 200
    assert set(response.data) == NOTIFICATION_FIELDS
    assert response.data["id"] == overdue_alert.pk
    assert response.data["acknowledged_at"] is not None
    assert response.data["read_at"] is not None
    deadline.refresh_from_db()
    assert deadline.acknowledged_at is not None and deadline.acknowledged_by == office
    # A Ⅰ report: the chain climbs on (tests/test_engine_acknowledgement.py).
    assert deadline.next_check_at == next_check_at is not None
    entry = TimelineEntry.objects.get(incident=incident, kind="alert", action="acknowledge")
    assert entry.actor == office and entry.client_ip == "10.0.0.9"
    assert entry.data["notification"] == overdue_alert.pk


def test_acknowledging_twice_answers_200_and_writes_one_timeline_entry(
    api_for, office, overdue_alert, report_deadline
):
    incident, _ = report_deadline
    client = api_for(office)

    first = client.post(acknowledge_url(overdue_alert))
    second = client.post(acknowledge_url(overdue_alert))

    assert first.status_code == second.status_code == 200
    assert second.data["acknowledged_at"] == first.data["acknowledged_at"]
    assert (
        TimelineEntry.objects.filter(incident=incident, kind="alert", action="acknowledge").count()
        == 1
    )


def test_acknowledging_someone_elses_notification_is_a_403_and_changes_nothing(
    api_for, duty, overdue_alert, report_deadline
):
    _, deadline = report_deadline

    response = api_for(duty).post(acknowledge_url(overdue_alert))

    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    overdue_alert.refresh_from_db()
    assert overdue_alert.acknowledged_at is None
    assert Deadline.objects.get(pk=deadline.pk).acknowledged_at is None


def test_even_the_office_head_cannot_acknowledge_for_someone_else(api_for, office, duty):
    reminder = notify([duty])
    assert api_for(office).post(acknowledge_url(reminder)).status_code == 403


def test_acknowledging_an_unknown_notification_is_a_404(api_for, duty):
    response = api_for(duty).post(f"{NOTIFICATIONS}999999/acknowledge/")
    assert response.status_code == 404
