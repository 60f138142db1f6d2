"""The demo start and the organisation: who is on duty now."""

from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from incidents.models import Incident
from monitoring.models import Post, Proposal, Topic
from organisation.models import DutyShift, RoleAssignment, User
from organisation.roles import Role
from organisation.selectors import on_duty
from tests.helpers import SHANGHAI

pytestmark = pytest.mark.django_db


def test_the_demo_loads_one_login_per_role_and_can_run_twice(settings):
    settings.DEBUG = True
    call_command("demo")
    call_command("demo")
    logins = {
        "duty",
        "analyst",
        "office",
        "deputy",
        "leader",
        "liaison",
        "head",
        "spokesperson",
        "admin",
    }
    assert set(User.objects.values_list("username", flat=True)) == logins
    assert RoleAssignment.objects.count() == len(logins)
    assert User.objects.get(username="leader").check_password("fenghuo")
    assert Incident.objects.count() == 2
    assert on_duty() == [User.objects.get(username="duty")]
    # The monitoring board has something to show: topics of two rules, a repost grouped
    # under its source, figures computed and at least one proposal waiting.
    assert set(Topic.objects.values_list("rule__name", flat=True)) == {
        "医院收费投诉",
        "学校收费与食堂",
    }
    assert Post.objects.filter(original__isnull=False).exists()
    assert not Topic.objects.filter(refreshed_at__isnull=True).exists()
    assert Proposal.objects.filter(state="proposed").exists()
    assert Post.objects.count() == 14  # loaded once


def test_the_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo")
    assert not User.objects.exists()


def test_who_is_on_duty_follows_the_roster(duty, analyst):
    DutyShift.objects.all().delete()
    start = datetime(2026, 5, 1, 8, 0, tzinfo=SHANGHAI)
    DutyShift.objects.create(person=duty, starts_at=start, ends_at=start + timedelta(hours=12))
    DutyShift.objects.create(
        person=analyst, starts_at=start + timedelta(hours=12), ends_at=start + timedelta(hours=24)
    )
    assert on_duty(at=start) == [duty]
    assert on_duty(at=start + timedelta(hours=11, minutes=59)) == [duty]
    assert on_duty(at=start + timedelta(hours=12)) == [analyst]
    assert on_duty(at=start + timedelta(hours=24)) == []
    assert on_duty(at=start, role=Role.ANALYST) == []
