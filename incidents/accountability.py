"""Accountability (责任追究, 001 篇三): findings of late, omitted, false or concealed
reports, and commendations, recorded on an incident by the office head or the
leadership, each on the incident's timeline."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import InvalidInput
from core.permissions import require
from core.text import too_long
from organisation.models import Unit, User

from .models import REASON_MAX_LENGTH, Finding, Incident, TimelineEntry
from .timeline import timeline_record


def finding_record(
    *,
    incident: Incident,
    actor: User,
    kind: str,
    unit: Unit | None,
    text: str,
    person: User | None = None,
    evidence: str = "",
    client_ip: str | None = None,
) -> Finding:
    """Record one finding; bad input is refused field by field and stores nothing."""
    require(actor, "record_finding")
    errors: dict[str, list[Any]] = {}
    if kind not in Finding.Kind.values:
        errors["kind"] = [_("Choose a kind of finding from the list.")]
    if unit is None:
        errors["unit"] = [_("Choose the unit the finding concerns.")]
    if not (text or "").strip():
        errors["text"] = [_("Say what happened.")]
    errors.update(too_long(REASON_MAX_LENGTH, text=text, evidence=evidence))
    if errors or unit is None:
        raise InvalidInput(field_errors=errors)
    with transaction.atomic(durable=True):
        finding = Finding.objects.create(
            incident=incident,
            kind=kind,
            unit=unit,
            person=person,
            text=text.strip(),
            evidence=(evidence or "").strip(),
            recorded_by=actor,
        )
        timeline_record(
            incident=incident,
            actor=actor,
            kind=TimelineEntry.Kind.RESPONSE,
            action="finding_recorded",
            client_ip=client_ip,
            reason=finding.text[:500],
            data={
                "finding": finding.pk,
                "kind": kind,
                "unit": unit.pk,
                "person": person and person.pk,
            },
        )
    return finding
