"""Watch rules: boolean expressions over Chinese (and Latin) terms, matched on the stream.

A unit watches the stream with rules such as ``(医院 OR 卫健委) AND (收费 OR 投诉) NOT 招聘``.
:func:`parse` turns an expression into a tree, or raises :class:`RuleSyntaxError` carrying the
0-based character position of the mistake (the API answers 400 with it). :class:`RuleSet`
compiles many rules into one Aho-Corasick automaton, so a post is scanned once however many
rules there are, and only rules one of whose required terms occurs are evaluated.

Grammar::

    expr     := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := not_expr (["AND"] not_expr)*      juxtaposition means AND
    not_expr := "NOT" not_expr | primary
    primary  := "(" expr ")" | term
    term     := word | "=" word | phrase
    word     := run of characters other than whitespace, parentheses and quotes,
                which is not an operator
    phrase   := '"' any characters but '"' '"'  |  '“' any characters but '”' '”'

- Operators are the words AND, OR, NOT in any case (``and``, ``Or``, full-width ``ＡＮＤ``).
  There are no symbol operators: ``-``, ``&``, ``|`` and ``!`` occur inside real terms
  (``COVID-19``, ``AT&T``) and would surprise. To search for the word "and", quote it.
- NOT binds tighter than AND, AND tighter than OR. ``A NOT B`` is ``A AND NOT B``, and
  ``A OR B NOT C`` is ``A OR (B AND NOT C)``. A leading ``NOT`` is allowed, but a rule must
  contain a term that has to appear: ``NOT 招聘`` or ``医院 OR NOT 招聘`` would match almost
  every post and are rejected.
- Parentheses may be ASCII or full-width (``（ ）``), as Chinese input methods type them.
  Phrases are quoted with ``"…"`` or ``“…”`` and may contain spaces.
- Limits: :data:`MAX_EXPRESSION_LENGTH` characters, :data:`MAX_DEPTH` levels of nested
  parentheses and NOTs, :data:`MAX_TERMS` terms.

Matching. Text and terms are normalised the same way (:func:`normalise`: NFKC, lower case,
runs of whitespace to one space), then:

- A term matches where it occurs as a substring; this is the default for Chinese, as in
  Chinese monitoring tools (``收费`` matches ``乱收费``).
- Where a term starts or ends with an ASCII letter or digit, that end must sit on a word
  boundary: ``app`` does not match ``happy`` but matches ``下载app了``; ``5G`` does not match
  ``15G``.
- A term written with a leading ``=`` (``=中医``) must start and end on jieba token
  boundaries: ``=中医`` matches ``我去看中医`` (看|中医) but not ``高中医务室`` (高中|医务室)
  nor ``中医院`` (one token). A term of several tokens matches a run of whole tokens.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import ahocorasick
from django.utils.translation import gettext as _

from .segmentation import Segmentation

MAX_EXPRESSION_LENGTH = 1000
MAX_DEPTH = 20
MAX_TERMS = 200

_WHITESPACE = re.compile(r"\s+")
_OPEN = "(（"
_CLOSE = ")）"
_QUOTES = {'"': '"', "“": "”"}
# A word stops at these; a stray closing quote is reported rather than swallowed into a term.
_DELIMITERS = frozenset(_OPEN + _CLOSE + '"“”')
_OPERATORS = {"and": "AND", "or": "OR", "not": "NOT"}


def normalise(text: str) -> str:
    """The form in which terms are searched for in text: NFKC, lower case, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _WHITESPACE.sub(" ", text).strip()


class RuleSyntaxError(ValueError):
    """An expression is not a valid watch rule.

    ``message`` says what is wrong (in the active language), ``position`` is the 0-based
    character index in the expression as written, ``code`` is a stable identifier of the kind
    of mistake, and ``rule_id`` names the rule when the error comes from a :class:`RuleSet`.
    """

    def __init__(
        self, message: str, position: int, *, code: str, rule_id: Hashable | None = None
    ) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position
        self.code = code
        self.rule_id = rule_id


# --- The tree -----------------------------------------------------------------------------
# Positions are where a node starts in the expression; they are left out of equality so that
# ``A NOT B`` and ``A AND NOT B`` give equal trees.


