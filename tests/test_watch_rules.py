"""Watch rules: the expression language, its errors, and matching one rule or many."""

import random

import jieba
import pytest

from monitoring.text.rules import (
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_TERMS,
    And,
    Not,
    Or,
    RuleSet,
    RuleSyntaxError,
    Term,
    matches,
    normalise,
    parse,
    terms,
)
from monitoring.text.segmentation import Segmentation

HOSPITAL_FEES = "(医院 OR 卫健委) AND (收费 OR 投诉) NOT 招聘"


# --- The example ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["某医院乱收费被投诉", "卫健委回应收费问题 投诉渠道"])
def test_hospital_fee_rule_matches_complaints_about_fees(text):
    assert matches(HOSPITAL_FEES, text)


@pytest.mark.parametrize("text", ["医院招聘护士 收费标准", "医院今日开放"])
def test_hospital_fee_rule_ignores_recruitment_and_unrelated_news(text):
    assert not matches(HOSPITAL_FEES, text)


def test_hospital_fee_rule_parses_to_and_of_two_groups_and_a_negation():
    assert parse(HOSPITAL_FEES) == And(
        (
            Or((Term("医院"), Term("卫健委"))),
            Or((Term("收费"), Term("投诉"))),
            Not(Term("招聘")),
        )
    )
    assert terms(parse(HOSPITAL_FEES)) == {"医院", "卫健委", "收费", "投诉", "招聘"}


# --- Grammar ------------------------------------------------------------------------------


def test_juxtaposition_means_and():
    assert parse("医院 收费") == parse("医院 AND 收费")
    assert matches("医院 收费", "医院乱收费")
    assert not matches("医院 收费", "医院开放")


def test_not_between_terms_means_and_not():
    assert parse("医院 NOT 招聘") == parse("医院 AND NOT 招聘")
    assert matches("医院 NOT 招聘", "医院开放")
    assert not matches("医院 NOT 招聘", "医院招聘")


def test_leading_not_is_allowed_when_another_term_must_appear():
    assert parse("NOT 招聘 医院") == And((Not(Term("招聘")), Term("医院")))
    assert matches("NOT 招聘 医院", "医院开放")


def test_not_of_a_group_excludes_any_of_its_terms():
    rule = "医院 NOT (招聘 OR 广告)"
    assert matches(rule, "医院收费")
    assert not matches(rule, "医院招聘")
    assert not matches(rule, "医院广告")


def test_double_not_requires_the_term():
    assert matches("NOT NOT 医院", "医院")
    assert not matches("NOT NOT 医院", "学校")


def test_and_binds_tighter_than_or_so_not_applies_to_its_own_side():
    assert parse("医院 OR 学校 NOT 招聘") == Or(
        (Term("医院"), And((Term("学校"), Not(Term("招聘")))))
    )
    assert matches("医院 OR 学校 NOT 招聘", "医院招聘")
    assert not matches("医院 OR 学校 NOT 招聘", "学校招聘")


def test_nested_groups_are_evaluated_inside_out():
    rule = "((医院 OR 诊所) AND (收费 OR (价格 AND 上涨))) OR (学校 AND (食堂 NOT 表扬))"
    assert matches(rule, "诊所价格上涨")
    assert not matches(rule, "诊所价格下降")
    assert matches(rule, "学校食堂出问题")
    assert not matches(rule, "学校食堂受表扬")
    assert matches(rule, "医院收费")


def test_phrase_in_quotes_keeps_its_spaces_and_order():
    rule = '"new york" AND "医院 收费"'
    assert matches(rule, "New  York 医院 收费")
    assert not matches(rule, "york new 医院 收费")
    assert not matches(rule, "new york 医院收费")


def test_chinese_quotes_and_full_width_parentheses_are_accepted():
    assert parse("（医院 OR 卫健委） “乱 收费”") == parse('(医院 OR 卫健委) "乱 收费"')


def test_quoted_operator_word_is_a_term():
    assert parse('"and"') == Term("and")
    assert matches('tom "and" jerry', "Tom and Jerry")


@pytest.mark.parametrize(
    "rule", ["a and b or c not d", "a AnD b Or c NoT d", "a ＡＮＤ b OR c NOT d"]
)
def test_operators_are_case_insensitive(rule):
    assert parse(rule) == parse("a AND b OR c NOT d")


def test_latin_terms_match_regardless_of_case_and_width():
    assert matches("iPhone", "IPHONE 发布")
    assert matches("IPHONE", "ｉｐｈｏｎｅ发布")


def test_a_word_glued_to_a_quote_splits_into_two_terms():
    assert parse('医院"乱 收费"') == And((Term("医院"), Term("乱 收费")))


# --- Word boundaries for Latin ------------------------------------------------------------


def test_latin_term_does_not_match_inside_a_longer_word():
    assert not matches("app", "happy users")
    assert not matches("app", "application")
    assert matches("app", "new app released")


