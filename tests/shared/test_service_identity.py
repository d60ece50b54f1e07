"""The events between services are for service tokens only: no tenant's token reads or writes them (issue 13)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from shared.auth import SCOPES
from tests.conftest import TEST_SECRET, TokenFactory, client_for, service_headers
from tests.metrics_api.events import post_events, response_event

SERVICE_APPS = ["survey_app", "metrics_app", "loop_app"]


def internal_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every internal operation in the app's OpenAPI document."""
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return [(m.upper(), p) for p, item in paths.items() if p.startswith("/internal/") for m in item]


def tenant_with_events_write() -> dict[str, str]:
    """A tenant's token carrying `events:write`, signed with the tenant key (as a misconfigured IdP might)."""
    now = int(time.time())
    claims = {"sub": "x", "org": "acme", "scope": " ".join([*SCOPES, "events:write"]), "iss": "cxloop"}
    token = jwt.encode(claims | {"aud": "cxloop", "iat": now, "exp": now + 600}, TEST_SECRET)
    return {"Authorization": f"Bearer {token}"}


async def call(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = {"events": []} if method == "POST" else None
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("service", SERVICE_APPS)
async def test_tenant_tokens_never_reach_internal_endpoints(
    service: str, apps: dict[str, FastAPI], auth: TokenFactory
) -> None:
    app = apps[service]
    operations = internal_operations(app)
    assert ("POST", "/internal/v1/events") in operations
    async with client_for(app, "svc") as client:
        for method, path in operations:
            assert (await call(client, method, path, auth(org="acme", scopes=SCOPES))).status_code == 403
            assert (await call(client, method, path, tenant_with_events_write())).status_code == 401
            assert (await call(client, method, path, {})).status_code == 401
            assert (await call(client, method, path, service_headers("survey_api"))).status_code not in (401, 403)


async def test_event_feed_is_for_services_only(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    every_scope = auth(org="acme", scopes=SCOPES)
    denied = await survey_client.get("/internal/v1/events", headers=every_scope)
    assert denied.status_code == 403
    assert "service tokens" in denied.json()["detail"]
    assert (await survey_client.get("/internal/v1/events", headers=service_headers("loop_api"))).status_code == 200


async def test_forged_event_for_a_foreign_org_changes_nothing(
    metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    reader = auth(org="globex", scopes="metrics:read")
    settings = await metrics_client.put("/v1/org-settings", json={"min_sample": 1}, headers=auth(org="globex"))
    assert settings.status_code == 200, settings.text
    await post_events(metrics_client, service_headers(), [response_event({"nps": 10}, org="globex")])
    before = (await metrics_client.get("/v1/metrics/nps", headers=reader)).json()
    forged = [response_event({"nps": 0}, org="globex") for _ in range(20)]
    body = {"events": [e.model_dump(mode="json") for e in forged]}
    for headers in (auth(org="acme", scopes=SCOPES), tenant_with_events_write()):
        answer = await metrics_client.post("/internal/v1/events", json=body, headers=headers)
        assert answer.status_code in (401, 403)
    after = (await metrics_client.get("/v1/metrics/nps", headers=reader)).json()
    assert after == before
    assert (after["n"], after["value"]) == (1, 100.0)
