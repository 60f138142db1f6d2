"""Grading: which level a plan version suggests for a set of figures.

The plan's levels are tried from the most severe; the first whose trigger holds is
suggested, and the least severe level is the floor (every logged incident is at least
"一般"). The reasons explain the suggestion to the analyst who confirms or overrides it.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext as _

from .models import LevelPolicy, PlanVersion


class Metrics(Protocol):
    """What grading reads of a set of figures (a snapshot, or figures not yet saved);
    read-only, so that frozen values qualify."""

    @property
    def reads(self) -> int: ...
    @property
    def reposts(self) -> int: ...
    @property
    def comments(self) -> int: ...
    @property
    def negative_share(self) -> Decimal: ...
    @property
    def mainstream_media(self) -> bool: ...
    @property
    def casualties(self) -> bool: ...


@dataclass(frozen=True)
class Suggestion:
    level: int
    reasons: list[str] = field(default_factory=list)
    # True when no level's trigger holds and the least severe level is only the floor.
    floor: bool = False


def _negative_condition(policy: LevelPolicy, metrics: Metrics, previous: Metrics | None) -> bool:
    if policy.min_negative_share is None and not policy.negative_rising_suffices:
        return True
    share = Decimal(metrics.negative_share)
    if policy.min_negative_share is not None and share >= policy.min_negative_share:
        return True
    return bool(
        policy.negative_rising_suffices
        and previous is not None
        and share > Decimal(previous.negative_share)
    )


def _triggers(policy: LevelPolicy, metrics: Metrics, previous: Metrics | None) -> list[str]:
    reasons = []
    if policy.on_casualties and metrics.casualties:
        reasons.append(_("casualties"))
    if policy.on_mainstream_media and metrics.mainstream_media:
        reasons.append(_("mainstream media carry it"))
    if policy.has_volume_trigger:
        volume = [
            label
            for label, value, minimum in (
                (_("reads"), metrics.reads, policy.min_reads),
                (_("reposts"), metrics.reposts, policy.min_reposts),
                (_("comments"), metrics.comments, policy.min_comments),
            )
            if minimum is not None and value >= minimum
        ]
        if volume and _negative_condition(policy, metrics, previous):
            reasons.append(_("%(what)s over the threshold") % {"what": "/".join(volume)})
    return reasons


def suggest_level(
    *, version: PlanVersion, metrics: Metrics, previous: Metrics | None = None
) -> Suggestion:
    """The level the plan suggests for ``figures``; ``previous`` is the snapshot before,
    for plans where a rising negative share counts."""
    policies = sorted(version.levels.all(), key=lambda p: p.level)
    if not policies:
        raise ValueError(f"plan version {version.pk} has no levels")
    for policy in policies:
        reasons = _triggers(policy, metrics, previous)
        if reasons:
            return Suggestion(level=policy.level, reasons=reasons)
    return Suggestion(level=policies[-1].level, reasons=[_("below every threshold")], floor=True)
