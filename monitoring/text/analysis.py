"""What is read off one post's text: its words, its sentiment, its SimHash and the
sensitive terms in it.

The text is normalised once (``rules.normalise``) and segmented with jieba only where
tokens are needed (``monitoring.text.segmentation``), once: by the sentiment scorer
(``monitoring.text.sentiment``) around its words, by whole-token rule terms where they occur
(``monitoring.text.rules``), and for the term weights that cluster matched posts into topics
(``monitoring.topics.clustering``). The SimHash that finds near-duplicate reposts
(``monitoring.topics.grouping``) works on characters. The sensitive-term lists, compiled by the
caller (``monitoring.text.sensitive``), scan the text in the same pass. All of it is plain
computation, no database.

SimHash (Charikar): every feature votes on 64 bits with the bits of its own 64-bit hash;
the post's hash has a bit set where most votes were set. The features are the character
bigrams of the text's letters and digits, after dropping what reposting adds: the
reposter's own comment before ``//@author:``, links, ``//@name:`` chains, @mentions,
#hashtags#, 转发. So a repost, or a copy with a hashtag or a link added, has the hash of
its source; an edit moves it: on a post of 40 characters, a changed character or a few
added ones move it about 4 to 7 bits (changed features alter about 64·θ/π bits, θ the
angle between the two feature vectors), more than the 3 bits that group two posts, so
edited copies are grouped only on longer posts. A rewrite of the same story lands 10 or
more bits away, unrelated texts about 32. The votes of a batch are counted together in
array operations (:func:`simhashes`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .rules import normalise
from .segmentation import Segmentation
from .sentiment import scorer

if TYPE_CHECKING:  # sensitive imports the rule services, which import this module
    from .sensitive import SensitiveHit, SensitiveSet

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS
# Fewer distinct features than this and a SimHash says little: two short texts would look
# alike by chance. Such posts are grouped by their exact text only.
MIN_FEATURES = 8
# What is not a letter or a digit (\W, and the underscore \w lets through), and what
# reposting adds to a text: links, "//@name:" chains, @mentions, #hashtags#, 转发.
# Neither takes in a newline, which separates the texts of a batch (``simhashes``).
_NOT_ALNUM = re.compile(r"(?:[^\w\n]|_)+")
_REPOST_NOISE = re.compile(
    r"https?://\S+|//@[^:：\s]{1,30}[:：]|@[^\s:：]{1,30}|#[^#\n]{1,40}#|转发微博|转发|【转】"
)
# A repost reads "own comment //@author: what was reposted": the reposter's comment is
# not part of the copy (``_reposted``).
_CHAIN = re.compile(r"//@[^:：\s]{1,30}[:：]")
# Words that say nothing about what a post is about (for topic terms, not for SimHash).
_STOPWORDS = (
    "的 了 是 在 和 与 及 也 就 都 而 或 被 把 这 那 有 没有 我 你 他 她 它 我们 你们 他们 "
    "一个 这个 那个 这些 那些 什么 怎么 为什么 因为 所以 但是 如果 还是 已经 可以 没 不 很 "
    "非常 还 又 吗 呢 吧 啊 哦 嗯 等 等等 以及 对于 关于 通过 进行 今天 昨天 目前 现在 "
    "自己 大家 网友 转发 微博 视频 图片 链接 全文 展开 回复 http https www com cn"
)
STOPWORDS = frozenset(_STOPWORDS.split(" "))


def _is_word(token: str) -> bool:
    """A token with at least one letter or digit (not spaces or punctuation)."""
    return any(unicodedata.category(char)[0] in "LN" for char in token)


def segment(text: str) -> list[str]:
    """The text's tokens, as jieba cuts them (default mode, HMM on)."""
    return Segmentation(text).tokens() if text else []


def topic_terms(tokens: Iterable[str]) -> Counter[str]:
    """The words that say what a post is about, with their counts: tokens of two
    characters or more that are words and not stop words."""
    return Counter(
        token.lower()
        for token in tokens
        if len(token) > 1 and token.lower() not in STOPWORDS and _is_word(token)
    )


