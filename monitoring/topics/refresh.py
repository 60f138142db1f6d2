"""The background refresh of topics: the figures of the topics changed since their last
refresh, a snapshot of them, and detection on them (``monitoring.topics.detection``). The
intake only marks a topic changed (``revision``). A refresh re-reads what it works on, so
running it twice, or in two workers at once, changes nothing more.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from plans.selectors import plan_version_in_force

from ..models import Topic
from .detection import topic_detect
from .metrics import topic_apply_metrics, topic_metrics

logger = logging.getLogger(__name__)

REFRESH_BATCH = 200


@dataclass
class RefreshResult:
    refreshed: int = 0
    alerts: int = 0
    proposals: int = 0
    incident_snapshots: int = 0


def topics_refresh(*, now: datetime | None = None, batch: int = REFRESH_BATCH) -> RefreshResult:
    """Recompute the figures of the topics changed since their last refresh, snapshot
    them, and run detection on them. Each topic in its own transaction, locked (skipped
    when another worker holds it) and re-checked."""
    now = now or timezone.now()
    result = RefreshResult()
    due = list(
        Topic.objects.filter(revision__gt=F("refreshed_revision"))
        .order_by("changed_at")
        .values_list("pk", flat=True)[:batch]
    )
    if not due:
        return result
    version = plan_version_in_force()
    for topic_id in due:
        with transaction.atomic():
            topic = (
                Topic.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=topic_id)
                .select_related("rule", "incident")
                .first()
            )
            if topic is None or topic.revision <= topic.refreshed_revision:
                continue  # another worker has it, or has done it
            metrics = topic_metrics(topic, now=now, baseline_hours=version.spike_baseline_hours)
            topic_apply_metrics(topic, metrics, now=now)
            outcome = topic_detect(topic, metrics, version=version, now=now)
            result.refreshed += 1
            result.alerts += outcome.alerts
            result.proposals += outcome.proposals
            result.incident_snapshots += outcome.incident_snapshots
    if result.refreshed:
        logger.info("topics_refresh: %s", result)
    return result
