"""Issue 14's walk: a Ⅰ incident from a lead to its closed review. Before each step the
person who must take it had an in-app notification about the incident and sees the step
in their work list (待我处理); and after every step, whoever was told to act has
something to do on the incident: nobody is told to act in vain."""

from datetime import timedelta

import pytest

from incidents.services import incident_transition
from notifications.models import Notification
from notifications.work import work_list
from organisation.models import User
from response.documents import (
    document_decide,
    document_save_draft,
    document_submit,
    statement_publish,
)
from response.models import DocumentState, ResponsePlan, Review, Statement
from response.tracking import incident_name_tracker
from tests.helpers import MONDAY_MORNING, at

pytestmark = pytest.mark.django_db

# Notifications that ask their reader to do something.
ACT = {
    Notification.Kind.LEAD_LOGGED,
    Notification.Kind.APPROVAL_REQUESTED,
    Notification.Kind.STATEMENT_TO_PUBLISH,
    Notification.Kind.TRACKER_NAMED,
    Notification.Kind.TASK_ASSIGNED,
    Notification.Kind.ARRIVAL_SUMMONS,
    Notification.Kind.WARNING,
    Notification.Kind.LEVEL_CHANGE_PENDING,
}
# ... and those that tell them a step of theirs is now open (the author of an approved
# document goes on with it).
TOLD = ACT | {Notification.Kind.APPROVAL_DECIDED}


class Walk:
    """Checks the notifications and work lists around each step of one incident."""

    def __init__(self) -> None:
        self.seen = 0
        self.incident = None

    def _new_act(self):
        rows = Notification.objects.filter(
            pk__gt=self.seen, kind__in=ACT, channel=Notification.Channel.IN_APP
        ).select_related("recipient")
        found = list(rows)
        self.seen = max(
            [self.seen, *Notification.objects.values_list("pk", flat=True).order_by("-pk")[:1]]
        )
        return found

    def after(self, incident) -> None:
        """Everyone just told to act on the incident has it in their work list."""
        self.incident = incident
        for row in self._new_act():
            if row.incident_id != incident.pk:
                continue
            items = work_list(user=row.recipient)
            assert any(i.incident == incident.pk for i in items), (
                f"{row.recipient} was told ({row.kind}) but has nothing to do"
            )

    def before(self, person: User, kind: str | None) -> None:
        """``person`` was told and sees the step (``kind`` of work item) waiting."""
        assert Notification.objects.filter(
            recipient=person,
            incident=self.incident,
            channel=Notification.Channel.IN_APP,
            kind__in=TOLD,
        ).exists(), f"{person} was never told"
        if kind is not None:
            items = [i for i in work_list(user=person) if i.incident == self.incident.pk]
            assert kind in {i.kind for i in items}, f"{person} does not see {kind}: {items}"


def decide_all(walk: Walk, doc, people) -> None:
    """The approvers the work lists name decide, one by one, until it is approved."""
    everyone = list(people.values())
    while doc.state == DocumentState.SUBMITTED:
        waiting = [
            p
            for p in everyone
            if any(
                i.kind == "approval" and i.incident == walk.incident.pk for i in work_list(user=p)
            )
        ]
        assert waiting, "a submitted document waits on nobody"
        approver = waiting[0]
        walk.before(approver, "approval")
        document_decide(doc=doc, actor=approver, verdict="approve", comment="同意")
        doc.refresh_from_db()


def test_a_level_one_incident_drives_each_person_from_lead_to_closed_review(
    log_incident, people, duty, analyst, office, spokesperson
):
    walk = Walk()
    minute = 0

    def clock():
        nonlocal minute
        minute += 1
        return at(MONDAY_MORNING + timedelta(minutes=minute))

    with clock():
        incident = log_incident(metrics={"casualties": True})
    walk.after(incident)

    walk.before(analyst, "deadline")  # the assessment, due in 15 minutes
    with clock():
        incident = incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )
    walk.after(incident)

    walk.before(office, "deadline")  # the report, due 30 minutes after discovery
    with clock():
        incident = incident_transition(incident=incident, action="report", actor=office)
        plan = document_save_draft(
            model=ResponsePlan,
            incident=incident,
            actor=office,
            fields={"facts": "经核实属实。", "category": "hype"},
        )
        plan = document_submit(doc=plan, actor=office)
    walk.after(incident)

    with clock():
        decide_all(walk, plan, people)
    walk.after(incident)

    walk.before(office, None)  # told the plan was approved: the response may start
    with clock():
        incident = incident_transition(incident=incident, action="respond", actor=office)
        statement = document_save_draft(
            model=Statement,
            incident=incident,
            actor=office,
            fields={"text": "我们已关注到网友反映的情况。", "channels": ["weibo"]},
        )
        statement = document_submit(doc=statement, actor=office)
    walk.after(incident)

    with clock():
        decide_all(walk, statement, people)
    walk.after(incident)

    walk.before(spokesperson, "deadline")  # the first public response is theirs
    with clock():
        statement_publish(statement=statement, actor=spokesperson, channel="weibo")
        incident = incident_transition(incident=incident, action="track", actor=office)
        incident = incident_name_tracker(incident=incident, actor=office, tracker=analyst)
    walk.after(incident)

    walk.before(analyst, "follow_up")
    with clock():
        incident = incident_transition(incident=incident, action="review", actor=office)
        review = Review.objects.filter(incident=incident).order_by("-version").first()
        review = document_submit(doc=review, actor=office)
    walk.after(incident)

    with clock():
        decide_all(walk, review, people)
    incident.refresh_from_db()
    assert incident.state == "closed"
    # Closed: nothing waits on anybody any more.
    for person in people.values():
        assert not [i for i in work_list(user=person) if i.incident == incident.pk], person
