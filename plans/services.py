"""Writes to plans: import the default, validate, publish, start a new draft."""

import logging
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .levels import Level
from .models import (
    ApprovalRule,
    ArrivalRule,
    ChecklistItem,
    DeadlineRule,
    EscalationStep,
    LevelPolicy,
    Plan,
    PlanVersion,
)

if TYPE_CHECKING:
    from organisation.models import User

logger = logging.getLogger(__name__)

DEFAULT_PLAN_PATH = Path(__file__).with_name("default_plan.toml")

_LEVEL_FIELDS = (
    "colour",
    "name",
    "meaning",
    "lead",
    "follow_up_hours",
    "follow_up_from",
    "warn_at",
    "change_needs_decision_once_reported",
    "on_casualties",
    "on_mainstream_media",
    "min_reads",
    "min_reposts",
    "min_comments",
    "min_negative_share",
    "negative_rising_suffices",
)
_RULE_FIELDS = ("kind", "anchor", "minutes", "fulfilled_by", "escalate_after_acknowledgement")
_STEP_FIELDS = ("wait_minutes", "roles")
_ARRIVAL_FIELDS = (
    "kind",
    "roles",
    "minutes_in_hours",
    "minutes_off_hours",
    "summons_every_minutes",
)
_APPROVAL_FIELDS = ("roles", "lead_unit_only", "required", "minutes")
_CHECKLIST_FIELDS = ("category", "order", "title", "due_same_day", "due_minutes")
_VERSION_FIELDS = (
    "remind_at_half_window",
    "short_window_minutes",
    "short_reminder_minutes",
    "long_reminder_minutes",
    "upgrade_decision_minutes",
    "work_days",
    "work_start",
    "work_end",
    "alert_negative_share",
    "alert_min_posts",
    "spike_factor",
    "spike_min_posts",
    "spike_baseline_hours",
    "unit_report_minutes",
    "warning_confirm_minutes",
    "warning_office_after_minutes",
    "level_raisers",
    "level_deciders",
    "level_change_decision_minutes",
)


def load_default_plan_document() -> dict[str, Any]:
    with DEFAULT_PLAN_PATH.open("rb") as f:
        return tomllib.load(f)


