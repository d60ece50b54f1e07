"""Cursor pagination: every item exactly once, in order; a tampered cursor is a clear 422."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import TokenFactory


async def test_250_units_each_exactly_once_in_order(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes="surveys:read surveys:write")
    created = []
    for i in range(250):
        response = await survey_client.post("/v1/units", json={"path": f"u{i:03d}", "name": f"U {i}"}, headers=headers)
        created.append(response.json()["id"])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 17, **({"cursor": cursor} if cursor else {})}
        page = (await survey_client.get("/v1/units", params=params, headers=headers)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 15  # 14 full pages of 17 and one of 12
    assert seen == sorted(created)
    assert len(set(seen)) == 250


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!not-base64!!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"before": "x"}').decode(),
        base64.urlsafe_b64encode(b'{"after": 42}').decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_tampered_cursor_is_422(cursor: str, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    response = await survey_client.get("/v1/units", params={"cursor": cursor}, headers=auth())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
async def test_limit_out_of_range_is_422(limit: str, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    response = await survey_client.get("/v1/units", params={"limit": limit}, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"
