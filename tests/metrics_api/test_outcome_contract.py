"""The `outcome.recorded` contract: what survey_api writes to its outbox is what metrics_api consumes and links."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from services.metrics_api.events import handlers
from services.survey_api.models import OutboxEvent
from shared.events import OUTCOME_RECORDED, OUTCOME_RECORDED_EVENT, EventEnvelope, OutcomeRecordedData
from tests.conftest import TokenFactory
from tests.metrics_api.events import post_events
from tests.survey_api.helpers import ALL, ok, published_survey


def ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


async def survey_outbox(app: FastAPI) -> list[EventEnvelope]:
    """survey_api's outbox, as the dispatcher would deliver it (the stored envelopes, in order)."""
    async with app.state.db.sessions() as session:
        rows = (await session.exec(select(OutboxEvent).order_by(OutboxEvent.id))).all()  # type: ignore[arg-type]
    return [EventEnvelope.model_validate(row.payload) for row in rows]


async def test_outcomes_recorded_by_survey_api_are_linked_by_metrics_api(
    survey_app: FastAPI,
    survey_client: httpx.AsyncClient,
    metrics_client: httpx.AsyncClient,
    auth: TokenFactory,
) -> None:
    headers = auth(scopes=ALL["scopes"])
    survey = await published_survey(survey_client, headers)
    await ok(await survey_client.post("/v1/contacts", json={"external_id": "crm-ada"}, headers=headers))
    response: dict[str, Any] = {
        "survey_id": survey["id"],
        "contact": {"external_id": "crm-ada"},
        "submitted_at": ago(10),
        "answers": {"nps": 2},
    }
    await ok(await survey_client.post("/v1/responses", json=response, headers=headers))
    outcomes = [
        {"external_id": "o-1", "contact": {"external_id": "crm-ada"}, "kind": "churned", "occurred_at": ago(5)},
        {"external_id": "o-2", "contact": {"external_id": "crm-ada"}, "kind": "revenue", "value": 420.0,
         "occurred_at": ago(3)},
    ]  # fmt: skip
    await ok(await survey_client.post("/v1/outcomes/batch", json={"items": outcomes}, headers=headers), 200)

    events = await survey_outbox(survey_app)
    recorded = [e for e in events if e.type == OUTCOME_RECORDED]
    assert [e.source for e in recorded] == ["survey_api", "survey_api"]
    assert all(isinstance(OutcomeRecordedData.model_validate(e.data), OutcomeRecordedData) for e in recorded)
    assert handlers.accepts(OUTCOME_RECORDED) and "metrics" in OUTCOME_RECORDED_EVENT.consumers

    for_metrics = [e for e in events if e.type in (OUTCOME_RECORDED, "response.completed")]
    receipt = await post_events(metrics_client, auth(scopes="events:write", sub="survey_api"), for_metrics)
    assert receipt == {"processed": 3, "duplicates": 0, "ignored": 0}
    await metrics_client.put("/v1/org-settings", json={"min_sample": 1}, headers=auth())
    reader = auth(scopes="metrics:read")
    linkage = await metrics_client.get("/v1/linkage", params={"outcome": "churned"}, headers=reader)
    assert linkage.status_code == 200, linkage.text
    detractors = next(g for g in linkage.json()["groups"] if g["group"] == "detractor")
    assert (detractors["contacts"], detractors["with_outcome"], detractors["revenue_total"]) == (1, 1, 420.0)
