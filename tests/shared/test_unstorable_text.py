"""NUL bytes and lone surrogates are a 422 naming the field on every endpoint of every service (issue 13)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for

SERVICE_APPS = ["survey_app", "metrics_app", "loop_app"]
BODY = b'{"name": "a\\u0000b", "items": [{"text": "\\ud800"}], "ok": "\\ud83d\\ude00", "n": 1}'


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every operation in the app's OpenAPI document."""
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return [(method.upper(), path, op) for path, item in paths.items() for method, op in item.items()]


def fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"] if e["code"] == "unstorable_text"}


@pytest.mark.parametrize("service", SERVICE_APPS)
async def test_every_path_query_and_body_refuses_unstorable_text(
    service: str, apps: dict[str, FastAPI], auth: TokenFactory
) -> None:
    app, headers = apps[service], auth()
    async with client_for(app, "svc") as client:
        for method, template, operation in operations(app):
            names = re.findall(r"{(\w+)(?::\w+)?}", template)
            clean = re.sub(r"{(\w+)(?::\w+)?}", "x1", template)
            for name in names:
                path = re.sub(r"{" + name + r"(?::\w+)?}", "a%00b", template)
                path = re.sub(r"{(\w+)(?::\w+)?}", "x1", path)
                assert fields(await client.request(method, path, headers=headers)) == {name}, (method, path)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    query = {parameter["name"]: "a\x00b"}
                    answer = await client.request(method, clean, params=query, headers=headers)
                    assert fields(answer) == {parameter["name"]}, (method, template, query)
            if "requestBody" in operation:
                json_headers = headers | {"Content-Type": "application/json"}
                answer = await client.request(method, clean, content=BODY, headers=json_headers)
                assert fields(answer) == {"name", "items.0.text"}, (method, template)


async def test_surrogate_pairs_and_plain_text_pass(survey_client: Any, auth: TokenFactory) -> None:
    body = b'{"path": "emea", "name": "Europe \\ud83d\\ude00 \\u00e9"}'
    headers = auth() | {"Content-Type": "application/json"}
    created = await survey_client.post("/v1/units", content=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Europe \U0001f600 \u00e9"


async def test_nul_in_a_stored_field_is_422_on_the_database(survey_client: Any, auth: TokenFactory) -> None:
    headers = auth() | {"Content-Type": "application/json"}
    answer = await survey_client.post(
        "/v1/units", content=b'{"path": "emea", "name": "Eu\\u0000rope"}', headers=headers
    )
    assert fields(answer) == {"name"}
    assert (await survey_client.get("/v1/units", headers=auth())).json()["items"] == []
