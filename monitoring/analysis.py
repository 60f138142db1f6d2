"""What is read off one post's text: its words, its sentiment, its SimHash and the
sensitive terms in it.

The text is segmented once (jieba) and every measure works from those tokens: the
sentiment scorer (``monitoring.sentiment``), the SimHash that finds near-duplicate reposts
(``monitoring.grouping``) and the term weights that cluster posts into topics
(``monitoring.topics``). The sensitive-term lists, compiled by the caller
(``monitoring.sensitive``), scan the text in the same pass. All of it is plain computation,
no database.

SimHash (Charikar): every feature votes on 64 bits with the bits of its own 64-bit hash;
the post's hash has a bit set where most votes were set. The features are the character
bigrams of the text's letters and digits, after dropping what reposting adds (links,
``//@name:`` chains, @mentions, #hashtags#, 转发): posts are short, and bigrams give a
short text enough features for copies with a hashtag, a link or a short comment added to
stay within 3 bits, while a rewrite of the same story lands 10 or more bits away and
unrelated texts about 32. The votes are counted with numpy, one row of bits per feature.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jieba
import numpy as np

from .rules import normalise
from .sentiment import scorer

if TYPE_CHECKING:  # sensitive imports the rule services, which import this module
    from .sensitive import SensitiveHit, SensitiveSet

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS
# Fewer distinct features than this and a SimHash says little: two short texts would look
# alike by chance. Such posts are grouped by their exact text only.
MIN_FEATURES = 8
# What reposting adds to a text: links, "//@name:" chains, @mentions, #hashtags#, 转发.
# What is not a letter or a digit (\W, and the underscore \w lets through).
_NOT_ALNUM = re.compile(r"[\W_]+")
_REPOST_NOISE = re.compile(
    r"https?://\S+|//@[^:：\s]{1,30}[:：]|@[^\s:：]{1,30}|#[^#]{1,40}#|转发微博|转发|【转】")
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
    return jieba.lcut(text) if text else []


def topic_terms(tokens: Iterable[str]) -> Counter[str]:
    """The words that say what a post is about, with their counts: tokens of two
    characters or more that are words and not stop words."""
    return Counter(
        token.lower() for token in tokens
        if len(token) > 1 and token.lower() not in STOPWORDS and _is_word(token)
    )


class _FeatureHashes(dict):
    """Each feature's 64-bit hash, as 8 bytes, computed once (a plain dict: a look-up that
    hits costs no Python call). Cleared when it grows past ``FEATURE_CACHE``."""

    def __missing__(self, feature: str) -> bytes:
        if len(self) >= FEATURE_CACHE:
            self.clear()
        digest = self[feature] = hashlib.blake2b(feature.encode("utf-8"),
                                                 digest_size=8).digest()
        return digest


FEATURE_CACHE = 500_000
_feature_hashes = _FeatureHashes()


def simhash_features(text: str, *, normalised: bool = False) -> list[str]:
    """The character bigrams of the text's letters and digits, repost noise removed.
    ``normalised``: the text is already NFKC and lower case (``rules.normalise``)."""
    if not normalised:
        text = unicodedata.normalize("NFKC", text).lower()
    chars = _NOT_ALNUM.sub("", _REPOST_NOISE.sub(" ", text))
    return list(map(str.__add__, chars, chars[1:]))


def simhash(text: str, *, normalised: bool = False) -> int | None:
    """The 64-bit SimHash of the text, as a signed integer (the database's ``bigint``);
    None when it has fewer than ``MIN_FEATURES`` distinct features."""
    features = simhash_features(text, normalised=normalised)
    if len(set(features)) < MIN_FEATURES:
        return None
    # One row of 64 bits per feature (bit b of byte i is bit 8i + b); a bit of the hash
    # is set where more than half of the features have it set.
    digests = np.frombuffer(b"".join(map(_feature_hashes.__getitem__, features)),
                            dtype=np.uint8)
    bits = np.unpackbits(digests.reshape(-1, 8), axis=1, bitorder="little")
    majority = bits.sum(axis=0, dtype=np.int64) * 2 > len(features)
    value = int.from_bytes(np.packbits(majority, bitorder="little").tobytes(), "little")
    return value - (1 << BITS) if value >= 1 << (BITS - 1) else value


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
    sensitive: SensitiveHit | None = None
    # Kept for the rule matching that follows the write: the text normalised as rules
    # read it, and its tokens, so neither is computed again.
    normalised: str = ""
    tokens: tuple[str, ...] = ()

    @property
    def terms(self) -> Counter[str]:
        """The topic terms of the text (``topic_terms``): only matched posts need them."""
        return topic_terms(self.tokens)

    def post_fields(self) -> dict:
        """The columns of ``Post`` this analysis fills."""
        bands = simhash_bands(self.simhash) if self.simhash is not None else (None,) * BANDS
        hit = self.sensitive
        return {"sentiment": self.sentiment, "sentiment_score": self.sentiment_score,
                "simhash": self.simhash,
                **{f"simhash_band{band}": value for band, value in enumerate(bands)},
                **(hit.post_fields() if hit
                   else {"sensitive_terms": [], "sensitive_category": ""})}


def analyse(text: str, *, sensitive: SensitiveSet | None = None) -> Analysis:
    """Normalise the text once (``rules.normalise``: NFKC, lower case, single spaces),
    segment that once, and read everything off it; scan it with the compiled
    ``sensitive`` lists when given."""
    normalised = normalise(text)
    tokens = segment(normalised)
    score = scorer().score(normalised, tokens)
    return Analysis(sentiment=score.label,
                    sentiment_score=round(score.value, 4),
                    simhash=simhash(normalised, normalised=True),
                    sensitive=sensitive.scan(text, normalised=normalised)
                    if sensitive is not None else None,
                    normalised=normalised, tokens=tuple(tokens))
