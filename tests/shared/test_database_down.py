"""A database that cannot be reached is a 503 problem+json with `Retry-After` on every endpoint (issue 13)."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from cxloop.services import SERVICES
from tests.conftest import TEST_SETTINGS, TokenFactory, client_for

NO_DATABASE = {"/healthz", "/metrics"}


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unreachable_urls(tmp_path: Path) -> dict[str, str]:
    return {
        "postgres": f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere",
        "sqlite": f"sqlite+aiosqlite:///{tmp_path}/missing-dir/file.db",
    }


def down_app(service: str, url: str, tmp_path: Path) -> FastAPI:
    spec = SERVICES[service]
    app = spec.build(type(spec.settings())(**TEST_SETTINGS, database_url=url))
    if url.startswith("sqlite"):
        (tmp_path / "missing-dir").rmdir()  # the engine made the folder; without it SQLite cannot open the file
    return app


def example(schema: dict[str, Any]) -> Any:
    """A plausible value for a simple query parameter (so that validation lets the request reach the database)."""
    kind = schema.get("type") or next((s.get("type") for s in schema.get("anyOf", []) if s.get("type")), None)
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    if schema.get("format") == "date":
        return "2026-01-01"
    return {"integer": 1, "number": 1, "boolean": "true"}.get(str(kind), "x1")


def filled(template: str, operation: dict[str, Any]) -> str:
    """The path with a plausible value for each of its parameters."""
    values = {p["name"]: example(p["schema"]) for p in operation.get("parameters", []) if p["in"] == "path"}
    return re.sub(r"{(\w+)}", lambda m: str(values.get(m.group(1), "x1")), template)


@pytest.mark.parametrize("where", ["postgres", "sqlite"])
@pytest.mark.parametrize("service", list(SERVICES))
async def test_every_endpoint_answers_503_with_retry_after(
    service: str, where: str, tmp_path: Path, auth: TokenFactory
) -> None:
    app = down_app(service, unreachable_urls(tmp_path)[where], tmp_path)
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    reached = []
    async with client_for(app, "down") as client:
        for template, item in paths.items():
            for method, operation in item.items():
                path = filled(template, operation)
                # The required parameters, and a survey and question (drivers and reasons need them before reading).
                query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
                given = [p for p in query if p.get("required") or p["name"] in ("survey_id", "question")]
                params = {p["name"]: example(p["schema"]) for p in given}
                headers = auth() if "/internal/" not in template else auth(scopes="events:write")
                answer = await client.request(method.upper(), path, params=params, headers=headers)
                assert answer.status_code < 500 or answer.status_code == 503, (method, template, answer.text)
                if template in NO_DATABASE:
                    assert answer.status_code == 200
                elif method == "get":
                    assert answer.status_code == 503, (method, template, answer.text)
                if answer.status_code == 503:
                    assert answer.headers["retry-after"].isdigit()
                    assert answer.headers["content-type"] == "application/problem+json"
                    reached.append((method, template))
                    assert "503" in operation["responses"]
    assert ("get", "/readyz") in reached
    assert len(reached) >= len([m for item in paths.values() for m in item if m == "get"]) - len(NO_DATABASE)
    await app.state.db.dispose()
