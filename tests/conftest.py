"""Fixtures: each service in-process over ASGI, on migrated SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from cxloop.migrations import upgrade
from cxloop.services import SERVICES
from shared.auth import SCOPES, SERVICE_SCOPES, mint_service_token, mint_token
from shared.settings import CommonSettings

TEST_SECRET = "test-secret-for-cxloop-tests-only-0123456789"
POSTGRES_URL = os.environ.get("CXLOOP_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
TEST_SETTINGS: dict[str, Any] = {"env": "test", "jwt_secret": TEST_SECRET}


def common_settings(**overrides: Any) -> CommonSettings:
    """The settings the test apps use (a test-only secret)."""
    return CommonSettings(**{**TEST_SETTINGS, **overrides})


@dataclass
class Backend:
    """A storage backend for one test session: a migrated database URL per service."""

    name: str
    urls: dict[str, str]


def _postgres_admin(url: str) -> psycopg.Connection[Any]:
    parsed = make_url(url).set(drivername="postgresql")
    return psycopg.connect(parsed.render_as_string(hide_password=False), autocommit=True)


def _create_postgres_databases(tag: str) -> dict[str, str]:
    assert POSTGRES_URL is not None
    urls = {}
    with _postgres_admin(POSTGRES_URL) as admin:
        for name in SERVICES:
            database = f"cxloop_test_{tag}_{name}"
            admin.execute(f'CREATE DATABASE "{database}"')
            urls[name] = make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)
    return urls


def _drop_postgres_databases(urls: dict[str, str]) -> None:
    assert POSTGRES_URL is not None
    with _postgres_admin(POSTGRES_URL) as admin:
        for url in urls.values():
            admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def make_backend(name: str, tmp_dir: Path) -> Backend:
    """Fresh, empty databases for every service on `name` (not yet migrated)."""
    if name == "postgres":
        return Backend(name, _create_postgres_databases(uuid.uuid4().hex[:8]))
    return Backend(name, {service: f"sqlite+aiosqlite:///{tmp_dir / service}.db" for service in SERVICES})


def drop_backend(backend: Backend) -> None:
    """Remove what `make_backend` created (SQLite files go with their temporary folder)."""
    if backend.name == "postgres":
        _drop_postgres_databases(backend.urls)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """Every service's database on one backend, migrated to head once per test session."""
    created = make_backend(request.param, tmp_path_factory.mktemp(request.param))
    try:
        for service, url in created.urls.items():
            upgrade(service, url)
        yield created
    finally:
        drop_backend(created)


async def _empty_tables(app: FastAPI, service: str) -> None:
    metadata = SERVICES[service].metadata
    async with app.state.db.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())


async def _service_app(backend: Backend, service: str) -> AsyncIterator[FastAPI]:
    spec = SERVICES[service]
    settings = type(spec.settings())(**TEST_SETTINGS, database_url=backend.urls[service])
    app = spec.build(settings)
    try:
        yield app
    finally:
        await _empty_tables(app, service)
        await app.state.db.dispose()


def client_for(app: FastAPI, host: str) -> httpx.AsyncClient:
    """An HTTP client that talks to `app` in-process (real HTTP semantics, no socket)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}")


@pytest.fixture
async def survey_app(backend: Backend) -> AsyncIterator[FastAPI]:
    """survey_api on the session's backend; its tables are emptied after the test."""
    async for app in _service_app(backend, "survey_api"):
        yield app


@pytest.fixture
async def metrics_app(backend: Backend) -> AsyncIterator[FastAPI]:
    """metrics_api on the session's backend; its tables are emptied after the test."""
    async for app in _service_app(backend, "metrics_api"):
        yield app


@pytest.fixture
async def loop_app(backend: Backend) -> AsyncIterator[FastAPI]:
    """loop_api on the session's backend; its tables are emptied after the test."""
    async for app in _service_app(backend, "loop_api"):
        yield app


@pytest.fixture
async def survey_client(survey_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(survey_app, "survey") as client:
        yield client


@pytest.fixture
async def metrics_client(metrics_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(metrics_app, "metrics") as client:
        yield client


@pytest.fixture
async def loop_client(loop_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(loop_app, "loop") as client:
        yield client


TokenFactory = Callable[..., dict[str, str]]


def service_headers(service: str = "survey_api") -> dict[str, str]:
    """The Authorization header of a service token naming `service` (for the internal endpoints)."""
    return {"Authorization": f"Bearer {mint_service_token(common_settings(), service=service)}"}


@pytest.fixture
def auth() -> TokenFactory:
    """`auth(org=, scopes=, units=, sub=)` → the Authorization header of a valid test token.

    Asking for `events:write` gives a service token named `sub` instead (no org): a tenant's token cannot
    carry it.
    """

    def headers(
        org: str = "acme",
        scopes: str | list[str] | tuple[str, ...] = SCOPES,
        units: list[str] | None = None,
        sub: str = "tester",
    ) -> dict[str, str]:
        scope_list = scopes.split() if isinstance(scopes, str) else list(scopes)
        if set(scope_list) & set(SERVICE_SCOPES):
            return service_headers(sub)
        token = mint_token(common_settings(), org=org, sub=sub, scopes=scope_list, units=units)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def apps(survey_app: FastAPI, metrics_app: FastAPI, loop_app: FastAPI) -> dict[str, FastAPI]:
    """All three apps by fixture name, for tests that run the same check on every service."""
    return {"survey_app": survey_app, "metrics_app": metrics_app, "loop_app": loop_app}
