"""Fixtures of the metrics_api tests: ingest events as survey_api's dispatcher would, read metrics back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest

from shared.events import EventEnvelope
from tests.conftest import TokenFactory
from tests.metrics_api.events import post_events

Ingest = Callable[[Sequence[EventEnvelope]], Awaitable[dict[str, int]]]
Read = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def ingest(metrics_client: httpx.AsyncClient, auth: TokenFactory) -> Ingest:
    """`await ingest(events)`: POST them to `/internal/v1/events` with a service token; the receipt."""
    service = auth(scopes="events:write", sub="survey_api")

    async def send(events: Sequence[EventEnvelope]) -> dict[str, int]:
        return await post_events(metrics_client, service, events)

    return send


@pytest.fixture
def read(metrics_client: httpx.AsyncClient, auth: TokenFactory) -> Read:
    """`await read("nps", unit="emea", org=..., units=[...])`: a 200 metric answer for a `metrics:read` token."""

    async def get(metric: str, *, org: str = "acme", units: list[str] | None = None, **params: Any) -> dict[str, Any]:
        headers = auth(org=org, scopes="metrics:read", units=units)
        query = {key.rstrip("_").replace("__", "."): value for key, value in params.items()}
        response = await metrics_client.get(f"/v1/metrics/{metric}", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return get