def simhash(text: str, *, normalised: bool = False) -> int | None:
    """The 64-bit SimHash of the text, as a signed integer (the database's ``bigint``);
    None when it has fewer than ``MIN_FEATURES`` distinct features. ``normalised``: the
    text is already NFKC and lower case (``rules.normalise``)."""
    return simhashes([text], normalised=normalised)[0]


# A code point fits in 21 bits; a bigram of two in 42.
_CODE_POINT_BITS = np.uint64(21)
_NEWLINE = ord("\n")
# SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijection of 64-bit integers that
# spreads every input bit over the output, so each bigram votes on 64 well-mixed bits.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))


def _mixed(features: np.ndarray) -> np.ndarray:
    """Each feature's 64-bit hash (array arithmetic wraps modulo 2**64)."""
    hashes = features + _GOLDEN
    hashes ^= hashes >> _SHIFTS[0]
    hashes *= _MIX[0]
    hashes ^= hashes >> _SHIFTS[1]
    hashes *= _MIX[1]
    hashes ^= hashes >> _SHIFTS[2]
    return hashes


def _reposted(text: str) -> str:
    """What a repost copies: the text from its first ``//@author:`` on (the comment before
    it is the reposter's own); the whole text of any other post."""
    start = text.find("//@")
    while start > 0:
        if _CHAIN.match(text, start):
            return text[start:]
        start = text.find("//@", start + 3)
    return text


def simhashes(texts: Sequence[str], *, normalised: bool = False) -> list[int | None]:
    """:func:`simhash` of each text, computed together: a few array operations over all
    the features of all the texts, rather than a few per text (that is most of the cost
    for posts of a hundred characters).

    The features of a text are the bigrams of its letters and digits once the reposter's
    comment and repost noise are removed, every occurrence voting; the texts are joined
    by newlines, which neither the noise nor the letters take in (a newline inside a text
    is a space first)."""
    if not texts:
        return []
    if not normalised:
        texts = [unicodedata.normalize("NFKC", text).lower() for text in texts]
    joined = "\n".join(_reposted(text).replace("\n", " ") for text in texts)
    letters = _NOT_ALNUM.sub("", _REPOST_NOISE.sub(" ", joined))
    points = np.frombuffer(letters.encode("utf-32-le"), dtype=np.uint32)
    breaks = points == _NEWLINE
    owner = np.cumsum(breaks)  # which text each character belongs to (a newline: the next)
    inside = ~(breaks[:-1] | breaks[1:])  # bigrams within one text
    features = points[:-1].astype(np.uint64)
    features <<= _CODE_POINT_BITS
    features |= points[1:]
    features, owner = features[inside], owner[:-1][inside]
    counts = np.bincount(owner, minlength=len(texts))
    # Distinct features per text: sort (text, feature) as one integer (a feature has 42
    # bits), and count where it changes.
    keyed = np.sort((owner.astype(np.uint64) << _FEATURE_BITS) | features)
    first = np.ones(keyed.size, dtype=bool)
    first[1:] = keyed[1:] != keyed[:-1]
    distinct = np.bincount((keyed[first] >> _FEATURE_BITS).astype(np.intp), minlength=len(texts))
    hashed = np.flatnonzero(distinct >= MIN_FEATURES)
    results: list[int | None] = [None] * len(texts)
    if hashed.size:
        votes = _bit_votes(_mixed(features), counts)[hashed]
        majority = votes * 2 > counts[hashed, None]
        values = np.packbits(majority, axis=1, bitorder="little").view("<i8").ravel()
        for index, value in zip(hashed.tolist(), values.tolist(), strict=True):
            results[index] = value
    return results


_FEATURE_BITS = np.uint64(2 * 21)
# Counters of 8 bits added 8 at a time in one 64-bit word: no more rows than this at once.
_LANE_MAX = 255


