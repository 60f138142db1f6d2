"""The demo organisation: units, one login per role, a duty roster. Tests use the same
people as their personas, so the demo and the suite speak of the same organisation."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from .models import DutyShift, RoleAssignment, Unit, User
from .roles import Role

DEMO_PASSWORD = "fenghuo"  # noqa: S105 - the documented demo password, refused without DEBUG

UNITS = [
    # (name, kind, parent, duty phone)
    ("网络舆情应急工作领导小组", Unit.Kind.LEADERSHIP_GROUP, None, "010-60000000"),
    ("领导小组办公室", Unit.Kind.OFFICE, "网络舆情应急工作领导小组", "010-60000001"),
    ("宣传部", Unit.Kind.MEMBER_UNIT, "网络舆情应急工作领导小组", "010-60000002"),
    ("卫生健康委员会", Unit.Kind.MEMBER_UNIT, "网络舆情应急工作领导小组", "010-60000003"),
    ("教育局", Unit.Kind.MEMBER_UNIT, "网络舆情应急工作领导小组", "010-60000004"),
    ("公安分局", Unit.Kind.MEMBER_UNIT, "网络舆情应急工作领导小组", "010-60000005"),
    ("法制办", Unit.Kind.MEMBER_UNIT, "网络舆情应急工作领导小组", "010-60000006"),
]

PEOPLE = [
    # (login, display name, unit, position, role)
    ("duty", "王值班", "领导小组办公室", "舆情值班员", Role.DUTY_OFFICER),
    ("analyst", "李研判", "领导小组办公室", "研判人员", Role.ANALYST),
    ("office", "张主任", "领导小组办公室", "办公室主任", Role.OFFICE_HEAD),
    ("deputy", "赵副组长", "网络舆情应急工作领导小组", "副组长", Role.DEPUTY_LEADER),
    ("leader", "陈组长", "网络舆情应急工作领导小组", "组长", Role.LEADER),
    ("liaison", "刘联络", "卫生健康委员会", "联络员", Role.LIAISON),
    ("head", "孙主任", "卫生健康委员会", "卫健委主任", Role.UNIT_HEAD),
    ("spokesperson", "周发言", "宣传部", "新闻发言人", Role.SPOKESPERSON),
    ("admin", "系统管理员", "领导小组办公室", "系统管理员", Role.SYSADMIN),
]


@transaction.atomic
def demo_organisation_load(*, roster_days: int = 14) -> dict[str, User]:
    """Create (or complete) the demo organisation; answers the people by login."""
    units: dict[str, Unit] = {}
    for order, (name, kind, parent, phone) in enumerate(UNITS):
        units[name], _ = Unit.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "parent": units.get(parent) if parent else None,
                "duty_phone": phone,
                "sort_order": order,
            },
        )
    people: dict[str, User] = {}
    for number, (login, display, unit, position, role) in enumerate(PEOPLE, start=1):
        user, created = User.objects.get_or_create(
            username=login,
            defaults={
                "display_name": display,
                "unit": units[unit],
                "title": position,
                "phone": f"138000000{number:02d}",
                "email": f"{login}@fenghuo.invalid",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if role == Role.SYSADMIN:
                user.is_staff = user.is_superuser = True
            user.save()
        RoleAssignment.objects.get_or_create(user=user, role=role)
        people[login] = user
    _roster(people["duty"], days=roster_days)
    return people


def _roster(person: User, *, days: int) -> None:
    """24-hour shifts from 08:00 to 08:00, starting yesterday, so someone is always on duty."""
    today = timezone.localdate()
    for offset in range(-1, days):
        day = today + timedelta(days=offset)
        starts = timezone.make_aware(datetime.combine(day, time(8)))
        DutyShift.objects.get_or_create(
            person=person,
            role=Role.DUTY_OFFICER,
            starts_at=starts,
            defaults={"ends_at": starts + timedelta(days=1)},
        )