@dataclass(frozen=True)
class Term:
    text: str  # normalised
    whole_token: bool = False
    position: int = field(default=0, compare=False)

    def __str__(self) -> str:
        if self.whole_token:
            return f"={self.text}"
        plain = not (
            _DELIMITERS.intersection(self.text)
            or " " in self.text
            or self.text in _OPERATORS
            or self.text.startswith("=")
        )
        if plain:
            return self.text
        return f"“{self.text}”" if '"' in self.text else f'"{self.text}"'


@dataclass(frozen=True)
class Not:
    child: Node
    position: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"NOT {_wrapped(self.child)}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]
    position: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return " AND ".join(_wrapped(child) for child in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    position: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return " OR ".join(_wrapped(child) for child in self.children)


Node = Term | Not | And | Or


def _wrapped(node: Node) -> str:
    return f"({node})" if isinstance(node, And | Or) else str(node)


# --- Parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "TERM", "END"
    position: int
    term: Term | None = None


def _tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    term_count = 0
    i, n = 0, len(expression)
    while i < n:
        char = expression[i]
        if char.isspace():
            i += 1
            continue
        if char in _OPEN or char in _CLOSE:
            tokens.append(_Token("(" if char in _OPEN else ")", i))
            i += 1
            continue
        if char == "”":
            raise RuleSyntaxError(
                _("closing quote ” without an opening “"), i, code="unexpected_quote"
            )
        if char in _QUOTES:
            close = expression.find(_QUOTES[char], i + 1)
            if close == -1:
                raise RuleSyntaxError(_("missing closing quote"), i, code="unterminated_quote")
            text = normalise(expression[i + 1 : close])
            if not text:
                raise RuleSyntaxError(_("empty phrase"), i, code="empty_phrase")
            term: Term | None = Term(text, position=i)
            end = close + 1
        else:
            end = i
            while end < n and not expression[end].isspace() and expression[end] not in _DELIMITERS:
                end += 1
            word = expression[i:end]
            operator = _OPERATORS.get(normalise(word))
            if operator:
                tokens.append(_Token(operator, i))
                term = None
            elif word.startswith("="):
                text = normalise(word[1:])
                if not text:
                    raise RuleSyntaxError(
                        _("'=' must be directly followed by a word"), i, code="bare_equals"
                    )
                term = Term(text, whole_token=True, position=i)
            else:
                term = Term(normalise(word), position=i)
        if term is not None:
            term_count += 1
            if term_count > MAX_TERMS:
                raise RuleSyntaxError(
                    _("too many terms (at most %(n)d)") % {"n": MAX_TERMS}, i, code="too_many_terms"
                )
            tokens.append(_Token("TERM", i, term))
        i = end
    tokens.append(_Token("END", n))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(
                _("expression nests deeper than %(n)d levels") % {"n": MAX_DEPTH},
                token.position,
                code="too_deep",
            )

    def expression(self) -> Node:
        if self.peek().kind == "END":
            raise RuleSyntaxError(_("empty expression"), 0, code="empty")
        node = self.or_expr()
        token = self.peek()
        if token.kind == ")":
            raise RuleSyntaxError(_("unexpected ')'"), token.position, code="unexpected_close")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children), children[0].position)

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
            elif kind not in ("TERM", "(", "NOT"):
                break
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children), children[0].position)

    def not_expr(self) -> Node:
        token = self.peek()
        if token.kind != "NOT":
            return self.primary()
        self.take()
        self.enter(token)
        child = self.not_expr()
        self.depth -= 1
        return Not(child, token.position)

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "TERM":
            self.take()
            assert token.term is not None  # noqa: S101 - a TERM token always carries its term
            return token.term
        if token.kind == "(":
            self.take()
            if self.peek().kind == ")":
                raise RuleSyntaxError(_("empty parentheses"), token.position, code="empty_group")
            if self.peek().kind == "END":
                raise RuleSyntaxError(
                    _("missing closing parenthesis"), token.position, code="unclosed_group"
                )
            self.enter(token)
            node = self.or_expr()
            self.depth -= 1
            if self.peek().kind != ")":
                raise RuleSyntaxError(
                    _("missing closing parenthesis"), token.position, code="unclosed_group"
                )
            self.take()
            return node
        # A term was expected: blame the operator before it, or this one, or the ')'.
        previous = self.tokens[self.index - 1] if self.index else None
        if previous is not None and previous.kind in _OPERATORS.values():
            raise RuleSyntaxError(
                _("operator %(operator)s needs a term after it") % {"operator": previous.kind},
                previous.position,
                code="missing_term_after",
            )
        if token.kind in ("AND", "OR"):
            raise RuleSyntaxError(
                _("operator %(operator)s needs a term before it") % {"operator": token.kind},
                token.position,
                code="missing_term_before",
            )
        if token.kind == ")":
            raise RuleSyntaxError(_("unexpected ')'"), token.position, code="unexpected_close")
        raise RuleSyntaxError(_("empty expression"), 0, code="empty")


