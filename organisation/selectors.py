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


class Roster:
    """Who holds each role and who is on duty over a period, read in two queries and then
    asked many times (the sweep asks for every deadline of a batch). The one home of "the
    duty officer on duty then, else every duty officer" (an empty roster alerts them all).
    """

    def __init__(self, *, since: datetime, until: datetime):
        self.holders: dict[str, list[User]] = {}
        self.people: dict[int, User] = {}
        for assignment in (
            RoleAssignment.objects.filter(user__is_active=True)
            .select_related("user")
            .order_by("user_id")
        ):
            self.holders.setdefault(assignment.role, []).append(assignment.user)
            self.people[assignment.user_id] = assignment.user
        self.shifts = list(
            DutyShift.objects.filter(
                role=Role.DUTY_OFFICER, starts_at__lte=until, ends_at__gt=since
            )
            .select_related("person")
            .order_by("starts_at")
        )

    def on_duty(self, at: datetime) -> list[User]:
        """The active duty officers whose shift covers ``at``."""
        return [
            s.person for s in self.shifts if s.starts_at <= at < s.ends_at and s.person.is_active
        ]

    def for_roles(self, roles: list[str], *, at: datetime) -> list[User]:
        """Everyone holding one of ``roles``, each once; for the duty officer's role, only
        whoever is on duty at ``at`` (all duty officers if nobody is)."""
        people: dict[int, User] = {}
        for role in roles:
            found = self.holders.get(role, [])
            if role == Role.DUTY_OFFICER:
                found = self.on_duty(at) or found
            people.update((p.pk, p) for p in found)
        return list(people.values())


def roster(*, at: datetime | None = None, since: datetime | None = None) -> Roster:
    """The roster for questions about moments from ``since`` up to ``at`` (default now)."""
    at = at or timezone.now()
    return Roster(since=min(since or at, at), until=at)


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
