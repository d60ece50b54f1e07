"""HTTP helpers of the loop_api case tests: a controllable clock, opening cases, changing them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from shared.events import EventEnvelope
from tests.loop_api.events import deliver, response_event

PROBLEM = "application/problem+json"
RW = "cases:read cases:write"
# Monday 2 March 2026, 08:00 UTC = 09:00 in Berlin (winter time).
MONDAY = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@dataclass
class FakeClock:
    """A clock that stands still until moved."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward (`hours=2`) and say where to."""
        self.now += dt.timedelta(**delta)
        return self.now


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of an error response, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The JSON body, after checking the status (200 unless told)."""
    assert response.status_code in (statuses or (200,)), response.text
    body: dict[str, Any] = response.json()
    return body


async def case_of(client: httpx.AsyncClient, headers: dict[str, str], response_id: str) -> dict[str, Any] | None:
    """The case opened for a response, if any."""
    page = await ok(await client.get("/v1/cases", params={"response_id": response_id}, headers=headers))
    assert len(page["items"]) <= 1
    return page["items"][0] if page["items"] else None


async def open_case(
    client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], **event: Any
) -> dict[str, Any]:
    """Deliver a response event (a detractor unless told) and return the case it opened."""
    envelope: EventEnvelope = response_event(**event)
    await deliver(client, service, envelope)
    case = await case_of(client, headers, envelope.data["response_id"])
    assert case is not None, "no case opened"
    return case


async def change(client: httpx.AsyncClient, headers: dict[str, str], case_id: str, **body: Any) -> httpx.Response:
    """PATCH a case with the ETag of a fresh read."""
    current = await client.get(f"/v1/cases/{case_id}", headers=headers)
    assert current.status_code == 200, current.text
    return await client.patch(
        f"/v1/cases/{case_id}", json=body, headers={**headers, "If-Match": current.headers["etag"]}
    )


async def step(client: httpx.AsyncClient, headers: dict[str, str], case_id: str, **body: Any) -> dict[str, Any]:
    """A PATCH that must succeed; the case."""
    return await ok(await change(client, headers, case_id, **body))


async def activity(client: httpx.AsyncClient, headers: dict[str, str], case_id: str, **body: Any) -> dict[str, Any]:
    """Record an activity (a call that reached the customer unless told); the timeline entry."""
    payload = {"kind": "call", "channel": "phone", "text": "Called, apologised", "reached_customer": True, **body}
    return await ok(await client.post(f"/v1/cases/{case_id}/activities", json=payload, headers=headers), 201)


async def root_cause(client: httpx.AsyncClient, headers: dict[str, str], code: str, **extra: Any) -> None:
    """Create a root-cause code."""
    body = {"code": code, "label": {"en": code}, **extra}
    await ok(await client.post("/v1/root-causes", json=body, headers=headers), 201)