def plan_version_validate(*, version: PlanVersion) -> None:
    """A version may come into force only when it is complete and coherent: all four
    levels, distinct colours, and volume thresholds that grow with severity."""
    errors: list[str] = []
    levels = {p.level: p for p in version.levels.all()}
    missing = [Level(n).label for n in Level.values if n not in levels]
    if missing:
        errors.append(_("Levels missing: %(levels)s.") % {"levels": ", ".join(map(str, missing))})
    for policy in levels.values():
        try:
            policy.full_clean(exclude=["version"])
        except ValidationError as exc:
            errors.extend(f"{policy}: {m}" for m in exc.messages)
    for name in ("min_reads", "min_reposts", "min_comments"):
        field = LevelPolicy._meta.get_field(name)
        label = field.verbose_name if isinstance(field, Field) else name
        milder: tuple[int, int] | None = None  # (value, level) of the milder level set
        for number in sorted(levels, reverse=True):  # least severe first
            value = getattr(levels[number], name)
            if value is None:
                continue
            if milder is not None and value < milder[0]:
                errors.append(
                    _("%(field)s of %(severe)s is below that of %(milder)s.")
                    % {
                        "field": label,
                        "severe": Level(number).label,
                        "milder": Level(milder[1]).label,
                    }
                )
            milder = (value, number)
    for rule in version.deadline_rules.all():
        if rule.level not in levels:
            errors.append(_("%(rule)s refers to a level the plan lacks.") % {"rule": rule})
    for row in [
        *version.escalation_steps.all(),
        *version.arrival_rules.all(),
        *version.approval_rules.all(),
        *version.checklist_items.all(),
    ]:
        try:
            row.full_clean(exclude=["version"])
        except ValidationError as exc:
            errors.extend(f"{row}: {m}" for m in exc.messages)
    if not version.work_days or any(d not in "1234567" for d in version.work_days):
        errors.append(_("Working days are ISO weekday numbers 1 to 7, e.g. 12345."))
    if version.work_start >= version.work_end:
        errors.append(_("Working hours must end after they start."))
    approval_levels = {rule.level for rule in version.approval_rules.all()}
    if levels and set(levels) - approval_levels:
        errors.append(_("Every level needs an approval rule (who approves plans and statements)."))
    if not any(rule.kind == "report" for rule in version.deadline_rules.all()):
        errors.append(_("The plan sets no deadline for reporting to the leadership group."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def plan_version_publish(*, version: PlanVersion, actor: "User | None" = None) -> PlanVersion:
    """Bring a draft into force; the version in force before it is retired. Incidents
    already running keep the version they started under."""
    version = PlanVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != PlanVersion.Status.DRAFT:
        raise ValidationError(_("Only a draft can be published."))
    plan_version_validate(version=version)
    PlanVersion.objects.filter(plan_id=version.plan_id, status=PlanVersion.Status.PUBLISHED).update(
        status=PlanVersion.Status.RETIRED
    )
    version.status = PlanVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = actor
    version.save(update_fields=["status", "published_at", "published_by"])
    logger.info("plan %s version %s published by %s", version.plan_id, version.number, actor)
    return version


@transaction.atomic
def plan_version_new_draft(*, source: PlanVersion, note: str = "") -> PlanVersion:
    """Start a new draft as a copy of ``source``: the way to change a plan in force."""
    number = (source.plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = PlanVersion.objects.create(
        plan=source.plan,
        number=number,
        note=note,
        **{f: getattr(source, f) for f in _VERSION_FIELDS},
    )
    for policy in source.levels.prefetch_related("warn_units"):
        copy = LevelPolicy.objects.create(
            version=draft, level=policy.level, **{f: getattr(policy, f) for f in _LEVEL_FIELDS}
        )
        copy.warn_units.set(policy.warn_units.all())
    DeadlineRule.objects.bulk_create(
        DeadlineRule(version=draft, level=r.level, **{f: getattr(r, f) for f in _RULE_FIELDS})
        for r in source.deadline_rules.all()
    )
    EscalationStep.objects.bulk_create(
        EscalationStep(version=draft, level=e.level, **{f: getattr(e, f) for f in _STEP_FIELDS})
        for e in source.escalation_steps.all()
    )
    ArrivalRule.objects.bulk_create(
        ArrivalRule(version=draft, level=a.level, **{f: getattr(a, f) for f in _ARRIVAL_FIELDS})
        for a in source.arrival_rules.all()
    )
    ApprovalRule.objects.bulk_create(
        ApprovalRule(version=draft, level=a.level, **{f: getattr(a, f) for f in _APPROVAL_FIELDS})
        for a in source.approval_rules.all()
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(version=draft, **{f: getattr(c, f) for f in _CHECKLIST_FIELDS})
        for c in source.checklist_items.all()
    )
    return draft


def _exact(value: Any) -> Any:
    """TOML numbers with a point are floats; shares and factors are stored as exact
    decimals."""
    return Decimal(str(value)) if isinstance(value, float) else value


@transaction.atomic
def plan_import(*, document: dict[str, Any], publish: bool = True) -> PlanVersion:
    """Create a plan version from a plan document (the format of default_plan.toml)."""
    plan, _created = Plan.objects.get_or_create(
        name=document["name"], defaults={"description": document.get("description", "")}
    )
    number = (plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = PlanVersion.objects.create(
        plan=plan,
        number=number,
        note=document.get("note", ""),
        **{f: _exact(document[f]) for f in _VERSION_FIELDS if f in document},
    )
    for entry in document["levels"]:
        policy = LevelPolicy(version=version, level=entry["level"])
        for name in _LEVEL_FIELDS:
            if name in entry:
                setattr(policy, name, _exact(entry[name]))
        policy.full_clean()
        policy.save()
    for entry in document.get("deadlines", []):
        for level in entry["levels"]:
            rule = DeadlineRule(version=version, level=level)
            for name in _RULE_FIELDS:
                if name in entry:
                    setattr(rule, name, entry[name])
            rule.full_clean()
            rule.save()
    for model, key, names in (
        (EscalationStep, "escalation", _STEP_FIELDS),
        (ArrivalRule, "arrival", _ARRIVAL_FIELDS),
        (ApprovalRule, "approval", _APPROVAL_FIELDS),
    ):
        for entry in document.get(key, []):
            for level in entry["levels"]:
                row = model(
                    version=version, level=level, **{n: entry[n] for n in names if n in entry}
                )
                row.full_clean()
                row.save()
    for order, entry in enumerate(document.get("checklist", [])):
        item = ChecklistItem(
            version=version, order=order, **{n: entry[n] for n in _CHECKLIST_FIELDS if n in entry}
        )
        item.full_clean()
        item.save()
    if publish:
        version = plan_version_publish(version=version)
    return version


def ensure_default_plan() -> PlanVersion | None:
    """Load the default plan when the organisation has none yet."""
    if Plan.objects.exists():
        return None
    version = plan_import(document=load_default_plan_document())
    logger.info("loaded the default plan as %s", version)
    return version


def ensure_default_plan_after_migrate(*, using: str = "default", **kwargs: Any) -> None:
    if using != "default":
        return
    ensure_default_plan()
