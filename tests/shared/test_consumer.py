"""`POST /internal/v1/events`: each event is processed once, however often and however concurrently it comes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.models import IdempotencyRecord, InboxEvent, OrgSettingsRow, OutboxEvent
from services.survey_api.org_settings import SurveyOrgSettings
from services.survey_api.settings import SurveySettings
from shared.app import EventConsumer, create_service_app
from shared.events import EventEnvelope
from tests.conftest import TEST_SETTINGS, Backend, TokenFactory, client_for


@pytest.fixture
async def consumer(backend: Backend, survey_app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """A service that records what its handler is given (on survey_api's migrated database and inbox)."""
    handled: list[str] = []

    async def handler(session: AsyncSession, events: list[EventEnvelope]) -> None:
        await asyncio.sleep(0.01)  # let a concurrent delivery of the same event overlap with this one
        handled.extend(e.id for e in events)

    app = create_service_app(
        title="consumer",
        description="test",
        settings=SurveySettings(**TEST_SETTINGS, database_url=backend.urls["survey_api"]),
        routers=[],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        org_settings_model=SurveyOrgSettings,
        outbox_table=OutboxEvent,
        source="test",
        consumer=EventConsumer(inbox=InboxEvent, accepts=("response.", "contact.erased"), handler=handler),
    )
    async with client_for(app, "consumer") as client:
        yield client, handled
    await app.state.db.dispose()


def event(event_id: str, event_type: str = "response.completed") -> dict[str, Any]:
    return EventEnvelope(id=event_id, type=event_type, org="acme", source="survey_api").model_dump(mode="json")


async def post(client: httpx.AsyncClient, headers: dict[str, str], *events: dict[str, Any]) -> dict[str, int]:
    response = await client.post("/internal/v1/events", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


async def test_each_event_is_processed_once(consumer: tuple[httpx.AsyncClient, list[str]], auth: TokenFactory) -> None:
    client, handled = consumer
    service = auth(org="system", scopes="events:write")
    first = await post(client, service, event("e1"), event("e2"), event("e1"), event("x1", "invitation.sent"))
    assert first == {"processed": 2, "duplicates": 1, "ignored": 1}
    again = await post(client, service, event("e2"), event("e3", "contact.erased"))
    assert again == {"processed": 1, "duplicates": 1, "ignored": 0}
    assert handled == ["e1", "e2", "e3"]


async def test_concurrent_deliveries_of_one_event(
    consumer: tuple[httpx.AsyncClient, list[str]], auth: TokenFactory
) -> None:
    client, handled = consumer
    service = auth(org="system", scopes="events:write")
    receipts = await asyncio.gather(*(post(client, service, event("same")) for _ in range(5)))
    assert sorted(r["processed"] for r in receipts) == [0, 0, 0, 0, 1]
    assert handled == ["same"]


async def test_only_services_may_post_events(consumer: tuple[httpx.AsyncClient, list[str]], auth: TokenFactory) -> None:
    client, _ = consumer
    body = {"events": [event("e1")]}
    assert (await client.post("/internal/v1/events", json=body)).status_code == 401
    everything_else = auth(scopes="admin responses:write metrics:read")
    assert (await client.post("/internal/v1/events", json=body, headers=everything_else)).status_code == 403
    bad = await client.post("/internal/v1/events", json={"events": [{"id": "x"}]}, headers=auth(scopes="events:write"))
    assert bad.status_code == 422
