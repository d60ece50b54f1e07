"""Absurd instants (past the last UTC instant, before 1900, after 9000) are a 422 naming the field, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TokenFactory

ABSURD = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1066-10-14T09:00:00Z", "9500-01-01T00:00:00Z"]


@pytest.mark.parametrize("value", ABSURD)
async def test_absurd_query_instants_are_422(
    value: str, survey_client: httpx.AsyncClient, loop_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    probes = [
        (survey_client, "/v1/responses", "from"),
        (survey_client, "/v1/responses/export", "to"),
        (survey_client, "/v1/contacts", "updated_since"),
        (loop_client, "/v1/cases/stats", "from"),
        (loop_client, "/v1/cases/stats", "to"),
    ]
    for client, path, name in probes:
        response = await client.get(path, params={name: value}, headers=auth())
        assert response.status_code == 422, (path, name, response.text)
        assert response.json()["errors"][0]["field"] == name


async def test_absurd_body_instant_is_422(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    body = {"survey_id": "srv_x", "channel": "email", "contact_ids": ["cnt_1"], "send_at": ABSURD[0]}
    response = await survey_client.post("/v1/distributions", json=body, headers=auth(scopes="distributions:write"))
    assert response.status_code == 422, response.text
    assert "send_at" in {e["field"] for e in response.json()["errors"]}


async def test_ordinary_instants_pass(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    params = {"from": "2026-01-01T00:00:00-14:00", "to": "2026-12-31T23:59:59+14:00"}
    assert (await survey_client.get("/v1/responses", params=params, headers=auth())).status_code == 200
