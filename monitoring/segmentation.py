"""A text's jieba tokens, segmented block by block when they are asked for.

jieba (default mode, HMM on) splits a text into *blocks*, the longest runs of Han
characters, ASCII letters, digits and ``+#&._%-`` (its ``re_han_default``), and the
*gaps* between them. It segments each block on its own (dictionary and HMM), and cuts a
gap into single characters, keeping ``\\r\\n`` together. A block's tokens are therefore
the same whether jieba is given the whole text or that block alone, and most of a post
needs no segmenting at all: the sentiment scorer only needs the blocks around its words
(``monitoring.sentiment``), a whole-token rule term only the block it occurs in
(``monitoring.rules``), and only matched posts need all their tokens, for their topic
terms (``monitoring.topics``). ``Segmentation(text).tokens()`` is ``jieba.lcut(text)``;
segmenting block by block costs the time of the blocks asked for. Blocks are cut by
``monitoring.cutter``: jieba's cut, token for token, in less than half its time.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator

import jieba

from .cutter import cutter

# jieba's own expressions (jieba 0.42: module attributes), so blocks are cut as it cuts them.
_BLOCK = jieba.re_han_default
_GAP_SPLIT = jieba.re_skip_default


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