def _bit_votes(hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For each text, how many of its features have each of the 64 bits set (an array of
    ``len(counts)`` rows of 64); ``hashes`` are the features' hashes, text after text,
    ``counts[i]`` of them for text ``i``.

    Each hash becomes a row of 64 bytes, 0 or 1 (bit b of byte i is bit 8i + b of a
    little-endian word). Adding eight such bytes at once as one 64-bit word adds eight
    counters side by side; no byte carries over while at most 255 rows are added, so each
    text's rows are summed 255 at a time that way, and those sums added up."""
    rows = np.unpackbits(
        hashes.astype("<u8", copy=False).view(np.uint8), bitorder="little"
    ).reshape(-1, BITS)
    votes = np.zeros((counts.size, BITS), dtype=np.int64)
    with_rows = np.flatnonzero(counts)
    if not with_rows.size:
        return votes
    # Chunks of at most _LANE_MAX rows, each within one text.
    chunks = -(-counts[with_rows] // _LANE_MAX)
    text_starts = (np.cumsum(counts) - counts)[with_rows]
    chunk_first = np.cumsum(chunks) - chunks
    within = np.arange(chunks.sum()) - np.repeat(chunk_first, chunks)
    starts = np.repeat(text_starts, chunks) + within * _LANE_MAX
    partial = np.add.reduceat(rows.view("<u8"), starts, axis=0).view(np.uint8)
    votes[with_rows] = np.add.reduceat(partial.astype(np.int64), chunk_first, axis=0)
    return votes


def simhash_bands(value: int) -> tuple[int, ...]:
    """The four 16-bit bands of a SimHash: two hashes within 3 bits of each other agree on
    at least one band."""
    unsigned = value & ((1 << BITS) - 1)
    mask = (1 << BAND_BITS) - 1
    return tuple((unsigned >> (band * BAND_BITS)) & mask for band in range(BANDS))


def hamming(a: int, b: int) -> int:
    """How many bits two SimHashes differ in."""
    return ((a ^ b) & ((1 << BITS) - 1)).bit_count()


@dataclass(frozen=True)
class Analysis:
    """One post's text, analysed."""

    sentiment: str
    sentiment_score: float
    simhash: int | None
    sensitive: SensitiveHit | None
    # Kept for the rule matching that follows the write: the text normalised as rules
    # read it, and its segmentation, so neither is computed again.
    normalised: str
    segmentation: Segmentation

    @property
    def terms(self) -> Counter[str]:
        """The topic terms of the text (``topic_terms``): only matched posts need them,
        and only they are segmented whole."""
        return topic_terms(self.segmentation.tokens())

    def post_fields(self) -> dict:
        """The columns of ``Post`` this analysis fills."""
        bands = simhash_bands(self.simhash) if self.simhash is not None else (None,) * BANDS
        hit = self.sensitive
        return {
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "simhash": self.simhash,
            **{f"simhash_band{band}": value for band, value in enumerate(bands)},
            **(hit.post_fields() if hit else {"sensitive_terms": [], "sensitive_category": ""}),
        }


def analyse(text: str, *, sensitive: SensitiveSet | None = None) -> Analysis:
    """:func:`analyse_all` of one text."""
    return analyse_all([text], sensitive=sensitive)[0]


def analyse_all(texts: Sequence[str], *, sensitive: SensitiveSet | None = None) -> list[Analysis]:
    """Each text normalised once (``rules.normalise``: NFKC, lower case, single spaces)
    and everything read off that: the sentiment, segmenting only what the scorer needs;
    the SimHashes, of all the texts together (:func:`simhashes`); the compiled
    ``sensitive`` lists' terms when given."""
    normalised = [normalise(text) for text in texts]
    score = scorer().score
    analyses = []
    for text, normal, value in zip(
        texts, normalised, simhashes(normalised, normalised=True), strict=True
    ):
        segmentation = Segmentation(normal)
        sentiment = score(normal, segmentation)
        analyses.append(
            Analysis(
                sentiment=sentiment.label,
                sentiment_score=round(sentiment.value, 4),
                simhash=value,
                sensitive=sensitive.scan(text, normalised=normal, segmentation=segmentation)
                if sensitive is not None
                else None,
                normalised=normal,
                segmentation=segmentation,
            )
        )
    return analyses