def test_latin_term_matches_next_to_chinese_characters():
    assert matches("app", "下载APP了")


def test_digits_count_as_word_characters():
    assert matches("5g", "5G基站")
    assert not matches("5g", "15G流量")


def test_mixed_term_needs_a_boundary_only_at_its_latin_end():
    assert matches("华为p60", "新款华为P60发布")
    assert not matches("华为p60", "华为P600")


def test_chinese_term_matches_as_substring_by_default():
    assert matches("中医", "高中医务室")
    assert matches("收费", "乱收费")


# --- Whole-token terms (=) ----------------------------------------------------------------


def test_whole_token_term_does_not_match_across_jieba_tokens():
    assert jieba.lcut("高中医务室") == ["高中", "医务室"]
    assert not matches("=中医", "高中医务室")


def test_whole_token_term_does_not_match_inside_a_longer_token():
    assert jieba.lcut("他在中医院工作") == ["他", "在", "中医院", "工作"]
    assert not matches("=中医", "他在中医院工作")


def test_whole_token_term_matches_a_token():
    assert jieba.lcut("我去看中医") == ["我", "去", "看", "中医"]
    assert matches("=中医", "我去看中医")


def test_whole_token_term_of_several_tokens_matches_a_run_of_whole_tokens():
    assert jieba.lcut("某医院乱收费被投诉") == ["某", "医院", "乱收费", "被", "投诉"]
    assert matches("=医院乱收费", "某医院乱收费被投诉")
    assert not matches("=院乱收费", "某医院乱收费被投诉")


def test_whole_token_option_is_not_part_of_the_term_text():
    node = parse("=中医 OR 中医")
    assert node == Or((Term("中医", whole_token=True), Term("中医")))
    assert terms(node) == {"中医"}


# --- Syntax errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "position", "message"),
    [
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("(医院 OR 卫健委", 0, "missing closing parenthesis"),
        ("医院 AND ((收费 OR 投诉)", 7, "missing closing parenthesis"),
        ("医院 (", 3, "missing closing parenthesis"),
        ("医院 OR 卫健委)", 9, "unexpected ')'"),
        (") 医院", 0, "unexpected ')'"),
        ("医院 AND", 3, "operator AND needs a term after it"),
        ("医院 OR", 3, "operator OR needs a term after it"),
        ("医院 NOT", 3, "operator NOT needs a term after it"),
        ("医院 AND OR 收费", 3, "operator AND needs a term after it"),
        ("(医院 AND) 收费", 4, "operator AND needs a term after it"),
        ("AND 医院", 0, "operator AND needs a term before it"),
        ("医院 (OR 收费)", 4, "operator OR needs a term before it"),
        ("医院 ()", 3, "empty parentheses"),
        ('医院 "乱收费', 3, "missing closing quote"),
        ("医院 “乱收费", 3, "missing closing quote"),
        ('医院 ""', 3, "empty phrase"),
        ("医院 乱收费”", 6, "closing quote ” without an opening “"),
        ("医院 = 中医", 3, "'=' must be directly followed by a word"),
        ("NOT 招聘", 0, "a rule needs at least one term that must appear"),
        ("NOT (招聘 OR 广告)", 0, "a rule needs at least one term that must appear"),
        ("医院 OR NOT 招聘", 6, "a rule needs at least one term that must appear"),
        ("NOT 医院 NOT 招聘", 0, "a rule needs at least one term that must appear"),
    ],
)
def test_syntax_error_names_the_mistake_and_its_position(expression, position, message):
    with pytest.raises(RuleSyntaxError) as caught:
        parse(expression)
    assert (caught.value.message, caught.value.position) == (message, position)


