"""The plan as versioned data: validation on publication and the snapshot per incident."""

import pytest
from django.core.exceptions import ValidationError

from incidents.services import incident_transition
from plans.models import PlanVersion
from plans.selectors import plan_version_in_force
from plans.services import plan_version_new_draft, plan_version_publish

pytestmark = pytest.mark.django_db


def test_the_default_plan_is_in_force_after_migrate_with_four_colours():
    version = plan_version_in_force()
    assert [(p.level, p.colour) for p in version.levels.order_by("level")] == [
        (1, "red"),
        (2, "orange"),
        (3, "yellow"),
        (4, "blue"),
    ]
    report = {r.level: r.minutes for r in version.deadline_rules.filter(kind="report")}
    assert report[1] == 30 and report[2] == 60


def test_publishing_a_draft_retires_the_version_in_force(office):
    first = plan_version_in_force()
    draft = plan_version_publish(version=plan_version_new_draft(source=first), actor=office)
    first.refresh_from_db()
    assert first.status == PlanVersion.Status.RETIRED
    assert plan_version_in_force() == draft
    assert draft.published_by == office


def test_a_draft_missing_a_level_cannot_come_into_force():
    draft = plan_version_new_draft(source=plan_version_in_force())
    draft.levels.filter(level=2).delete()
    with pytest.raises(ValidationError, match="Levels missing"):
        plan_version_publish(version=draft)
    assert draft.status == PlanVersion.Status.DRAFT


def test_thresholds_that_shrink_with_severity_are_refused():
    draft = plan_version_new_draft(source=plan_version_in_force())
    draft.levels.filter(level=4).update(min_reads=500)
    with pytest.raises(ValidationError):
        plan_version_publish(version=draft)


def test_a_negative_share_condition_without_volume_threshold_is_refused():
    draft = plan_version_new_draft(source=plan_version_in_force())
    draft.levels.filter(level=2).update(min_negative_share="0.5")
    with pytest.raises(ValidationError, match="negative-share condition"):
        plan_version_publish(version=draft)


def test_an_incident_keeps_the_plan_version_it_started_under(log_incident, analyst, office):
    incident = log_incident(metrics={"casualties": True})
    started_under = incident.plan_version
    draft = plan_version_new_draft(source=started_under)
    draft.deadline_rules.filter(level=1, kind="report").update(minutes=5)
    plan_version_publish(version=draft, actor=office)

    incident = incident_transition(
        incident=incident, action="assess", actor=analyst, level=1, category="hype"
    )
    report = incident.deadlines.get(kind="report")
    assert incident.plan_version == started_under
    assert (report.due_at - incident.discovered_at).total_seconds() == 30 * 60

    newer = log_incident(metrics={"casualties": True})
    newer = incident_transition(
        incident=newer, action="assess", actor=analyst, level=1, category="hype"
    )
    assert newer.plan_version == draft
    assert (
        newer.deadlines.get(kind="report").due_at - newer.discovered_at
    ).total_seconds() == 5 * 60


def test_a_published_version_is_read_only_in_the_admin(client, people):
    client.force_login(people["admin"])
    version = plan_version_in_force()
    page = client.get(f"/admin/plans/planversion/{version.pk}/change/")
    assert page.status_code == 200
    assert b'name="levels-0-min_reads"' not in page.content
    draft = plan_version_new_draft(source=version)
    page = client.get(f"/admin/plans/planversion/{draft.pk}/change/")
    assert b'name="levels-0-min_reads"' in page.content
