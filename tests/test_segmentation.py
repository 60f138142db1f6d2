"""Segmenting a text block by block (monitoring.segmentation): the tokens are jieba's, and
only the blocks asked for are segmented."""

import itertools

import jieba
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bench.sentiment_eval import load_reviews, sample
from monitoring.text.segmentation import Segmentation

EDGES = [
    "",
    " ",
    "，",
    "医院",
    "某医院乱收费被投诉",
    "  前后有空格  ",
    "a\r\nb\n\nc\t d",
    "“不”好，真的“很”差！！",
    "下载app了，5G网速15G流量",
    "价格3.5元/斤…太贵了……",
    "#话题# @某人: 转发微博 //@新华社: 原文 http://t.cn/abc?x=1",
    "😀表情😡和中文",
    "ＦＵＬＬ　ＷＩＤＴＨ全角",
    "a+b#c&d.e_f%g-h",
    "\u3000\u3000段首",
]


def _offsets(tokens):
    return set(itertools.accumulate(map(len, tokens), initial=0))


@pytest.mark.parametrize("text", EDGES)
def test_tokens_are_jiebas(text):
    assert Segmentation(text).tokens() == jieba.lcut(text)


@pytest.mark.slow
def test_tokens_of_real_reviews_are_jiebas():
    for item in sample(load_reviews().items, 1000):
        assert Segmentation(item.text).tokens() == jieba.lcut(item.text), item.text


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("不很好差医院收费投诉 ，。！\r\n“”ab1.%-😀")), max_size=60
    )
)
def test_tokens_and_boundaries_agree_with_jieba(text):
    expected = jieba.lcut(text)
    segmentation = Segmentation(text)
    assert segmentation.tokens() == expected
    boundaries = _offsets(expected)
    fresh = Segmentation(text)
    assert {offset for offset in range(len(text) + 1) if fresh.is_boundary(offset)} == boundaries


def test_a_boundary_segments_only_the_block_around_it():
    text = "高中医务室的消息，我去看中医，他在中医院工作"
    segmentation = Segmentation(text)
    start = text.index("中医，")
    assert segmentation.is_boundary(start) and segmentation.is_boundary(start + 2)
    assert not segmentation.is_boundary(text.index("中医务"))
    blocks = {
        index
        for index in range(len(segmentation.pieces))
        if Segmentation.is_block(index) and index in segmentation._tokens
    }
    assert [segmentation.pieces[index] for index in sorted(blocks)] == [
        "高中医务室的消息",
        "我去看中医",
    ]
