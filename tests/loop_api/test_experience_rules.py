"""Case rules on the experience components: `success == no` (or in a list) opens a case, an emotion score
condition too; other answers do not; a bad condition is a 422 naming its field."""

from __future__ import annotations

from typing import Any

import httpx

from shared.events import QuestionInfo
from tests.conftest import TokenFactory
from tests.loop_api.events import deliver, response_event
from tests.loop_api.helpers import RW, case_of, ok, problem

QUESTIONS = [
    QuestionInfo(key="success", kind="success"),
    QuestionInfo(key="feeling", kind="emotion", scale_min=1, scale_max=5),
    QuestionInfo(key="ces", kind="ces", scale_min=1, scale_max=7),
]


async def answered(
    client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], answers: dict[str, Any]
) -> dict[str, Any] | None:
    """Deliver a response with these answers; the case it opened, if any."""
    event = response_event(questions=QUESTIONS, answers=answers)
    await deliver(client, service, event)
    return await case_of(client, headers, event.data["response_id"])


async def test_a_rule_on_success_no_opens_a_case(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    rule = {
        "name": "Did not get it done",
        "priority": "high",
        "conditions": [{"type": "success", "op": "==", "value": "no"}],
    }
    created = await ok(await loop_client.post("/v1/rules", json=rule, headers=headers), 201)
    assert created["conditions"] == [{"type": "success", "op": "==", "value": "no", "question_key": None}]
    case = await answered(loop_client, service, headers, {"success": "no", "feeling": 4, "ces": 6})
    assert case is not None and (case["priority"], case["status"]) == ("high", "open")
    assert await answered(loop_client, service, headers, {"success": "yes", "feeling": 1, "ces": 2}) is None
    assert await answered(loop_client, service, headers, {"success": "partly", "feeling": 3}) is None


async def test_success_in_a_list_and_an_emotion_score(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    rule = {
        "name": "Unhappy and not fully done",
        "conditions": [
            {"type": "success", "op": "in", "value": ["partly", "no"], "question_key": "success"},
            {"type": "score", "question_kind": "emotion", "op": "<=", "value": 2},
        ],
    }
    await ok(await loop_client.post("/v1/rules", json=rule, headers=headers), 201)
    assert await answered(loop_client, service, headers, {"success": "partly", "feeling": 2}) is not None
    assert await answered(loop_client, service, headers, {"success": "partly", "feeling": 3}) is None
    assert await answered(loop_client, service, headers, {"success": "yes", "feeling": 1}) is None


async def test_a_bad_success_condition_is_refused(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes=RW)
    for condition in (
        {"type": "success", "op": "==", "value": "maybe"},
        {"type": "success", "op": "in", "value": "no"},
        {"type": "success", "op": "<=", "value": "no"},
    ):
        body = {"name": "bad", "conditions": [condition]}
        refused = problem(await loop_client.post("/v1/rules", json=body, headers=headers), 422)
        assert any(error["field"].startswith("conditions.0") for error in refused["errors"]), refused
