"""Sensitive-term lists per handling category (分类处置), and the scan of every post.

The plans handle an inquiry, hype, a fabrication and a constructive suggestion differently
(domain.md); a list of terms per category tells the desk early which one a post looks
like. A list is one term per line; blank lines and lines starting with ``#`` are left out.
The intake scans each post once, with its analysis and before its write transaction
(``monitoring.intake.batches``), and stores the distinct terms found (at most
:data:`MAX_POST_TERMS`) and the post's category; topics count their posts per category
(``monitoring.topics.metrics``) and a proposal names the leading one
(``monitoring.topics.detection``).

Matching is the watch rules' (``monitoring.text.rules``): text and terms normalised alike
(NFKC, lower case, single spaces), a term matches as a substring, on word boundaries where
it starts or ends with a Latin letter or digit (``app`` is not in ``happy``), and on jieba
token boundaries when written ``=term``. All terms of the active lists are in one
Aho-Corasick automaton (:class:`SensitiveSet`), compiled once per process and rebuilt when
the lists change (``monitoring.text.compiled``), so a post costs one pass however many terms.

A post's category is the one with the most distinct terms found; a tie goes to the more
severe handling, in the order of :data:`SEVERITY` (fabrication, hype, inquiry,
constructive): missing a case for the law-enforcement body costs more than replying to a
suggestion late. A term listed under two categories counts for both.

Posts are scanned when stored (and again when a stored post's empty text is filled in);
a list written later applies to the posts that arrive from then on.
"""

import logging
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput
from core.permissions import require
from plans.categories import Category

from ..models import Post, SensitiveTermList, Topic
from .compiled import CompiledTable
from .matching import BACKFILL_CHUNK
from .rules import Term, automaton, char_offset, needs_check, normalise, occurrence_counts
from .segmentation import Segmentation

logger = logging.getLogger(__name__)

MAX_TERM_LENGTH = 50
MAX_TERMS_PER_LIST = 5000
# The list as typed, comments included: room for every term at its longest, and notes.
MAX_TERMS_CHARS = 300_000
# Terms kept on a post: enough to see why, small enough for every row of the stream.
MAX_POST_TERMS = 20
# Ties between categories go to the first: the most severe handling.
SEVERITY = (Category.FABRICATION, Category.HYPE, Category.INQUIRY, Category.CONSTRUCTIVE)
DEFAULT_LISTS_PATH = Path(__file__).resolve().parent.parent / "sensitive_terms.toml"
# Field errors name at most this many bad lines.
_MAX_LINE_ERRORS = 5


def category_leading(counts: Mapping[str, int]) -> str:
    """The category with the highest count, the more severe on a tie; "" when none."""
    best, most = "", 0
    for category in SEVERITY:
        if counts.get(category, 0) > most:
            best, most = category, counts[category]
    return best


# --- Lists as typed -----------------------------------------------------------------------


def _lines(text: str) -> Iterable[tuple[int, str]]:
    """The term lines with their 1-based numbers: comments and blank lines left out."""
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def _term(line: str) -> Term:
    if line.startswith("=") and len(line) > 1:
        return Term(normalise(line[1:]), whole_token=True)
    return Term(normalise(line))


def terms_parse(text: str) -> list[Term]:
    """The distinct terms of a list, in the order written."""
    return list(dict.fromkeys(term for _number, line in _lines(text) if (term := _term(line)).text))


def terms_check(text: str) -> str:
    """The list as it is stored (line breaks made ``\\n``, outer blank space dropped), or
    ``InvalidInput`` on ``terms``: no term, a term longer than ``MAX_TERM_LENGTH``, more
    than ``MAX_TERMS_PER_LIST`` terms."""
    # Numbered as typed: the messages name the lines the person sees.
    text = "\n".join(line.rstrip() for line in text.splitlines())
    if len(text) > MAX_TERMS_CHARS:
        raise InvalidInput(
            field_errors={"terms": [_("At most %(max)d characters.") % {"max": MAX_TERMS_CHARS}]}
        )
    errors: list[Any] = []
    too_long = [
        (number, line) for number, line in _lines(text) if len(_term(line).text) > MAX_TERM_LENGTH
    ]
    for number, line in too_long[:_MAX_LINE_ERRORS]:
        errors.append(
            _("Line %(line)d: “%(term)s…” is longer than %(max)d characters.")
            % {"line": number, "term": line[:10], "max": MAX_TERM_LENGTH}
        )
    if len(too_long) > _MAX_LINE_ERRORS:
        errors.append(
            _("And %(count)d more lines longer than %(max)d characters.")
            % {"count": len(too_long) - _MAX_LINE_ERRORS, "max": MAX_TERM_LENGTH}
        )
    terms = terms_parse(text)
    if not terms:
        errors.append(_("Give at least one term, one per line."))
    elif len(terms) > MAX_TERMS_PER_LIST:
        errors.append(
            _("At most %(max)d terms per list; this one has %(count)d.")
            % {"max": MAX_TERMS_PER_LIST, "count": len(terms)}
        )
    if errors:
        raise InvalidInput(field_errors={"terms": errors})
    return text.strip()


