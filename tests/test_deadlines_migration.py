"""Deadlines moved from the incidents app to their own: the rows stay where they were and
are read, unchanged, through the new models."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from deadlines.models import Deadline, LateReport

BEFORE = [
    ("deadlines", None),
    ("incidents", "0004_remove_deadline_deadline_kind_unique_and_more"),
    ("notifications", "0006_notification_link_monitoring_kinds"),
    ("response", "0003_document_contributors"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1]]).apps


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def migrations_restored():
    yield
    _migrate(_leaves())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrations_restored")
def test_deadlines_and_late_reports_survive_the_move(log_incident, advance, health_unit):
    incident = advance(log_incident(), "assessed", level=1)
    report = incident.deadlines.get(kind="report")

    old = _migrate(BEFORE)
    old_deadline = old.get_model("incidents", "Deadline").objects.get(pk=report.pk)
    assert (old_deadline.due_at, old_deadline.status) == (report.due_at, "open")
    old.get_model("incidents", "LateReport").objects.create(
        deadline_id=report.pk,
        incident_id=incident.pk,
        unit_id=health_unit.pk,
        due_at=report.due_at,
        recorded_at=report.due_at,
    )

    _migrate(_leaves())
    moved = Deadline.objects.get(pk=report.pk)
    assert (moved.incident_id, moved.kind, moved.due_at) == (incident.pk, "report", report.due_at)
    assert LateReport.objects.get(deadline=moved).unit_id == health_unit.pk
    assert set(incident.deadlines.values_list("pk", flat=True)) == set(
        Deadline.objects.filter(incident=incident).values_list("pk", flat=True)
    )
