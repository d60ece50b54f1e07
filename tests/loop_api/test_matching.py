"""Rule matching, pure: score operators at their boundaries, reasons, words, scope, priority, the winner."""

from __future__ import annotations

from typing import Any

import pytest

from services.loop_api.rules.matching import choose_rule, deepest, rule_matches, rule_priority, words_pattern
from services.loop_api.rules.schemas import RulePublic, default_rule
from shared.events import QuestionInfo, ResponseData
from tests.loop_api.events import QUESTIONS, response_data


def rule(**fields: Any) -> RulePublic:
    """A rule as stored (id and times filled in)."""
    body: dict[str, Any] = {
        "id": "rule_x",
        "name": "x",
        "conditions": [{"type": "score", "question_kind": "nps", "op": "<=", "value": 6}],
        "created_at": None,
        "updated_at": None,
        **fields,
    }
    return RulePublic.model_validate(body)


def answers(**values: Any) -> ResponseData:
    return response_data(answers=values)


@pytest.mark.parametrize(
    ("op", "matching"),
    [("<", {5}), ("<=", {5, 6}), (">", {7}), (">=", {6, 7}), ("==", {6})],
)
def test_score_operators_at_the_boundary(op: str, matching: set[int]) -> None:
    r = rule(conditions=[{"type": "score", "question_kind": "nps", "op": op, "value": 6}])
    assert {score for score in (5, 6, 7) if rule_matches(r, answers(nps=score))} == matching


def test_score_by_key_or_kind() -> None:
    by_key = rule(conditions=[{"type": "score", "question_key": "csat_staff", "op": "<=", "value": 2}])
    by_kind = rule(conditions=[{"type": "score", "question_kind": "csat", "op": "<=", "value": 2}])
    for r in (by_key, by_kind):
        assert rule_matches(r, answers(nps=9, csat_staff=2))
        assert not rule_matches(r, answers(nps=1, csat_staff=3))
        assert not rule_matches(r, answers(nps=1))  # unanswered is not a low score


def test_any_question_of_the_kind_counts() -> None:
    two_nps = [QuestionInfo(key="nps_store", kind="nps"), QuestionInfo(key="nps_app", kind="nps")]
    response = response_data(questions=two_nps, answers={"nps_store": 9, "nps_app": 4})
    assert rule_matches(rule(), response)


@pytest.mark.parametrize("value", [True, "3", 3.0, None, [3]])
def test_only_integers_are_scores(value: Any) -> None:
    assert not rule_matches(rule(), answers(nps=value))


def test_reason_code_in_a_reasons_answer() -> None:
    r = rule(conditions=[{"type": "reason", "code": "delivery"}])
    assert rule_matches(r, answers(nps=8, reasons=["price", "delivery"]))
    assert not rule_matches(r, answers(nps=8, reasons=["price"]))
    assert not rule_matches(r, answers(nps=8, why="delivery"))  # text is not a reason code
    choices = [QuestionInfo(key="topics", kind="multi_choice")]
    assert not rule_matches(r, response_data(questions=choices, answers={"topics": ["delivery"]}))
    keyed = rule(conditions=[{"type": "reason", "code": "delivery", "question_key": "other_reasons"}])
    assert not rule_matches(keyed, answers(nps=8, reasons=["delivery"]))


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("It came LATE.", True),
        ("late", True),
        ("(late)", True),
        ("late-ish", True),  # a hyphen is not a word character
        ("chocolate", False),
        ("lately fine", False),
        ("Please call me back", False),  # the phrase is "call back", whole
        ("please CALL  BACK", False),  # exact spacing of a phrase
        ("Please call back today", True),
        ("Verspätung!", True),
        ("verspätungen", False),
        ("a.c.m.e", False),
        ("visit a+b now", True),
    ],
)
def test_words_are_whole_and_case_insensitive(text: str, hit: bool) -> None:
    r = rule(conditions=[{"type": "words", "words": ["late", "call back", "VERSPÄTUNG", "a+b"]}])
    assert rule_matches(r, answers(nps=9, why=text)) is hit


def test_words_are_literal_not_patterns() -> None:
    assert words_pattern(("a.c",)).search("abc") is None
    assert words_pattern(("a.c",)).search("a.c") is not None
    r = rule(conditions=[{"type": "words", "words": ["x.y"]}])
    assert not rule_matches(r, answers(nps=9, why="xzy anything"))
    assert rule_matches(r, answers(nps=9, why="see X.Y now"))