# --- Scanning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitiveHit:
    """What a scan found in one text: the distinct terms (normalised, in the order they
    first end in the text, at most ``MAX_POST_TERMS``) and the leading category."""

    terms: tuple[str, ...] = ()
    category: str = ""

    def post_fields(self) -> dict[str, Any]:
        """The columns of ``Post`` a scan fills."""
        return {"sensitive_terms": list(self.terms), "sensitive_category": self.category}


NO_HIT = SensitiveHit()


class SensitiveSet:
    """The terms of many lists compiled once into one automaton, then scanned for in any
    number of texts. Pure computation: no database."""

    def __init__(self, lists: Iterable[tuple[str, str]]) -> None:
        """``lists``: (category, terms as typed) of each list."""
        categories: dict[Term, set[str]] = {}
        for category, text in lists:
            for term in terms_parse(text):
                categories.setdefault(term, set()).add(category)
        self._terms = len(categories)
        by_text: dict[str, list[tuple[Term, bool, frozenset[str]]]] = {}
        for term, term_categories in categories.items():
            by_text.setdefault(term.text, []).append(
                (term, needs_check(term), frozenset(term_categories))
            )
        self._automaton = automaton(by_text)

    def __len__(self) -> int:
        """How many distinct terms."""
        return self._terms

    def scan(
        self, text: str, *, normalised: str | None = None, segmentation: Segmentation | None = None
    ) -> SensitiveHit:
        """The terms of the lists that occur in ``text`` (``normalised`` by the caller
        already, if given, with its ``segmentation`` if it has one), and its category."""
        if self._automaton is None:
            return NO_HIT
        if normalised is None:
            normalised = normalise(text)
        if not normalised:
            return NO_HIT
        found: dict[str, set[str]] = {}
        for start, entries in self._automaton.find(normalised):
            for term, checked, term_categories in entries:
                seen = found.get(term.text)
                if seen is not None and term_categories <= seen:
                    continue
                if not checked or occurrence_counts(
                    term, normalised, char_offset(normalised, start), segmentation
                ):
                    found.setdefault(term.text, set()).update(term_categories)
        if not found:
            return NO_HIT
        counts = Counter(category for seen in found.values() for category in seen)
        return SensitiveHit(terms=tuple(found)[:MAX_POST_TERMS], category=category_leading(counts))


# --- The lists of the process -------------------------------------------------------------


def _fingerprint() -> tuple:
    # Every write counts ``revision`` up, so the sum moves whatever the clocks of the
    # writers say; the count and the last id catch deletions and a delete-then-create.
    metrics = SensitiveTermList.objects.aggregate(
        total=Count("id"), revisions=Sum("revision"), last_id=Max("id")
    )
    return (metrics["total"], metrics["revisions"], metrics["last_id"])


def _sensitive_set_build() -> SensitiveSet:
    lists = list(SensitiveTermList.objects.filter(active=True).values_list("category", "terms"))
    compiled = SensitiveSet(lists)
    logger.info(
        "sensitive_set: rebuilt with %d terms of %d active lists", len(compiled), len(lists)
    )
    return compiled


_compiled = CompiledTable(
    fingerprint=_fingerprint, build=_sensitive_set_build, empty=SensitiveSet(())
)


def sensitive_set() -> SensitiveSet:
    """The active lists, compiled; rebuilt only when the lists changed (one query)."""
    return _compiled.get()


def sensitive_set_forget() -> None:
    """Drop this process's compiled lists; other processes see the change by the
    fingerprint."""
    _compiled.forget()


def sensitive_scan(text: str, *, lists: SensitiveSet | None = None) -> SensitiveHit:
    """Scan ``text`` with ``lists``, or with the active lists of the process."""
    return (sensitive_set() if lists is None else lists).scan(text)


