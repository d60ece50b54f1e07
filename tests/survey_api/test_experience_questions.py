"""Question kinds `success` (yes | partly | no) and `emotion` (1-5): the catalog, display logic on a success
answer, precise `answers.<key>` errors in single and batch partner responses, the public JSON API, and the
event metrics_api and loop_api receive."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from services.survey_api.models import OutboxEvent
from tests.conftest import TokenFactory
from tests.survey_api.helpers import ALL, ok, published_survey
from tests.survey_api.test_hosted import fieldset, form, make_contact, make_invitation, responses_of

EXPERIENCE: dict[str, Any] = {
    "name": "Support contact",
    "kind": "transactional",
    "languages": ["en", "de"],
    "questions": [
        {"key": "success", "kind": "success", "required": True,
         "prompt": {"en": "Did you get done what you came to do?", "de": "Haben Sie erledigt, was Sie wollten?"}},
        {"key": "missing", "kind": "text", "show_if": {"question": "success", "op": "in", "value": ["partly", "no"]},
         "prompt": {"en": "What was missing?", "de": "Was fehlte?"}},
        {"key": "ces", "kind": "ces", "prompt": {"en": "How easy was it?", "de": "Wie einfach war es?"}},
        {"key": "feeling", "kind": "emotion",
         "prompt": {"en": "How did it make you feel?", "de": "Wie fühlten Sie sich?"}},
    ],
}  # fmt: skip


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**ALL)


@pytest.fixture
async def survey(survey_client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    return await published_survey(survey_client, headers, EXPERIENCE)


def with_question(index: int, **change: Any) -> dict[str, Any]:
    questions = [dict(q) for q in EXPERIENCE["questions"]]
    questions[index] = {**questions[index], **change}
    return {**EXPERIENCE, "questions": questions}


def partner(survey: dict[str, Any], answers: dict[str, Any], external_id: str = "case-1") -> dict[str, Any]:
    return {"survey_id": survey["id"], "external_id": external_id, "channel": "web", "answers": answers}


def errors_of(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(error["field"], error["code"]) for error in body["errors"]}


class TestCatalog:
    async def test_the_kinds_are_stored_with_their_scale(self, survey: dict[str, Any]) -> None:
        success, _, _, feeling = survey["questions"]
        assert (success["kind"], success["scale_min"], success["options"]) == ("success", None, None)
        assert (feeling["kind"], feeling["scale_min"], feeling["scale_max"]) == ("emotion", 1, 5)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (with_question(3, scale_min=0), "questions.3"),  # emotion is always 1-5
            (with_question(0, allow_other=True), "questions.0"),
            (with_question(0, options=[{"code": "yes", "label": {"en": "Yes"}}]), "questions.0"),
            (with_question(1, show_if={"question": "success", "op": "==", "value": "maybe"}), "questions.1"),
            (with_question(1, show_if={"question": "success", "op": "<=", "value": "no"}), "questions.1"),
        ],
    )
    async def test_bad_questions_are_422(
        self, survey_client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], field: str
    ) -> None:
        response = await survey_client.post("/v1/surveys", json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert any(error["field"].startswith(field) for error in response.json()["errors"])

    @pytest.mark.parametrize(
        ("show_if", "error"),
        [
            ({"question": "ces", "op": "==", "value": "no"}, ("questions.2.show_if.question", "not_success")),
            ({"question": "success", "op": "==", "value": 1}, ("questions.2.show_if.value", "unknown_option")),
        ],
    )
    async def test_a_condition_must_fit_the_question_it_reads(
        self, survey_client: httpx.AsyncClient, headers: dict[str, str], show_if: dict[str, Any], error: Any
    ) -> None:
        success, missing, ces, feeling = EXPERIENCE["questions"]
        body = {**EXPERIENCE, "questions": [success, ces, {**missing, "show_if": show_if}, feeling]}
        created = await ok(await survey_client.post("/v1/surveys", json=body, headers=headers))
        published = await survey_client.post(f"/v1/surveys/{created['id']}/publish", headers=headers)
        assert published.status_code == 422, published.text
        field, code = error
        assert (field, code) in errors_of(published.json())

    async def test_success_labels_may_be_given_per_language(
        self, survey_client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        labels = [
            {"code": "no", "label": {"en": "Not at all", "de": "Gar nicht"}},
            {"code": "yes", "label": {"en": "Yes, all of it", "de": "Ja, alles"}},
            {"code": "partly", "label": {"en": "Some of it", "de": "Einiges"}},
        ]
        created = await ok(
            await survey_client.post("/v1/surveys", json=with_question(0, options=labels), headers=headers)
        )
        assert [o["code"] for o in created["questions"][0]["options"]] == ["yes", "partly", "no"]  # best first


class TestPartnerResponses:
    async def test_valid_answers_are_stored_and_sent_on(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        answers = {"success": "partly", "missing": "a callback", "ces": 5, "feeling": 4}
        created = await ok(await survey_client.post("/v1/responses", json=partner(survey, answers), headers=headers))
        assert created["answers"] == answers
        async with survey_app.state.db.sessions() as session:
            outbox = (await session.exec(select(OutboxEvent).order_by(OutboxEvent.id))).all()
        payload = outbox[-1].payload
        kinds = {q["key"]: q["kind"] for q in payload["data"]["questions"]}
        assert kinds == {"success": "success", "missing": "text", "ces": "ces", "feeling": "emotion"}
        assert payload["data"]["answers"]["success"] == "partly"

    @pytest.mark.parametrize(
        ("answers", "expected"),
        [
            ({"success": "maybe", "feeling": 3}, {("answers.success", "unknown_option")}),
            ({"success": 1, "feeling": 3}, {("answers.success", "unknown_option")}),
            ({"success": "yes", "feeling": 6}, {("answers.feeling", "out_of_scale")}),
            ({"success": "yes", "feeling": "4"}, {("answers.feeling", "not_integer")}),
            ({"success": "yes", "missing": "nothing"}, {("answers.missing", "not_shown")}),
            ({"feeling": 2}, {("answers.success", "required")}),
        ],
    )
    async def test_each_bad_answer_is_named_with_a_code(
        self,
        survey_client: httpx.AsyncClient,
        headers: dict[str, str],
        survey: dict[str, Any],
        answers: dict[str, Any],
        expected: set[tuple[str, str]],
    ) -> None:
        response = await survey_client.post("/v1/responses", json=partner(survey, answers), headers=headers)
        assert response.status_code == 422, response.text
        assert errors_of(response.json()) == expected

    async def test_a_batch_names_answers_key_and_code_per_item(
        self, survey_client: httpx.AsyncClient, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        items = [
            partner(survey, {"success": "yes", "feeling": 5}, "b-0"),
            partner(survey, {"success": "sort of", "feeling": 5}, "b-1"),
            partner(survey, {"success": "no", "missing": "refund", "feeling": 0}, "b-2"),
            partner(survey, {"success": "no", "feeling": 1}, "b-3"),
        ]
        result = await ok(await survey_client.post("/v1/responses/batch", json={"items": items}, headers=headers), 200)
        assert (result["accepted"], result["duplicates"]) == (2, 0)
        rejected = {r["index"]: errors_of(r) for r in result["rejected"]}
        assert rejected == {1: {("answers.success", "unknown_option")}, 2: {("answers.feeling", "out_of_scale")}}


async def test_the_public_api_labels_both_kinds_in_the_respondents_language(
    survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
) -> None:
    contact = await make_contact(survey_client, headers, locale="de")
    token = await make_invitation(survey_app, survey["id"], contact_id=contact["id"])
    body = await ok(await survey_client.get(f"/v1/public/invitations/{token}"), 200)
    success, missing, _, feeling = body["survey"]["questions"]
    assert success["options"] == [
        {"code": "yes", "label": "Ja"},
        {"code": "partly", "label": "Teilweise"},
        {"code": "no", "label": "Nein"},
    ]
    assert missing["show_if"] == {"question": "success", "op": "in", "value": ["partly", "no"]}
    assert (feeling["scale_min"], feeling["scale_max"]) == (1, 5)
    assert feeling["point_labels"] == {
        "1": "Sehr unglücklich",
        "2": "Unglücklich",
        "3": "Neutral",
        "4": "Glücklich",
        "5": "Sehr glücklich",
    }
    url = f"/v1/public/invitations/{token}/response"
    refused = await survey_client.post(url, json={"answers": {"success": "ja", "feeling": 2}})
    assert refused.status_code == 422 and errors_of(refused.json()) == {("answers.success", "unknown_option")}
    answers = {"success": "no", "missing": "Rückruf", "feeling": 2}
    saved = await ok(await survey_client.post(url, json={"answers": answers}), 200, 201)
    assert saved["finished"] is True


async def test_the_hosted_page_without_javascript_asks_the_follow_up_a_success_answer_shows(
    survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
) -> None:
    token = await make_invitation(survey_app, survey["id"])
    first = (await survey_client.get(f"/r/{token}")).text
    assert fieldset(first, "success").count('type="radio"') == 3 and ">Partly</label>" in first
    assert 'class="points points-5"' in fieldset(first, "feeling") and ">Very happy</span>" in first
    step = await survey_client.post(f"/r/{token}", data=form("success", success="no"))
    assert step.status_code == 200 and " hidden" not in fieldset(step.text, "missing").split(">", 1)[0]
    seen = "ces,feeling,missing,success"
    done = await survey_client.post(f"/r/{token}", data=form(seen, success="no", missing="Refund", feeling="1"))
    assert done.status_code == 200 and "Thank you!" in done.text
    [response] = await responses_of(survey_app)
    assert response.answers == {"success": "no", "missing": "Refund", "feeling": 1} and response.finished
