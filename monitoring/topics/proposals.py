"""Deciding on an incident proposal (``monitoring.topics.detection`` makes them).

Accepting creates a ``detected`` incident in the same transaction: titled after the
topic's source post, discovered when the first matching post was published, with the
topic's figures as its first snapshot and its weightiest posts as links; the topic is
linked to it and keeps feeding it figures. Dismissing takes a reason. Who, when and why
stay on the proposal; the incident's timeline names the proposal it came from.
"""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput, TransitionNotAllowed
from core.permissions import require
from incidents.choices import EventType, Platform, Source
from incidents.models import Incident
from incidents.services import incident_create_in_transaction
from organisation.models import Unit

from ..models import Post, Proposal, Topic

logger = logging.getLogger(__name__)

EVIDENCE_LINKS = 10
REASON_MAX_LENGTH = 2000


def _lock(proposal: Proposal) -> Proposal:
    fresh = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("topic", "topic__rule")
        .get(pk=proposal.pk)
    )
    if fresh.state != Proposal.State.PROPOSED:
        raise TransitionNotAllowed(
            _("This proposal was already %(state)s.") % {"state": fresh.get_state_display()}
        )
    return fresh


def topic_evidence(topic: Topic, *, limit: int = EVIDENCE_LINKS) -> list[Post]:
    """The topic's posts with the widest reach (reads, then reposts), near-duplicate
    copies left out: the evidence of a proposal."""
    return list(
        Post.objects.filter(matches__topic=topic, original__isnull=True).order_by(
            "-reads", "-reposts", "published_at", "id"
        )[:limit]
    )


def _main_platform(topic: Topic) -> str:
    platforms = topic.platforms or {}
    if not platforms:
        return Platform.OTHER
    return max(platforms.items(), key=lambda item: (item[1], item[0]))[0]


def proposal_accept(
    *,
    proposal: Proposal,
    actor: Any,
    event_type: str = EventType.OTHER,
    unit: Unit | None = None,
    title: str = "",
    client_ip: str | None = None,
) -> Incident:
    """Accept: a ``detected`` incident linked to the topic. ``unit`` defaults to the
    rule's unit, ``title`` to the topic's."""
    require(actor, "decide_proposal")
    with transaction.atomic(durable=True):
        proposal = _lock(proposal)
        topic = Topic.objects.select_for_update().get(pk=proposal.topic_id)
        if topic.incident_id is not None:
            raise TransitionNotAllowed(_("This topic is already an incident."))
        source = topic.source_post
        evidence = topic_evidence(topic)
        links = [post.url for post in ([source] if source else []) + evidence if post.url]
        try:
            incident = incident_create_in_transaction(
                actor=actor,
                source=Source.MONITORING,
                title=(title or topic.title)[:200],
                platform=_main_platform(topic),
                event_type=event_type,
                unit=unit or topic.rule.unit,
                description=(source.text if source else "")[:5000],
                links=list(dict.fromkeys(links)),
                # A crawler's clock may run ahead (intake takes posts up to a day ahead);
                # a lead is discovered no later than it is accepted.
                discovered_at=min(topic.first_post_at, timezone.now()),
                metrics={
                    "reads": topic.reads,
                    "reposts": topic.reposts,
                    "comments": topic.comments,
                    "negative_share": topic.negative_share,
                    "mainstream_media": topic.mainstream_media,
                },
                client_ip=client_ip,
                timeline_data={"proposal": proposal.pk, "topic": topic.pk},
            )
        except InvalidInput as exc:
            if "discovered_at" not in exc.field_errors:
                raise
            # A post stored before intake refused such dates: say which time is wrong.
            message = _("The topic's first post is dated %(at)s: %(problem)s") % {
                "at": timezone.localtime(topic.first_post_at).strftime("%Y-%m-%d %H:%M"),
                "problem": exc.field_errors["discovered_at"][0],
            }
            raise InvalidInput(message, field_errors={"discovered_at": [message]}) from exc
        proposal.accept()
        proposal.decided_by, proposal.decided_at = actor, timezone.now()
        proposal.incident = incident
        proposal.save(update_fields=["state", "decided_by", "decided_at", "incident"])
        topic.incident = incident
        topic.save(update_fields=["incident"])
    logger.info("proposal %s accepted by %s: incident %s", proposal.pk, actor, incident.pk)
    return incident


def proposal_dismiss(*, proposal: Proposal, actor: Any, reason: str) -> Proposal:
    """Dismiss with a reason (400 without one). The topic is proposed again only if it
    reaches a more severe level."""
    require(actor, "decide_proposal")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(field_errors={"reason": [_("Say why it is dismissed.")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput(
            field_errors={"reason": [_("At most %(n)d characters.") % {"n": REASON_MAX_LENGTH}]}
        )
    with transaction.atomic(durable=True):
        proposal = _lock(proposal)
        proposal.dismiss()
        proposal.decided_by, proposal.decided_at = actor, timezone.now()
        proposal.reason = reason
        proposal.save(update_fields=["state", "decided_by", "decided_at", "reason"])
    logger.info("proposal %s dismissed by %s", proposal.pk, actor)
    return proposal
