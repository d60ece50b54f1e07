"""The question model: each kind accepted and refused at its edges, directly and as the API reports it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from services.survey_api.catalog.questions import Question
from tests.conftest import TokenFactory
from tests.survey_api.test_surveys import WRITE, fields, make_survey, nps_only

PROMPT = {"en": "How was it?"}


def options(*codes: str) -> list[dict[str, Any]]:
    """Options with these codes, labelled in English."""
    return [{"code": code, "label": {"en": code.title()}} for code in codes]


def question(kind: str, **fields_: Any) -> dict[str, Any]:
    """A question document of `kind` keyed `q`."""
    return {"key": "q", "kind": kind, "prompt": PROMPT, **fields_}


def refusal(document: dict[str, Any]) -> str:
    """The messages of the errors that refuse `document` (fails if it is accepted)."""
    with pytest.raises(ValidationError) as caught:
        Question.model_validate(document)
    return " | ".join(str(error["msg"]) for error in caught.value.errors())


ACCEPTED: list[tuple[dict[str, Any], tuple[int | None, int | None]]] = [
    (question("nps"), (0, 10)),
    (question("nps", scale_min=0, scale_max=10), (0, 10)),
    (question("csat"), (1, 5)),
    (question("csat", scale_min=0, scale_max=10), (0, 10)),
    (question("ces"), (1, 7)),
    (question("rating"), (1, 5)),
    (question("rating", scale_min=0, scale_max=2), (0, 2)),  # three points: the smallest scale
    (question("rating", scale_min=8, scale_max=10), (8, 10)),
    (question("rating", scale_max=3), (1, 3)),  # the missing end comes from the default
    (question("single_choice", options=options("a", "b")), (None, None)),
    (question("multi_choice", options=options("a"), allow_other=True), (None, None)),
    (question("reasons", options=options("delivery", "price", "1st.try", "x_y-z")), (None, None)),
    (question("text"), (None, None)),
    (question("text", max_length=1), (None, None)),
    (question("text", max_length=5000), (None, None)),
]


@pytest.mark.parametrize(("document", "scale"), ACCEPTED, ids=lambda v: str(v) if isinstance(v, tuple) else None)
def test_accepted(document: dict[str, Any], scale: tuple[int | None, int | None]) -> None:
    parsed = Question.model_validate(document)
    assert (parsed.scale_min, parsed.scale_max) == scale
    assert parsed.scored == (document["kind"] in {"nps", "csat", "ces", "rating"})


REFUSED: list[tuple[dict[str, Any], str]] = [
    (question("nps", scale_min=1, scale_max=10), "NPS scale is 0-10"),
    (question("nps", scale_max=10), "NPS scale is 0-10"),
    (question("nps", scale_min=0, scale_max=5), "NPS scale is 0-10"),
    (question("csat", scale_min=1, scale_max=11), "less than or equal to 10"),
    (question("rating", scale_min=-1, scale_max=5), "greater than or equal to 0"),
    (question("rating", scale_min=3, scale_max=4), "at least three points"),  # a two-point scale
    (question("ces", scale_min=5, scale_max=5), "at least three points"),
    (question("rating", scale_min=5, scale_max=1), "at least three points"),  # reversed
    (question("text", scale_min=1), "text questions have no scale"),
    (question("single_choice"), "need options"),
    (question("multi_choice", options=[]), "need options"),
    (question("reasons", options=options("a", "a")), "unique"),
    (question("reasons", options=options("price", "other")), "`other` is reserved"),
    (question("single_choice", options=options("Not A Code")), "pattern"),
    (question("single_choice", options=[{"code": "a", "label": {}}]), "at least 1 item"),
    (question("single_choice", options=[{"code": "a", "label": {"en": " "}}]), "at least 1 character"),
    (question("nps", options=options("a")), "nps questions have no options"),
    (question("text", allow_other=True), "text questions have no options"),
    (question("text", max_length=0), "greater than or equal to 1"),
    (question("text", max_length=5001), "less than or equal to 5000"),
    (question("csat", max_length=10), "max_length is for text questions"),
    (question("slider"), "Input should be"),
    (question("nps", prompt={}), "at least 1 item"),
    (question("nps", prompt={"EN": "x"}), "pattern"),
    ({**question("nps"), "key": "NPS"}, "pattern"),
    ({**question("nps"), "key": "1st"}, "pattern"),
    ({**question("nps"), "colour": "red"}, "Extra inputs"),
]


@pytest.mark.parametrize(("document", "message"), REFUSED, ids=lambda v: v if isinstance(v, str) else None)
def test_refused(document: dict[str, Any], message: str) -> None:
    assert message in refusal(document)


SHOW_IF_ACCEPTED = [{"question": "nps", "op": op, "value": 6} for op in ["<", "<=", ">", ">=", "=="]] + [
    {"question": "nps", "op": "in", "value": [0]},
    {"question": "nps", "op": "in", "value": list(range(11))},
]


@pytest.mark.parametrize("show_if", SHOW_IF_ACCEPTED, ids=lambda s: f"{s['op']} {s['value']}")
def test_show_if_accepted(show_if: dict[str, Any]) -> None:
    parsed = Question.model_validate(question("text", show_if=show_if))
    assert parsed.show_if is not None
    assert parsed.show_if.model_dump() == show_if


SHOW_IF_REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"question": "nps", "op": "in", "value": 6}, "`in` takes a list"),
    ({"question": "nps", "op": "<=", "value": [6]}, "`in` takes a list"),
    ({"question": "nps", "op": "in", "value": []}, "1 to 11"),
    ({"question": "nps", "op": "in", "value": list(range(12))}, "1 to 11"),
    ({"question": "nps", "op": "!=", "value": 6}, "Input should be"),
    ({"question": "nps", "op": "<", "value": 6.5}, "valid integer"),
    ({"question": "nps", "op": "<", "value": True}, "valid integer"),
    ({"question": "nps", "op": "<", "value": "6"}, "valid integer"),
    ({"question": "nps", "op": "in", "value": [6, "7"]}, "valid integer"),
    ({"question": "NPS", "op": "<", "value": 6}, "pattern"),
    ({"question": "nps", "op": "<"}, "Field required"),
]


@pytest.mark.parametrize(("show_if", "message"), SHOW_IF_REFUSED, ids=lambda v: v if isinstance(v, str) else None)
def test_show_if_refused(show_if: dict[str, Any], message: str) -> None:
    assert message in refusal(question("text", show_if=show_if))


def test_show_if_holds() -> None:
    def holds(op: str, value: int | list[int], score: int) -> bool:
        parsed = Question.model_validate(question("text", show_if={"question": "nps", "op": op, "value": value}))
        assert parsed.show_if is not None
        return parsed.show_if.holds(score)

    assert [holds("<=", 6, s) for s in (6, 7)] == [True, False]
    assert [holds("<", 6, s) for s in (5, 6)] == [True, False]
    assert [holds(">", 8, s) for s in (8, 9)] == [False, True]
    assert [holds(">=", 9, s) for s in (8, 9)] == [False, True]
    assert [holds("==", 10, s) for s in (9, 10)] == [False, True]
    assert [holds("in", [7, 8], s) for s in (6, 7, 8, 9)] == [False, True, True, False]


def test_other_key_and_option_codes() -> None:
    reasons = Question.model_validate(question("reasons", options=options("delivery", "price"), allow_other=True))
    assert reasons.other_key == "q_other"
    assert reasons.option_codes() == {"delivery", "price", "other"}
    closed = Question.model_validate(question("single_choice", options=options("a")))
    assert closed.option_codes() == {"a"}


class TestThroughTheApi:
    """A front end sees each refused question as a 422 naming the field, and accepted ones with scales filled in."""

    async def test_every_kind_is_created(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        documents = [{**document, "key": f"q{i}"} for i, (document, _) in enumerate(ACCEPTED)]
        survey = await make_survey(survey_client, auth(scopes=WRITE), nps_only(questions=documents))
        assert [(q["scale_min"], q["scale_max"]) for q in survey["questions"]] == [scale for _, scale in ACCEPTED]

    async def test_each_refused_question_is_named(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        documents = [
            question("nps", key="a"),
            question("nps", key="b", scale_min=1),
            question("csat", key="c", scale_min=1, scale_max=11),
            question("reasons", key="d", options=options("a", "other")),
            question("single_choice", key="e", options=[{"code": "a", "label": {"en": "A"}, "icon": "x"}]),
            question("text", key="f", show_if={"question": "a", "op": "in", "value": 3}),
            question("text", key="g", max_length=5001),
        ]
        body = nps_only(questions=documents)
        response = await survey_client.post("/v1/surveys", json=body, headers=auth(scopes=WRITE))
        assert fields(response) == {
            "questions.1",
            "questions.2.scale_max",
            "questions.3",
            "questions.4.options.0.icon",
            "questions.5.show_if",
            "questions.6.max_length",
        }

    async def test_too_many_questions(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        documents = [question("text", key=f"q{i}") for i in range(101)]
        response = await survey_client.post(
            "/v1/surveys", json=nps_only(questions=documents), headers=auth(scopes=WRITE)
        )
        assert fields(response) == {"questions"}

    async def test_other_key_is_reserved_only_when_other_is_allowed(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        choice = question("single_choice", key="plan", options=options("basic", "pro"))
        text = question("text", key="plan_other")
        survey = await make_survey(survey_client, auth(scopes=WRITE), nps_only(questions=[choice, text]))
        url = f"/v1/surveys/{survey['id']}"
        response = await survey_client.patch(
            url, json={"questions": [{**choice, "allow_other": True}, text]}, headers=auth(scopes=WRITE)
        )
        assert fields(response) == {"questions.1.key"}
