"""A text's jieba tokens, segmented block by block when they are asked for.

jieba (default mode, HMM on) splits a text into *blocks*, the longest runs of Han
characters, ASCII letters, digits and ``+#&._%-`` (its ``re_han_default``), and the
*gaps* between them. It segments each block on its own (dictionary and HMM), and cuts a
gap into single characters, keeping ``\\r\\n`` together. A block's tokens are therefore
the same whether jieba is given the whole text or that block alone, and most of a post
needs no segmenting at all: the sentiment scorer only needs the blocks around its words
(``monitoring.text.sentiment``), a whole-token rule term only the block it occurs in
(``monitoring.text.rules``), and only matched posts need all their tokens, for their topic
terms (``monitoring.topics.clustering``). ``Segmentation(text).tokens()`` is ``jieba.lcut(text)``;
segmenting block by block costs the time of the blocks asked for.

Blocks are cut by :class:`Cutter`: jieba-rs (the ``rjieba`` binding) over jieba's own
dictionary, with jieba's split of letters, digits and symbols where jieba-rs splits them
differently. jieba stays the specification: ``tests/test_cutter.py`` compares the tokens
with ``jieba.lcut`` on the People's Daily corpus and on generated blocks.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Iterator

import jieba
import rjieba
from jieba import finalseg

# jieba's own expressions (jieba 0.42: module attributes), so blocks are cut as it cuts them.
_BLOCK = jieba.re_han_default
_GAP_SPLIT = jieba.re_skip_default
# In a run of characters its HMM cuts, jieba (finalseg.cut) gives the HMM the Han
# characters and splits the rest (letters, digits, symbols) by this expression.
_HAN = finalseg.re_han
_HMM_SKIP = finalseg.re_skip
_NOT_HAN = re.compile(r"[^\u4E00-\u9FD5]")
_ALPHANUMERIC = re.compile(r"[a-zA-Z0-9]+")
# A word no block holds (blocks have no line breaks): it carries what jieba's total counts
# beyond the dictionary's words, a word listed twice counting twice there.
_NOWHERE = "\n"


class Cutter:
    """jieba's tokens of a block (a run that ``jieba.re_han_default`` matches).

    jieba cuts a block by the most probable route through the words of its dictionary;
    the characters the route leaves single form runs, and a run longer than one character
    that is not a word goes to the HMM (``jieba.finalseg.cut``), which cuts its Han
    characters and splits the letters, digits and symbols between them by
    ``finalseg.re_skip``. jieba-rs computes the same route over the same dictionary, and
    the same HMM (its tables are jieba's) on the Han characters, but splits the letters,
    digits and symbols of such a run its own way (``Z_0`` one token, where jieba gives
    ``Z``, ``_``, ``0``). So a block that is all Han characters is jieba-rs's cut as it
    is; in one with other characters, each run of tokens without a Han character is
    checked against jieba's split, and where one differs the block is cut again from the
    route (:meth:`_recut`).

    The dictionary is the tokenizer's file as jieba reads it (``gen_pfdict``), read once;
    words added to jieba at run time (``jieba.add_word``, ``jieba.load_userdict``) are not
    seen: Fenghuo adds none.
    """

    __slots__ = ("_cut", "_has_word", "_tokenizer")

    def __init__(self, tokenizer: jieba.Tokenizer | None = None) -> None:
        self._tokenizer = tokenizer = tokenizer or jieba.dt
        frequencies, total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
        words = rjieba.Jieba.empty()
        counted = 0
        for word, count in frequencies.items():
            if count:  # the other keys are prefixes of words, not words
                words.add_word(word, count, None)
                counted += count
        if total > counted:
            words.add_word(_NOWHERE, total - counted, None)
        self._cut = words.cut
        self._has_word = words.has_word

    def cut(self, block: str) -> list[str]:
        """``jieba.lcut(block)``."""
        tokens = self._cut(block, True)
        if _NOT_HAN.search(block) is None or _runs_agree(tokens):
            return tokens
        return self._recut(block, tokens)

    def _recut(self, block: str, tokens: list[str]) -> list[str]:
        """jieba's tokens of a block where a run of letters, digits and symbols is not
        split as jieba splits it: the route's words as they are, and each run of single
        characters as jieba treats it (itself when one character, its characters when it
        is a word, else the HMM's tokens, with jieba's split of what is not Han)."""
        route = self._route(block)
        if route is None:
            return self._tokenizer.lcut(block)
        ends = list(itertools.accumulate(map(len, tokens)))
        result: list[str] = []
        start = single = 0  # single: where the current run of single characters starts
        for end in route:
            if end - start > 1:
                self._singles_add(block, single, start, tokens, ends, result)
                result.append(block[start:end])
                single = end
            start = end
        self._singles_add(block, single, len(block), tokens, ends, result)
        return result

    def _route(self, block: str) -> list[int] | None:
        """Where each step of the route through the block ends (a word, or a character
        left single), read from jieba-rs's cut without the HMM; ``None`` if that cut is
        ambiguous (a word of letters and digits only, which it also makes of the single
        letters and digits it joins; jieba's dictionary has none)."""
        ends: list[int] = []
        position = 0
        for token in self._cut(block, False):
            if len(token) > 1 and _ALPHANUMERIC.fullmatch(token):
                if self._has_word(token):
                    return None
                ends.extend(range(position + 1, position + len(token) + 1))
            else:
                ends.append(position + len(token))
            position += len(token)
        return ends

    def _singles_add(
        self,
        block: str,
        start: int,
        stop: int,
        tokens: list[str],
        ends: list[int],
        result: list[str],
    ) -> None:
        """Add jieba's tokens of the run of single characters ``block[start:stop]``."""
        run = block[start:stop]
        if len(run) < 2 or self._has_word(run):  # one character, or a word: its characters
            result.extend(run)
        else:  # the HMM's: jieba-rs's tokens there, letters and the rest split as jieba does
            first = bisect.bisect_right(ends, start)
            last = bisect.bisect_left(ends, stop)
            _hmm_tokens_add(tokens[first : last + 1], result)


def _runs_agree(tokens: list[str]) -> bool:
    """Whether each run of tokens without a Han character is split as jieba splits
    letters, digits and symbols (``finalseg.re_skip``)."""
    run: list[str] = []
    for token in tokens:
        if _HAN.search(token):
            if run and not _split_agrees(run):
                return False
            run = []
        else:
            run.append(token)
    return not run or _split_agrees(run)


def _split_agrees(run: list[str]) -> bool:
    if len(run) == 1 and len(run[0]) == 1:
        return True
    return _skip_split("".join(run)) == run


def _skip_split(text: str) -> list[str]:
    """jieba's split of letters, digits and symbols in a run its HMM cuts."""
    return [piece for piece in _HMM_SKIP.split(text) if piece]


def _hmm_tokens_add(tokens: list[str], result: list[str]) -> None:
    """Add jieba-rs's HMM tokens of a run, its runs without a Han character split again
    as jieba splits them."""
    run: list[str] = []
    for token in tokens:
        if _HAN.search(token):
            if run:
                result.extend(_skip_split("".join(run)))
                run = []
            result.append(token)
        else:
            run.append(token)
    if run:
        result.extend(_skip_split("".join(run)))


@functools.cache
def cutter() -> Cutter:
    """The process's cutter, over jieba's default dictionary."""
    return Cutter()


def gap_tokens(gap: str) -> list[str]:
    """jieba's tokens of a gap between blocks: whitespace (``\\r\\n`` together) and every
    other character on its own."""
    if len(gap) < 2:
        return [gap] if gap else []
    tokens: list[str] = []
    for part in _GAP_SPLIT.split(gap):
        if _GAP_SPLIT.match(part):
            tokens.append(part)
        else:
            tokens.extend(part)
    return tokens


class Segmentation:
    """The tokens of one text, by block, each block segmented the first time it is needed.

    ``pieces`` alternate gap, block, gap, … (a gap may be empty; the first and the last
    piece are gaps); ``starts`` are their offsets in the text (computed when asked)."""

    __slots__ = ("_all", "_starts", "_tokens", "pieces", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces: list[str] = _BLOCK.split(text) if text else [""]
        self._starts: list[int] | None = None
        self._tokens: dict[int, list[str]] = {}
        self._all: list[str] | None = None

    @property
    def starts(self) -> list[int]:
        """The offset of each piece in the text."""
        if self._starts is None:
            self._starts = list(itertools.accumulate(map(len, self.pieces[:-1]), initial=0))
        return self._starts

    @staticmethod
    def is_block(index: int) -> bool:
        """Whether piece ``index`` is a block (else a gap)."""
        return index % 2 == 1

    def piece_tokens(self, index: int) -> list[str]:
        """The tokens of piece ``index``: jieba's cut of a block (computed once),
        the characters of a gap."""
        tokens = self._tokens.get(index)
        if tokens is None:
            piece = self.pieces[index]
            tokens = self._tokens[index] = cutter().cut(piece) if index % 2 else gap_tokens(piece)
        return tokens

    def tokens(self) -> list[str]:
        """All the tokens: ``jieba.lcut(text)``."""
        if self._all is None:
            self._all = [
                token for index in range(len(self.pieces)) for token in self.piece_tokens(index)
            ]
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self.tokens())

    def is_boundary(self, offset: int) -> bool:
        """Whether a token starts or ends at ``offset`` (0 to ``len(text)``); segments at
        most the block around it."""
        if offset <= 0 or offset >= len(self.text):
            return True
        index = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[index]
        if offset == start:
            return True
        position = start
        for token in self.piece_tokens(index):
            position += len(token)
            if position >= offset:
                return position == offset
        return True  # not reached: the piece's tokens cover it
