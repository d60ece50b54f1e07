"""Odd requests get precise 4xx answers: every allowed method in `Allow`, malformed bodies 422, bad cursors 422."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TokenFactory


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/surveys", {"GET", "POST", "HEAD"}),
        ("PUT", "/v1/webhooks", {"GET", "POST", "HEAD"}),
        ("POST", "/v1/surveys/srv_1", {"GET", "PATCH", "HEAD"}),
    ],
)
async def test_405_lists_every_allowed_method(
    method: str, path: str, allowed: set[str], survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    response = await survey_client.request(method, path, headers=auth())
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"path": ', "body"),  # cut short
        (b'{"path": "emea", "name": "\xff"}', "body"),  # not UTF-8
        (b'{"path": "emea", "name": "\xed\xa0\x80"}', "name"),  # a surrogate encoded as bytes: not UTF-8 either
        (b"[" * 100_000 + b"]" * 100_000, "body"),  # nested past any parser's recursion limit
        (b'{"path": "emea", "name": "x",}', "body"),  # trailing comma
    ],
)
async def test_malformed_json_body_is_422_naming_the_field(
    body: bytes, field: str, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth() | {"Content-Type": "application/json"}
    response = await survey_client.post("/v1/units", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_malformed_json_is_documented_as_422(survey_client: httpx.AsyncClient) -> None:
    document = (await survey_client.get("/openapi.json")).json()
    create_unit = document["paths"]["/v1/units"]["post"]["responses"]
    assert "422" in create_unit and "400" not in create_unit


async def test_garbage_cursor_on_rules_is_422(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    for cursor in ["garbage", "eyJhZnRlciI6IngifQ"]:  # not base64 JSON; a well-formed cursor of another list
        response = await loop_client.get("/v1/rules", params={"cursor": cursor}, headers=auth())
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "cursor"
