"""Contract slips of partner responses (issue 12): concurrent twins, `other` without its text, declared events."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from services.survey_api.models import OutboxEvent
from services.survey_api.responses import ingest
from services.survey_api.responses.models import SurveyResponse
from tests.conftest import TokenFactory
from tests.survey_api.helpers import ALL, make_units, ok, published_survey

SURVEY_API = Path(__file__).resolve().parents[2] / "services" / "survey_api"


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**ALL)


@pytest.fixture
async def survey(survey_client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    await make_units(survey_client, headers, "emea")
    return await published_survey(survey_client, headers)


def body(survey: dict[str, Any], answers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    contact = {"external_id": "c-1", "email": "ann@example.com", "unit": "emea"}
    return {"survey_id": survey["id"], "channel": "email", "contact": contact, "answers": answers, **fields}


async def rows(app: FastAPI) -> tuple[list[SurveyResponse], list[OutboxEvent]]:
    async with app.state.db.sessions() as session:
        responses = list((await session.exec(select(SurveyResponse))).all())
        events = list((await session.exec(select(OutboxEvent))).all())
    return responses, events


@pytest.fixture
def both_checked_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each request after its duplicate check until both made it: neither can see the other's row."""
    barrier = asyncio.Barrier(2)
    preload = ingest.IngestContext.preload

    async def preload_then_wait(self: ingest.IngestContext, items: Any) -> None:
        await preload(self, items)
        await asyncio.wait_for(barrier.wait(), timeout=30)

    monkeypatch.setattr(ingest.IngestContext, "preload", preload_then_wait)


class TestConcurrentTwins:
    @pytest.mark.usefixtures("both_checked_first")
    async def test_second_identical_post_answers_200_with_the_stored_response(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        twin = body(survey, {"nps": 9}, external_id="order-1")
        first, second = await asyncio.gather(
            survey_client.post("/v1/responses", json=twin, headers=headers),
            survey_client.post("/v1/responses", json=twin, headers=headers),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 201], (first.text, second.text)
        assert first.json() == second.json()
        responses, events = await rows(survey_app)
        assert [r.id for r in responses] == [first.json()["id"]]
        assert len(events) == 1  # one response, one event

    @pytest.mark.usefixtures("both_checked_first")
    async def test_concurrent_twin_with_other_answers_is_409(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        first, second = await asyncio.gather(
            survey_client.post("/v1/responses", json=body(survey, {"nps": 9}, external_id="o"), headers=headers),
            survey_client.post("/v1/responses", json=body(survey, {"nps": 2}, external_id="o"), headers=headers),
        )
        assert sorted([first.status_code, second.status_code]) == [201, 409]
        responses, _ = await rows(survey_app)
        assert len(responses) == 1


class TestOtherNeedsItsText:
    async def test_finished_response_choosing_other_without_text_is_422(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        answers = {"nps": 3, "reasons": ["other"]}
        refused = await survey_client.post("/v1/responses", json=body(survey, answers), headers=headers)
        assert refused.status_code == 422
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
            ("answers.reasons_other", "other_text_required")
        ]
        blank = await survey_client.post(
            "/v1/responses", json=body(survey, {**answers, "reasons_other": "   "}), headers=headers
        )
        assert blank.status_code == 422
        assert (await rows(survey_app))[0] == []

    async def test_other_with_text_or_unfinished_is_accepted(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        full = {"nps": 3, "reasons": ["delivery", "other"], "reasons_other": "Rude driver"}
        await ok(await survey_client.post("/v1/responses", json=body(survey, full), headers=headers))
        partial = body(survey, {"nps": 3, "reasons": ["other"]}, finished=False)
        created = await ok(await survey_client.post("/v1/responses", json=partial, headers=headers))
        finishing = {"answers": {}, "finished": True}
        refused = await survey_client.patch(f"/v1/responses/{created['id']}", json=finishing, headers=headers)
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["answers.reasons_other"]
        finishing = {"answers": {"reasons_other": "Rude driver"}, "finished": True}
        done = await ok(
            await survey_client.patch(f"/v1/responses/{created['id']}", json=finishing, headers=headers), 200
        )
        assert done["finished"] is True


def test_survey_api_builds_its_events_with_the_declared_builders() -> None:
    """No producer assembles an envelope by hand (type, source and payload come from shared/events.py)."""
    by_hand = [
        str(path.relative_to(SURVEY_API))
        for path in SURVEY_API.rglob("*.py")
        if re.search(r"\bEventEnvelope\(", path.read_text())
    ]
    assert by_hand == []
