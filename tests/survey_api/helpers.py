"""Builders for survey_api tests: a unit tree, a published NPS+ survey, through the public API."""

from __future__ import annotations

from typing import Any

import httpx

ALL = {"scopes": "surveys:read surveys:write contacts:read contacts:write responses:read responses:write"}

NPS_PLUS: dict[str, Any] = {
    "name": "After delivery",
    "kind": "transactional",
    "languages": ["en", "de"],
    "questions": [
        {"key": "nps", "kind": "nps", "required": True,
         "prompt": {"en": "How likely are you to recommend us?", "de": "Wie wahrscheinlich …?"}},
        {"key": "why", "kind": "text", "show_if": {"question": "nps", "op": "<=", "value": 6},
         "prompt": {"en": "What went wrong?", "de": "Was lief schief?"}},
        {"key": "reasons", "kind": "reasons", "allow_other": True,
         "prompt": {"en": "Which of these?", "de": "Welche davon?"},
         "options": [{"code": "delivery", "label": {"en": "Delivery", "de": "Lieferung"}},
                     {"code": "price", "label": {"en": "Price", "de": "Preis"}}]},
        {"key": "csat_staff", "kind": "csat", "scale_min": 1, "scale_max": 5,
         "prompt": {"en": "How satisfied were you with our staff?", "de": "Wie zufrieden …?"}},
    ],
}  # fmt: skip


async def ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The JSON body, after checking the status (201 unless told)."""
    assert response.status_code in (statuses or (201,)), response.text
    body: dict[str, Any] = response.json()
    return body


async def make_units(client: httpx.AsyncClient, headers: dict[str, str], *paths: str) -> None:
    """Create units (parents first)."""
    for path in paths:
        await ok(await client.post("/v1/units", json={"path": path, "name": path}, headers=headers))


async def published_survey(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create and publish a survey (the NPS+ example unless told), with a touchpoint."""
    touchpoint = await ok(
        await client.post(
            "/v1/touchpoints", json={"name": "Delivery", "journey": "purchase", "stage": "fulfil"}, headers=headers
        )
    )
    survey = await ok(
        await client.post(
            "/v1/surveys", json={**(body or NPS_PLUS), "touchpoint_id": touchpoint["id"]}, headers=headers
        )
    )
    return await ok(await client.post(f"/v1/surveys/{survey['id']}/publish", headers=headers), 200)
