"""The timeline's one writer: every entry of an incident's audit trail (who, when, from
where, what and why) is recorded here, by the incidents services and by the apps above
them alike."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import Incident, TimelineEntry


def timeline_record(
    *,
    kind: str,
    actor: Any,
    incident: Incident | None = None,
    incident_id: int | None = None,
    client_ip: str | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> TimelineEntry:
    """Add one entry to the incident's timeline, at ``at`` (default now); ``fields`` are
    the entry's own (action, states, levels, reason, data)."""
    if incident is not None:
        fields["incident"] = incident
    else:
        fields["incident_id"] = incident_id
    return TimelineEntry.objects.create(
        actor=actor, kind=kind, client_ip=client_ip, at=at or timezone.now(), **fields
    )
