"""The notification pages: the bell in the top bar on every page, refreshed by htmx,
and the inbox where a person reads and acknowledges their alerts."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import TimelineEntry
from notifications.models import Notification
from notifications.services import notifications_write


def notify(recipient, kind=Notification.Kind.REMINDER, title="报告时限将至", **extra):
    """Write the notification on every channel, as the engine does; answer the in-app row."""
    notifications_write(recipients=[recipient], kind=kind, title=title, at=timezone.now(), **extra)
    return Notification.objects.get(
        recipient=recipient, kind=kind, channel=Notification.Channel.IN_APP
    )


def bell_count(content: str) -> int | None:
    match = re.search(r'data-unread="(\d+)"', content)
    return int(match.group(1)) if match else None


@pytest.fixture
def report_deadline(log_incident, advance):
    incident = advance(log_incident(metrics={"casualties": True}), "assessed")
    Notification.objects.all().delete()  # the lead alert of logging, long read
    return incident, incident.deadlines.get(kind="report")


def test_board_page_shows_the_bell_with_the_unread_count_polled_every_15_seconds(
    client, duty, analyst
):
    notify(duty)
    notify(duty, Notification.Kind.OVERDUE)
    notify(analyst)
    client.force_login(duty)

    content = client.get(reverse("incidents:board")).content.decode()

    assert 'id="notification-bell"' in content
    assert bell_count(content) == 2
    assert 'hx-get="/notifications/bell/"' in content
    assert 'hx-trigger="every 15s"' in content and 'hx-swap="outerHTML"' in content
    assert 'href="/notifications/"' in content


def test_bell_shows_no_count_when_everything_is_read(client, duty):
    client.force_login(duty)
    content = client.get(reverse("incidents:board")).content.decode()
    assert 'id="notification-bell"' in content
    assert bell_count(content) is None


def test_bell_partial_answers_the_bell_alone_with_the_current_count(client, duty):
    client.force_login(duty)
    notify(duty)

    response = client.get(reverse("notifications:bell"), HTTP_HX_REQUEST="true")
    content = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith("<a") and 'id="notification-bell"' in content
    assert bell_count(content) == 1


def test_bell_poll_after_the_session_expired_swaps_nothing_in(client, db):
    response = client.get(reverse("notifications:bell"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response.content == b""


def test_bell_without_htmx_and_without_a_login_sends_to_the_login_page(client, db):
    response = client.get(reverse("notifications:bell"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_has_no_bell(client, db):
    content = client.get(reverse("login")).content.decode()
    assert "notification-bell" not in content


def test_inbox_lists_own_notifications_newest_first_unread_highlighted_with_incident_link(
    client, duty, analyst, log_incident
):
    incident = log_incident()
    older = notify(duty, title="较早的提醒", incident_id=incident.pk)
    newer = notify(duty, Notification.Kind.ENGINE_RESUMED, title="引擎恢复运行")
    notify(analyst, title="别人的提醒")
    Notification.objects.filter(pk=older.pk).update(read_at=timezone.now())
    client.force_login(duty)

    response = client.get(reverse("notifications:inbox"))
    content = response.content.decode()

    assert response.status_code == 200
    assert content.index("引擎恢复运行") < content.index("较早的提醒")
    assert "别人的提醒" not in content
    assert re.search(rf'class="[^"]*is-unread[^"]*" data-notification="{newer.pk}"', content)
    assert not re.search(rf'class="[^"]*is-unread[^"]*" data-notification="{older.pk}"', content)
    assert reverse("incidents:detail", args=[incident.pk]) in content
    # Kind labels, in the page's language (Chinese unless the person chose English).
    assert "时限引擎已恢复" in content and "提醒" in content


def test_inbox_shows_the_in_app_notification_not_its_email_copy(client, duty):
    assert duty.email
    reminder = notify(duty)
    assert Notification.objects.filter(recipient=duty).count() == 2
    client.force_login(duty)
    content = client.get(reverse("notifications:inbox")).content.decode()
    assert content.count("data-notification=") == 1
    assert f'data-notification="{reminder.pk}"' in content


def test_opening_the_inbox_marks_nothing_read(client, duty):
    reminder = notify(duty)
    client.force_login(duty)
    client.get(reverse("notifications:inbox"))
    reminder.refresh_from_db()
    assert reminder.read_at is None


def test_inbox_needs_a_login(client, db):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302


def test_inbox_offers_acknowledge_only_for_unacknowledged_alerts(client, duty):
    reminder = notify(duty)
    overdue = notify(duty, Notification.Kind.OVERDUE)
    upgrade = notify(duty, Notification.Kind.LEVEL_UPGRADE)
    client.force_login(duty)

    content = client.get(reverse("notifications:inbox")).content.decode()

    assert reverse("notifications:acknowledge", args=[overdue.pk]) in content
    assert reverse("notifications:acknowledge", args=[upgrade.pk]) in content
    assert reverse("notifications:acknowledge", args=[reminder.pk]) not in content


def test_acknowledging_in_the_inbox_records_who_handles_it_and_clears_the_bell(
    client, office, report_deadline
):
    incident, deadline = report_deadline
    next_check_at = deadline.next_check_at
    alert = notify(
        office,
        Notification.Kind.ESCALATION,
        incident_id=incident.pk,
        deadline_id=deadline.pk,
        step=1,
    )
    client.force_login(office)

    response = client.post(reverse("notifications:acknowledge", args=[alert.pk]), follow=True)

    assert response.status_code == 200
    alert.refresh_from_db()
    deadline.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.read_at is not None
    assert deadline.acknowledged_by == office and deadline.acknowledged_at is not None
    # A Ⅰ report: the chain climbs on (tests/test_engine_acknowledgement.py).
    assert deadline.next_check_at == next_check_at is not None
    assert (
        TimelineEntry.objects.filter(incident=incident, kind="alert", action="acknowledge").count()
        == 1
    )
    content = response.content.decode()
    assert reverse("notifications:acknowledge", args=[alert.pk]) not in content
    assert bell_count(content) is None


def test_acknowledging_someone_elses_notification_in_the_inbox_is_forbidden(client, duty, analyst):
    alert = notify(analyst, Notification.Kind.OVERDUE)
    client.force_login(duty)
    response = client.post(reverse("notifications:acknowledge", args=[alert.pk]))
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledge_is_post_only(client, duty):
    alert = notify(duty, Notification.Kind.OVERDUE)
    client.force_login(duty)
    response = client.get(reverse("notifications:acknowledge", args=[alert.pk]))
    assert response.status_code == 405


def test_mark_all_read_marks_only_the_persons_own_notifications(client, duty, analyst):
    mine = [notify(duty), notify(duty, Notification.Kind.OVERDUE)]
    theirs = notify(analyst)
    client.force_login(duty)

    response = client.post(reverse("notifications:mark_all_read"), follow=True)

    assert response.status_code == 200
    assert all(Notification.objects.get(pk=n.pk).read_at is not None for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert bell_count(response.content.decode()) is None
    # Read is not acknowledged: the overdue alert still asks for a confirmation.
    assert reverse("notifications:acknowledge", args=[mine[1].pk]) in response.content.decode()


def test_inbox_speaks_chinese_when_the_person_chose_it(client, duty):
    notify(duty, Notification.Kind.OVERDUE)
    client.force_login(duty)
    client.cookies["django_language"] = "zh-hans"
    content = client.get(
        reverse("notifications:inbox"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "通知中心" in content and "确认收到" in content and "超时" in content


def test_admin_lists_notifications_read_only(client, duty):
    from django.contrib.auth import get_user_model

    notify(duty, Notification.Kind.OVERDUE)
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    client.force_login(superuser)

    listing = client.get(reverse("admin:notifications_notification_changelist"))

    assert listing.status_code == 200
    assert str(duty) in listing.content.decode()
    assert client.get(reverse("admin:notifications_notification_add")).status_code == 403