def test_expression_longer_than_the_limit_is_rejected_at_the_limit():
    expression = "医院 " * (MAX_EXPRESSION_LENGTH // 3 + 1)
    with pytest.raises(RuleSyntaxError) as caught:
        parse(expression)
    assert caught.value.message == f"expression is longer than {MAX_EXPRESSION_LENGTH} characters"
    assert caught.value.position == MAX_EXPRESSION_LENGTH


def test_expression_at_the_length_limit_is_accepted():
    expression = "医" * MAX_EXPRESSION_LENGTH
    assert parse(expression) == Term(expression)


def test_too_many_terms_is_rejected_at_the_first_term_over_the_limit():
    expression = " ".join(f"t{i}" for i in range(MAX_TERMS + 1))
    with pytest.raises(RuleSyntaxError) as caught:
        parse(expression)
    assert caught.value.message == f"too many terms (at most {MAX_TERMS})"
    assert caught.value.position == expression.index(f"t{MAX_TERMS}")
    assert parse(" ".join(f"t{i}" for i in range(MAX_TERMS)))


def test_nesting_deeper_than_the_limit_is_rejected_at_the_parenthesis_too_deep():
    assert parse("(" * MAX_DEPTH + "医院" + ")" * MAX_DEPTH) == Term("医院")
    with pytest.raises(RuleSyntaxError) as caught:
        parse("(" * (MAX_DEPTH + 1) + "医院" + ")" * (MAX_DEPTH + 1))
    assert caught.value.message == f"expression nests deeper than {MAX_DEPTH} levels"
    assert caught.value.position == MAX_DEPTH


def test_syntax_error_reads_with_its_position():
    with pytest.raises(RuleSyntaxError, match=r"^empty parentheses \(at position 0\)$"):
        parse("()")


def test_rule_set_names_the_rule_with_the_bad_expression():
    with pytest.raises(RuleSyntaxError) as caught:
        RuleSet({"good": "医院", "bad": "医院 AND"})
    assert caught.value.rule_id == "bad"
    assert caught.value.position == 3


# --- RuleSet ------------------------------------------------------------------------------


def test_rule_set_matches_each_text_against_all_rules():
    rules = RuleSet(
        {
            "fees": HOSPITAL_FEES,
            "tcm": "=中医",
            "app": "app OR 应用",
            "phrase": '"new york"',
        }
    )
    assert rules.match("某医院乱收费被投诉") == {"fees"}
    assert rules.match("高中医务室") == set()
    assert rules.match("我去看中医，医院收费太贵") == {"tcm", "fees"}
    assert rules.match("happy new  York") == {"phrase"}
    assert rules.match("下载APP了") == {"app"}
    assert rules.match("") == set()


def test_rule_set_is_reusable_across_texts():
    rules = RuleSet({1: "医院", 2: "学校"})
    for _ in range(3):
        assert rules.match("医院") == {1}
        assert rules.match("学校") == {2}


def test_empty_rule_set_matches_nothing():
    assert RuleSet({}).match("医院") == set()
    assert len(RuleSet({})) == 0


def test_rule_set_matches_rule_with_term_of_both_polarities():
    # 医院 appears under a NOT and outside one; finding it must still trigger the rule.
    rules = RuleSet({1: "(医院 AND 收费) OR (投诉 NOT 医院)"})
    assert rules.match("医院收费") == {1}
    assert rules.match("投诉") == {1}
    assert rules.match("医院投诉") == set()


CHINESE = [
    "医院", "卫健委", "收费", "投诉", "招聘", "中医", "学校", "食堂", "价格", "上涨",
    "医务室", "高中", "疫情", "封控", "学生会", "主席", "发布", "回应", "暴雨", "停电",
]  # fmt: skip
LATIN = ["app", "apple", "happy", "5g", "15g", "iphone", "new york", "covid-19"]
FILLER = ["的", "了", "在", "被", "今日", "网友", "称", " ", "，", "APP", "Happy", "New York"]


def _random_rule(rng: random.Random, depth: int = 0) -> str:
    if depth >= 3 or rng.random() < 0.4:
        word = rng.choice(CHINESE + LATIN)
        if " " in word:
            return f'"{word}"'
        if rng.random() < 0.15 and word in CHINESE:
            return f"={word}"
        return word.upper() if rng.random() < 0.3 else word
    shape = rng.randrange(5)
    left, right = _random_rule(rng, depth + 1), _random_rule(rng, depth + 1)
    if shape == 0:
        return f"({left} {rng.choice(['OR', 'or'])} {right})"
    if shape == 1:
        return f"({left} {rng.choice(['AND', 'and', ''])} {right})"
    if shape == 2:
        return f"({left} NOT {right})"
    if shape == 3:
        return f"(NOT {left} {right})"
    return f"({left} OR {right} OR {_random_rule(rng, depth + 1)})"


def _random_rules(rng: random.Random, count: int) -> dict[int, str]:
    rules: dict[int, str] = {}
    while len(rules) < count:
        expression = _random_rule(rng)
        try:
            parse(expression)
        except RuleSyntaxError as error:
            assert error.code == "no_required_term"
            continue
        rules[len(rules)] = expression
    return rules


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(CHINESE + LATIN + FILLER * 2) for _ in range(rng.randint(3, 25)))


def test_rule_set_of_ten_thousand_rules_agrees_with_each_rule_alone():
    rng = random.Random(20240611)
    rules = _random_rules(rng, 10_000)
    rule_set = RuleSet(rules)
    nodes = {rule_id: parse(expression) for rule_id, expression in rules.items()}
    texts = [_random_text(rng) for _ in range(12)]
    texts += ["高中医务室", "我去看中医", "happy app 5G", "", "无关内容"]
    matched_somewhere = 0
    for text in texts:
        expected = {rule_id for rule_id, node in nodes.items() if matches(node, text)}
        assert rule_set.match(text) == expected, text
        # The intake's way: normalised and segmented once by the analysis, reused here.
        normalised = normalise(text)
        assert (
            rule_set.match(text, normalised=normalised, segmentation=Segmentation(normalised))
            == expected
        ), text
        matched_somewhere += bool(expected)
    assert matched_somewhere >= 10  # the comparison is not vacuous
