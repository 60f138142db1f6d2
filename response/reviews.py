"""The written review (总结评估), pre-filled from the incident's record."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from deadlines.models import Deadline, LateReport
from incidents.models import Incident
from organisation.models import User
from plans.levels import NUMERALS

from .models import FollowUp, Publication, Review, Statement, Task


def review_record(*, incident: Incident) -> dict[str, Any]:
    """Everything the review draws on, as plain data: the timeline, figures, level
    changes, statements and their publications, tasks, follow-ups, and every late or
    missed deadline with the responsible unit and person (the accountability section).
    The exports (.docx, .pdf) and the pre-filled summary are made from this."""
    local = timezone.localtime

    def when(value: datetime | None) -> str:
        return local(value).strftime("%Y-%m-%d %H:%M") if value else ""

    timeline = incident.timeline.select_related("actor").order_by("at", "id")
    deadlines = incident.deadlines.select_related("assignee").order_by("due_at")
    late = {
        lr.deadline_id: lr
        for lr in LateReport.objects.filter(incident=incident).select_related("unit", "person")
    }
    accountability = []
    for deadline in deadlines:
        status = deadline.display_status()
        if status not in ("met_late", "overdue") and deadline.pk not in late:
            continue
        report = late.get(deadline.pk)
        accountability.append(
            {
                "obligation": str(deadline.get_kind_display()),
                "due_at": when(deadline.due_at),
                "met_at": when(deadline.met_at),
                "status": "missed" if deadline.met_at is None else "late",
                "unit": str(report.unit) if report else str(incident.lead_unit(deadline.level)),
                "person": str(report.person or "") if report else str(deadline.assignee or ""),
            }
        )
    return {
        "incident": {
            "id": incident.pk,
            "title": incident.title,
            "unit": str(incident.unit),
            "discovered_at": when(incident.discovered_at),
            "level": NUMERALS.get(incident.level, ""),
            "category": str(incident.get_category_display()),
            "is_drill": incident.is_drill,
            "description": incident.description,
        },
        "timeline": [
            {
                "at": when(e.at),
                "actor": str(e.actor or _("the system")),
                "what": e.action or str(e.get_kind_display()),
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
            }
            for e in timeline
        ],
        "figures": [
            {
                "at": when(s.taken_at),
                "reads": s.reads,
                "reposts": s.reposts,
                "comments": s.comments,
                "negative_share": float(s.negative_share),
                "mainstream_media": s.mainstream_media,
                "casualties": s.casualties,
                "suggested_level": NUMERALS.get(s.suggested_level, ""),
            }
            for s in incident.snapshots.order_by("taken_at", "id")
        ],
        "level_changes": [
            {
                "at": when(e.at),
                "actor": str(e.actor or ""),
                "from": NUMERALS.get(e.from_level, ""),
                "to": NUMERALS.get(e.to_level, ""),
                "reason": e.reason,
            }
            for e in timeline
            if e.kind == "level"
        ],
        "statements": [
            {
                "version": s.version,
                "state": str(s.get_state_display()),
                "text": s.text,
                "publications": [
                    {
                        "channel": str(p.get_channel_display()),
                        "at": when(p.published_at),
                        "url": p.url,
                    }
                    for p in s.publications.all()
                ],
            }
            for s in Statement.objects.filter(incident=incident)
            .prefetch_related("publications")
            .order_by("version")
        ],
        "tasks": [
            {
                "title": t.title,
                "unit": str(t.unit),
                "due_at": when(t.due_at),
                "state": str(t.get_state_display()),
                "outcome": t.outcome,
                "completed_at": when(t.completed_at),
            }
            for t in Task.objects.filter(incident=incident).select_related("unit")
        ],
        "follow_ups": [
            {
                "at": when(f.at),
                "by": str(f.author),
                "what_changed": f.what_changed,
                "actions_taken": f.actions_taken,
            }
            for f in FollowUp.objects.filter(incident=incident).select_related("author")
        ],
        "accountability": accountability,
        # 责任追究 recorded by people: 漏报, 谎报, 瞒报, 迟报, and 表彰 (incidents.accountability).
        "findings": [
            {
                "kind": f.kind,
                "kind_label": str(f.get_kind_display()),
                "unit": str(f.unit),
                "person": str(f.person or ""),
                "text": f.text,
                "evidence": f.evidence,
                "recorded_at": when(f.recorded_at),
                "recorded_by": str(f.recorded_by),
            }
            for f in incident.findings.select_related("unit", "person", "recorded_by")
        ],
        "publications": Publication.objects.filter(statement__incident=incident).count(),
        "open_deadlines": deadlines.filter(status=Deadline.Status.OPEN).count(),
    }


def review_summary(record: dict[str, Any]) -> str:
    """The pre-filled summary the author completes."""
    incident = record["incident"]
    lines = [
        _("%(title)s, found %(at)s, level %(level)s, %(category)s.")
        % {
            "title": incident["title"],
            "at": incident["discovered_at"],
            "level": incident["level"],
            "category": incident["category"],
        },
        _(
            "%(figures)d snapshots of figures, %(changes)d level changes, %(statements)d "
            "statements (%(publications)d publications), %(tasks)d tasks, %(follow_ups)d "
            "follow-up reports."
        )
        % {
            "figures": len(record["figures"]),
            "changes": len(record["level_changes"]),
            "statements": len(record["statements"]),
            "publications": record["publications"],
            "tasks": len(record["tasks"]),
            "follow_ups": len(record["follow_ups"]),
        },
    ]
    if record["accountability"]:
        lines.append(_("Late or missed deadlines (accountability):"))
        lines.extend(
            f"- {row['obligation']}: {row['due_at']} → {row['met_at'] or _('not met')}; "
            f"{row['unit']} {row['person']}".rstrip()
            for row in record["accountability"]
        )
    else:
        lines.append(_("Every deadline was met in time."))
    if record["findings"]:
        lines.append(_("Findings of accountability:"))
        lines.extend(
            f"- {row['kind_label']}: {row['unit']} {row['person']}: {row['text']}".rstrip()
            for row in record["findings"]
        )
    return "\n".join(lines)


def start_review(*, incident: Incident, actor: User, at: datetime) -> None:
    """Effect of ``review``: a first draft of the review, pre-filled from the record."""
    if Review.objects.filter(incident=incident).exists():
        return
    review = Review.objects.create(
        incident=incident,
        author=actor,
        version=1,
        created_at=at,
        summary=review_summary(review_record(incident=incident)),
    )
    review.contributors.add(actor)