# --- Services -----------------------------------------------------------------------------


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes cleaned, or ``InvalidInput`` naming every bad field."""
    errors: dict[str, list[Any]] = {}
    if "category" in changes and changes["category"] not in Category.values:
        errors["category"] = [_("Choose a handling category.")]
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        limit = SensitiveTermList._meta.get_field("name").max_length
        if not changes["name"]:
            errors["name"] = [_("Name the list.")]
        elif len(changes["name"]) > limit:
            errors["name"] = [_("At most %(max)d characters.") % {"max": limit}]
    if "terms" in changes:
        try:
            changes["terms"] = terms_check(changes["terms"] or "")
        except InvalidInput as invalid:
            errors.update(invalid.field_errors)
    if "active" in changes:
        changes["active"] = bool(changes["active"])
    if errors:
        raise InvalidInput(field_errors=errors)
    return changes


def term_list_create(
    *, actor: Any, category: str, name: str, terms: str, active: bool = True
) -> SensitiveTermList:
    """A new list of terms for ``category``. Roles: those who write watch rules (analyst,
    office head, system administrator). 400 with field messages when the list has no
    term, a term longer than ``MAX_TERM_LENGTH`` or more than ``MAX_TERMS_PER_LIST``."""
    require(actor, "write_rules")
    fields = _checked({"category": category, "name": name, "terms": terms, "active": active})
    with transaction.atomic(durable=True):
        term_list = SensitiveTermList.objects.create(**fields, created_by=actor)
    sensitive_set_forget()  # committed (durable): this process must not wait
    return term_list


def term_list_update(
    *, term_list: SensitiveTermList, actor: Any, **changes: Any
) -> SensitiveTermList:
    """Change a list's ``category``, ``name``, ``terms`` or ``active``; the same roles and
    checks as :func:`term_list_create`. The list as it now is scans the posts that arrive
    next, in every process, and the recent stored ones in the background
    (:func:`sensitive_backfill`)."""
    require(actor, "write_rules")
    unknown = set(changes) - {"category", "name", "terms", "active"}
    if unknown:
        raise InvalidInput(field_errors={name: [_("Unknown field.")] for name in unknown})
    changes = _checked(changes)
    with transaction.atomic(durable=True):
        SensitiveTermList.objects.filter(pk=term_list.pk).update(
            **changes, updated_at=timezone.now(), revision=F("revision") + 1
        )
    sensitive_set_forget()
    term_list.refresh_from_db()
    return term_list


def sensitive_backfill(*, now: Any = None, chunk: int = BACKFILL_CHUNK) -> int:
    """After a list was created or changed (its ``revision`` is past ``rescanned_revision``),
    scan the posts of the last ``FENGHUO_RULE_BACKFILL_DAYS`` again with the lists as they
    are now, so recent posts carry the new terms too; their topics' figures are computed
    again. Idempotent; a list changed again meanwhile stays pending. Answers how many posts
    changed."""
    pending = list(
        SensitiveTermList.objects.filter(revision__gt=F("rescanned_revision")).values_list(
            "pk", "revision"
        )
    )
    if not pending:
        return 0
    now = now or timezone.now()
    since = now - timedelta(days=settings.FENGHUO_RULE_BACKFILL_DAYS)
    lists = sensitive_set()
    changed: list[int] = []
    last_id = 0
    while True:
        posts = list(
            Post.objects.filter(published_at__gte=since, pk__gt=last_id)
            .order_by("pk")
            .only("id", "text", "sensitive_terms", "sensitive_category")[:chunk]
        )
        if not posts:
            break
        last_id = posts[-1].pk
        for post in posts:
            fields = lists.scan(post.text).post_fields()
            if fields != {
                "sensitive_terms": post.sensitive_terms,
                "sensitive_category": post.sensitive_category,
            }:
                Post.objects.filter(pk=post.pk).update(**fields)
                changed.append(post.pk)
    for start in range(0, len(changed), chunk):
        Topic.objects.filter(matches__post_id__in=changed[start : start + chunk]).update(
            revision=F("revision") + 1
        )
    for pk, revision in pending:
        SensitiveTermList.objects.filter(pk=pk, revision=revision).update(
            rescanned_revision=revision
        )
    if changed:
        logger.info("sensitive_backfill: %d recent posts scanned anew", len(changed))
    return len(changed)


# --- The starter lists --------------------------------------------------------------------


def term_lists_load_defaults() -> int:
    """Load the starter lists of ``sensitive_terms.toml`` when there is no list at all (a
    list deleted or switched off on purpose is never brought back). Answers how many were
    loaded."""
    if SensitiveTermList.objects.exists():
        return 0
    with DEFAULT_LISTS_PATH.open("rb") as file:
        document = tomllib.load(file)
    with transaction.atomic():
        for entry in document["lists"]:
            fields = _checked(
                {
                    "category": entry["category"],
                    "name": entry["name"],
                    "terms": "\n".join(entry["terms"]),
                    "active": True,
                }
            )
            SensitiveTermList.objects.create(**fields)
    sensitive_set_forget()
    logger.info("loaded %d starter sensitive-term lists", len(document["lists"]))
    return len(document["lists"])


def term_lists_load_defaults_after_migrate(*, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: the starter lists on the first migrate (and after a flush, so test
    databases have them too); nothing while the table does not exist (migrated back)."""
    if using != "default":
        return
    if SensitiveTermList._meta.db_table not in connections[using].introspection.table_names():
        return
    term_lists_load_defaults()