def parse(expression: str) -> Node:
    """Parse a watch rule, or raise :class:`RuleSyntaxError` saying what and where."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise RuleSyntaxError(
            _("expression is longer than %(n)d characters") % {"n": MAX_EXPRESSION_LENGTH},
            MAX_EXPRESSION_LENGTH,
            code="too_long",
        )
    node = _Parser(_tokenize(expression)).expression()
    if _true_without_terms(node):
        raise RuleSyntaxError(
            _("a rule needs at least one term that must appear"),
            _vacuous_part(node).position,
            code="no_required_term",
        )
    return node


def _true_without_terms(node: Node) -> bool:
    """Whether the rule holds for a text containing none of its terms."""
    if isinstance(node, Term):
        return False
    if isinstance(node, Not):
        return not _true_without_terms(node.child)
    if isinstance(node, And):
        return all(_true_without_terms(child) for child in node.children)
    return any(_true_without_terms(child) for child in node.children)


def _vacuous_part(node: Node) -> Node:
    """The NOT that makes a rule hold without any of its terms (to point the error at it)."""
    if isinstance(node, Or):
        return _vacuous_part(next(c for c in node.children if _true_without_terms(c)))
    if isinstance(node, And):
        return _vacuous_part(node.children[0])
    return node


def _walk_terms(node: Node, positive: bool = True) -> list[tuple[Term, bool]]:
    """Every term with its polarity: True where it sits under an even number of NOTs."""
    if isinstance(node, Term):
        return [(node, positive)]
    if isinstance(node, Not):
        return _walk_terms(node.child, not positive)
    return [pair for child in node.children for pair in _walk_terms(child, positive)]


def _required_terms(node: Node) -> frozenset[Term] | None:
    """Terms of which at least one occurs in every text the node holds for, as few as the
    tree allows (an AND needs only one of its parts' sets: the smallest, of the longest
    terms, as longer terms are rarer); None when the node may hold with none of its terms
    (a NOT). The rule set evaluates a rule only when one of these was found."""
    if isinstance(node, Term):
        return frozenset((node,))
    if isinstance(node, Not):
        return None
    parts = [_required_terms(child) for child in node.children]
    if isinstance(node, Or):
        return None if any(part is None for part in parts) else frozenset().union(*parts)
    candidates = [part for part in parts if part]
    if not candidates:
        return None
    return min(candidates, key=lambda part: (len(part), -sum(len(term.text) for term in part)))


def terms(node: Node) -> set[str]:
    """The normalised texts of all terms of a rule (the ``=`` option is not part of the text)."""
    return {term.text for term, _ in _walk_terms(node)}


# --- Matching -----------------------------------------------------------------------------


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


@functools.lru_cache(maxsize=256)
def _segmentation(text: str) -> Segmentation:
    # Cached because one text is checked against many whole-token terms: each of its
    # blocks is segmented once, and only the blocks where such a term occurs.
    return Segmentation(text)


def occurrence_counts(
    term: Term, text: str, start: int, segmentation: Segmentation | None = None
) -> bool:
    """Whether the occurrence of ``term`` at ``start`` of normalised ``text`` is a match:
    on word boundaries where the term starts or ends with an ASCII letter or digit, on
    jieba token boundaries for a ``=`` term (``segmentation`` of ``text`` when the caller
    has it). Only needed where :func:`needs_check`."""
    end = start + len(term.text)
    if term.whole_token:
        if segmentation is None:
            segmentation = _segmentation(text)
        return segmentation.is_boundary(start) and segmentation.is_boundary(end)
    if start > 0 and _is_word_char(term.text[0]) and _is_word_char(text[start - 1]):
        return False
    return not (end < len(text) and _is_word_char(term.text[-1]) and _is_word_char(text[end]))


def needs_check(term: Term) -> bool:
    """Whether a substring occurrence of ``term`` may still not count (see
    :func:`occurrence_counts`)."""
    return term.whole_token or _is_word_char(term.text[0]) or _is_word_char(term.text[-1])


def _occurs(term: Term, text: str) -> bool:
    start = text.find(term.text)
    while start != -1:
        if occurrence_counts(term, text, start):
            return True
        start = text.find(term.text, start + 1)
    return False


def _evaluate(node: Node, present: Callable[[Term], bool]) -> bool:
    if isinstance(node, Term):
        return present(node)
    if isinstance(node, Not):
        return not _evaluate(node.child, present)
    if isinstance(node, And):
        return all(_evaluate(child, present) for child in node.children)
    return any(_evaluate(child, present) for child in node.children)


def matches(rule: str | Node, text: str) -> bool:
    """Whether one rule matches one text. For previews and checks; the stream uses RuleSet."""
    node = parse(rule) if isinstance(rule, str) else rule
    normalised = normalise(text)
    return _evaluate(node, lambda term: _occurs(term, normalised))


class Finder:
    """One Aho-Corasick automaton (pyahocorasick) over many texts, each with its entries.

    Keys and the texts searched are taken as their UTF-8 bytes, each byte one character
    of a latin-1 string. pyahocorasick looks a node's children up one by one, and over
    Chinese characters the root alone has thousands; over bytes a node has at most 256,
    and the search is several times faster (bench/README.md)."""

    __slots__ = ("_automaton",)

    def __init__(self, by_text: Mapping[str, Sequence[Any]]) -> None:
        self._automaton = ahocorasick.Automaton()
        for text, entries in by_text.items():
            key = text.encode("utf-8").decode("latin-1")
            self._automaton.add_word(key, (len(key), tuple(entries)))
        self._automaton.make_automaton()

    def find(self, text: str) -> Iterator[tuple[int, tuple]]:
        """``(start, entries)`` for each occurrence of each text in ``text``; ``start`` is
        an offset in ``text``'s UTF-8 bytes (:func:`char_offset` turns it into one in
        ``text``)."""
        for end, (length, entries) in self.scan(text):
            yield end - length + 1, entries

    def scan(self, text: str) -> Iterator[tuple[int, tuple[int, tuple]]]:
        """What :meth:`find` finds, as the automaton answers it, without a Python call per
        occurrence: ``(end, (length, entries))``, the occurrence's last byte and its
        length in bytes."""
        return self._automaton.iter(text.encode("utf-8").decode("latin-1"))


def char_offset(text: str, byte_offset: int) -> int:
    """The offset in ``text`` of the character at ``byte_offset`` of its UTF-8 bytes."""
    if text.isascii():
        return byte_offset
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8"))


def automaton(by_text: Mapping[str, Sequence[Any]]) -> Finder | None:
    """A :class:`Finder` over the texts; None when there is no text."""
    return Finder(by_text) if by_text else None


RuleId = TypeVar("RuleId", bound=Hashable)
_Predicate = Callable[[AbstractSet[int]], bool]


def _source(node: Node, term_ids: dict[Term, int]) -> str:
    """The rule as a Python expression over ``f``, the set of ids of the terms found in a
    text: only integers, ``in``, ``not``, ``and``, ``or`` and parentheses."""
    if isinstance(node, Term):
        return f"{term_ids.setdefault(node, len(term_ids))} in f"
    if isinstance(node, Not):
        return f"not ({_source(node.child, term_ids)})"
    joiner = " and " if isinstance(node, And) else " or "
    return joiner.join(f"({_source(child, term_ids)})" for child in node.children)


def _compile(sources: list[str]) -> list[_Predicate]:
    """The expressions of :func:`_source` as functions, compiled together: one call each
    when a rule is evaluated, instead of a tree of closures."""
    if not sources:
        return []
    # Safe: the text is generated from parsed rules and holds no name or string of theirs,
    # only term ids (integers) and operators; no builtins are reachable.
    return eval(  # noqa: S307
        "[" + ",".join(f"lambda f: {source}" for source in sources) + "]", {"__builtins__": {}}
    )


class RuleSet(Generic[RuleId]):
    """Many rules compiled once, then matched against any number of texts.

    All distinct terms go into one Aho-Corasick automaton; a text is normalised and scanned
    once, occurrences that need a word- or token-boundary check get it when a rule of
    theirs is evaluated (jieba segments only the block where a ``=`` term occurs, once per
    text), and only the rules one of
    whose required terms was found are evaluated (:func:`_required_terms`: for
    ``(a OR b) AND c`` only ``c``). That is sound because a rule holds only if one of its
    required terms occurs, by induction over the tree; where a NOT leaves no required set,
    any of its terms of positive polarity triggers it, as :func:`parse` rejects rules that
    hold when none of their terms appear.
    """

    def __init__(self, rules: Mapping[RuleId, str]) -> None:
        term_ids: dict[Term, int] = {}
        rule_ids: list[RuleId] = []
        sources: list[str] = []
        triggers: dict[int, list[int]] = {}
        checked_terms: list[tuple[int, ...]] = []
        for rule_id, expression in rules.items():
            try:
                node = parse(expression)
            except RuleSyntaxError as error:
                error.rule_id = rule_id
                raise
            index = len(rule_ids)
            rule_ids.append(rule_id)
            sources.append(_source(node, term_ids))
            required = _required_terms(node)
            if required is None:  # e.g. NOT (NOT a): any of its positive terms
                required = frozenset(term for term, positive in _walk_terms(node) if positive)
            for term_id in {term_ids[term] for term in required}:
                triggers.setdefault(term_id, []).append(index)
            checked_terms.append(
                tuple(
                    {term_ids[term] for term, _positive in _walk_terms(node) if needs_check(term)}
                )
            )
        self._triggers = {term_id: tuple(indexes) for term_id, indexes in triggers.items()}
        self._checked = {term_id: term for term, term_id in term_ids.items() if needs_check(term)}
        # Each rule with the terms whose occurrences need a check, checked only when the
        # rule is evaluated: most occurrences belong to rules that no other term triggers.
        self._rules: list[tuple[RuleId, _Predicate, tuple[int, ...]]] = list(
            zip(rule_ids, _compile(sources), checked_terms, strict=True)
        )

        # Per text, one entry: the ids of its terms that count wherever the text occurs,
        # the rules those trigger, and the ids of the terms whose occurrence needs a
        # boundary check.
        unchecked: dict[str, set[int]] = {}
        checked: dict[str, list[int]] = {}
        for term, term_id in term_ids.items():
            if term_id in self._checked:
                checked.setdefault(term.text, []).append(term_id)
            else:
                unchecked.setdefault(term.text, set()).add(term_id)
        entries = {}
        for text in unchecked.keys() | checked.keys():
            ids = frozenset(unchecked.get(text, ()))
            triggered = frozenset(
                index for term_id in ids for index in self._triggers.get(term_id, ())
            )
            entries[text] = [(ids, triggered, tuple(checked.get(text, ())))]
        self._automaton = automaton(entries)

    def __len__(self) -> int:
        return len(self._rules)

    def match(
        self, text: str, *, normalised: str | None = None, segmentation: Segmentation | None = None
    ) -> set[RuleId]:
        """The ids of the rules that match ``text``. A caller that has already normalised
        it (``normalise``) passes that, and the ``Segmentation`` of the normalised text
        if it has one, so neither is done again."""
        if normalised is None:
            normalised = normalise(text)
        if self._automaton is None or not normalised:
            return set()
        if segmentation is not None and segmentation.text != normalised:
            segmentation = None
        found: set[int] = set()
        candidates: set[int] = set()
        pending: dict[int, list[int]] = {}  # a term to check: where it occurs (UTF-8 bytes)
        for end, (length, ((unchecked, triggered, checked),)) in self._automaton.scan(normalised):
            found |= unchecked
            candidates |= triggered
            for term_id in checked:
                pending.setdefault(term_id, []).append(end - length + 1)
        for term_id in pending:
            candidates.update(self._triggers.get(term_id, ()))
        matched = set()
        rules = self._rules
        for index in candidates:
            rule_id, predicate, checks = rules[index]
            for term_id in checks:
                starts = pending.pop(term_id, None)
                if starts is not None and any(
                    occurrence_counts(
                        self._checked[term_id],
                        normalised,
                        char_offset(normalised, start),
                        segmentation,
                    )
                    for start in starts
                ):
                    found.add(term_id)
            if predicate(found):
                matched.add(rule_id)
        return matched
