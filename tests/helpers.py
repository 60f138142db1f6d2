"""Helpers the tests share; the fixtures are in conftest.py.

The zone the suite's times are written in, the moment most engine and response tests
start from, a frozen clock, the demo personas and who among them may take each
transition, and the steps that take an incident through its response plan and its
review."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from incidents.models import Incident
from organisation.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday, in working hours (the staff-arrival clocks are shorter then).
MONDAY_MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)

# The demo organisation's people (organisation.demo), each named after their role; the
# ``people`` fixture answers them by these logins, and each has a fixture of its own.
PERSONAS = ("duty", "analyst", "office", "deputy", "leader", "liaison", "spokesperson", "admin")

# Who may take each transition, as the plan states it, written independently of
# incidents.permissions so that the tests check the table rather than repeat it.
TRANSITION_ROLES = {
    "assess": ["analyst", "office"],
    "report": ["analyst", "office"],
    "respond": ["office", "leader", "deputy"],
    "track": ["office"],
    "review": ["office"],
    "close": ["office", "leader", "deputy"],
    "dismiss": ["analyst", "office"],
}


def at(moment: datetime) -> time_machine.travel:
    """The clock stopped at ``moment``: a context manager (or decorator)."""
    return time_machine.travel(moment, tick=False)


def approve_a_response_plan(incident: Incident, *, author: User):
    """Draft, submit and approve a response plan, as the plan routes it at the level."""
    from response.documents import (
        approvers,
        document_decide,
        document_save_draft,
        document_submit,
    )
    from response.models import ResponsePlan

    incident = Incident.objects.get(pk=incident.pk)  # as it is now, graded
    plan = document_save_draft(
        model=ResponsePlan,
        incident=incident,
        actor=author,
        fields={"facts": "经核实，情况属实。", "category": "inquiry"},
    )
    plan = document_submit(doc=plan, actor=author)
    approver = next(p for p in approvers(incident=incident) if p.pk != author.pk)
    return document_decide(doc=plan, actor=approver, verdict="approve", comment="同意")


def approve_the_review(incident: Incident, *, author: User) -> Incident:
    """Submit the pre-filled review and have it approved: the incident closes."""
    from response.documents import approvers, document_decide, document_submit
    from response.models import Review

    incident = Incident.objects.get(pk=incident.pk)
    review = Review.objects.filter(incident=incident).order_by("-version").first()
    review = document_submit(doc=review, actor=author)
    approver = next(p for p in approvers(incident=incident) if p.pk != review.author_id)
    document_decide(doc=review, actor=approver, verdict="approve", comment="同意")
    return Incident.objects.get(pk=incident.pk)


def celery_setting(monkeypatch, name: str, value) -> None:
    """Set a Celery setting for one test. The app reads Django's settings with the
    ``CELERY`` namespace, and Celery looks the namespaced key up first, so both the plain
    and the namespaced key are set (the plain one alone is ignored by some releases)."""
    from config.celery import app

    monkeypatch.setitem(app.conf, name, value)
    monkeypatch.setitem(app.conf, f"CELERY_{name.upper()}", value)
