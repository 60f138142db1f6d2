"""Watch rules: who writes them, writing them, the process's compiled set, trying one.

The active rules are compiled once into a :class:`~monitoring.text.rules.RuleSet` per
process and rebuilt only when the rules change: every call compares a cheap fingerprint of
the rules table (one aggregate query) with the one the cached set was built from
(``monitoring.text.compiled``). Stored posts are matched against it when they are completed
(``monitoring.topics.matches``); the matches are rows (``PostMatch``), so the stream can be
filtered by rule.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput
from core.permissions import require
from organisation.models import Unit

from ..models import Post, WatchRule
from .compiled import CompiledTable
from .rules import RuleSet, RuleSyntaxError, matches, parse

logger = logging.getLogger(__name__)

# Who may write watch rules and try expressions: the analysts and those above them.
# rule_try reads at most this many posts of the window, newest first: a preview must stay
# quick however busy the stream was.
TRY_SCAN_LIMIT = 5000
TRY_DEFAULT_DAYS = 3
TRY_MAX_DAYS = 30
TRY_DEFAULT_LIMIT = 50
BACKFILL_CHUNK = 2000


class InvalidExpression(InvalidInput):
    """An expression that does not parse; ``position`` is the 0-based index of the mistake,
    which the API answers next to the message."""

    def __init__(self, error: RuleSyntaxError):
        self.position = error.position
        self.code = error.code
        super().__init__(
            field_errors={
                "expression": [
                    _("%(message)s (position %(position)d)")
                    % {"message": error.message, "position": error.position}
                ]
            }
        )


def expression_check(expression: str) -> str:
    """The expression, stripped, or ``InvalidExpression`` naming the position of the error."""
    expression = expression.strip()
    try:
        parse(expression)
    except RuleSyntaxError as error:
        raise InvalidExpression(error) from None
    return expression


# --- The rule set of the process -----------------------------------------------------------


def _fingerprint() -> tuple:
    # Every write of a rule counts its revision up; the count catches deletions.
    metrics = WatchRule.objects.aggregate(
        total=Count("id"), revisions=Sum("revision"), last_id=Max("id")
    )
    return (metrics["total"], metrics["revisions"], metrics["last_id"])


def _rule_set_build() -> RuleSet[int]:
    active = dict(WatchRule.objects.filter(active=True).values_list("id", "expression"))
    logger.info("rule_set: rebuilt with %d active rules", len(active))
    return RuleSet(active)


_compiled = CompiledTable(fingerprint=_fingerprint, build=_rule_set_build, empty=RuleSet({}))


def rule_set() -> RuleSet[int]:
    """The active rules, compiled; rebuilt only when the rules table changed."""
    return _compiled.get()


def rule_set_forget() -> None:
    """Drop this process's rule set: the next ``rule_set()`` builds it afresh. Other
    processes notice the change by the fingerprint."""
    _compiled.forget()


# --- Services ------------------------------------------------------------------------------


def rule_create(
    *, actor: Any, name: str, expression: str, unit: Unit, active: bool = True
) -> WatchRule:
    """A new watch rule of ``unit``. Roles: analyst, office head, system administrator. The
    expression must parse (400 with the position of the mistake otherwise)."""
    require(actor, "write_rules")
    expression = expression_check(expression)
    with transaction.atomic(durable=True):
        rule = WatchRule.objects.create(
            name=name.strip(), expression=expression, unit=unit, active=active, created_by=actor
        )
    rule_set_forget()  # committed (durable): this process must not wait for the clock
    return rule


def rule_update(*, rule: WatchRule, actor: Any, **changes: Any) -> WatchRule:
    """Change a rule's ``name``, ``expression``, ``unit`` or ``active``; the same roles and
    checks as :func:`rule_create`. Posts already stored keep their matches; the rule as it
    now is matches new posts, and the recent stored ones in the background."""
    require(actor, "write_rules")
    unknown = set(changes) - {"name", "expression", "unit", "active"}
    if unknown:
        raise InvalidInput(field_errors={name: [_("Unknown field.")] for name in unknown})
    if "expression" in changes:
        changes["expression"] = expression_check(changes["expression"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    with transaction.atomic(durable=True):
        for name, value in changes.items():
            setattr(rule, name, value)
        rule.updated_at = timezone.now()
        rule.revision = F("revision") + 1
        rule.backfill_pending = (
            bool({"expression", "active"} & set(changes)) or rule.backfill_pending
        )
        rule.save(update_fields=[*changes, "updated_at", "revision", "backfill_pending"])
        rule.refresh_from_db(fields=["revision"])
    rule_set_forget()
    return rule


@dataclass
class TryResult:
    count: int
    scanned: int
    scan_limit: int
    posts: list[Post]


def rule_try(
    *, actor: Any, expression: str, days: int = TRY_DEFAULT_DAYS, limit: int = TRY_DEFAULT_LIMIT
) -> TryResult:
    """The posts published in the last ``days`` that ``expression`` matches, newest first,
    at most ``limit`` of them; ``count`` is how many matched in all. Only the newest
    ``TRY_SCAN_LIMIT`` posts of the window are read (``scanned`` says how many were)."""
    require(actor, "write_rules")
    node = parse(expression_check(expression)) if expression else None
    if node is None:
        raise InvalidInput(field_errors={"expression": [_("This field is required.")]})
    since = timezone.now() - timedelta(days=days)
    window = (
        Post.objects.filter(published_at__gte=since)
        .order_by("-published_at", "-id")
        .values_list("id", "text")[:TRY_SCAN_LIMIT]
    )
    scanned, matched = 0, []
    for post_id, text in window.iterator(chunk_size=1000):
        scanned += 1
        if matches(node, text):
            matched.append(post_id)
    posts = list(Post.objects.filter(pk__in=matched[:limit]).order_by("-published_at", "-id"))
    return TryResult(count=len(matched), scanned=scanned, scan_limit=TRY_SCAN_LIMIT, posts=posts)
