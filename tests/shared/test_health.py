"""Health, readiness and Prometheus metrics on every service."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from cxloop.services import SERVICES
from tests.conftest import TEST_SETTINGS, TokenFactory, client_for


@pytest.mark.parametrize("fixture", ["survey_app", "metrics_app", "loop_app"])
async def test_healthz_and_readyz(fixture: str, apps: dict[str, FastAPI]) -> None:
    app = apps[fixture]
    async with client_for(app, "svc") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready"}


@pytest.mark.parametrize("service", list(SERVICES))
async def test_readyz_is_503_when_the_database_is_down(service: str) -> None:
    spec = SERVICES[service]
    unreachable = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = spec.build(type(spec.settings())(**TEST_SETTINGS, database_url=unreachable))
    async with client_for(app, "svc") as client:
        response = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    await app.state.db.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


async def test_metrics_count_requests_per_route(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    await survey_client.get("/v1/units", headers=auth())
    await survey_client.get("/v1/units")
    await survey_client.get("/v1/units/unit_x", headers=auth())
    text = (await survey_client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/v1/units",status="200"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/v1/units",status="401"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/v1/units/{unit_id}",status="404"} 1.0' in text
    assert 'http_request_duration_seconds_count{method="GET",route="/v1/units"} 2.0' in text


async def test_access_log_never_shows_invitation_tokens(
    survey_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="cxloop.access"):
        await survey_client.get("/r/secret-token-value")
        await survey_client.get("/v1/public/invitations/secret-token-value")
        await survey_client.get("/v1/units/unit_visible")
    paths = [r.fields["path"] for r in caplog.records if hasattr(r, "fields")]  # type: ignore[attr-defined]
    assert "secret-token-value" not in " ".join(paths)
    assert "/r/{token}" in paths and "/v1/units/unit_visible" in paths
