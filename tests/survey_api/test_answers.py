"""Answer checking against a survey version: each kind accepted and rejected at its edges."""

from __future__ import annotations

from typing import Any

import pytest

from services.survey_api.catalog.questions import Question
from services.survey_api.responses.answers import check_answers, normalise

QUESTIONS = tuple(
    Question.model_validate(q)
    for q in [
        {"key": "nps", "kind": "nps", "required": True, "prompt": {"en": "Recommend?"}},
        {"key": "why", "kind": "text", "max_length": 20, "prompt": {"en": "Why?"},
         "show_if": {"question": "nps", "op": "<=", "value": 6}},
        {"key": "reasons", "kind": "reasons", "allow_other": True, "prompt": {"en": "Which?"},
         "options": [{"code": "delivery", "label": {"en": "Delivery"}}, {"code": "price", "label": {"en": "Price"}}]},
        {"key": "csat", "kind": "csat", "prompt": {"en": "Satisfied?"}},
        {"key": "ces", "kind": "ces", "prompt": {"en": "Easy?"}},
        {"key": "stars", "kind": "rating", "scale_min": 0, "scale_max": 10, "prompt": {"en": "Stars?"}},
        {"key": "store", "kind": "single_choice", "prompt": {"en": "Store?"},
         "options": [{"code": "a", "label": {"en": "A"}}, {"code": "b", "label": {"en": "B"}}]},
        {"key": "extras", "kind": "multi_choice", "prompt": {"en": "Extras?"},
         "options": [{"code": "x", "label": {"en": "X"}}, {"code": "y", "label": {"en": "Y"}}]},
    ]
)  # fmt: skip


def codes(answers: dict[str, Any], finished: bool = True) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in check_answers(QUESTIONS, normalise(answers), finished=finished)]


@pytest.mark.parametrize(
    "answers",
    [
        {"nps": 0, "why": "late"},
        {"nps": 10},
        {"nps": 6, "reasons": ["delivery", "other"], "reasons_other": "rude driver"},
        {"nps": 9, "reasons": []},
        {"nps": 8, "csat": 1, "ces": 7, "stars": 0, "store": "b", "extras": ["x", "y"]},
        {"nps": 8, "csat": 5, "ces": 1, "stars": 10, "extras": []},
        {"nps": 9, "why": None, "csat": None},
        {"nps": 9, "why": "   "},
    ],
)
def test_valid_answers_pass(answers: dict[str, Any]) -> None:
    assert codes(answers) == []


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"nps": 11}, [("answers.nps", "out_of_scale")]),
        ({"nps": -1}, [("answers.nps", "out_of_scale")]),
        ({"nps": 7.5}, [("answers.nps", "not_integer")]),
        ({"nps": "9"}, [("answers.nps", "not_integer")]),
        ({"nps": True}, [("answers.nps", "not_integer")]),
        ({"nps": 9, "csat": 0}, [("answers.csat", "out_of_scale")]),
        ({"nps": 9, "csat": 6}, [("answers.csat", "out_of_scale")]),
        ({"nps": 9, "ces": 8}, [("answers.ces", "out_of_scale")]),
        ({"nps": 9, "stars": 11}, [("answers.stars", "out_of_scale")]),
        ({"nps": 9, "store": "c"}, [("answers.store", "unknown_option")]),
        ({"nps": 9, "store": ["a"]}, [("answers.store", "unknown_option")]),
        ({"nps": 9, "extras": "x"}, [("answers.extras", "not_a_list")]),
        ({"nps": 9, "extras": ["x", "x"]}, [("answers.extras", "duplicate_option")]),
        ({"nps": 9, "extras": ["other"]}, [("answers.extras", "unknown_option")]),
        ({"nps": 9, "reasons": ["weather"]}, [("answers.reasons", "unknown_option")]),
        ({"nps": 9, "reasons": ["price"], "reasons_other": "x"}, [("answers.reasons_other", "no_other")]),
        ({"nps": 3, "why": "x" * 21}, [("answers.why", "too_long")]),
        ({"nps": 3, "why": 42}, [("answers.why", "not_text")]),
        ({"nps": 9, "why": "great"}, [("answers.why", "not_shown")]),
        ({"nps": 9, "colour": "red"}, [("answers.colour", "unknown_question")]),
        ({"csat": 4}, [("answers.nps", "required")]),
        ({}, [("answers.nps", "required"), ("answers", "empty")]),
    ],
)
def test_invalid_answers_are_named(answers: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert codes(answers) == expected


def test_every_problem_is_listed_at_once() -> None:
    assert codes({"nps": 12, "csat": "good", "colour": "red"}) == [
        ("answers.nps", "out_of_scale"),
        ("answers.csat", "not_integer"),
        ("answers.colour", "unknown_question"),
    ]


def test_unfinished_responses_may_lack_required_answers() -> None:
    assert codes({"csat": 4}, finished=False) == []
    assert codes({}, finished=False) == []
    assert codes({"why": "slow"}, finished=False) == []  # nps not given yet: the logic cannot decide
    assert codes({"why": "slow"}, finished=True) == [("answers.nps", "required"), ("answers.why", "not_shown")]
