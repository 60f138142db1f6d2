"""Watch rules on the stream: writing rules, matching stored posts, trying an expression.

The active rules are compiled once into a :class:`~monitoring.rules.RuleSet` per process and
rebuilt only when the rules change: every call compares a cheap fingerprint of the rules
table (one aggregate query) with the one the cached set was built from
(``monitoring.compiled``). A post is matched when the intake stores it; the matches are
rows (``PostMatch``), so the stream can be filtered by rule.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput, PermissionDenied
from organisation.models import Unit
from organisation.roles import Role

from .analysis import Analysis, segment, topic_terms
from .compiled import CompiledTable
from .models import Post, WatchRule
from .rules import RuleSet, RuleSyntaxError, matches, normalise, parse
from .topics import matches_record

logger = logging.getLogger(__name__)

# Who may write watch rules and try expressions: the analysts and those above them.
RULE_ROLES = frozenset({Role.ANALYST, Role.OFFICE_HEAD, Role.SYSADMIN})
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


def rule_require(user: Any) -> None:
    """Only the roles of ``RULE_ROLES`` may write rules or try expressions (403 otherwise)."""
    if (
        user is None
        or not user.is_authenticated
        or not user.is_active
        or not user.has_role(*RULE_ROLES)
    ):
        raise PermissionDenied()


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
    figures = WatchRule.objects.aggregate(
        total=Count("id"), revisions=Sum("revision"), last_id=Max("id")
    )
    return (figures["total"], figures["revisions"], figures["last_id"])


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


def posts_match(
    posts: Iterable[Post],
    *,
    analyses: dict[int, Analysis] | None = None,
    rules: RuleSet[int] | None = None,
) -> int:
    """Record which active rules (or ``rules``) match each post, each match in a topic of
    its rule (``topics.matches_record``); answers how many matches are new. A post already
    matched by a rule keeps its match. ``analyses`` are the posts' analyses by id, when the
    caller has them (else the matched posts are segmented again)."""
    rules = rule_set() if rules is None else rules
    if not len(rules):
        return 0
    analyses = analyses or {}

    def match(post: Post) -> set[int]:
        analysis = analyses.get(post.pk)
        if analysis is None:
            return rules.match(post.text)
        return rules.match(
            post.text, normalised=analysis.normalised, segmentation=analysis.segmentation
        )

    matched = [(post, found) for post in posts if (found := match(post))]
    if not matched:
        return 0
    terms = {
        post.pk: analyses[post.pk].terms
        if post.pk in analyses
        else topic_terms(segment(normalise(post.text)))
        for post, _found in matched
    }
    return matches_record(matched, terms)


def rules_backfill(*, now: Any = None, chunk: int = BACKFILL_CHUNK) -> int:
    """Match the posts published in the last ``FENGHUO_RULE_BACKFILL_DAYS`` against each
    rule written since (``backfill_pending``), so a new or changed rule covers the stream
    already stored, not only what arrives next. Idempotent: matches already recorded stay;
    a rule changed again meanwhile stays pending. Answers how many matches are new."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.FENGHUO_RULE_BACKFILL_DAYS)
    found = 0
    for rule_id, expression, active, seen in WatchRule.objects.filter(
        backfill_pending=True
    ).values_list("id", "expression", "active", "revision"):
        if active:
            rules = RuleSet({rule_id: expression})
            last_id = 0
            while True:
                posts = list(
                    Post.objects.filter(published_at__gte=since, pk__gt=last_id)
                    .order_by("pk")
                    .only("id", "text", "published_at", "url", "original_id")[:chunk]
                )
                if not posts:
                    break
                last_id = posts[-1].pk
                found += posts_match(posts, rules=rules)
        # Compare-and-set: a rule written again while we matched stays pending.
        WatchRule.objects.filter(pk=rule_id, revision=seen).update(backfill_pending=False)
    if found:
        logger.info("rules_backfill: %d matches of stored posts", found)
    return found


# --- Services ------------------------------------------------------------------------------


def rule_create(
    *, actor: Any, name: str, expression: str, unit: Unit, active: bool = True
) -> WatchRule:
    """A new watch rule of ``unit``. Roles: analyst, office head, system administrator. The
    expression must parse (400 with the position of the mistake otherwise)."""
    rule_require(actor)
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
    rule_require(actor)
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
    rule_require(actor)
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
