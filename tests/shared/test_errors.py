"""One error shape: every failure, including the unexpected, is RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from cxloop.migrations import upgrade
from services.survey_api.models import IdempotencyRecord, OrgSettingsRow, OutboxEvent
from services.survey_api.org_settings import SurveyOrgSettings
from services.survey_api.settings import SurveySettings
from shared.app import ServiceSpec, create_service_app
from shared.auth import mint_token
from shared.db import SessionDep
from shared.errors import Conflict
from tests.conftest import TEST_SETTINGS, TokenFactory, common_settings

PROBLEM = "application/problem+json"


class Echo(BaseModel):
    text: str


@pytest.fixture
async def broken_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app built by the shared factory with routes that fail, on a migrated SQLite file."""
    upgrade("survey_api", f"sqlite:///{tmp_path}/t.db")
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    @router.post("/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @router.post("/write-then-fail")
    async def write_then_fail(session: SessionDep) -> None:
        session.add(OrgSettingsRow(org="acme", data={"contact_frequency_days": 1}))
        await session.flush()
        raise Conflict("changed my mind")

    @router.post("/write")
    async def write(session: SessionDep) -> None:
        session.add(OrgSettingsRow(org="acme", data={"contact_frequency_days": 2}))

    settings = SurveySettings(
        **TEST_SETTINGS,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db",
        max_body_bytes=2048,
        cors_origins=["https://app.example.com"],
    )
    spec = ServiceSpec(
        title="t",
        description="t",
        source="survey",
        routers=[router],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        org_settings_model=SurveyOrgSettings,
        outbox_table=OutboxEvent,
    )
    app = create_service_app(spec, settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client
    await app.state.db.dispose()


async def test_unexpected_error_is_500_problem_without_trace(broken_client: httpx.AsyncClient) -> None:
    response = await broken_client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["title"] == "Internal server error"
    assert body["request_id"] == "req-42"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


async def test_body_over_the_limit_is_413(broken_client: httpx.AsyncClient) -> None:
    response = await broken_client.post("/echo", json={"text": "x" * 5000})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_chunked_body_over_the_limit_is_413(broken_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = await broken_client.post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


async def test_chunked_body_under_the_limit_is_served(broken_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": '
        yield b'"hello"}'

    response = await broken_client.post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"text": "hello"}


async def test_unknown_route_is_404_problem(survey_client: httpx.AsyncClient) -> None:
    response = await survey_client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/not-found")


async def test_wrong_method_is_405_problem(survey_client: httpx.AsyncClient) -> None:
    response = await survey_client.delete("/v1/units")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "content", [b"{not json", b"", b"[]", b'"a string"', b'{"path": 7, "name": ["x"]}', b"\xff\xfe"]
)
async def test_malformed_body_is_422_problem(
    content: bytes, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    response = await survey_client.post(
        "/v1/units", content=content, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"]


async def test_request_id_is_echoed_or_made(survey_client: httpx.AsyncClient) -> None:
    given = await survey_client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await survey_client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32


async def test_session_rolls_back_when_the_handler_fails(broken_client: httpx.AsyncClient) -> None:
    failed = await broken_client.post("/write-then-fail")
    assert failed.status_code == 409
    admin = {"Authorization": f"Bearer {mint_token(common_settings(), org='acme', scopes=['admin'])}"}
    assert (await broken_client.get("/v1/org-settings", headers=admin)).json()["contact_frequency_days"] == 30
    assert (await broken_client.post("/write")).status_code == 200
    assert (await broken_client.get("/v1/org-settings", headers=admin)).json()["contact_frequency_days"] == 2


async def test_cors_allows_only_configured_origins(broken_client: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = await broken_client.options("/echo", headers={"Origin": "https://app.example.com", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    refused = await broken_client.options("/echo", headers={"Origin": "https://evil.example.com", **preflight})
    assert "access-control-allow-origin" not in refused.headers


async def test_no_cors_by_default(survey_client: httpx.AsyncClient) -> None:
    response = await survey_client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers
