"""Response plans, statements and reviews: drafted, versioned, approved by the people the
plan names for the incident's level, and frozen once submitted.

Routing (plan data, ``ApprovalRule``): Ⅰ/Ⅱ the leader or a deputy leader, Ⅲ/Ⅳ the head of
the unit that leads, by default. Four eyes on content: nobody who wrote or edited any part
of a version (its ``contributors``) decides on it, and a submission that nobody else may
approve is refused at once (409) rather than left to wait. A submitted version is frozen:
a change makes a new version. A decision on a version that is no longer the latest
submission is refused (409). Each submission gets an approval deadline that the engine
reminds and escalates like any other.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, PermissionDenied, StaleVersion, TransitionNotAllowed
from core.moments import happened_at
from core.permissions import require
from core.text import require_lengths
from deadlines.models import Deadline
from deadlines.services import deadline_reroute, deadlines_cancel, deadlines_meet, deadlines_open
from incidents.choices import State
from incidents.models import Incident, TimelineEntry
from incidents.timeline import timeline_record
from organisation.models import User
from organisation.roles import Role
from plans.categories import Category
from plans.levels import NUMERALS
from plans.models import ApprovalRule, DeadlineKind

from .announcements import (
    approval_decided,
    approval_requested,
    approval_rerouted,
    statement_to_publish,
)
from .models import (
    TEXT_MAX_LENGTH,
    Channel,
    Decision,
    DocumentState,
    Publication,
    ResponsePlan,
    Review,
    Statement,
)

logger = logging.getLogger(__name__)

APPROVAL_DECIDED = "approval_decided"  # the event that meets an approval deadline
STATEMENT_PUBLISHED = "statement_published"

Document = ResponsePlan | Statement | Review

# What each kind of document is called, who drafts it, and its editable fields.
KINDS: dict[type, dict[str, Any]] = {
    ResponsePlan: {
        "name": "response_plan",
        "draft": "draft_response_plan",
        "fields": ("facts", "category", "measures_online", "measures_offline", "statement_line"),
    },
    Statement: {"name": "statement", "draft": "draft_statement", "fields": ("text", "channels")},
    Review: {
        "name": "review",
        "draft": "draft_review",
        "fields": ("summary", "lessons", "plan_changes", "drill_evaluation"),
    },
}
DECISION_FIELD = {ResponsePlan: "response_plan", Statement: "statement", Review: "review"}
# Where in the lifecycle each document may be drafted.
DRAFTABLE_STATES = {
    ResponsePlan: {State.ASSESSED, State.REPORTED, State.RESPONDING, State.TRACKING},
    Statement: {State.ASSESSED, State.REPORTED, State.RESPONDING, State.TRACKING},
    Review: {State.REVIEWING},
}


def no_approved_response_plan(incident: Incident) -> str | None:
    """The guard on ``respond``: the plans require an approved response plan first."""
    # Reads the prefetched plans when the selector loaded them (lists stay N+1 free).
    if any(plan.state == DocumentState.APPROVED for plan in incident.response_plans.all()):
        return None
    return _("The response cannot start without an approved response plan.")


def no_approved_review(incident: Incident) -> str | None:
    """The guard on ``close``: the incident closes when its written review is approved."""
    if any(review.state == DocumentState.APPROVED for review in incident.reviews.all()):
        return None
    return _("The incident closes when its written review is approved.")


def approval_rule(*, incident: Incident) -> ApprovalRule:
    if incident.level is None:
        raise TransitionNotAllowed(_("The incident must be assessed before approvals."))
    return incident.plan_version.approval_rules.get(level=incident.level)


def approvers(*, incident: Incident) -> list[User]:
    """The people who may approve at the incident's level (the plan's routing)."""
    rule = approval_rule(incident=incident)
    people = User.objects.filter(is_active=True, role_assignments__role__in=rule.roles)
    if rule.lead_unit_only:
        people = people.filter(unit=incident.lead_unit())
    return list(people.distinct().order_by("pk"))


def contributor_ids(doc: Document) -> set[int]:
    """Everyone who wrote or edited any part of ``doc`` (its author always among them);
    reads the prefetched contributors when the caller loaded them."""
    return {doc.author_id, *(person.pk for person in doc.contributors.all())}


def eligible_approvers(*, doc: Document) -> list[User]:
    """The approvers the plan names who may decide on ``doc``: none of its contributors."""
    excluded = contributor_ids(doc)
    return [p for p in approvers(incident=doc.incident) if p.pk not in excluded]


def _require_enough_approvers(doc: Document, rule: ApprovalRule, people: list[User]) -> None:
    """A submission nobody may approve would wait forever (the response could never
    start): refuse it now, naming the role the plan routes it to."""
    if len(people) >= rule.required:
        return
    roles = " / ".join(
        str(Role(role).label) if role in Role.values else role for role in rule.roles
    )
    who = (
        _("%(roles)s of %(unit)s") % {"roles": roles, "unit": doc.incident.lead_unit()}
        if rule.lead_unit_only
        else roles
    )
    raise TransitionNotAllowed(
        _(
            "Nobody may approve this version: at level %(level)s it needs %(required)d "
            "approval(s) by a %(who)s who did not write or edit it, and only %(eligible)d "
            "such person(s) exist."
        )
        % {
            "level": NUMERALS.get(rule.level, rule.level),
            "required": rule.required,
            "who": who,
            "eligible": len(people),
        }
    )


def _timeline(
    *,
    incident: Incident,
    actor: User,
    action: str,
    doc: Document,
    client_ip: str | None,
    reason: str = "",
    at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    timeline_record(
        incident=incident,
        actor=actor,
        at=at or timezone.now(),
        kind=TimelineEntry.Kind.RESPONSE,
        action=action,
        reason=reason,
        client_ip=client_ip,
        data={
            "document": KINDS[type(doc)]["name"],
            "id": doc.pk,
            "version": doc.version,
            **(extra or {}),
        },
    )


def _clean_fields(model: type, fields: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check a document's fields; ``partial`` checks only the names (before the latest
    version's content is known)."""
    allowed = KINDS[model]["fields"]
    unknown = set(fields) - set(allowed) - {"units"}
    if unknown:
        raise InvalidInput(
            field_errors={n: [_("This field cannot be set.")] for n in sorted(unknown)}
        )
    if partial:
        return fields
    errors: dict[str, list[str]] = {}
    if model is ResponsePlan and not str(fields.get("facts", "")).strip():
        errors["facts"] = [_("State the facts verified.")]
    if model is ResponsePlan and fields.get("category") not in ("", None, *Category.values):
        errors["category"] = [_("Choose a handling category.")]
    if model is Statement:
        if not str(fields.get("text", "")).strip():
            errors["text"] = [_("Write the statement.")]
        channels = fields.get("channels") or []
        if not channels or any(c not in Channel.values for c in channels):
            errors["channels"] = [_("Choose one or more channels from the list.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    return fields


def document_save_draft(
    *,
    model: type,
    incident: Incident,
    actor: User,
    fields: dict[str, Any],
    client_ip: str | None = None,
) -> Document:
    """Write the draft: the open draft is edited in place; after a submission a new
    version is started (the submitted one, unless approved, is then superseded), so what
    the approvers read never changes under them. Whoever saves becomes a contributor of
    the version, and a new version keeps the contributors of the one it starts from."""
    kind = KINDS[model]
    require(actor, kind["draft"])
    fields = dict(fields)
    units = fields.pop("units", None)
    _clean_fields(model, {**dict.fromkeys(kind["fields"], ""), **fields}, partial=True)
    require_lengths(TEXT_MAX_LENGTH, **fields)
    with transaction.atomic(durable=True):
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.state not in DRAFTABLE_STATES[model]:
            raise TransitionNotAllowed(_("This document cannot be drafted now."))
        # Locked, so a submission cannot slip in between reading the state and the edit.
        latest = (
            model.objects.select_for_update(of=("self",))
            .filter(incident=incident)
            .order_by("-version")
            .first()
        )
        # A new version starts from the latest one: only what changes need be sent.
        current = {name: getattr(latest, name) for name in kind["fields"]} if latest else {}
        merged = _clean_fields(model, {**current, **fields})
        if latest is not None and latest.state == DocumentState.DRAFT:
            doc = latest
            for name, value in merged.items():
                setattr(doc, name, value)
            doc.save(update_fields=list(merged))  # the content only, never the state
            doc.contributors.add(actor)
            action = f"{kind['name']}_edited"
        else:
            doc = model.objects.create(
                incident=incident,
                author=actor,
                version=(latest.version + 1) if latest else 1,
                **merged,
            )
            doc.contributors.set({actor.pk, *(contributor_ids(latest) if latest else ())})
            _supersede_pending(model, incident=incident, keep=doc)
            if units is None and latest is not None and model is ResponsePlan:
                units = list(latest.units.all())
            action = f"{kind['name']}_drafted"
        if units is not None and model is ResponsePlan:
            doc.units.set(units)
        _timeline(incident=incident, actor=actor, action=action, doc=doc, client_ip=client_ip)
    return doc


def _supersede_pending(model: type, *, incident: Incident, keep: Document) -> None:
    """Older versions still waiting for a decision will never get one."""
    pending = model.objects.filter(
        incident=incident,
        state__in=[DocumentState.SUBMITTED, DocumentState.CHANGES_REQUESTED, DocumentState.DRAFT],
    ).exclude(pk=keep.pk)
    deadline_ids = [d for d in pending.values_list("approval_deadline_id", flat=True) if d]
    pending.update(state=DocumentState.SUPERSEDED)
    deadlines_cancel(pks=deadline_ids)


def document_submit(*, doc: Document, actor: User, client_ip: str | None = None) -> Document:
    """Ask for approval: the approvers who did not write or edit the version are notified
    and the plan's decision deadline starts. Refused (409) when too few of them exist."""
    model = type(doc)
    require(actor, KINDS[model]["draft"])
    with transaction.atomic(durable=True):
        _lock_incident_then(doc)
        doc = (
            model.objects.select_for_update(of=("self",))
            .select_related("incident__plan_version")
            .get(pk=doc.pk)
        )
        if doc.state != DocumentState.DRAFT:
            raise StaleVersion(_("Only a draft can be submitted; this version already was."))
        incident = doc.incident
        if model is Review and incident.is_drill and not doc.drill_evaluation.strip():
            raise InvalidInput(
                field_errors={"drill_evaluation": [_("A drill ends with its evaluation.")]}
            )
        rule = approval_rule(incident=incident)
        people = eligible_approvers(doc=doc)
        _require_enough_approvers(doc, rule, people)
        now = timezone.now()
        deadline = deadlines_open(
            incident=incident,
            kind=DeadlineKind.APPROVAL,
            level=incident.level,
            fulfilled_by=APPROVAL_DECIDED,
            starts_at=now,
            due_at=now + timedelta(minutes=rule.minutes),
            remind_user_ids=[p.pk for p in people],
        )
        model.objects.filter(pk=doc.pk).update(
            state=DocumentState.SUBMITTED, submitted_at=now, approval_deadline=deadline
        )
        doc.refresh_from_db()
        _timeline(
            incident=incident,
            actor=actor,
            action=f"{KINDS[model]['name']}_submitted",
            doc=doc,
            client_ip=client_ip,
            at=now,
        )
        approval_requested(doc=doc, approvers=people, deadline=deadline, at=now)
    return doc


def approvals_reroute(
    *,
    incident: Incident,
    actor: Any,
    at: datetime,
    old_level: int | None,
    new_level: int,
    **details: Any,
) -> None:
    """Effect of a level change (``level_changed``): every version awaiting a decision
    goes to the new level's approvers. Its approval deadline moves with it (the new
    level's window from the submission, the new approvers reminded); the new approvers
    are told it awaits them, the old ones that it left them. Decisions already given
    stay counted."""
    if old_level is None or old_level == new_level:
        return
    rule = incident.plan_version.approval_rules.filter(level=new_level).first()
    if rule is None:
        return
    for model in KINDS:
        pending = (
            model.objects.filter(incident=incident, state=DocumentState.SUBMITTED)
            .select_related("approval_deadline", "author")
            .prefetch_related("contributors")
            .order_by("pk")
        )
        for doc in pending:
            doc.incident = incident
            deadline = doc.approval_deadline
            before = set(deadline.remind_user_ids) if deadline else set()
            people = eligible_approvers(doc=doc)
            after = {p.pk for p in people}
            if deadline is not None and deadline.status == Deadline.Status.OPEN:
                deadline_reroute(
                    deadline, incident=incident, minutes=rule.minutes, remind=after, now=at
                )
            joined = [p for p in people if p.pk not in before]
            if joined and deadline is not None:
                approval_requested(
                    doc=doc, approvers=joined, deadline=deadline, at=at, step=new_level
                )
            left = list(User.objects.filter(pk__in=before - after).order_by("pk"))
            if left:
                approval_rerouted(
                    doc=doc,
                    left=left,
                    deadline=deadline,
                    old_level=old_level,
                    new_level=new_level,
                    at=at,
                )


def document_decide(
    *, doc: Document, actor: User, verdict: str, comment: str = "", client_ip: str | None = None
) -> Document:
    """An approver approves, rejects or asks for changes, with a comment. Nobody who
    wrote or edited the version may decide on it. Enough approvals (the plan's
    ``required``) approve the version; an approved review closes the incident."""
    model = type(doc)
    if verdict not in Decision.Verdict.values:
        raise InvalidInput(field_errors={"verdict": [_("Unknown decision.")]})
    comment = (comment or "").strip()
    require_lengths(TEXT_MAX_LENGTH, comment=comment)
    if verdict != Decision.Verdict.APPROVE and not comment:
        raise InvalidInput(field_errors={"comment": [_("Say why.")]})
    with transaction.atomic(durable=True):
        _lock_incident_then(doc)
        doc = (
            model.objects.select_for_update(of=("self",))
            .select_related("incident__plan_version")
            .get(pk=doc.pk)
        )
        incident = doc.incident
        if actor.pk in contributor_ids(doc):
            raise PermissionDenied(
                _("You wrote or edited this version: someone who did not decides on it.")
            )
        if actor.pk not in {p.pk for p in approvers(incident=incident)}:
            raise PermissionDenied(_("The plan does not name you as an approver at this level."))
        latest = model.objects.filter(incident=incident).aggregate(v=Max("version"))["v"]
        if doc.state != DocumentState.SUBMITTED or doc.version != latest:
            raise StaleVersion(
                _(
                    "This version is no longer awaiting a decision: it was "
                    "decided or a newer version exists."
                )
            )
        field = DECISION_FIELD[model]
        if Decision.objects.filter(**{field: doc}, approver=actor).exists():
            raise StaleVersion(_("You have already decided on this version."))
        now = timezone.now()
        Decision.objects.create(
            **{field: doc}, approver=actor, verdict=verdict, comment=comment, at=now
        )
        new_state = None
        if verdict == Decision.Verdict.APPROVE:
            approvals = Decision.objects.filter(
                **{field: doc}, verdict=Decision.Verdict.APPROVE
            ).count()
            if approvals >= approval_rule(incident=incident).required:
                new_state = DocumentState.APPROVED
        else:
            new_state = (
                DocumentState.REJECTED
                if verdict == Decision.Verdict.REJECT
                else DocumentState.CHANGES_REQUESTED
            )
        _timeline(
            incident=incident,
            actor=actor,
            action=f"{KINDS[model]['name']}_{verdict}",
            doc=doc,
            client_ip=client_ip,
            reason=comment,
            at=now,
        )
        if new_state is not None:
            _settle(doc, state=new_state, actor=actor, at=now, client_ip=client_ip)
    return doc


def _lock_incident_then(doc: Document) -> None:
    """Take the incident's row lock before the document's, in the order drafting takes
    them, so a save and a submission or decision wait for each other, never deadlock."""
    list(Incident.objects.select_for_update().filter(pk=doc.incident_id).values_list("pk"))


def _settle(doc: Document, *, state: str, actor: User, at: datetime, client_ip: str | None) -> None:
    model = type(doc)
    model.objects.filter(pk=doc.pk).update(state=state, decided_at=at)
    doc.state, doc.decided_at = state, at
    if doc.approval_deadline_id:
        deadlines_meet(pk=doc.approval_deadline_id, at=at)
    if state == DocumentState.APPROVED:
        # What was approved before is replaced by what is approved now.
        model.objects.filter(incident=doc.incident, state=DocumentState.APPROVED).exclude(
            pk=doc.pk
        ).update(state=DocumentState.SUPERSEDED)
        if model is Review:
            from incidents.services import incident_transition_in_transaction

            incident_transition_in_transaction(
                incident=doc.incident,
                action="close",
                actor=actor,
                client_ip=client_ip,
                reason=_("Review v%(version)d approved.") % {"version": doc.version},
            )
    approval_decided(doc=doc, state=state, at=at)
    if model is Statement and state == DocumentState.APPROVED:
        statement_to_publish(statement=doc, at=at)


def statement_publish(
    *,
    statement: Statement,
    actor: User,
    channel: str,
    published_at: datetime | None = None,
    url: str = "",
    client_ip: str | None = None,
) -> Publication:
    """The spokesperson records an approved statement as published. The first
    publication meets the "first public response" deadline, and the official release, at
    ``published_at`` (default now): so it is no earlier than the statement's approval
    and no later than now."""
    require(actor, "publish_statement")
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a channel from the list.")]
    if url and not url.startswith(("http://", "https://")):
        errors["url"] = [_("A web address starting with http(s)://.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    from deadlines.services import deadlines_fulfil

    with transaction.atomic(durable=True):
        statement = (
            Statement.objects.select_for_update(of=("self",))
            .select_related("incident")
            .get(pk=statement.pk)
        )
        if statement.state != DocumentState.APPROVED:
            raise TransitionNotAllowed(_("Only an approved statement can be published."))
        now = timezone.now()
        published_at = happened_at(
            published_at,
            field="published_at",
            now=now,
            after=statement.decided_at or statement.submitted_at or statement.created_at,
            after_what=_("the statement's approval"),
        )
        publication = Publication.objects.create(
            statement=statement,
            channel=channel,
            published_at=published_at,
            url=url,
            published_by=actor,
        )
        deadlines_fulfil(incident=statement.incident, event=STATEMENT_PUBLISHED, at=published_at)
        _timeline(
            incident=statement.incident,
            actor=actor,
            action="statement_published",
            doc=statement,
            client_ip=client_ip,
            at=now,
            reason=f"{Channel(channel).label} {url}".strip(),
            extra={"published_at": published_at.isoformat()},
        )
    return publication