def test_words_look_at_free_text_only() -> None:
    r = rule(conditions=[{"type": "words", "words": ["refund"]}])
    assert rule_matches(r, answers(nps=9, reasons=["other"], reasons_other="I want a refund"))
    picked = [QuestionInfo(key="plan", kind="single_choice")]
    assert not rule_matches(r, response_data(questions=picked, answers={"plan": "refund"}))
    keyed = rule(conditions=[{"type": "words", "words": ["refund"], "question_key": "why"}])
    assert not rule_matches(keyed, answers(nps=9, reasons_other="refund"))
    assert rule_matches(keyed, answers(nps=9, why="refund please"))


def test_all_or_any() -> None:
    conditions = [
        {"type": "score", "question_kind": "nps", "op": "<=", "value": 6},
        {"type": "words", "words": ["lawyer"]},
    ]
    both, either = rule(conditions=conditions), rule(conditions=conditions, match="any")
    assert rule_matches(both, answers(nps=2, why="my lawyer will call"))
    assert not rule_matches(both, answers(nps=2, why="slow"))
    assert rule_matches(either, answers(nps=9, why="my lawyer will call"))
    assert not rule_matches(either, answers(nps=9, why="fine"))


def test_scope() -> None:
    scoped = rule(survey_id="srv_1", touchpoint_id="tp_1", unit="emea")
    assert rule_matches(scoped, response_data(unit="emea"))
    assert rule_matches(scoped, response_data(unit="emea/de/berlin"))
    assert not rule_matches(scoped, response_data(unit="emeax"))
    assert not rule_matches(scoped, response_data(unit=None))
    assert not rule_matches(scoped, response_data(unit="emea", survey_id="srv_2"))
    assert not rule_matches(scoped, response_data(unit="emea", touchpoint_id=None))
    assert not rule_matches(rule(active=False), response_data())


def test_priority_raised_by_attribute_never_lowered() -> None:
    raises = [
        {"attribute": "tier", "equals": "gold", "priority": "urgent"},
        {"attribute": "seats", "equals": 100, "priority": "high"},
        {"attribute": "vip", "equals": True, "priority": "low"},
    ]
    r = rule(priority="normal", priority_by_attribute=raises)
    assert rule_priority(r, {"tier": "gold"}) == "urgent"
    assert rule_priority(r, {"tier": "silver"}) == "normal"
    assert rule_priority(r, {}) == "normal"
    assert rule_priority(r, {"seats": 100}) == "high"
    assert rule_priority(r, {"seats": "100"}) == "normal"  # a string is not the number
    assert rule_priority(r, {"vip": True}) == "normal"  # `low` would lower it: ignored
    assert rule_priority(r, {"tier": "gold", "seats": 100}) == "urgent"


def test_highest_priority_wins_then_lowest_order_then_oldest() -> None:
    low = rule(id="rule_1", priority="low", order=1)
    high_late = rule(id="rule_2", priority="high", order=50)
    high_early = rule(id="rule_3", priority="high", order=10)
    high_early_newer = rule(id="rule_4", priority="high", order=10)
    raised = rule(
        id="rule_5",
        priority="normal",
        order=99,
        priority_by_attribute=[{"attribute": "tier", "equals": "gold", "priority": "urgent"}],
    )
    rules = [low, high_late, high_early_newer, high_early, raised]
    chosen = choose_rule(rules, response_data(attributes={"tier": "silver"}))
    assert chosen is not None
    assert (chosen.rule.id, chosen.priority) == ("rule_3", "high")
    chosen = choose_rule(rules, response_data(attributes={"tier": "gold"}))
    assert chosen is not None
    assert (chosen.rule.id, chosen.priority) == ("rule_5", "urgent")
    assert choose_rule(rules, answers(nps=9)) is None


def test_default_rule_is_nps_six_or_less() -> None:
    default = default_rule()
    assert default.default is True
    assert rule_matches(default, answers(nps=6))
    assert not rule_matches(default, answers(nps=7))
    assert not rule_matches(default, answers(csat_staff=1))
    assert QUESTIONS[0].kind == "nps"


def test_deepest_unit_wins() -> None:
    candidates = [(None, "anyone"), ("emea", "emea"), ("emea/de", "germany"), ("emea/de", "second")]
    assert deepest("emea/de/berlin", candidates) == "germany"
    assert deepest("emea/fr", candidates) == "emea"
    assert deepest("apac", candidates) == "anyone"
    assert deepest(None, candidates) == "anyone"
    assert deepest("apac", candidates[1:]) is None
