"""Reads about the organisation: who is on duty, who holds a role, the directory."""

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import DutyShift, RoleAssignment, Unit, User
from .roles import Role


def duty_shifts_at(*, at: datetime | None = None, role: str | None = None) -> QuerySet[DutyShift]:
    """The shifts covering the instant ``at`` (default now): "who is on duty now"."""
    at = at or timezone.now()
    shifts = DutyShift.objects.filter(starts_at__lte=at, ends_at__gt=at).select_related(
        "person", "person__unit"
    )
    if role:
        shifts = shifts.filter(role=role)
    return shifts.order_by("starts_at")


def on_duty(*, at: datetime | None = None, role: str = Role.DUTY_OFFICER) -> list[User]:
    return [shift.person for shift in duty_shifts_at(at=at, role=role)]


def people_with_role(*, role: str) -> QuerySet[User]:
    return User.objects.filter(is_active=True, role_assignments__role=role).distinct()


def directory() -> QuerySet[Unit]:
    """Units with their people and roles, for the around-the-clock contact directory."""
    people = (
        User.objects.filter(is_active=True)
        .prefetch_related(Prefetch("role_assignments", queryset=RoleAssignment.objects.all()))
        .order_by("username")
    )
    return Unit.objects.prefetch_related(Prefetch("people", queryset=people)).order_by(
        "sort_order", "name"
    )


def unit_list() -> QuerySet[Unit]:
    return Unit.objects.order_by("sort_order", "name")


def duty_shifts_between(*, start: datetime, end: datetime) -> QuerySet[DutyShift]:
    """Shifts overlapping [start, end): the roster for a period."""
    return (
        DutyShift.objects.filter(ends_at__gt=start, starts_at__lt=end)
        .select_related("person", "person__unit")
        .order_by("starts_at", "person__username")
    )
