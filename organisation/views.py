"""The directory (通讯录) and the duty roster (值班表): reachable around the clock (004)."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .selectors import directory, duty_shifts_at, duty_shifts_between

ROSTER_DAYS = 7


@login_required
@require_GET
def directory_view(request: HttpRequest) -> HttpResponse:
    return render(request, "organisation/directory.html", {"units": directory()})


@login_required
@require_GET
def roster_view(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    until = now + timedelta(days=ROSTER_DAYS)
    upcoming = duty_shifts_between(start=now, end=until)
    return render(
        request,
        "organisation/roster.html",
        {
            "on_duty": list(duty_shifts_at(at=now)),
            "shifts": list(upcoming),
            "now": now,
            "days": ROSTER_DAYS,
        },
    )
