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
from shared.app import EventConsumer, ServiceSpec, create_service_app
from shared.consumer import EventHandlers, Received
from shared.events import (
    CASE_BREACHED_EVENT,
    CONTACT_ERASED,
    CONTACT_ERASED_EVENT,
    RESPONSE_COMPLETED,
    RESPONSE_COMPLETED_EVENT,
    EventEnvelope,
    subscribers_of,
)
from tests.conftest import TEST_SETTINGS, Backend, TokenFactory, client_for
from tests.loop_api.events import response_data


@pytest.fixture
async def consumer(backend: Backend, survey_app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """A service that records what its handler is given (on survey_api's migrated database and inbox)."""
    handled: list[str] = []
    handlers = EventHandlers("loop")

    @handlers.on(RESPONSE_COMPLETED_EVENT, CONTACT_ERASED_EVENT)
    async def handler(session: AsyncSession, events: list[Received[Any]]) -> None:
        await asyncio.sleep(0.01)  # let a concurrent delivery of the same event overlap with this one
        handled.extend(e.envelope.id for e in events)

    spec = ServiceSpec(
        title="consumer",
        description="test",
        source="test",
        routers=[],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        org_settings_model=SurveyOrgSettings,
        outbox_table=OutboxEvent,
        consumer=EventConsumer(inbox=InboxEvent, handlers=handlers),
    )
    app = create_service_app(spec, SurveySettings(**TEST_SETTINGS, database_url=backend.urls["survey_api"]))
    async with client_for(app, "consumer") as client:
        yield client, handled
    await app.state.db.dispose()


# A valid payload of each type the consumer handles (the handlers see only events that fit their declaration).
PAYLOADS: dict[str, dict[str, Any]] = {
    RESPONSE_COMPLETED: response_data().model_dump(mode="json"),
    CONTACT_ERASED: {"contact_id": "ct_1", "erased_at": "2026-03-01T12:00:00Z", "response_ids": []},
}


def event(event_id: str, event_type: str = "response.completed", data: dict[str, Any] | None = None) -> dict[str, Any]:
    payload = data if data is not None else PAYLOADS.get(event_type, {})
    return EventEnvelope(id=event_id, type=event_type, org="acme", source="survey_api", data=payload).model_dump(
        mode="json"
    )


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


async def test_malformed_event_is_acknowledged_and_the_rest_processed(
    consumer: tuple[httpx.AsyncClient, list[str]], auth: TokenFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client, handled = consumer
    service = auth(org="system", scopes="events:write")
    broken = event("bad", data={"response_id": 1})
    receipt = await post(client, service, event("ok1"), broken, event("ok2", "contact.erased"))
    assert receipt == {"processed": 3, "duplicates": 0, "ignored": 0}  # acknowledged: the outbox moves on
    assert handled == ["ok1", "ok2"]  # the handler never sees the malformed one, the valid ones all ran
    assert any("malformed response.completed event bad" in r.getMessage() for r in caplog.records)
    assert await post(client, service, broken) == {"processed": 0, "duplicates": 1, "ignored": 0}  # recorded


def test_subscribers_come_from_the_declarations() -> None:
    assert subscribers_of("response.completed") == ("metrics", "loop")
    assert subscribers_of("invitation.bounced") == ("metrics", "loop")
    assert subscribers_of("followup.invited") == ("loop",)
    assert subscribers_of("case.breached") == ()
    assert subscribers_of("followup.requested") == ("survey",)
    assert subscribers_of("survey.published") == ()


def test_a_handler_is_registered_once_and_only_for_a_declared_consumer() -> None:
    handlers = EventHandlers("loop")

    async def handler(session: AsyncSession, events: list[Received[Any]]) -> None:
        return None

    handlers.on(RESPONSE_COMPLETED_EVENT)(handler)
    with pytest.raises(ValueError, match="already has a handler"):
        handlers.on(RESPONSE_COMPLETED_EVENT)(handler)
    with pytest.raises(ValueError, match="not declared as consumed by loop"):
        handlers.on(CASE_BREACHED_EVENT)(handler)
