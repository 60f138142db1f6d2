"""Detection: what a topic's fresh figures set off (called by ``refresh.topics_refresh``,
inside the topic's transaction, with the topic locked).

- **Negative share.** Once a topic has the plan's ``alert_min_posts`` posts and its share
  of negative posts reaches ``alert_negative_share``, the monitoring desk is alerted, once
  per episode: the share must fall below the threshold again before it can alert again.
- **Spike.** When its posts of the last hour reach ``spike_min_posts`` and ``spike_factor``
  times its hourly average over the ``spike_baseline_hours`` before, the desk is alerted;
  at most once an hour.
- **Proposal.** When the plan's grading finds a level whose thresholds the topic reaches
  (not merely the floor), the topic is proposed as an incident at that level, once; a
  proposal still open is raised when the level rises, and a dismissed topic is proposed
  again only at a more severe level than the one dismissed. Its reasons name the topic's
  leading sensitive category (``monitoring.text.sensitive``) as the handling to consider; the
  category itself is decided at assessment.
- **Linked incident.** A topic accepted as an incident feeds it a snapshot of figures
  whenever they changed, so colour escalation works from live figures.

The desk is whoever the roster has on duty (every duty officer when nobody is) and the
analysts. Alerts go through the notifications outbox with keys that make them idempotent.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents.models import Incident
from incidents.services import Metrics, incident_record_metrics_in_transaction
from notifications.models import Notification
from notifications.services import notifications_write
from organisation.roles import Role
from organisation.selectors import roster
from plans.categories import Category
from plans.grading import suggest_level
from plans.levels import NUMERALS, more_severe
from plans.models import PlanVersion

from ..models import Proposal, Topic, TopicSnapshot
from ..text.sensitive import category_leading
from .metrics import TopicMetrics

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    alerts: int = 0
    proposals: int = 0
    incident_snapshots: int = 0


def monitoring_desk(*, at: datetime) -> list:
    """Who monitoring alerts: the duty officers on duty (all of them when the roster is
    empty) and the analysts."""
    return roster(at=at).for_roles([Role.DUTY_OFFICER, Role.ANALYST], at=at)


def topic_path(topic_id: int) -> str:
    return reverse("monitoring:topic", args=[topic_id])


def _hour(at: datetime) -> int:
    """A number per hour: the episode an alert belongs to, in its idempotency key."""
    return int(at.timestamp() // 3600)


def _alert(topic: Topic, *, kind: str, title: str, body: str, at: datetime, step: int) -> int:
    return notifications_write(
        recipients=monitoring_desk(at=at),
        kind=kind,
        title=title,
        body=body,
        at=at,
        step=step,
        subject=f"topic{topic.pk}",
        link=topic_path(topic.pk),
    )


def _negative(topic: Topic, metrics: TopicMetrics, version: PlanVersion, now: datetime) -> int:
    over = metrics.posts >= version.alert_min_posts and metrics.negative_share >= Decimal(
        version.alert_negative_share
    )
    if not over:
        if topic.negative_alerted_at is not None:
            topic.negative_alerted_at = None
            topic.save(update_fields=["negative_alerted_at"])
        return 0
    if topic.negative_alerted_at is not None:
        return 0
    topic.negative_alerted_at = now
    topic.save(update_fields=["negative_alerted_at"])
    return _alert(
        topic,
        kind=Notification.Kind.TOPIC_NEGATIVE,
        at=now,
        step=_hour(now),
        title=_("Negative share %(share)d%%: %(title)s")
        % {"share": round(metrics.negative_share * 100), "title": topic.title},
        body=_("%(negative)d of %(posts)d posts matched by rule “%(rule)s” are negative.")
        % {
            "negative": round(metrics.negative_share * metrics.posts),
            "posts": metrics.posts,
            "rule": topic.rule.name,
        },
    )


def spike_holds(metrics: TopicMetrics, version: PlanVersion) -> bool:
    """Whether the last hour's posts are a spike against the topic's own baseline."""
    baseline = Decimal(metrics.posts_baseline) / version.spike_baseline_hours
    return (
        metrics.posts_last_hour >= version.spike_min_posts
        and metrics.posts_last_hour >= version.spike_factor * baseline
    )


def _spike(topic: Topic, metrics: TopicMetrics, version: PlanVersion, now: datetime) -> int:
    if not spike_holds(metrics, version):
        return 0
    if topic.spike_alerted_at is not None and topic.spike_alerted_at > now - timedelta(hours=1):
        return 0
    topic.spike_alerted_at = now
    topic.save(update_fields=["spike_alerted_at"])
    baseline = metrics.posts_baseline / version.spike_baseline_hours
    return _alert(
        topic,
        kind=Notification.Kind.TOPIC_SPIKE,
        at=now,
        step=_hour(now),
        title=_("Spike: %(count)d posts in the last hour: %(title)s")
        % {"count": metrics.posts_last_hour, "title": topic.title},
        body=_("Its average over the %(hours)d hours before was %(baseline).1f an hour.")
        % {"hours": version.spike_baseline_hours, "baseline": baseline},
    )


def _previous_snapshot(topic: Topic, now: datetime) -> TopicSnapshot | None:
    return (
        TopicSnapshot.objects.filter(topic=topic, taken_at__lt=now.replace(second=0, microsecond=0))
        .order_by("-taken_at")
        .first()
    )


def _reasons(reasons: list[str], metrics: TopicMetrics) -> list[str]:
    """The plan's reasons, and the leading sensitive category of the topic's posts."""
    leading = category_leading(metrics.categories)
    if not leading:
        return reasons
    count = metrics.categories[leading]
    return [
        *reasons,
        ngettext(
            "sensitive terms: %(category)s (%(count)d post)",
            "sensitive terms: %(category)s (%(count)d posts)",
            count,
        )
        % {"category": Category(leading).label, "count": count},
    ]


def _propose(topic: Topic, metrics: TopicMetrics, version: PlanVersion, now: datetime) -> int:
    if topic.incident_id is not None:
        return 0
    suggestion = suggest_level(
        version=version, metrics=metrics, previous=_previous_snapshot(topic, now)
    )
    if suggestion.floor:
        return 0
    last = topic.proposals.order_by("-created_at", "-id").first()
    if last is not None and last.state == Proposal.State.ACCEPTED:
        return 0
    if last is not None and not more_severe(suggestion.level, last.suggested_level):
        return 0  # open at this level or more severe, or dismissed at it
    reasons = _reasons(suggestion.reasons, metrics)
    if last is not None and last.state == Proposal.State.PROPOSED:
        Proposal.objects.filter(pk=last.pk).update(
            suggested_level=suggestion.level, reasons=reasons
        )
        proposal = last
    else:
        proposal = Proposal.objects.create(
            topic=topic, suggested_level=suggestion.level, reasons=reasons, created_at=now
        )
    notifications_write(
        recipients=monitoring_desk(at=now),
        kind=Notification.Kind.INCIDENT_PROPOSED,
        at=now,
        step=suggestion.level,
        subject=f"proposal{proposal.pk}",
        link=topic_path(topic.pk),
        title=_("[%(level)s proposed] %(title)s")
        % {"level": NUMERALS[suggestion.level], "title": topic.title},
        body=_("Monitoring proposes an incident: %(reasons)s. Accept or dismiss it.")
        % {"reasons": "; ".join(reasons)},
    )
    logger.info("topic %s proposed at level %s", topic.pk, suggestion.level)
    return 1


def _feed_incident(topic: Topic, metrics: TopicMetrics, now: datetime) -> int:
    """A snapshot of the live figures for the incident accepted from the topic, when they
    changed. Figures only grow (people may have recorded more than monitoring sees); the
    negative share is the topic's; casualties stay as people recorded them."""
    if topic.incident_id is None:
        return 0
    incident = Incident.objects.select_related("plan_version", "latest_metrics").get(
        pk=topic.incident_id
    )
    if not incident.is_open:
        return 0
    latest = incident.latest_metrics
    new = Metrics(
        reads=max(metrics.reads, latest.reads if latest else 0),
        reposts=max(metrics.reposts, latest.reposts if latest else 0),
        comments=max(metrics.comments, latest.comments if latest else 0),
        negative_share=metrics.negative_share,
        mainstream_media=metrics.mainstream_media or bool(latest and latest.mainstream_media),
        casualties=bool(latest and latest.casualties),
    )
    if latest is not None and all(
        getattr(latest, name) == getattr(new, name)
        for name in ("reads", "reposts", "comments", "negative_share", "mainstream_media")
    ):
        return 0
    accepted = (
        topic.proposals.filter(state=Proposal.State.ACCEPTED)
        .order_by("-decided_at")
        .select_related("decided_by")
        .first()
    )
    actor = accepted.decided_by if accepted else incident.created_by
    incident_record_metrics_in_transaction(
        incident=incident, metrics=new, actor=actor, taken_at=now
    )
    return 1


def topic_detect(
    topic: Topic, metrics: TopicMetrics, *, version: PlanVersion, now: datetime
) -> Outcome:
    """Everything the topic's new figures set off; inside the caller's transaction."""
    outcome = Outcome()
    outcome.alerts += bool(_negative(topic, metrics, version, now))
    outcome.alerts += bool(_spike(topic, metrics, version, now))
    outcome.proposals += _propose(topic, metrics, version, now)
    outcome.incident_snapshots += _feed_incident(topic, metrics, now)
    return outcome
